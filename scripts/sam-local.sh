#!/usr/bin/env bash
# Prepares this machine for `sam local` and runs a command with it, then tears down what it
# started:
#
#   scripts/sam-local.sh [--] COMMAND ARGS...   # e.g. scripts/sam-local.sh sam local invoke ...
#   scripts/sam-local.sh --check                # prepare, print what is used, tear down
#
# On a machine whose Docker already answers and has (or can pull) the Lambda base image
# `public.ecr.aws/lambda/provided:al2023-x86_64`, it uses them as they are. Otherwise (these
# machines: no daemon, no container registry) it
#   1. installs what is missing from Debian's packages (docker.io, debootstrap) — needs root;
#   2. starts a private dockerd: its own socket and data root under target/docker (overlay2 on
#      the disk), the default bridge, --iptables=false; DOCKER_HOST points the command at it;
#   3. builds, once, a local image under the base image's tag from a minimal Debian root file
#      system (debootstrap, cached in target/sam-base/), with the directories the Lambda
#      runtime interface emulator expects (/var/task, /var/runtime, /opt) and LAMBDA_TASK_ROOT.
#      SAM builds its invoke image on top of it with `--skip-pull-image`; a second run finds
#      the image in target/docker and starts in seconds;
#   4. on exit, stops dockerd (and its containerd) by PID and removes the bridge it made.
#
# Containers reach the host at the bridge's address (SAM_LOCAL_HOST_ADDRESS, printed), not at
# 127.0.0.1: servers the functions call (moto, the local receivers) must listen there.
# Any failure says which step failed and why in one line, exits non-zero, and leaves nothing
# running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

BASE_IMAGE=public.ecr.aws/lambda/provided:al2023-x86_64
DOCKER_DIR="$ROOT/target/docker"
BASE_DIR="$ROOT/target/sam-base"
# What the local base image holds beyond Debian's minimal base: the root certificates (the
# functions load them at init, as on AL2023). A new list is a new version: rebuilt once.
BASE_PACKAGES=ca-certificates
BASE_VERSION="bookworm-minbase+$BASE_PACKAGES"
DOCKERD_PID=""
MADE_BRIDGE=false

fail() {
  echo "sam-local: $*" >&2
  exit 1
}

teardown() {
  if [[ -n $DOCKERD_PID ]]; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  fi
  if [[ $MADE_BRIDGE == true ]]; then
    ip link delete docker0 2>/dev/null || true
  fi
}
trap teardown EXIT

if [[ ${1:-} == -- ]]; then
  shift
fi
CHECK=false
if [[ ${1:-} == --check ]]; then
  CHECK=true
  shift
elif [[ $# -eq 0 ]]; then
  echo "usage: scripts/sam-local.sh [--] COMMAND ARGS... | --check" >&2
  exit 2
fi

# A Docker that already answers, with the real base image at hand: use it as it is.
if command -v docker >/dev/null && docker info >/dev/null 2>&1 &&
  { docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; }; then
  log "sam local: using this machine's Docker and the real base image $BASE_IMAGE"
  export SAM_LOCAL_HOST_ADDRESS=${SAM_LOCAL_HOST_ADDRESS:-host.docker.internal}
else
  [[ $(id -u) -eq 0 ]] || fail "no usable Docker here, and starting a private dockerd needs root (run as root, or start Docker with $BASE_IMAGE available)"
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (Debian packages)"
    mkdir -p "$ROOT/target"
    command -v apt-get >/dev/null || fail "${missing[*]} missing and no apt-get to install them (install Docker, or docker.io and debootstrap)"
    # The package lists first only when the install cannot find the packages without them.
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }; } \
      >"$ROOT/target/sam-local-apt.log" 2>&1 ||
      fail "apt-get install ${missing[*]} failed (see target/sam-local-apt.log)"
  fi
  mkdir -p "$DOCKER_DIR"
  if ip link show docker0 >/dev/null 2>&1; then
    fail "a bridge docker0 already exists: another Docker daemon runs here; stop it or point DOCKER_HOST at it"
  fi
  export DOCKER_HOST="unix://$DOCKER_DIR/docker.sock"
  log "starting a private dockerd (socket $DOCKER_DIR/docker.sock, log target/docker/dockerd.log)"
  MADE_BRIDGE=true
  dockerd --host "$DOCKER_HOST" --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
    --pidfile "$DOCKER_DIR/dockerd.pid" --storage-driver overlay2 --iptables=false \
    >"$DOCKER_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 300); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || fail "dockerd exited at start: $(tail -n 1 "$DOCKER_DIR/dockerd.log")"
    sleep 0.1
  done
  docker info >/dev/null 2>&1 || fail "dockerd did not answer within 30 s (see target/docker/dockerd.log)"
  SAM_LOCAL_HOST_ADDRESS=$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)
  [[ -n $SAM_LOCAL_HOST_ADDRESS ]] || fail "dockerd made no docker0 bridge address"
  export SAM_LOCAL_HOST_ADDRESS
  if [[ $(docker image inspect "$BASE_IMAGE" --format '{{index .Config.Labels "impressio.base"}}' 2>/dev/null) != "$BASE_VERSION" ]]; then
    if [[ $(cat "$BASE_DIR/version" 2>/dev/null) != "$BASE_VERSION" || ! -s $BASE_DIR/rootfs.tar ]]; then
      log "building a minimal Debian root file system with debootstrap (once; cached in target/sam-base/)"
      rm -rf "$BASE_DIR/rootfs"
      mkdir -p "$BASE_DIR"
      debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$BASE_DIR/rootfs" http://deb.debian.org/debian \
        >"$BASE_DIR/debootstrap.log" 2>&1 || fail "debootstrap failed (see target/sam-base/debootstrap.log)"
      mkdir -p "$BASE_DIR/rootfs/var/task" "$BASE_DIR/rootfs/var/runtime" "$BASE_DIR/rootfs/opt"
      tar -C "$BASE_DIR/rootfs" -cf "$BASE_DIR/rootfs.tar.part" . && mv "$BASE_DIR/rootfs.tar.part" "$BASE_DIR/rootfs.tar"
      rm -rf "$BASE_DIR/rootfs"
      echo "$BASE_VERSION" >"$BASE_DIR/version"
    fi
    log "importing the root file system as $BASE_IMAGE (local; SAM runs with --skip-pull-image)"
    docker import --change "LABEL impressio.base=$BASE_VERSION" --change 'ENV LAMBDA_TASK_ROOT=/var/task' --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
      --change 'WORKDIR /var/task' "$BASE_DIR/rootfs.tar" "$BASE_IMAGE" >/dev/null ||
      fail "docker import of target/sam-base/rootfs.tar failed"
    # SAM's invoke images were built on the previous base: they go, and SAM builds them again.
    docker image ls --filter 'reference=public.ecr.aws/lambda/provided:*rapid*' -q | xargs -r docker rmi -f >/dev/null
  fi
  log "sam local: private dockerd, local base image $BASE_IMAGE, host address $SAM_LOCAL_HOST_ADDRESS"
fi

if [[ $CHECK == true ]]; then
  docker image inspect "$BASE_IMAGE" --format '{{.Id}}'
  echo "SAM_LOCAL_HOST_ADDRESS=$SAM_LOCAL_HOST_ADDRESS"
  exit 0
fi
"$@"
