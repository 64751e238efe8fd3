#!/usr/bin/env bash
# Runs monzo-tray. With no arguments: the demo, against an embedded sandbox, with no
# Monzo account needed. Any arguments are passed on (e.g. `scripts/run.sh status`).
# Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
if [ $# -eq 0 ]; then set -- --demo; fi
exec cargo run --quiet --locked -p monzo-tray -- "$@"
