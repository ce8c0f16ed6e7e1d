#!/usr/bin/env bash
# Sets up a fresh machine for the local stack and the tests, touching nothing global:
# a Python virtual environment in .venv with moto server, cargo-lambda, the SAM CLI,
# cfn-lint and schemathesis (pinned in requirements-dev.txt), and the rustfmt / clippy
# components.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
if command -v rustup >/dev/null; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

stamp="$VENV/.requirements-dev.txt"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s requirements-dev.txt "$stamp"; then
  log "installing requirements-dev.txt into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  cp requirements-dev.txt "$stamp"
fi
