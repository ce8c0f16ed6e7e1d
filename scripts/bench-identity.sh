#!/usr/bin/env bash
# Identity accuracy: a simulated organization of 20,000 people (documented distributions:
# tools/src/identity_sim.rs) resolved by the real resolver over the in-memory store, under the
# rule before corroboration and under the configured rule; prints the false-merge and split
# rates per person, pairwise precision and recall, and the same by device class.
#
#   scripts/bench-identity.sh [--people N] [--seed S] [--set parameter=value]... [--config IDENTITY_CONFIG]
#
# The figures are in docs/identity.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
log "cargo build --release -p tools --bin identity-accuracy"
cargo build --release -p tools --bin identity-accuracy
"$ROOT/target/release/identity-accuracy" "$@"
