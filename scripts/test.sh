#!/usr/bin/env bash
# Runs every test of monzo-tray: formatting, lints, the Windows build and its tests
# under Wine, the macOS type-check, unit tests, the core against the sandbox over
# HTTP, and the end-to-end suites that drive the built binary with a real Secret
# Service. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

# What the app links, first, so a new advisory fails in seconds: RustSec advisories,
# licences, duplicate heavy crates (deny.toml says why each exception stands). The
# script finds the advisory database (../shared/advisory-db here) exactly as the
# supply_chain suite, which runs it on a fixture that must fail, does.
bash scripts/supply-chain.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Windows and macOS (README, "macOS and Windows"): their builds start now in the
# background at the lowest priority, using the CPU that what follows leaves idle
# (the release build's single-threaded link-time optimisation, downloads, the
# end-to-end suites' waits); their tests run at the end.
# (Its own process group, ended with the run if the run stops early; its messages
# in target/platforms-build.log.)
setsid nice -n 19 ionice -c 3 bash scripts/platforms.sh build >target/platforms-build.log 2>&1 &
platforms_build=$!
log=$(mktemp)
trap 'rm -f "$log"; kill -- -"$platforms_build" 2>/dev/null || true' EXIT
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
cargo test --workspace --locked -- --include-ignored 2>&1 | tee "$log"
# Whatever the background build met is met again here, with its messages.
wait "$platforms_build" || true
bash scripts/platforms.sh
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
