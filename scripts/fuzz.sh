#!/usr/bin/env bash
# Fuzzes the Monzo reply decoding and the pasted-redirect parser with cargo-fuzz
# (libFuzzer; needs a nightly toolchain, as cargo-fuzz does). SECONDS_PER_TARGET
# (default 120) each. A crash is left in crates/core/fuzz/artifacts/: add the input
# to crates/core/tests/fuzz_regressions/<target>/ and fix it.
set -euo pipefail
cd "$(dirname "$0")/../crates/core"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
toolchain="+nightly"
rustup toolchain list 2>/dev/null | grep -q '^nightly' || { toolchain=""; export RUSTC_BOOTSTRAP=1; }
for target in monzo_reply redirect_input; do
  mkdir -p "fuzz/corpus/$target"
  cp -n tests/fuzz_regressions/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
  if out=$(cargo $toolchain fuzz run "$target" -- -max_total_time="${SECONDS_PER_TARGET:-120}" 2>&1); then
    runs=$(printf '%s\n' "$out" | grep -o 'Done [0-9]* runs' | grep -o '[0-9]*' || echo "?")
    echo "| $target | ${SECONDS_PER_TARGET:-120} s | $runs runs | no crash |"
  else
    echo "| $target | ${SECONDS_PER_TARGET:-120} s | - | CRASH: see crates/core/fuzz/artifacts/$target |"
  fi
done
