#!/usr/bin/env bash
# Where one server's time goes under one load shape: the profiles docs/benchmarks.md cites.
# Same pinning as bench/run.sh (server on CPU 0, load generator on CPU 1). Prints the system
# calls the server made per message, then its CPU samples by thread, by module and by symbol
# (.NET code named through the runtime's perf map).
# Needs: what bench/run.sh needs, plus perf (Debian's linux-perf) and root or
# kernel.perf_event_paranoid <= 1 for the system-call counts.
# Usage: bench/profile.sh SERVER [LOADGEN-ARGUMENTS] [SECONDS]
#   SERVER: c | threads | async-ref | kestrel | threading | pool | async | eventloop | forking
#   e.g.  bench/profile.sh eventloop '-c 64 -w 1 -s 64' 4
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:?usage: bench/profile.sh SERVER [LOADGEN-ARGUMENTS] [SECONDS]}
LOAD=${2:--c 64 -w 1 -s 64}
SECONDS_TO_RECORD=${3:-4}
# shellcheck source=bench/common.sh
source bench/common.sh

gcc -O2 -Wall -o "$WORK/loadgen" bench/loadgen/loadgen.c
case "$SERVER" in
    c) gcc -O2 -Wall -o "$WORK/epoll_echo" bench/servers/c/epoll_echo.c; COMMAND="$WORK/epoll_echo PORT" ;;
    threads | async-ref | kestrel)
        dotnet publish bench/servers/RefServers -c Release -o "$WORK/ref" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
        COMMAND="$WORK/ref/RefServers ${SERVER%-ref} PORT" ;;
    threading | pool | async | eventloop | forking)
        dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
        COMMAND="$WORK/sockserv/sockserv echo --port PORT --mode $SERVER" ;;
    *) echo "unknown server '$SERVER'" >&2; exit 2 ;;
esac

port=$(free_port)
# The perf map names JIT-compiled code; W^X off so the map's addresses are the ones that run.
# shellcheck disable=SC2086
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 taskset -c 0 ${COMMAND//PORT/$port} >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q serving "$WORK/server.out" && break; sleep 0.1; done

# shellcheck disable=SC2086
taskset -c 1 "$WORK/loadgen" -p "$port" -W 0 -d 3 $LOAD >/dev/null   # warm-up, for the JIT

echo "== system calls over 2 s of load (all the server's threads at the start)"
perf stat -e 'syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex' \
    -p "$SERVER_PID" -o "$WORK/stat" -- sleep 2 >/dev/null 2>&1 &
stat_pid=$!
# shellcheck disable=SC2086
taskset -c 1 "$WORK/loadgen" -p "$port" -W 0 -d 2 $LOAD
wait "$stat_pid" || true
grep -E 'syscalls' "$WORK/stat" | awk '{ printf "  %12s  %s\n", $1, $2 }'

echo "== CPU samples over $SECONDS_TO_RECORD s of load"
perf record -F 2000 -e cpu-clock -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_TO_RECORD" >/dev/null 2>&1 &
record_pid=$!
# shellcheck disable=SC2086
taskset -c 1 "$WORK/loadgen" -p "$port" -W 0 -d "$SECONDS_TO_RECORD" $LOAD
wait "$record_pid" || true
kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
report() { perf report -i "$WORK/perf.data" --stdio --no-children -g none "$@" 2>/dev/null | grep -v -e '^#' -e '^$'; }
echo "-- by thread";  report --sort comm | head -8
echo "-- by module";  report --sort dso | head -12
echo "-- by symbol, user space (kernel symbols left out)"
report --sort sym | grep -v '\[k\]' | head -30 | cut -c1-200
