#!/usr/bin/env bash
# Runs every test of monzo-tray: formatting, lints, the Windows build and its tests
# under Wine, the macOS type-check, unit tests, the core against the sandbox over
# HTTP, and the end-to-end suites that drive the built binary with a real Secret
# Service. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's wall time, printed at the end (also when a step fails), so a run that
# nears CI's limit says where its time went.
run_started=$SECONDS
step_times=""
step() {
  local name=$1 started=$SECONDS rc=0
  shift
  "$@" || rc=$?
  step_times+="$(printf '%-44s %5d s' "$name" $((SECONDS - started)))"$'\n'
  return $rc
}
log=$(mktemp)
print_step_times() {
  printf '\nStep times (wall clock):\n%s%-44s %5d s\n' "$step_times" "whole run" $((SECONDS - run_started))
  # One closing line for the whole run, summed over every test binary.
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
       END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
}
trap 'print_step_times; rm -f "$log"' EXIT
step "install what the tests need" bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

# What the app links, first, so a new advisory fails in seconds: RustSec advisories,
# licences, duplicate heavy crates (deny.toml says why each exception stands). The
# script finds the advisory database (../shared/advisory-db here) exactly as the
# supply_chain suite, which runs it on a fixture that must fail, does.
# A real Home Assistant for the push tests, from PyPI into a cached venv: installed
# in the background (mostly downloads) while the lints and builds use the CPU.
# The newest Home Assistant (2026.11, on Python 3.14) goes into a Debian testing root
# beside it, also in the background; the push suites run against it at the end.
mkdir -p target
bash tests/ha/install.sh >target/ha-venv.txt 2>target/ha-venv.log &
ha_venv=$!
bash tests/ha/install-newest.sh >target/ha-newest.txt 2>target/ha-newest.log &
ha_newest=$!
step "supply chain (cargo-deny)" bash scripts/supply-chain.sh
step "rustfmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# Windows and macOS (README, "macOS and Windows"): their builds start now in the
# background at the lowest priority, using the CPU that what follows leaves idle
# (downloads, the end-to-end suites' waits); their tests run at the end.
# (Its own process group, ended with the run if the run stops early; its messages
# in target/platforms-build.log.)
setsid nice -n 19 ionice -c 3 bash scripts/platforms.sh build >target/platforms-build.log 2>&1 &
platforms_build=$!
trap 'print_step_times; rm -f "$log"; kill -- -"$platforms_build" "$ha_venv" "$ha_newest" 2>/dev/null || true' EXIT
# The app, built once by the Tauri bundler as it builds the packages (the package
# tests install the .deb and read the .rpm), is the binary the end-to-end suites
# drive. It is the dev profile's build (`tauri build --debug`): the same code and
# assets as the release build, unoptimised, sharing crates with the test programs,
# which keeps the whole run inside CI's time. (The test profile never builds the app:
# src-tauri has no unit tests.) The release profile is built by
# `scripts/build-packages.sh` and measured by `scripts/bench.sh`.
step "app build (dev profile) and packages" bash scripts/build-packages.sh --debug >target/packages.txt
packages="$(cat target/packages.txt)"
MONZO_TRAY_DEB="$PWD/$(sed -n 1p <<<"$packages")"
MONZO_TRAY_RPM="$PWD/$(sed -n 2p <<<"$packages")"
MONZO_TRAY_BIN="$PWD/target/debug/monzo-tray"
export MONZO_TRAY_DEB MONZO_TRAY_RPM MONZO_TRAY_BIN
step "waiting for the Home Assistant venv" wait "$ha_venv" || { cat target/ha-venv.log >&2; exit 1; }
MONZO_TRAY_HA_VENV="$(cat target/ha-venv.txt)"
export MONZO_TRAY_HA_VENV
step "cargo test (build and run)" bash -c 'set -o pipefail; cargo test --workspace --locked --no-fail-fast -- --include-ignored 2>&1 | tee "$0"' "$log"
# The REST and MQTT suites again, against the newest Home Assistant (`--workspace`:
# the same features as above, so nothing is built again).
step "waiting for the newest Home Assistant" wait "$ha_newest" || { cat target/ha-newest.log >&2; exit 1; }
MONZO_TRAY_HA_NEWEST="$(cat target/ha-newest.txt)"
export MONZO_TRAY_HA_NEWEST
step "Home Assistant 2026.11 (REST and MQTT suites)" bash -c 'set -o pipefail; cargo test --workspace --locked --no-fail-fast --test home_assistant --test home_assistant_mqtt -- --include-ignored 2>&1 | tee -a "$0"' "$log"
# Whatever the background build met is met again here, with its messages.
step "waiting for the platform build" wait "$platforms_build" || true
step "Windows and macOS (platforms.sh)" bash scripts/platforms.sh
