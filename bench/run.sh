#!/usr/bin/env bash
# Every concurrent model of `sockserv echo` (all but sync) and the servers a .NET user would pick
# instead (a C epoll echo, raw .NET sockets, Kestrel, DotNetty, Python's ThreadingTCPServer), under
# the C load generator: the server pinned to CPU 0, the load generator to CPU 1 (taskset), 64-byte
# messages unless noted. Each server and shape is measured REPEATS times, the servers in a new
# shuffled order each round, and the report gives medians, the spread, and each target of issue 6
# computed from the same run (bench/report.py).
# Needs: the .NET SDK (with the ASP.NET Core shared framework), gcc, taskset (util-linux), python3.
# Usage: bench/run.sh [SECONDS] [SERVER-FILTER]
#   SECONDS: timed run per measurement (default 5), after the load generator's own 1 s warm-up
#   SERVER-FILTER: a regular expression on server names, e.g. 'eventloop|C epoll'; with one, the
#     report goes to stdout only and docs/benchmarks.md is left alone.
#   Environment: REPEATS (default 3), WARMUP (seconds of load before each measurement, for the JIT;
#     default 3), RESULTS (the file the raw measurements go to, one line each; by default a new
#     file in /tmp, kept, its name printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_SHAPE=${1:-5}
FILTER=${2:-}
REPEATS=${REPEATS:-3}
WARMUP=${WARMUP:-3}
# shellcheck source=bench/common.sh
source bench/common.sh
RESULTS=${RESULTS:-$(mktemp "${TMPDIR:-/tmp}/bench-echo.XXXXXX.tsv")}

gcc -O2 -Wall -o "$WORK/loadgen" bench/loadgen/loadgen.c
gcc -O2 -Wall -o "$WORK/epoll_echo" bench/servers/c/epoll_echo.c
dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
dotnet publish bench/servers/RefServers -c Release -o "$WORK/ref" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null

