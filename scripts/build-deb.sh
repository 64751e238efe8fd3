#!/usr/bin/env bash
# Builds the .deb with the Tauri bundler (the CLI from the npm registry, prebuilt;
# AppImage would need downloads these machines cannot make). Prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
npx --yes @tauri-apps/cli@2 build --bundles deb --ci >&2
ls -t target/release/bundle/deb/*.deb | head -1
