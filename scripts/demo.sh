#!/usr/bin/env bash
# Ringside's desktop app in demo mode: a simulated PBX rings you within
# seconds, with the caller's contact and open deals in the screen pop.
# Fresh Debian 12 with Rust and Node: installs the system libraries it needs
# (as root, or with sudo), builds the UI and the app, and starts it.
# Needs a desktop session (DISPLAY or WAYLAND_DISPLAY). Headless machines:
# `cargo run -p ringside-hub -- demo` shows the same calls in a terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(libwebkit2gtk-4.1-dev libdbus-1-dev build-essential pkg-config libayatana-appindicator3-1)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
cargo build -p ringside-desktop --features custom-protocol

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found. Run this from a desktop session, or try the terminal demo:" >&2
  echo "  cargo run -p ringside-hub -- demo" >&2
  exit 1
fi
exec ./target/debug/ringside-desktop --demo "$@"
