#!/usr/bin/env bash
# Runs every test of monzo-tray: formatting, lints, the Windows build and its tests
# under Wine, the macOS type-check, unit tests, the core against the sandbox over
# HTTP, and the end-to-end suites that drive the built binary with a real Secret
# Service. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Windows: the app built, the core's and the sandbox's tests and the command line
# run under Wine; macOS: every target type-checked (README, "macOS and Windows").
bash scripts/platforms.sh
# The release build, as shipped: the packages (the package tests install the .deb
# and read the .rpm) and the binary the end-to-end suites drive. One build of the
# app only: the test profile never builds it (src-tauri has no unit tests).
packages="$(bash scripts/build-packages.sh)"
MONZO_TRAY_DEB="$PWD/$(sed -n 1p <<<"$packages")"
MONZO_TRAY_RPM="$PWD/$(sed -n 2p <<<"$packages")"
MONZO_TRAY_BIN="$PWD/target/release/monzo-tray"
export MONZO_TRAY_DEB MONZO_TRAY_RPM MONZO_TRAY_BIN
# A real Home Assistant for the push tests, from PyPI into a cached venv.
MONZO_TRAY_HA_VENV="$(bash tests/ha/install.sh)"
export MONZO_TRAY_HA_VENV
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked -- --include-ignored 2>&1 | tee "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
