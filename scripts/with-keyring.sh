#!/usr/bin/env bash
# Run a command with a real, unlocked Secret Service (gnome-keyring) on the
# current session bus. Use inside `dbus-run-session`. Throwaway HOME.
set -euo pipefail
# Keep the toolchain where it is, then give the keyring a throwaway home.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export HOME="${RINGSIDE_TEST_HOME:-$(mktemp -d)}"
echo -n throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null
for _ in $(seq 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    break
  fi
  sleep 0.1
done
"$@"
