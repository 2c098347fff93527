#!/usr/bin/env bash
# The desktop app's tests on a fresh Debian 12 machine with Rust and Node >= 20.19
# (as root for the apt step): system packages, tauri-driver, the UI (build + unit
# tests), the TypeScript bindings freshness check, the builds, then the real app
# end to end in ONE headless session: Xvfb + a private D-Bus session bus with an
# unlocked gnome-keyring, dunst (notifications) and dbus-monitor.
#
#   bash scripts/desktop-test.sh                 # setup + e2e
#   bash scripts/desktop-test.sh setup           # packages, tauri-driver, ui build + tests
#                                                # (the desktop crate needs ui/dist to compile)
#   bash scripts/desktop-test.sh e2e             # bindings check, builds, ringside-e2e
#                                                # (+ ringside-desktop-bench with RINGSIDE_DESKTOP_BENCH=1)
#   bash scripts/desktop-test.sh session -- CMD  # run CMD in a headless session (what
#                                                # scripts/test.sh runs `cargo test` in)
#
# Env: RINGSIDE_DESKTOP_BENCH=1 also runs the desktop benchmark (BENCHMARKS.md);
#      RINGSIDE_UPDATE_SCREENSHOTS=1 copies the e2e screenshots to docs/screenshots/;
#      SKIP_APT=1 skips apt-get (packages already there).
# Artefacts: target/e2e/ (screenshots, logs), target/bench/desktop.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*"; }
die() { echo "desktop-test: $*" >&2; exit 1; }
# timed LABEL CMD...: run CMD, then say how long it took.
timed() {
  local label=$1 t0=$SECONDS rc=0; shift
  "$@" || rc=$?
  echo "--- $label: $((SECONDS - t0)) s"
  return $rc
}

APT_PACKAGES=(
  build-essential pkg-config curl ca-certificates file git
  libwebkit2gtk-4.1-dev libdbus-1-dev
  libayatana-appindicator3-1          # the tray (dlopen'ed at runtime; without it the app has no tray)
  xvfb xauth imagemagick webkit2gtk-driver
  dbus dbus-x11 gnome-keyring libsecret-tools dunst
  xdotool xclip                       # the e2e presses the global hotkey with a number on the clipboard
)

install_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { echo "system packages: all there"; return 0; }
  [ "${SKIP_APT:-0}" = 1 ] && die "missing packages ${missing[*]} (SKIP_APT=1)"
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run as root or: sudo apt-get install ${missing[*]}"
  echo "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_tauri_driver() {
  if command -v tauri-driver >/dev/null; then
    echo "tauri-driver: $(command -v tauri-driver)"
  else
    cargo install tauri-driver --locked --version '^2'
  fi
}

check_node() {
  command -v node >/dev/null || die "node is missing (Vite 7 needs Node >= 20.19; Debian 12's nodejs 18 is too old)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);
    if(!(a>22||(a===22&&b>=12)||(a===20&&b>=19)||a===21)){console.error("Node "+process.version+" is too old: Vite 7 needs ^20.19 || >=22.12");process.exit(1)}'
}

setup() {
  step "desktop: system packages"
  timed "apt" install_packages
  step "desktop: tauri-driver"
  timed "tauri-driver" install_tauri_driver
  step "desktop: ui (npm ci, build, unit tests)"
  check_node
  (cd ui && timed "npm ci" npm ci --no-audit --no-fund && timed "npm run build" npm run build && timed "npm test" npm test)
}

check_bindings() {
  step "desktop: TypeScript bindings are up to date"
  timed "export_bindings" cargo test --locked -p ringside-desktop --features ts export_bindings
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git diff --exit-code -- ui/src/lib/bindings \
      || die "ui/src/lib/bindings is stale: run cargo test -p ringside-desktop --features ts export_bindings and commit"
    local untracked
    untracked=$(git status --porcelain --untracked-files=all -- ui/src/lib/bindings | grep '^??' || true)
    [ -z "$untracked" ] || die "new binding files not committed: $untracked"
  else
    echo "not a git checkout: skipping the bindings diff"
  fi
}

build() {
  step "desktop: cargo build (ringside-desktop with custom-protocol, ringside-desktop-e2e, ringside-tauri-baseline)"
  [ -f ui/dist/index.html ] || die "ui/dist is missing: run bash scripts/desktop-test.sh setup"
  # One invocation, so tauri is compiled once for the app and the baseline.
  timed "cargo build" cargo build --locked -p ringside-desktop -p ringside-desktop-e2e -p ringside-tauri-baseline \
    --features ringside-desktop/custom-protocol,ringside-tauri-baseline/custom-protocol
}

