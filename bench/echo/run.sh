#!/usr/bin/env bash
# Every concurrency model of `sockserv echo` under the C load generator, in one run: the server
# pinned to CPU 0, the load generator to CPU 1 (taskset), 64-byte messages unless noted.
# Needs: the .NET SDK, gcc, taskset (util-linux), python3 (for a free port).
# Usage: bench/echo/run.sh [SECONDS]   (default 5 s per shape, after 1 s of warm-up)
# Prints a Markdown table and writes it into docs/benchmarks.md between the echo markers.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_SHAPE=${1:-5}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

gcc -O2 -Wall -o "$WORK/loadgen" bench/loadgen/loadgen.c
dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# CPU seconds (user+system) of a process and its live children, from /proc.
cpu_seconds() {
    local total=0 tick
    tick=$(getconf CLK_TCK)
    for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        [[ -r /proc/$pid/stat ]] || continue
        total=$((total + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' /proc/"$pid"/stat)))
    done
    echo "scale=3; $total / $tick" | bc
}

# name  loadgen-arguments
SHAPES=(
    "1 conn|-c 1 -w 1 -s 64"
    "64 conns|-c 64 -w 1 -s 64"
    "512 conns|-c 512 -w 1 -s 64"
    "16×16 pipelined|-c 16 -w 16 -s 64"
    "8×64 KiB|-c 8 -w 1 -s 65536"
)
MODES=(threading pool async eventloop forking)

TABLE="| model | $(for s in "${SHAPES[@]}"; do printf '%s | ' "${s%%|*}"; done)"
TABLE="${TABLE% | } |"$'\n'"|---|$(for _ in "${SHAPES[@]}"; do printf -- '---|'; done)"
for mode in "${MODES[@]}"; do
    row="| $mode |"
    for shape in "${SHAPES[@]}"; do
        port=$(free_port)
        rm -f "$WORK/server.out"
        taskset -c 0 "$WORK/sockserv/sockserv" echo --port "$port" --mode "$mode" --pool-threads 600 --max-children 8 >"$WORK/server.out" 2>"$WORK/server.err" &
        SERVER_PID=$!
        for _ in $(seq 1 100); do grep -q serving "$WORK/server.out" && break; sleep 0.1; done
        # shellcheck disable=SC2086
        taskset -c 1 "$WORK/loadgen" -p "$port" -W 1 -d 1 ${shape#*|} >/dev/null 2>&1 || true
        before=$(cpu_seconds "$SERVER_PID")
        # shellcheck disable=SC2086
        result=$(taskset -c 1 "$WORK/loadgen" -p "$port" -W 1 -d "$SECONDS_PER_SHAPE" ${shape#*|} 2>&1) || true
        if [[ "$result" != *msgs_per_s=* ]]; then
            echo "$mode / ${shape%%|*}: failed: $result" >&2
            kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
            row="$row failed |"
            continue
        fi
        after=$(cpu_seconds "$SERVER_PID")
        kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
        msgs=$(sed -E 's/.*msgs_per_s=([0-9.]+).*/\1/' <<<"$result")
        mbs=$(sed -E 's/.*mb_per_s=([0-9.]+).*/\1/' <<<"$result")
        p99=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$result")
        errors=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$result")
        # CPU per message over the warm-up and the timed run together (1 + SECONDS of load at the run's rate).
        cpu_us=$(echo "scale=2; ($after - $before) * 1000000 / ($msgs * ($SECONDS_PER_SHAPE + 1))" | bc 2>/dev/null || echo "?")
        if [[ "${shape%%|*}" == 8×64* ]]; then
            cell="$mbs MB/s"
        else
            cell="$(printf "%'.0f" "$msgs") msg/s, p99 ${p99} µs"
        fi
        [[ "$errors" != "0" ]] && cell="$cell, $errors errors"
        row="$row $cell, ${cpu_us} µs CPU/msg |"
        echo "$mode / ${shape%%|*}: $result cpu_us_per_msg=$cpu_us" >&2
    done
    TABLE="$TABLE"$'\n'"$row"
done

MACHINE="$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr), .NET $(dotnet --version)"
echo
echo "$TABLE"
echo
echo "$MACHINE"

DOC=docs/benchmarks.md
[[ -f "$DOC" ]] || printf '# Benchmarks\n' > "$DOC"
SECTION=$(printf '<!-- echo:begin -->\n## sockserv echo, every model\n\nMeasured by `bench/echo/run.sh` on %s. Server (the Release build, ReadyToRun) pinned to CPU 0 with its workers, load generator (`bench/loadgen`, C on epoll, closed loop) pinned to CPU 1; %s s per shape after 1 s of warm-up. CPU per message is the server'"'"'s user+system time (all its processes) over warm-up and run, divided by the messages the warm-up and run carried at the measured rate.\n\n%s\n<!-- echo:end -->' "$MACHINE" "$SECONDS_PER_SHAPE" "$TABLE")
python3 - "$DOC" "$SECTION" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
if '<!-- echo:begin -->' in text:
    text = re.sub(r'<!-- echo:begin -->.*?<!-- echo:end -->', lambda _: section, text, flags=re.S)
else:
    text = text.rstrip('\n') + '\n\n' + section + '\n'
open(path, 'w').write(text)
PY
