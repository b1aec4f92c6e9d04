#!/usr/bin/env bash
# Plain `sockserv echo` at two commits, side by side in one run: has a change made the echo slower?
# A machine whose speed drifts between runs (a shared host) cannot answer that from two separate
# runs of bench/run.sh; here both builds are measured in the same rounds, alternately, so drift hits
# both alike, and besides messages per second it reports the server's CPU time per message, which a
# busy neighbour moves far less than the rate. Same pinning and load generator as bench/run.sh (server on CPU 0, bench/loadgen on
# CPU 1, 64-byte messages unless noted); each figure is the median of the rounds.
# Needs: the .NET SDK, gcc, taskset, python3, git.
# Usage: bench/ab.sh OLD NEW [SECONDS]
#   OLD, NEW: git revisions (NEW may be "work" for the working tree as it is)
#   Environment: REPEATS (default 3), MODELS (default "async eventloop threading pool forking"),
#     WARMUP (seconds of load before each measurement; default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: bench/ab.sh OLD NEW [SECONDS]}
NEW=${2:?usage: bench/ab.sh OLD NEW [SECONDS]}
SECONDS_PER_SHAPE=${3:-5}
REPEATS=${REPEATS:-3}
WARMUP=${WARMUP:-3}
MODELS=${MODELS:-"async eventloop threading pool forking"}
# shellcheck source=bench/common.sh
source bench/common.sh
REPO=$PWD

gcc -O2 -Wall -o "$WORK/loadgen" bench/loadgen/loadgen.c
build() { # revision directory
    local source=$REPO
    if [[ "$1" != work ]]; then
        source="$WORK/src-$2"
        git -C "$REPO" worktree add --detach -q "$source" "$1"
    fi
    dotnet publish "$source/src/Sockserv" -c Release -o "$WORK/$2" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
    if [[ "$1" != work ]]; then git -C "$REPO" worktree remove --force "$source"; fi
}
# The CPU clock ticks (user+system) of a server and its live children (forking's workers), from /proc.
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        total=$((total + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' /proc/"$pid"/stat 2>/dev/null || echo 0)))
    done
    echo "$total"
}
TICKS=$(getconf CLK_TCK)
build "$OLD" old
build "$NEW" new

SHAPES=(
    "1 conn|-c 1 -w 1 -s 64"
    "64 conns|-c 64 -w 1 -s 64"
    "512 conns|-c 512 -w 1 -s 64"
    "16×16 pipelined|-c 16 -w 16 -s 64"
    "8×64 KiB|-c 8 -w 1 -s 65536"
)
RESULTS="$WORK/results.tsv"
for round in $(seq "$REPEATS"); do
    for model in $MODELS; do
        for build in old new; do
            extra=""
            [[ $model == pool ]] && extra="--pool-threads 600"
            [[ $model == forking ]] && extra="--max-children 8"
            port=$(free_port)
            # shellcheck disable=SC2086
            taskset -c 0 "$WORK/$build/sockserv" echo --port "$port" --mode "$model" $extra >"$WORK/server.out" 2>&1 &
            SERVER_PID=$!
            for _ in $(seq 1 100); do grep -q serving "$WORK/server.out" && break; sleep 0.1; done
            for shape in "${SHAPES[@]}"; do
                # shellcheck disable=SC2086
                taskset -c 1 "$WORK/loadgen" -p "$port" -W 0 -d "$WARMUP" ${shape#*|} >/dev/null 2>&1 || true
                before=$(cpu_ticks "$SERVER_PID")
                # shellcheck disable=SC2086
                line=$(taskset -c 1 "$WORK/loadgen" -p "$port" -W 1 -d "$SECONDS_PER_SHAPE" ${shape#*|} 2>&1 | tr '\n' ' ')
                after=$(cpu_ticks "$SERVER_PID")
                messages=$(sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p' <<<"$line")
                rate=$messages
                [[ "${shape%%|*}" == 8×64* ]] && rate=$(sed -n 's/.*mb_per_s=\([0-9.]*\).*/\1/p' <<<"$line")
                # µs of server CPU per message (the generator's 1 s of its own warm-up is inside the
                # window too, so this is a slight overestimate, alike for both builds).
                cpu_us=$(python3 -c "print(($after - $before) / $TICKS * 1e6 / max(1, ${messages:-0} * $SECONDS_PER_SHAPE))")
                printf '%s\t%s\t%s\t%s\t%s\n' "$model" "${shape%%|*}" "$build" "${rate:-0}" "$cpu_us" >>"$RESULTS"
                echo "round $round, $model, $build, ${shape%%|*}: $line" >&2
            done
            kill "$SERVER_PID" 2>/dev/null || true
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=
        done
    done
done

python3 - "$RESULTS" "$OLD" "$NEW" "$REPEATS" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
cpu = collections.defaultdict(list)
shapes, models = [], []
for line in open(sys.argv[1]):
    model, shape, build, rate, cpu_us = line.rstrip("\n").split("\t")
    rows[(model, shape, build)].append(float(rate))
    cpu[(model, shape, build)].append(float(cpu_us))
    if shape not in shapes: shapes.append(shape)
    if model not in models: models.append(model)
def fmt(shape, v):
    return f"{v:,.0f} MB/s" if shape.startswith("8×64") else f"{v / 1000:.1f}k"
print(f"Plain `sockserv echo`, {sys.argv[2]} (old) against {sys.argv[3]} (new), the median of {sys.argv[4]} interleaved rounds; new ÷ old in brackets.\n")
print("| model | " + " | ".join(shapes) + " |")
print("|---|" + "---|" * len(shapes))
for model in models:
    cells = []
    for shape in shapes:
        old = statistics.median(rows[(model, shape, "old")])
        new = statistics.median(rows[(model, shape, "new")])
        cells.append(f"{fmt(shape, old)} → {fmt(shape, new)} ({new / old:.2f}×)" if old else "–")
    print(f"| {model} | " + " | ".join(cells) + " |")
print("\nServer CPU per message, µs (median of the rounds); new ÷ old in brackets, under 1 is cheaper.\n")
print("| model | " + " | ".join(shapes) + " |")
print("|---|" + "---|" * len(shapes))
for model in models:
    cells = []
    for shape in shapes:
        old = statistics.median(cpu[(model, shape, "old")])
        new = statistics.median(cpu[(model, shape, "new")])
        cells.append(f"{old:.2f} → {new:.2f} ({new / old:.2f}×)" if old else "–")
    print(f"| {model} | " + " | ".join(cells) + " |")
PY
