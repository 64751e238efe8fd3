#!/usr/bin/env bash
# Windows and macOS from this Linux machine, on every run of scripts/test.sh:
# - Windows (x86_64-pc-windows-gnu, mingw): the whole app built, the core's and the
#   sandbox's test programs run under Wine (per suite: how many ran, how many were
#   ignored and why), and the app's command line run under Wine against its
#   embedded sandbox;
# - macOS (aarch64 and x86_64): the whole workspace type-checked, every target
#   (cargo check: build scripts run, nothing is linked; C through Zig's compiler).
# Installs what it needs first (only what is missing). Fails if any build, check or
# test fails. If rustup cannot add a target, that platform prints one line saying
# it was skipped and why, and the rest goes on.
# `scripts/platforms.sh windows` or `macos` runs one of them; `build` only builds
# and checks both (scripts/test.sh runs that in the background at the lowest
# priority, then this script in full once the Linux suites are done).
# Its own target folder (target/platforms), so it never waits for another cargo's.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
only="${1:-all}"
export CARGO_TARGET_DIR="${MONZO_TRAY_PLATFORMS_TARGET_DIR:-$PWD/target/platforms}"
target_dir="$CARGO_TARGET_DIR"
WINDOWS=x86_64-pc-windows-gnu
MACOS=(aarch64-apple-darwin x86_64-apple-darwin)

say() { echo "platforms: $*" >&2; }

# Runs a step, says how long it took, and returns how it went.
timed() {
  local name="$1" start=$SECONDS status=0
  shift
  "$@" || status=$?
  say "$name took $((SECONDS - start)) s"
  return "$status"
}

install_packages() {
  # mingw: the Windows target's linker (and the Wine shim's compiler). wine64 alone:
  # every program here is 64-bit.
  local missing=()
  for package in gcc-mingw-w64-x86-64 wine64; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]})); then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    say "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Adds the Rust targets not yet there; on failure says why in one line and returns
