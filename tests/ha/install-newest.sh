#!/usr/bin/env bash
# Installs the newest Home Assistant, 2026.11.0, for the push tests' second run. It
# needs Python 3.14, which Debian 12 lacks and Debian testing ("forky") has: so a
# minimal forky root is made with debootstrap (sid's script: Debian 12's debootstrap
# has none named forky) and a venv in it, pinned by the wheel's own
# package_constraints.txt. Prints the root's path; a second run takes a second (the
# stamp names exactly what was installed). Needs root, as debootstrap and chroot do
# (CI runs as root). Nothing stays mounted: tests/ha/in-chroot.sh mounts what a run
# needs in a mount namespace of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
here="$PWD/tests/ha"
root="${MONZO_TRAY_HA_NEWEST:-$PWD/.cache/ha-newest}"
mirror="${MONZO_TRAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
version=2026.11.0
# What the always-loaded integrations import (radio_frequency: rf-protocols), and the
# MQTT flow (aiohasupervisor:
# without it the flow fails to load).
packages=(homeassistant==$version home-assistant-frontend Pillow psutil-home-assistant securetar
  cronsim paho-mqtt==2.1.0 aiohasupervisor rf-protocols)
stamp="$root/.monzo-tray-stamp"
want="forky python3.14 ${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$root/venv/bin/hass" ]; then
  echo "$root"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Home Assistant $version runs in a Debian testing chroot, which needs root: run as root (CI does)" >&2
  exit 1
fi
echo "Installing Home Assistant $version into a Debian testing root at $root (a few minutes)" >&2
rm -rf "$root"
mkdir -p "$(dirname "$root")"
debootstrap --variant=minbase --include=python3.14,python3.14-venv,ca-certificates \
  forky "$root" "$mirror" /usr/share/debootstrap/scripts/sid >&2
# The registries may be reached through a proxy whose CA only the host's bundle has.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
inside() { bash "$here/in-chroot.sh" "$root" "$@"; }
inside python3.14 -m venv /venv
inside /venv/bin/pip install -q --upgrade pip wheel >&2
inside /venv/bin/pip download -q --no-deps -d /tmp/monzo-tray-ha-wheel homeassistant==$version >&2
inside /venv/bin/python3.14 - >"$root/constraints.txt" <<'PY'
import glob, zipfile
wheel = glob.glob("/tmp/monzo-tray-ha-wheel/homeassistant-*.whl")[0]
print(zipfile.ZipFile(wheel).read("homeassistant/package_constraints.txt").decode())
PY
inside /venv/bin/pip install -q -c /constraints.txt "${packages[@]}" >&2
echo "$want" > "$stamp"
echo "$root"
