#!/usr/bin/env bash
# The benchmark command: builds release binaries, prints each table, and writes
# them all to docs/benchmarks.md. Figures, not pass/fail: compare ratios within one
# run (the machines are shared and noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# What takes the binary's space (below): cargo bloat, for the benchmark only.
if [ "$(cargo bloat --version 2>/dev/null)" != "0.12.1" ]; then
  cargo install cargo-bloat --version 0.12.1 --locked --quiet
fi
MONZO_TRAY_HA_VENV="$(bash tests/ha/install.sh)"
export MONZO_TRAY_HA_VENV
# Our release profile (Cargo.toml: lto, codegen-units = 1, strip) and, for the
# before/after columns, Cargo's default release profile in a target folder of its
# own; each with its .deb from the Tauri bundler.
ours="$(bash scripts/build-packages.sh | sed -n 1p)"
CARGO_TARGET_DIR="$PWD/target/default-profile" npx --yes @tauri-apps/cli@2 build --bundles deb --ci -- \
  --config 'profile.release.lto=false' --config 'profile.release.codegen-units=16' \
  --config 'profile.release.strip="debuginfo"' >&2
default_deb="$(ls -t target/default-profile/release/bundle/deb/*.deb | head -1)"
out=docs/benchmarks.md
{
  echo "# Benchmarks"
  echo
  echo "Made by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB)."
  echo
  echo "## Footprint"
  echo
  echo "\`monzo-tray --demo\`, release, under Xvfb; memory of the whole process tree (app and WebKit processes)."
  echo "Cargo's default release profile against ours (lto, codegen-units = 1, strip; unwinding kept)."
  echo
  cargo bench --quiet --locked -p monzo-tray-e2e --bench footprint -- \
    "Cargo's default profile=$PWD/target/default-profile/release/monzo-tray,$PWD/$default_deb" \
    "our release profile=$PWD/target/release/monzo-tray,$PWD/$ours" 2>/dev/null | grep '^|'
  echo
  echo "## Binary size"
  echo
  echo "The release binary as shipped (our profile, stripped): $(stat -c %s target/release/monzo-tray | awk '{printf "%.1f MB", $1 / 1048576}')."
  echo "What takes its space: cargo bloat on the same build with its symbols kept (a build of its own in"
  echo "target/bloat), the code (.text) of each crate."
  echo
  cargo bloat --release --locked -p monzo-tray --crates -n 0 --message-format json --target-dir target/bloat 2>/dev/null \
    | tail -1 | python3 scripts/bloat-table.py 15
  echo
  echo "Crates from crates.io in the Linux binary in two versions (deny.toml fails the run on heavy ones; the README says why these stay):"
  cargo tree --locked -p monzo-tray -e normal,no-proc-macro --target x86_64-unknown-linux-gnu --prefix none \
    | grep -v ' (/' | sed 's/ (.*//' | sort -u | awk '{ print $1 }' | uniq -d | paste -sd ' ' | sed 's/ /, /g'
  echo
  echo "## Poll scaling"
  echo
  echo "One steady poll cycle; sandbox latency 100 ms per request; 2 accounts and 3 pots per account per person."
  echo "The baseline makes Home Assistant's Monzo integration's requests one after another (account list, balances, pots)."
  echo
  cargo bench --quiet --locked -p monzo-tray-e2e --bench poll_scaling 2>/dev/null | grep '^|'
  echo
  echo "## Request budget"
  echo
  echo "Requests to Monzo per person per hour at the default 60 s poll interval, 2 accounts (the account list"
  echo "is read every 10 minutes; an account's transactions only when its balance or spending changed)."
  echo
  cargo bench --quiet --locked -p monzo-tray-e2e --bench poll_scaling -- budget 2>/dev/null | grep '^|'
  echo
  echo "## Money history"
  echo
  echo "The full import of 3 people with 10 years of history (about 100,000 transactions) into SQLite;"
  echo "then with Monzo's reported limit (30 requests in 5 minutes, a 10-minute block) on the sandbox's clock."
  echo
  cargo bench --quiet --locked -p monzo-tray-e2e --bench history 2>/dev/null | grep '^|'
  echo
  echo "## The History view"
  echo
  echo "The same household in the real webview (release, WebDriver under Xvfb): opening the History tab, switching"
  echo "ranges, the private memory of the app and its WebKit processes, and idle CPU with the view open."
  echo
  MONZO_TRAY_BIN="$PWD/target/release/monzo-tray" \
    cargo bench --quiet --locked -p monzo-tray-e2e --bench history_view 2>/dev/null | grep '^|'
  echo
  echo "## Soak"
  echo
  echo "10,000 poll cycles of the demo household, no interval (sandbox in the same process: an upper bound)."
  echo
  cargo bench --quiet --locked -p monzo-tray-e2e --bench soak 2>/dev/null | grep '^|'
  echo
  echo "## Fault campaign"
  echo
  echo "20 % of requests fail at random (429, 500, 502, 504, slow past the timeout, malformed JSON,"
  echo "dropped connection, token expiry); two people; balances change every 5 cycles; a real Home Assistant."
  echo
  MONZO_TRAY_FAULT_CYCLES=1000 cargo test --quiet --locked -p monzo-tray-e2e --test fault_campaign -- --nocapture 2>/dev/null \
    | grep '^fault campaign:' | sed 's/^/    /'
  echo
  echo "## Fuzzing"
  echo
  echo "cargo-fuzz (libFuzzer) on the Monzo reply decoding and the pasted-redirect parser."
  echo
  echo "| target | time | runs | result |"
  echo "| --- | ---: | ---: | --- |"
  bash scripts/fuzz.sh
} | tee "$out"
echo "wrote $out" >&2