# non-zero (the caller skips that platform).
add_targets() {
  local missing=() installed error
  if ! command -v rustup >/dev/null 2>&1; then
    say "skipped $*: no rustup to add the Rust standard library for these targets"
    return 1
  fi
  installed="$(rustup target list --installed)"
  for target in "$@"; do
    grep -qx "$target" <<<"$installed" || missing+=("$target")
  done
  ((${#missing[@]})) || return 0
  if ! error="$(rustup target add "${missing[@]}" 2>&1)"; then
    say "skipped ${missing[*]}: rustup could not add the target ($(tail -1 <<<"$error"))"
    return 1
  fi
}

# PyPI's ziglang in a cached venv (a second run takes a second). Prints its python.
zig_venv() {
  local venv="${MONZO_TRAY_ZIG_VENV:-$PWD/.cache/zig-venv}" want="ziglang==0.17.1"
  if [ -f "$venv/.monzo-tray-stamp" ] && [ "$(cat "$venv/.monzo-tray-stamp")" = "$want" ]; then
    echo "$venv/bin/python"
    return
  fi
  say "installing $want into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "$want" >&2
  echo "$want" >"$venv/.monzo-tray-stamp"
  echo "$venv/bin/python"
}

# wineboot returns before the prefix is written out; the server's end is the sign.
new_wine_prefix() {
  /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1
  /usr/lib/wine/wineserver --wait
  touch "$WINEPREFIX/.monzo-tray-ready"
}

windows() {
  install_packages
  add_targets "$WINDOWS" || return 0
  local wine=/usr/lib/wine/wine64 dir="$target_dir/wine"
  mkdir -p "$dir"
  # Rust's standard library needs bcryptprimitives.dll, which Wine 8.0 lacks: our
  # own stand-in (tests/wine/bcryptprimitives.c says more).
  local shim="$dir/bcryptprimitives.dll"
  if [ ! -f "$shim" ] || [ tests/wine/bcryptprimitives.c -nt "$shim" ] || [ tests/wine/bcryptprimitives.def -nt "$shim" ]; then
    x86_64-w64-mingw32-gcc -O2 -s -shared -o "$shim" tests/wine/bcryptprimitives.c tests/wine/bcryptprimitives.def -ladvapi32
  fi
  export WINEPREFIX="$dir/prefix" WINEDEBUG=-all
  if [ ! -f "$WINEPREFIX/.monzo-tray-ready" ]; then
    rm -rf "$WINEPREFIX"
    timed "a new Wine prefix" new_wine_prefix
  fi
  cmp -s "$shim" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ||
    cp "$shim" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

  # One build for the tests and the app, so their dependencies are built once.
  local built="$dir/built.json"
  timed "windows build" cargo build --locked --target "$WINDOWS" \
    -p monzo-tray-core -p monzo-sandbox -p monzo-tray --tests --bins \
    --message-format=json-render-diagnostics >"$built"
  [ "${1:-}" != build-only ] || return 0

  local failed=0 ran=0 ignored=0 start=$SECONDS
  while IFS=$'\t' read -r suite exe cwd; do
    local log="$dir/$suite.log" result
    # A test program that hangs is stopped long after any of them takes.
    if (cd "$cwd" && timeout 600 "$wine" "$exe") >"$log" 2>&1; then result=ok; else result=FAILED; fi
    local line passed skipped
    line="$(grep '^test result:' "$log" | tail -1 || true)"
    passed="$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$line")"
    skipped="$(sed -n 's/.* \([0-9]*\) ignored.*/\1/p' <<<"$line")"
    say "windows $suite: ${passed:-0} passed, ${skipped:-0} ignored under Wine ($result)"
    grep -E '^test .* \.\.\. ignored' "$log" | sed 's/^/  /' >&2 || true
    ran=$((ran + ${passed:-0})) ignored=$((ignored + ${skipped:-0}))
    if [ "$result" != ok ]; then
      failed=1
      cat "$log" >&2
    fi
  done < <(python3 - "$built" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    message = json.loads(line)
    if message.get("reason") != "compiler-artifact" or not message["profile"]["test"]:
        continue
    target = message["target"]
    suite = target["name"] + ("-unit" if "lib" in target["kind"] else "")
    cwd = message["manifest_path"].rsplit("/", 1)[0]
    print(suite, message["executable"], cwd, sep="\t")
PY
  )
  say "windows tests under Wine: $ran passed, $ignored ignored, took $((SECONDS - start)) s"
  timed "windows command line under Wine" windows_cli || failed=1
  /usr/lib/wine/wineserver -k 2>/dev/null || true
  return "$failed"
}

# The app itself under Wine: its command line against the embedded demo sandbox
# (the window cannot be shown: Wine has no WebView2 runtime).
windows_cli() {
  local exe="$target_dir/$WINDOWS/debug/monzo-tray.exe" dir="$target_dir/wine/cli"
  rm -rf "$dir"
  mkdir -p "$dir/config"
  local failed=0
  for command in "status --json" "transactions --json" "headless --once"; do
    local name="${command%% *}"
    # $command unquoted on purpose: its words are arguments.
    if ! (cd "$dir" && MONZO_TRAY_CONFIG_DIR="$dir/config" timeout 120 /usr/lib/wine/wine64 "$exe" --demo $command \
      >"$dir/$name.out" 2>"$dir/$name.err"); then
      say "windows: monzo-tray --demo $command failed under Wine:"
      cat "$dir/$name.out" "$dir/$name.err" >&2
      failed=1
    fi
  done
  ((failed == 0)) || return 1
  python3 - "$dir" <<'PY'
import json, pathlib, sys
dir = pathlib.Path(sys.argv[1])
status = json.loads((dir / "status.out").read_text())
states = [p["state"] for p in status["people"]]
assert states == ["live", "live"], states
transactions = json.loads((dir / "transactions.out").read_text())["transactions"]
assert transactions, "no transactions"
headless = (dir / "headless.out").read_text()
assert headless.strip(), "headless --once printed nothing"
assert not any((dir / "config").iterdir()), "the demo stores nothing"
print(f"platforms: windows monzo-tray.exe under Wine: status ({len(states)} people live), "
      f"transactions ({len(transactions)}), headless --once: ok", file=sys.stderr)
PY
}

macos() {
  add_targets "${MACOS[@]}" || return 0
  MONZO_TRAY_ZIG="$(zig_venv)"
  export MONZO_TRAY_ZIG ZIG_GLOBAL_CACHE_DIR="$target_dir/zig-cache" ZIG_LOCAL_CACHE_DIR="$target_dir/zig-cache"
  local args=()
  for target in "${MACOS[@]}"; do
    local var="${target//-/_}"
    export "CC_$var=$PWD/scripts/zig-cc" "AR_$var=$MONZO_TRAY_ZIG -m ziglang ar"
    args+=(--target "$target")
  done
  timed "macos check" cargo check --locked --workspace --all-targets "${args[@]}"
}

# Each platform in a shell of its own, so a failure stops it (set -e), not the other.
both() {
  local status=0
  bash "$0" "$1" || status=1
  bash "$0" macos || status=1
  return "$status"
}

case "$only" in
  all) both windows ;;
  build) both windows-build ;;
  windows) windows ;;
  windows-build) windows build-only ;;
  macos) macos ;;
  *) echo "usage: $0 [all|build|windows|macos]" >&2; exit 2 ;;
esac
