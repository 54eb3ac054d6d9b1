#!/usr/bin/env bash
# A/B of an engine patch against HEAD, as behind the "publish fence" figures of
# docs/benchmarks.md: builds both in temporary worktrees, then alternates quick compares of
# ringbus-adaptive (base first in every pair) and prints each scenario's median M events/s.
#
#   docs/bench/experiments/ab.sh PATCH [PAIRS=4] [SCENARIOS=unicast-single,multicast-2,multicast-4]
set -euo pipefail
patch=$(realpath "$1")
pairs=${2:-4}
scenarios=${3:-unicast-single,multicast-2,multicast-4}
root=$(git rev-parse --show-toplevel)
# The full reference trace when it sits beside the checkout; else the embedded calibration.
trace="$root/../shared/data/vega-system-tests-trace.csv"
trace_args=()
if [[ -f $trace ]]; then trace_args=(--trace "$trace"); fi
work=$(mktemp -d)
cleanup() {
    git -C "$root" worktree remove --force "$work/base" 2>/dev/null || true
    git -C "$root" worktree remove --force "$work/exp" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
git -C "$root" worktree add -q --detach "$work/base" HEAD
git -C "$root" worktree add -q --detach "$work/exp" HEAD
git -C "$work/exp" apply "$patch"
for side in base exp; do
    (cd "$work/$side" && CARGO_TARGET_DIR="$work/target-$side" cargo build -q --release -p ringbus-bench)
done
for _ in $(seq "$pairs"); do
    for side in base exp; do
        printf '%-5s' "$side"
        "$work/target-$side/release/ringbus-bench" compare --quick --systems ringbus-adaptive \
            --scenarios "$scenarios" "${trace_args[@]}" 2>/dev/null |
            awk '/^== /{name=$2} /^ringbus/{printf " %s=%s", name, $2} END{print ""}'
    done
done
