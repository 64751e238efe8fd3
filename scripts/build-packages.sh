#!/usr/bin/env bash
# Builds the Linux packages with the Tauri bundler (its CLI from the npm registry,
# prebuilt): the .deb and the .rpm, from the release profile in Cargo.toml. AppImage
# would need downloads these machines cannot make. Prints the .deb's path, then the
# .rpm's.
#
# `--debug` builds them from the dev profile instead (target/debug/bundle/): the test
# command does, so that the app is compiled once, without optimisation, sharing
# crates with the test programs' build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
profile=release
flags=()
if [ "${1:-}" = --debug ]; then
  profile=debug
  flags=(--debug)
fi
npx --yes @tauri-apps/cli@2 build "${flags[@]}" --bundles deb,rpm --ci >&2
ls -t target/$profile/bundle/deb/*.deb | head -1
ls -t target/$profile/bundle/rpm/*.rpm | head -1