# A reading summed over a server and its live children (forking's workers), from /proc: the
# resident kilobytes, or the CPU clock ticks (user+system). A process gone meanwhile counts 0.
over_family() { # pid reading
    local total=0 pid
    for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        total=$((total + $($2 "$pid" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
resident_kb() { awk '/^VmRSS:/ { kb = $2 } END { print kb + 0 }' /proc/"$1"/status; }
clock_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' /proc/"$1"/stat; }
rss_kb() { over_family "$1" resident_kb; }
cpu_ticks() { over_family "$1" clock_ticks; }

# The servers: a name, then the command (PORT is replaced by the port).
SERVERS=(
    "C epoll, 1 thread|$WORK/epoll_echo PORT"
    ".NET threads|$WORK/ref/RefServers threads PORT"
    ".NET async, defaults|$WORK/ref/RefServers async PORT"
    ".NET async, inline completions|env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 $WORK/ref/RefServers async PORT"
    "Kestrel ConnectionHandler|$WORK/ref/RefServers kestrel PORT"
    "DotNetty 0.7.6|$WORK/ref/RefServers dotnetty PORT"
    "Python ThreadingTCPServer|python3 bench/servers/python/threading_echo.py PORT"
    "sockserv threading|$WORK/sockserv/sockserv echo --port PORT --mode threading"
    "sockserv pool|$WORK/sockserv/sockserv echo --port PORT --mode pool --pool-threads 600"
    "sockserv async|$WORK/sockserv/sockserv echo --port PORT --mode async"
    "sockserv eventloop|$WORK/sockserv/sockserv echo --port PORT --mode eventloop"
    "sockserv forking|$WORK/sockserv/sockserv echo --port PORT --mode forking --max-children 8"
)
if [[ -n "$FILTER" ]]; then
    kept=()
    for server in "${SERVERS[@]}"; do [[ "${server%%|*}" =~ $FILTER ]] && kept+=("$server"); done
    SERVERS=("${kept[@]}")
fi

# name  loadgen-arguments
SHAPES=(
    "1 conn|-c 1 -w 1 -s 64"
    "64 conns|-c 64 -w 1 -s 64"
    "512 conns|-c 512 -w 1 -s 64"
    "16×16 pipelined|-c 16 -w 16 -s 64"
    "8×64 KiB|-c 8 -w 1 -s 65536"
    "10k conns|-c 10000 -w 1 -s 64"
)

TICK=$(getconf CLK_TCK)
TIMEFORMAT='%U %S'
printf 'server\tshape\tround\tresult\tserver_cpu_s\tloadgen_cpu_s\tkb_per_conn\n' >"$RESULTS"
measure() { # name command shape-name loadgen-arguments round
    local name=$1 command=$2 shape=$3 load=$4 round=$5 port before after idle_kb busy_kb result warm
    port=$(free_port)
    # shellcheck disable=SC2086
    taskset -c 0 ${command//PORT/$port} >"$WORK/server.out" 2>"$WORK/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 100); do grep -q serving "$WORK/server.out" && break; sleep 0.1; done
    # Warm-up: the JIT tiers code up while it runs (slowly on one core). For the memory per
    # connection at 10k, the warm-up runs 64 connections: the baseline then holds what serving
    # costs once (code paged in, the JIT's work) but no garbage from a first wave of 10,000.
    warm=$load
    [[ "$shape" == 10k* ]] && warm="-c 64 -w 1 -s 64"
    # shellcheck disable=SC2086
    taskset -c 1 "$WORK/loadgen" -p "$port" -W 0 -d "$WARMUP" $warm >/dev/null 2>&1 || true
    idle_kb=$(rss_kb "$SERVER_PID")
    before=$(cpu_ticks "$SERVER_PID")
    # The timed run: 1 s of the generator's own warm-up at full load, then SECONDS measured; the
    # server's CPU is read over both (1 + SECONDS at the measured rate).
    # shellcheck disable=SC2086
    { time taskset -c 1 "$WORK/loadgen" -p "$port" -W 1 -d "$SECONDS_PER_SHAPE" $load >"$WORK/load.out" 2>&1; } 2>"$WORK/load.time" &
    local load_pid=$!
    # Resident memory in the middle of the timed run, for the memory per connection.
    sleep "$(python3 -c "print(1 + $SECONDS_PER_SHAPE / 2)")"
    busy_kb=$(rss_kb "$SERVER_PID")
    wait "$load_pid" || true
    result=$(tr '\n\t' '  ' <"$WORK/load.out")
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        after=$(cpu_ticks "$SERVER_PID")
    else
        # The server died under load: the round failed (and its CPU cannot be read any more).
        result="failed: the server exited ($(tail -c 300 "$WORK/server.err" | tr '\n\t' '  ')) $result"
        after=$before
    fi
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    [[ "$result" == *msgs_per_s=* && "$result" != failed:* ]] || result="failed: ${result:-no output from the load generator}"
    python3 - "$RESULTS" "$name" "$shape" "$round" "$result" "$before" "$after" "$TICK" "$(tail -1 "$WORK/load.time")" "$idle_kb" "$busy_kb" <<'PY'
import re, sys
results, name, shape, rnd, result, before, after, tick, times, idle, busy = sys.argv[1:]
cpu = (int(after) - int(before)) / int(tick)
try:
    loadgen = sum(map(float, times.split()))
except ValueError:
    loadgen = ""
m = re.search(r"conns=(\d+)", result)
kb = round((int(busy) - int(idle)) / int(m.group(1)), 2) if m and int(m.group(1)) else ""
with open(results, "a", encoding="utf-8") as f:
    f.write("\t".join(map(str, [name, shape, rnd, result, cpu, loadgen, kb])) + "\n")
PY
    echo "round $round, $name, $shape: $result" >&2
}

for round in $(seq 1 "$REPEATS"); do
    for shape in "${SHAPES[@]}"; do
        # A new order each round, so a slow minute of the machine does not always fall on the same server.
        mapfile -t order < <(printf '%s\n' "${SERVERS[@]}" | shuf)
        for server in "${order[@]}"; do
            measure "${server%%|*}" "${server#*|}" "${shape%%|*}" "${shape#*|}" "$round"
        done
    done
done

MACHINE="$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr), .NET $(dotnet --version)"
SETUP="$REPEATS rounds; in each, every server and shape measured for $SECONDS_PER_SHAPE s after $WARMUP s of warm-up load and 1 s of the generator's own, servers in a shuffled order"
REPORT=$(python3 bench/report.py "$RESULTS" "$MACHINE" "$SETUP" "$SECONDS_PER_SHAPE")
echo "$REPORT"
if [[ -z "$FILTER" ]]; then
    python3 bench/write_section.py docs/benchmarks.md echo "$REPORT"
fi
echo "raw measurements: $RESULTS" >&2
