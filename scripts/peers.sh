#!/usr/bin/env bash
# Installs the real peers the tests talk to, on a fresh Debian 12 machine as
# root: Mosquitto, GStreamer's RTSP server, Chromium and a Chinese font for its
# screenshots, SIPp as GB/T 28181 devices (apt), axe-core (npm, for the pages' accessibility), and
# InfluxDB 1.8.10 (built once with the Go toolchain into the user's cache).
# The tests start their own peer processes on free loopback ports through
# internal/test/testenv; `start`/`stop` run a shared Mosquitto for manual work.
#
#   scripts/peers.sh install   install what is missing (a warm run takes a second)
#   scripts/peers.sh influxd   build influxd if missing and print its path
#   scripts/peers.sh env       print the environment the tests read
#   scripts/peers.sh start     start a Mosquitto on 127.0.0.1:1883 (PID in var/peers)
#   scripts/peers.sh stop      stop what start started
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${XDG_CACHE_HOME:-$HOME/.cache}/snowhub"
influxd="${SNOWHUB_INFLUXD:-$cache/influxdb/influxd}"
piddir=var/peers
apt_packages=(mosquitto mosquitto-clients chromium gir1.2-gst-rtsp-server-1.0 python3-gi
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav fonts-wqy-microhei sip-tester)
# axe-core checks the pages' accessibility in the browser tests; npm puts its
# browser build in the cache (pinned; the tests inject it into each page).
axe_version=4.14.1
axe="$cache/npm/node_modules/axe-core/axe.min.js"

log() { printf 'peers: %s\n' "$*" >&2; }

build_influxd() {
  if [ -x "$influxd" ]; then return; fi
  log "building InfluxDB 1.8.10 into $(dirname "$influxd") (once; about a minute)"
  mkdir -p "$(dirname "$influxd")"
  GOBIN="$(dirname "$influxd")" GOFLAGS=-mod=mod go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
}

install() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      log "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
      exit 1
    fi
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian starts no Mosquitto service in a container, but on a full system
  # its service would hold 1883; the tests use their own ports, so leave it.
  build_influxd
  install_axe
}

install_axe() {
  if [ -f "$axe" ] && grep -q "axe v$axe_version" "$axe" 2>/dev/null; then return; fi
  if ! command -v npm >/dev/null; then
    log "npm is missing: install Node.js with npm (apt-get install npm) for axe-core"
    exit 1
  fi
  log "installing axe-core $axe_version into $cache/npm"
  mkdir -p "$cache/npm"
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" "axe-core@$axe_version" >/dev/null
}

case "${1:-}" in
  install) install ;;
  influxd) build_influxd; echo "$influxd" ;;
  env)
    echo "export SNOWHUB_PEERS=required"
    echo "export SNOWHUB_INFLUXD=$influxd"
    echo "export SNOWHUB_CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)"
    echo "export SNOWHUB_AXE=$axe"
    echo "export SNOWHUB_SIPP=$(command -v sipp || echo /usr/bin/sipp)"
    ;;
  start)
    mkdir -p "$piddir"
    if [ -f "$piddir/mosquitto.pid" ] && kill -0 "$(cat "$piddir/mosquitto.pid")" 2>/dev/null; then
      log "mosquitto already running"; exit 0
    fi
    printf 'listener 1883 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n' > "$piddir/mosquitto.conf"
    /usr/sbin/mosquitto -c "$piddir/mosquitto.conf" 2>"$piddir/mosquitto.log" &
    echo $! > "$piddir/mosquitto.pid"
    log "mosquitto on tcp://127.0.0.1:1883 (pid $!)"
    ;;
  stop)
    for f in "$piddir"/*.pid; do
      [ -e "$f" ] || continue
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    done
    # Any peer a killed test run left behind (tests start them in their own
    # process groups with a parent-death signal, so this is a backstop).
    pkill -f 'scripts/gst-rtsp-server.py' 2>/dev/null || true
    ;;
  *) echo "usage: $0 install|influxd|env|start|stop" >&2; exit 2 ;;
esac
