#!/usr/bin/env bash
# One `sockserv echo --mode async` against two behind HAProxy, on this machine (issue 18's "scale-out,
# measured"): the same persistent-connection echo load (bench/loadgen, 64-byte messages) sent
#   direct     straight to one instance (the baseline: what HAProxy costs is measured against it),
#   haproxy-1  through HAProxy (send-proxy-v2) to one instance with --proxy-trust 127.0.0.1/32,
#   haproxy-2  through HAProxy to two such instances (round robin).
# Nothing is pinned: HAProxy, the instances and the load generator share the machine's cores, which is
# what running several instances on one machine means. On 2 cores, expect haproxy-2 to beat haproxy-1
# only as far as a core is left idle by one instance; HAProxy's own CPU is taken from the servers'.
# Each configuration runs REPEATS times, in a new order each round; the table gives medians.
# Needs: gcc, haproxy, python3, and the .NET SDK (unless SOCKSERV names a built sockserv).
# Usage: bench/haproxy/run.sh
#   Environment: SECONDS (timed run per measurement; default 10), REPEATS (default 3), WARMUP (the load
#     generator's warm-up before each measurement; default 2), LOADS (the loadgen shapes, separated by
#     ';'; default "-c 64 -w 1 -s 64;-c 512 -w 1 -s 64;-c 16 -w 16 -s 64"), SOCKSERV (a sockserv to run
#     instead of publishing a Release build), RESULTS (the raw measurements' file; default a new one in /tmp).
# Read first: bash's own SECONDS clock starts from the value the environment gives it, so this is that value.
DURATION=$SECONDS
set -euo pipefail
cd "$(dirname "$0")/../.."
(( DURATION > 0 )) || DURATION=10
REPEATS=${REPEATS:-3}
WARMUP=${WARMUP:-2}
LOADS=${LOADS:-"-c 64 -w 1 -s 64;-c 512 -w 1 -s 64;-c 16 -w 16 -s 64"}
RESULTS=${RESULTS:-$(mktemp "${TMPDIR:-/tmp}/bench-haproxy.XXXXXX.tsv")}
# shellcheck source=bench/common.sh
source bench/common.sh

# Everything this script starts, stopped at the end however it ends (common.sh's trap knows one server only).
STARTED=()
stop_started() {
    local pid
    for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
    STARTED=()
}
trap 'stop_started; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

command -v haproxy >/dev/null || { echo "bench/haproxy/run.sh: needs haproxy (apt-get install haproxy)" >&2; exit 1; }
gcc -O2 -Wall -o "$WORK/loadgen" bench/loadgen/loadgen.c
if [[ -n "${SOCKSERV:-}" ]]; then
    SOCKSERV_BIN=$SOCKSERV
else
    dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
    SOCKSERV_BIN="$WORK/sockserv/sockserv"
fi

wait_for() { # what command...: retries the command for up to 10 s
    local what=$1
    shift
    for _ in $(seq 1 100); do "$@" 2>/dev/null && return 0; sleep 0.1; done
    echo "bench/haproxy/run.sh: $what did not come up" >&2
    return 1
}
accepts() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$1"; }

start_echo() { # port [options...]
    local port=$1
    shift
    "$SOCKSERV_BIN" echo --port "$port" --mode async "$@" >"$WORK/echo-$port.log" 2>&1 &
    STARTED+=($!)
    wait_for "sockserv echo on port $port" grep -q serving "$WORK/echo-$port.log"
}

start_haproxy() { # port backend-ports...
    local port=$1 backend
    shift
    {
        printf 'global\n    maxconn 8192\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n'
        printf 'frontend front\n    bind 127.0.0.1:%s\n    default_backend echo\nbackend echo\n    balance roundrobin\n' "$port"
        for backend in "$@"; do
            printf '    server s%s 127.0.0.1:%s send-proxy-v2 check inter 1s\n' "$backend" "$backend"
        done
    } >"$WORK/haproxy.cfg"
    haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
    STARTED+=($!)
    wait_for "haproxy on port $port" accepts "$port"
}

# Starts one configuration; prints the port the load goes to.
start_config() {
    local front a b
    case $1 in
        direct)
            a=$(free_port); start_echo "$a"; echo "$a" ;;
        haproxy-1)
            a=$(free_port); start_echo "$a" --proxy-trust 127.0.0.1/32
            front=$(free_port); start_haproxy "$front" "$a"; echo "$front" ;;
        haproxy-2)
            a=$(free_port); start_echo "$a" --proxy-trust 127.0.0.1/32
            b=$(free_port); start_echo "$b" --proxy-trust 127.0.0.1/32
            front=$(free_port); start_haproxy "$front" "$a" "$b"; echo "$front" ;;
    esac
}

CONFIGS=(direct haproxy-1 haproxy-2)
IFS=';' read -r -a SHAPES <<<"$LOADS"
for round in $(seq "$REPEATS"); do
    for config in $(printf '%s\n' "${CONFIGS[@]}" | shuf); do
        # Not in a subshell: the pids must reach STARTED here.
        start_config "$config" >"$WORK/port"
        port=$(cat "$WORK/port")
        for shape in "${SHAPES[@]}"; do
            # shellcheck disable=SC2086
            line=$("$WORK/loadgen" -p "$port" -W "$WARMUP" -d "$DURATION" $shape 2>&1 | tr '\n' ' ') || true
            rate=$(sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p' <<<"$line")
            p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
            errors=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$line")
            printf '%s\t%s\t%s\t%s\t%s\n' "$config" "$shape" "${rate:-0}" "${p99:-0}" "${errors:-?}" >>"$RESULTS"
            echo "round $round, $config, $shape: $line" >&2
        done
        stop_started
    done
done

python3 - "$RESULTS" "$DURATION" "$REPEATS" "$(nproc)" <<'PY'
import statistics, sys
from collections import defaultdict
path, seconds, repeats, cores = sys.argv[1:]
rates, p99s, errors = defaultdict(list), defaultdict(list), defaultdict(int)
shapes = []
for line in open(path):
    config, shape, rate, p99, err = line.rstrip("\n").split("\t")
    if shape not in shapes:
        shapes.append(shape)
    rates[config, shape].append(float(rate))
    p99s[config, shape].append(float(p99))
    errors[config, shape] += int(err) if err.isdigit() else 0
def cell(config, shape):
    r = rates.get((config, shape))
    if not r:
        return "-"
    return f"{statistics.median(r):,.0f} msg/s, p99 {statistics.median(p99s[config, shape]):,.0f} µs"
print(f"\nsockserv echo --mode async, {seconds} s per measurement, median of {repeats}, {cores} cores, nothing pinned\n")
print("| loadgen | direct, 1 instance | HAProxy → 1 instance | HAProxy → 2 instances | 2 vs 1 behind HAProxy |")
print("|---|---|---|---|---|")
for shape in shapes:
    one, two = rates.get(("haproxy-1", shape)), rates.get(("haproxy-2", shape))
    ratio = f"{statistics.median(two) / statistics.median(one):.2f}×" if one and two and statistics.median(one) > 0 else "-"
    print(f"| `{shape}` | {cell('direct', shape)} | {cell('haproxy-1', shape)} | {cell('haproxy-2', shape)} | {ratio} |")
bad = {k: v for k, v in errors.items() if v}
if bad:
    print("\nerrors reported by loadgen: " + ", ".join(f"{c} `{s}`: {n}" for (c, s), n in bad.items()))
PY
echo "raw measurements: $RESULTS" >&2
