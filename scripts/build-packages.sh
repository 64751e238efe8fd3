#!/usr/bin/env bash
# Builds the Linux packages with the Tauri bundler (its CLI from the npm registry,
# prebuilt): the .deb and the .rpm, from the release profile in Cargo.toml. AppImage
# would need downloads these machines cannot make. Prints the .deb's path, then the
# .rpm's.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
npx --yes @tauri-apps/cli@2 build --bundles deb,rpm --ci >&2
ls -t target/release/bundle/deb/*.deb | head -1
ls -t target/release/bundle/rpm/*.rpm | head -1
