#!/usr/bin/env bash
# Installs what building, running and testing monzo-tray needs on Debian 12.
# Idempotent: installs only what is missing, so a second run takes a second.
set -euo pipefail

packages=(
  build-essential pkg-config curl ca-certificates python3 python3-venv
  libssl-dev libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  dbus dbus-x11 gnome-keyring libsecret-tools
  xvfb xauth webkit2gtk-driver fonts-noto-color-emoji imagemagick xdotool dunst
  mosquitto mosquitto-clients openssl rpm trayer debootstrap
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# The .deb is built with the Tauri CLI from the npm registry: Node only if absent
# (a Node from elsewhere, e.g. NodeSource, conflicts with Debian's npm package).
if ! command -v npx >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "Installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "Rust is installed in ~/.cargo/bin; add it to PATH (source ~/.cargo/env)." >&2
  else
    echo "Installing Rust with rustup" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  fi
fi

# The desktop end-to-end tests drive the app through tauri-driver (WebDriver).
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "Installing tauri-driver" >&2
  cargo install tauri-driver --version '^2' --locked --quiet
fi

# The supply-chain check (scripts/supply-chain.sh: advisories, licences, duplicate
# versions), built from crates.io at a pinned version.
cargo_deny_version="0.20.2"
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
  echo "Installing cargo-deny $cargo_deny_version" >&2
  # Without its own profile's fat LTO and single codegen unit: the build is much
  # shorter on two cores, and a check that reads a few hundred crates is no slower.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-deny --version "$cargo_deny_version" --locked --quiet
fi
