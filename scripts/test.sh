#!/usr/bin/env bash
# Ringside's whole test suite, as CI runs it. Works on a fresh Debian 12 machine
# with Rust: installs the few system packages the real-parts tests need (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*"; }

# Real Secret Service for the keyring tests: D-Bus + gnome-keyring.
need=()
command -v dbus-run-session >/dev/null || need+=(dbus dbus-x11)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    step "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing ${need[*]}: run as root or install them (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

# The desktop app: system packages (WebKitGTK, Xvfb, dunst...), tauri-driver, and
# the UI (npm ci, build, unit tests) -- the desktop crate embeds ui/dist, so this
# comes before anything compiles it.
bash scripts/desktop-test.sh setup

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (headless session: Xvfb, private session bus, unlocked gnome-keyring, dunst)"
export RINGSIDE_REQUIRE_SECRET_SERVICE=1 RINGSIDE_REQUIRE_NOTIFICATIONS=1
bash scripts/desktop-test.sh session -- cargo test --workspace --locked

# The desktop app end to end in a real window (and RINGSIDE_DESKTOP_BENCH=1: its benchmark).
bash scripts/desktop-test.sh e2e
