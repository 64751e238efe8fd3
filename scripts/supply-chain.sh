#!/usr/bin/env bash
# Checks what monzo-tray links against deny.toml with cargo-deny: RustSec advisories,
# licences, second versions of heavy crates, and where crates come from. Fails on
# anything deny.toml does not explain. scripts/test.sh runs it before the long build,
# and tests/tests/supply_chain.rs runs it on a fixture that must fail.
#
# Usage: scripts/supply-chain.sh [--manifest-path CARGO_TOML]   (default: the workspace)
#
# The advisory database, first found of:
#   MONZO_TRAY_ADVISORY_DB   a folder: a clone of RustSec's advisory-db, or a plain copy
#   ../shared/advisory-db    beside the repository (on machines that cannot reach GitHub)
#   otherwise                cargo-deny fetches the newest into target/advisory-dbs
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"

manifest="$repo/Cargo.toml"
if [ "${1:-}" = "--manifest-path" ] && [ -n "${2:-}" ]; then
  manifest="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
fi

if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "cargo-deny is not installed: run scripts/install-deps.sh" >&2
  exit 1
fi

db="${MONZO_TRAY_ADVISORY_DB:-}"
if [ -z "$db" ] && [ -d "$repo/../shared/advisory-db" ]; then
  db="$repo/../shared/advisory-db"
fi

# cargo-deny reads the crate graph through `cargo metadata`, which needs every crate
# of the lock file downloaded; the build needs them next anyway.
cargo fetch --locked --quiet --manifest-path "$manifest"

deny=(cargo deny --locked --manifest-path "$manifest" --config "$repo/deny.toml")
if [ -n "$db" ]; then
  # cargo-deny opens a database only as a git repository, in a folder named after
  # its URL (this name is the default RustSec URL's, in cargo-deny 0.20). The given
  # folder may be a plain, read-only copy, so the check works on a copy of it.
  dbs="$(mktemp -d)"
  trap 'rm -rf "$dbs"' EXIT
  copy="$dbs/advisory-db-3157b0e258782691"
  cp -R "$db" "$copy"
  chmod -R u+w "$copy"
  if [ ! -e "$copy/.git" ]; then
    git -C "$copy" init --quiet
    git -C "$copy" add --all
    git -C "$copy" -c user.name=monzo-tray -c user.email=monzo-tray@localhost \
      commit --quiet --message "advisory-db as given in $db"
  fi
  echo "Advisory database: $db (offline)" >&2
  MONZO_TRAY_ADVISORY_DBS="$dbs" "${deny[@]}" --offline check
else
  echo "Advisory database: RustSec's, fetched into target/advisory-dbs" >&2
  "${deny[@]}" check
fi