# --- the headless session ---------------------------------------------------

# wait_name NAME: wait (max 10 s) until NAME has an owner on the session bus.
wait_name() {
  local _
  for _ in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true' && return 0
    sleep 0.1
  done
  return 1
}
# name_pid NAME: the PID owning NAME on the session bus.
name_pid() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID "string:$1" | awk '/uint32/ {print $2}'
}

# Runs inside dbus-run-session: keyring, dunst, dbus-monitor, then "$@".
in_session() {
  SESSION_PIDS=()
  stop_session() {
    local p
    for p in "${SESSION_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  }
  trap stop_session EXIT
  echo -n throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  wait_name org.freedesktop.secrets || die "gnome-keyring did not claim org.freedesktop.secrets"
  SESSION_PIDS+=("$(name_pid org.freedesktop.secrets)")
  dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
    >"$RINGSIDE_NOTIFY_LOG" 2>&1 &
  SESSION_PIDS+=($!)
  dunst >"$E2E_OUT/dunst.log" 2>&1 &
  SESSION_PIDS+=($!)
  wait_name org.freedesktop.Notifications || die "dunst did not claim org.freedesktop.Notifications (see $E2E_OUT/dunst.log)"
  local rc=0
  "$@" || rc=$?
  return $rc
}

# session CMD...: Xvfb + dbus-run-session + in_session CMD, everything stopped by PID after.
session() {
  E2E_OUT=$ROOT/target/e2e
  mkdir -p "$E2E_OUT"
  local n=99
  while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$E2E_OUT/xvfb.log" 2>&1 &
  XVFB_PID=$!
  trap 'kill "$XVFB_PID" 2>/dev/null || true' EXIT
  local _
  for _ in $(seq 100); do [ -S "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  [ -S "/tmp/.X11-unix/X$n" ] || die "Xvfb :$n did not start (see $E2E_OUT/xvfb.log)"
  # Keep the toolchain where it is; give the keyring, WebKit and dunst a throwaway home.
  export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
  export HOME
  HOME=$(mktemp -d /tmp/ringside-session-XXXXXX)
  export DISPLAY=":$n" E2E_OUT RINGSIDE_NOTIFY_LOG="$E2E_OUT/notify-monitor.log"
  export RINGSIDE_E2E_THROWAWAY_SESSION=1
  local rc=0
  dbus-run-session -- bash "$ROOT/scripts/desktop-test.sh" __in-session "$@" || rc=$?
  kill "$XVFB_PID" 2>/dev/null || true
  wait "$XVFB_PID" 2>/dev/null || true
  trap - EXIT
  rm -rf "$HOME"
  return $rc
}

# What the e2e session runs: the e2e, then (RINGSIDE_DESKTOP_BENCH=1) the bench.
e2e_inner() {
  local rc=0 shots=()
  [ "${RINGSIDE_UPDATE_SCREENSHOTS:-0}" = 1 ] && shots=(--update-screenshots)
  step "desktop: ringside-e2e (real window, WebDriver, Gamma emulator, keyring, notifications)"
  timed "ringside-e2e" timeout 600 "$ROOT/target/debug/ringside-e2e" "${shots[@]}" || rc=$?
  if [ "${RINGSIDE_DESKTOP_BENCH:-0}" = 1 ]; then
    step "desktop: ringside-desktop-bench"
    timed "ringside-desktop-bench" timeout 900 "$ROOT/target/debug/ringside-desktop-bench" || rc=$?
  fi
  return $rc
}

e2e() {
  check_bindings
  build
  step "desktop: headless session (Xvfb, D-Bus, gnome-keyring, dunst, dbus-monitor)"
  timed "headless session" session bash "$ROOT/scripts/desktop-test.sh" __e2e-inner
}

case "${1:-all}" in
  all) setup; e2e ;;
  setup) setup ;;
  e2e) e2e ;;
  session)
    shift
    [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || die "usage: desktop-test.sh session -- CMD..."
    session "$@"
    ;;
  __in-session) shift; in_session "$@" ;;
  __e2e-inner) e2e_inner ;;
  *) die "usage: desktop-test.sh [all|setup|e2e|session -- CMD...]" ;;
esac
