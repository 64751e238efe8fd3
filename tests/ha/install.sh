#!/usr/bin/env bash
# Installs Home Assistant 2024.3.3 (the newest that runs on Python 3.11) from PyPI
# into a cached venv, pinned so the install is the same every time: the wheel's own
# package_constraints.txt plus josepy<2 (josepy 2 breaks acme), and what the
# always-loaded integrations import. Prints the venv's path. A second run takes a
# second (the stamp names exactly what was installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${MONZO_TRAY_HA_VENV:-$PWD/.cache/ha-venv}"
packages=(homeassistant==2024.3.3 home-assistant-frontend Pillow janus psutil-home-assistant securetar
  SQLAlchemy fnv-hash-fast paho-mqtt==1.6.1)
stamp="$venv/.monzo-tray-stamp"
want="${packages[*]} josepy<2"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/hass" ]; then
  echo "$venv"; exit 0
fi
echo "Installing Home Assistant into $venv (about a minute)" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip wheel >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/pip" download -q --no-deps -d "$work" homeassistant==2024.3.3 >&2
python3 - "$work" <<'PY' > "$work/constraints.txt"
import glob, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/homeassistant-*.whl")[0]
print(zipfile.ZipFile(wheel).read("homeassistant/package_constraints.txt").decode())
print("josepy<2")
PY
"$venv/bin/pip" install -q -c "$work/constraints.txt" "${packages[@]}" >&2
echo "$want" > "$stamp"
echo "$venv"
