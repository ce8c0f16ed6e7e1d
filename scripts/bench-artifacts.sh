#!/usr/bin/env bash
# The deployment packages' figures: builds both functions' bootstraps in release mode as
# `sam build` does (cargo-lambda, x86_64, glibc-linked), then prints for each its size, its
# size zipped (DEFLATE, as in the package Lambda receives) and the newest glibc it requires
# (tools/src/artifact.rs); fails when one needs a glibc newer than Amazon Linux 2023's 2.34.
#
#   scripts/bench-artifacts.sh [--max-zipped-bytes N]
#
# A release build of both takes several minutes on 2 cores; the figures are in
# docs/performance.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"

log "cargo lambda build --release (edge, processor) into target/lambda"
cargo lambda build --release --bin edge --bin processor
cargo build -p tools --bin artifact-report
log "artifact sizes (bytes, DEFLATE-zipped) and the newest glibc each bootstrap requires"
"$ROOT/target/debug/artifact-report" "$@" target/lambda/edge/bootstrap target/lambda/processor/bootstrap
