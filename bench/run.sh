#!/usr/bin/env bash
# Every concurrent model of `sockserv echo` (all but sync) and the servers a .NET user would pick instead (a C
# epoll echo, raw .NET sockets, Kestrel, DotNetty, Python's ThreadingTCPServer), under the C load
# generator, in one run: the server pinned to CPU 0, the load generator to CPU 1 (taskset),
# 64-byte messages unless noted.
# Needs: the .NET SDK (with the ASP.NET Core shared framework), gcc, taskset (util-linux), bc, python3.
# Usage: bench/run.sh [SECONDS] [SERVER-FILTER]   (default 5 s per shape after 1 s of warm-up; a
#        filter is a regular expression on server names, e.g. 'eventloop|C epoll')
# Prints a Markdown table and writes it into docs/benchmarks.md between the echo markers (with a
# filter, only the rows it kept: restore the file, or run without one, for the full table).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_SHAPE=${1:-5}
FILTER=${2:-.}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

gcc -O2 -Wall -o "$WORK/loadgen" bench/loadgen/loadgen.c
gcc -O2 -Wall -o "$WORK/epoll_echo" bench/servers/c/epoll_echo.c
dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
dotnet publish bench/servers/RefServers -c Release -o "$WORK/ref" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Resident kilobytes of a process and its live children, from /proc.
rss_kb() {
    local total=0
    for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        [[ -r /proc/$pid/status ]] || continue
        total=$((total + $(awk '/^VmRSS:/ { print $2 }' /proc/"$pid"/status)))
    done
    echo "$total"
}

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
    "10k conns|-c 10000 -w 1 -s 64"
)

TABLE="| server (1 core) | $(for s in "${SHAPES[@]}"; do printf '%s | ' "${s%%|*}"; done)"
TABLE="${TABLE% | } |"$'\n'"|---|$(for _ in "${SHAPES[@]}"; do printf -- '---|'; done)"
for server in "${SERVERS[@]}"; do
    name=${server%%|*}
    [[ "$name" =~ $FILTER ]] || continue
    row="| $name |"
    for shape in "${SHAPES[@]}"; do
        port=$(free_port)
        rm -f "$WORK/server.out"
        command=${server#*|}
        # shellcheck disable=SC2086
        taskset -c 0 ${command//PORT/$port} >"$WORK/server.out" 2>"$WORK/server.err" &
        SERVER_PID=$!
        for _ in $(seq 1 100); do grep -q serving "$WORK/server.out" && break; sleep 0.1; done
        idle_kb=$(rss_kb "$SERVER_PID")
        # shellcheck disable=SC2086
        taskset -c 1 "$WORK/loadgen" -p "$port" -W 1 -d 1 ${shape#*|} >/dev/null 2>&1 || true
        before=$(cpu_seconds "$SERVER_PID")
        # shellcheck disable=SC2086
        taskset -c 1 "$WORK/loadgen" -p "$port" -W 1 -d "$SECONDS_PER_SHAPE" ${shape#*|} >"$WORK/load.out" 2>&1 &
        LOAD_PID=$!
        # Resident memory in the middle of the timed run, for the memory per connection.
        sleep "$(echo "1 + $SECONDS_PER_SHAPE / 2" | bc -l)"
        busy_kb=$(rss_kb "$SERVER_PID")
        wait "$LOAD_PID" || true
        result=$(cat "$WORK/load.out")
        if [[ "$result" != *msgs_per_s=* ]]; then
            echo "$name / ${shape%%|*}: failed: $result" >&2
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
        conns=$(sed -E 's/.*conns=([0-9]+).*/\1/' <<<"$result")
        kb_per_conn=$(echo "scale=1; ($busy_kb - $idle_kb) / $conns" | bc 2>/dev/null || echo "?")
        if [[ "${shape%%|*}" == 8×64* ]]; then
            cell="$mbs MB/s"
        elif [[ "${shape%%|*}" == 10k* ]]; then
            cell="$(printf "%'.0f" "$msgs") msg/s, ${kb_per_conn} KB/conn"
        else
            cell="$(printf "%'.0f" "$msgs") msg/s, p99 ${p99} µs"
        fi
        [[ "$errors" != "0" ]] && cell="$cell, $errors errors"
        row="$row $cell, ${cpu_us} µs CPU/msg |"
        echo "$name / ${shape%%|*}: $result cpu_us_per_msg=$cpu_us kb_per_conn=$kb_per_conn" >&2
    done
    TABLE="$TABLE"$'\n'"$row"
done

MACHINE="$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr), .NET $(dotnet --version)"
echo
echo "$TABLE"
echo
echo "$MACHINE"

DOC=docs/benchmarks.md
SECTION=$(printf '<!-- echo:begin -->\n## Echo servers side by side\n\nMeasured by `bench/run.sh` on %s. Server (Release builds, ReadyToRun) pinned to CPU 0 with any worker processes, load generator (`bench/loadgen`, C on epoll, closed loop) pinned to CPU 1; %s s per shape after 1 s of warm-up. CPU per message is the server'"'"'s user+system time (all its processes) over warm-up and run, divided by the messages the warm-up and run carried at the measured rate.\n\n%s\n<!-- echo:end -->' "$MACHINE" "$SECONDS_PER_SHAPE" "$TABLE")
python3 bench/write_section.py "$DOC" echo "$SECTION"
