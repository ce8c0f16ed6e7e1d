# Shared shell helpers of scripts/local-stack.sh and scripts/test.sh (sourced, not run).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
STARTED_GROUPS=()

log() { printf '\n== %s\n' "$*"; }

# wait_port PORT SECONDS: waits until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "nothing listens on 127.0.0.1:$port after $2 s" >&2
      return 1
    fi
    sleep 0.5
  done
}

# port_free PORT: fails when something already listens on 127.0.0.1:PORT.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port 127.0.0.1:$1 is already in use; stop what runs there or choose another port" >&2
    return 1
  fi
}

# start_group LOGFILE CMD...: runs CMD in its own process group, remembered for cleanup.
start_group() {
  local logfile=$1
  shift
  setsid "$@" >"$logfile" 2>&1 &
  STARTED_GROUPS+=("$!")
}

# stop_groups: stops every process group start_group started.
stop_groups() {
  local pid
  for pid in "${STARTED_GROUPS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_GROUPS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  STARTED_GROUPS=()
}

# start_moto PORT LOGFILE: moto server on 127.0.0.1:PORT.
start_moto() {
  port_free "$1"
  start_group "$2" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$1"
  wait_port "$1" 60
}
