#!/usr/bin/env bash
# FTP servers side by side (issue 16): `sockserv ftp serve` (async and eventloop models) beside
# vsftpd and pyftpdlib's threaded server, on loopback, in one run. Each server is pinned to CPU 0
# (taskset; vsftpd's session processes inherit it), the clients to CPU 1.
#   - RETR and STOR of a 1 GiB file, plain and over TLS (AUTH TLS, PROT P): curl, MB/s of the
#     transfer itself (curl's time_total less its time_pretransfer, so the login is not counted);
#   - 300 clients connecting and logging in at once (seconds, password hashing on: sockserv's
#     PBKDF2 store, vsftpd's PAM and crypt(3), pyftpdlib's plain-text default authorizer), the first
#     burst after the server starts and a second one;
#   - 300 logged-in clients each RETR of a 10 MiB file at once (seconds);
#   - resident memory of the server's whole process family with 300 idle logged-in sessions, per
#     session (PSS, so that vsftpd's shared pages are not counted once per process).
# The many-client shapes run bench/ftp/ftpload.c (C, one epoll thread). The files are in a tmpfs
# (TMPDIR, /dev/shm by default): the run measures the servers, not this machine's disk.
# The median of REPEATS rounds, the servers in a new shuffled order each round; the section of
# docs/benchmarks.md between <!-- ftp:begin --> and <!-- ftp:end --> is rewritten, targets included.
#
# Logins: vsftpd logs in a local system user made here (useradd, a random password through chpasswd,
# so hashed by the system's default method) and removed at the end; sockserv a user of its own store
# (the same name and password); pyftpdlib the same pair in its DummyAuthorizer. One user for all
# clients, as such benchmarks are usually set up.
#
# Needs: root (vsftpd runs as root, and the system user is made and removed), the .NET SDK, gcc,
# curl, openssl, vsftpd, /usr/bin/python3 with pyftpdlib and pyOpenSSL (Debian's python3-pyftpdlib
# and python3-openssl), taskset, useradd/chpasswd/userdel.
# Usage: bench/ftp/run.sh [SERVER-FILTER]
#   SERVER-FILTER: a regular expression on server names; with one (or SHAPES=big, or PROFILE=1), docs/benchmarks.md is left alone.
#   Environment: REPEATS (default 3), BIG_MIB (1024), SMALL_MIB (10), CLIENTS (300), TRANSFERS (3 of each big
#   file's transfers a round, each one a sample of the median), RAMP (32: the many-client
#   shapes open at most this many connections not yet greeted at a time, vsftpd's fixed listen backlog; one more
#   burst opens all CLIENTS at once and counts how many the server served), for a quick look
#   e.g. REPEATS=1 BIG_MIB=64 CLIENTS=30 bench/ftp/run.sh 'vsftpd|async'. SHAPES=big runs the big
#   transfers alone. PROFILE=1 (needs perf) samples CPU 0, the server's (run it on a quiet machine: whatever else
#   runs there is sampled too), during each big transfer and writes the top of
#   `perf report` to $TMPDIR/ftp-profile/ (one file a server, shape, round and transfer; .NET code named
#   through the runtime's perf map). Each big transfer also records the server's CPU time per GiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
FILTER=${1:-}
REPEATS=${REPEATS:-3}
BIG_MIB=${BIG_MIB:-1024}
SMALL_MIB=${SMALL_MIB:-10}
CLIENTS=${CLIENTS:-300}
RAMP=${RAMP:-32}
TRANSFERS=${TRANSFERS:-3}
SHAPES=${SHAPES:-all}
PROFILE=${PROFILE:-0}
TICKS=$(getconf CLK_TCK)
usage_error() { echo "bench/ftp/run.sh: $*" >&2; exit 2; }
for knob in REPEATS BIG_MIB SMALL_MIB CLIENTS TRANSFERS; do
    [[ ${!knob} =~ ^[1-9][0-9]{0,5}$ ]] || usage_error "$knob must be a whole number from 1 to 999999, not '${!knob}'"
done
[[ $RAMP =~ ^[0-9]{1,6}$ ]] || usage_error "RAMP must be a whole number (0: no ramp), not '$RAMP'"
[[ $SHAPES == all || $SHAPES == big ]] || usage_error "SHAPES must be all or big, not '$SHAPES'"
[[ $PROFILE == 0 || $PROFILE == 1 ]] || usage_error "PROFILE must be 0 or 1, not '$PROFILE'"
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/ftp/run.sh: run it as root: vsftpd starts as root, and a system user is made for its logins" >&2
    exit 2
fi
VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
TOOLS=("$VSFTPD" curl openssl gcc taskset useradd chpasswd userdel)
if [[ $PROFILE == 1 ]]; then
    TOOLS+=(perf)
    # perf names JIT-compiled methods from /tmp/perf-PID.map; precompiled (ReadyToRun) code would stay unnamed.
    export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0
    PROFILE_DIR=${TMPDIR:-/dev/shm}/ftp-profile
    rm -rf "$PROFILE_DIR" && mkdir -p "$PROFILE_DIR"
    PERF_MAPS_SINCE=$(mktemp /tmp/ftp-bench-since.XXXX)
fi
for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null || { echo "bench/ftp/run.sh: $tool is missing (see the Needs line at the top)" >&2; exit 2; }
done
/usr/bin/python3 -c 'import pyftpdlib, OpenSSL' 2>/dev/null ||
    { echo "bench/ftp/run.sh: /usr/bin/python3 lacks pyftpdlib or pyOpenSSL (apt-get install python3-pyftpdlib python3-openssl)" >&2; exit 2; }

export TMPDIR=${TMPDIR:-/dev/shm}
# shellcheck source=bench/common.sh
source bench/common.sh
BENCH_USER=sockserv-ftpbench
RESULTS=$WORK/results.tsv
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Every process of the server under test: itself and its descendants (vsftpd's sessions are two each).
family() {
    local pid child
    for pid in "$@"; do
        echo "$pid"
        for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do family "$child"; done
    done
}
stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    local pids
    pids=$(family "$SERVER_PID")
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        # shellcheck disable=SC2086
        kill -0 $pids 2>/dev/null || break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    SERVER_PID=
}
finish() {
    stop_server
    # The runtime's perf maps of the servers this run started (PROFILE=1).
    [[ -n ${PERF_MAPS_SINCE:-} ]] && find /tmp -maxdepth 1 -name 'perf-*.map' -newer "$PERF_MAPS_SINCE" -delete 2>/dev/null
    rm -f "${PERF_MAPS_SINCE:-}"
    userdel "$BENCH_USER" 2>/dev/null || true
    cleanup
}
trap finish EXIT
# Stopped by a signal, the script still cleans up (the user, the servers).
trap 'exit 143' TERM INT

# The system user for vsftpd: the same name and password serve the other two servers.
userdel "$BENCH_USER" 2>/dev/null || true
PASSWORD=$(openssl rand -hex 16)
mkdir -p "$WORK/homes/sockserv" "$WORK/homes/vsftpd" "$WORK/homes/pyftpdlib" "$WORK/data" "$WORK/vsftpd-empty"
chmod 755 "$WORK" "$WORK/homes"
chmod 555 "$WORK/vsftpd-empty"
# pam_shells (in Debian's /etc/pam.d/vsftpd) wants a shell listed in /etc/shells.
useradd --no-create-home --home-dir "$WORK/homes/vsftpd" --shell /bin/sh --user-group "$BENCH_USER"
echo "$BENCH_USER:$PASSWORD" | chpasswd
chown "$BENCH_USER:" "$WORK/homes/vsftpd"
case $(getent shadow "$BENCH_USER" | cut -d: -f2 | cut -d'$' -f2) in
    y) HASH_METHOD="yescrypt" ;; 6) HASH_METHOD="SHA-512 crypt" ;; 5) HASH_METHOD="SHA-256 crypt" ;; *) HASH_METHOD="crypt(3)" ;;
esac
printf 'machine 127.0.0.1 login %s password %s\n' "$BENCH_USER" "$PASSWORD" >"$WORK/netrc"
chmod 600 "$WORK/netrc"

echo "bench/ftp/run.sh: building, and writing the test files" >&2
gcc -O2 -Wall -o "$WORK/ftpload" bench/ftp/ftpload.c
dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
CERT=$WORK/cert.pem
KEY=$WORK/key.pem
BIG_BYTES=$((BIG_MIB << 20))
SMALL_BYTES=$((SMALL_MIB << 20))
head -c "$BIG_BYTES" /dev/urandom >"$WORK/data/big.bin"
head -c "$SMALL_BYTES" /dev/urandom >"$WORK/data/small.bin"
for home in sockserv vsftpd pyftpdlib; do
    # Hard links: one copy in memory, read by every server.
    ln "$WORK/data/big.bin" "$WORK/homes/$home/big.bin"
    ln "$WORK/data/small.bin" "$WORK/homes/$home/small.bin"
done

SOCKSERV="$WORK/sockserv/sockserv"
printf '%s\n' "$PASSWORD" | "$SOCKSERV" ftp user add "$BENCH_USER" --home "$WORK/homes/sockserv" --state-dir "$WORK/state" --password-stdin >/dev/null
# FTPS comes with `--tls-cert F --tls-key F`; a build without them refuses AUTH TLS, and the TLS shapes say so.
SOCKSERV_TLS=""
if "$SOCKSERV" ftp serve --help | grep -q -- --tls-cert; then SOCKSERV_TLS="--tls-cert $CERT --tls-key $KEY"; fi
# Its defaults allow 16 sessions per address and per user, and 256 in all; these clients all come from one address as one user.
SOCKSERV_SERVE="$SOCKSERV ftp serve --port PORT --state-dir $WORK/state --root $WORK/homes --max-connections 1000 --max-per-ip 1000 --max-sessions-per-user 1000 $SOCKSERV_TLS"

cat >"$WORK/vsftpd.conf" <<EOF
# A standalone vsftpd for local users, with FTPS offered but not required.
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir=$WORK/vsftpd-empty
pam_service_name=vsftpd
use_sendfile=YES
ssl_enable=YES
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
ssl_ciphers=HIGH
force_local_logins_ssl=NO
force_local_data_ssl=NO
# Its default, 50 sessions per address, would refuse these clients, who all come from 127.0.0.1.
max_per_ip=0
max_clients=0
EOF
VSFTPD_VERSION=$(dpkg-query -W -f '${Version}' vsftpd 2>/dev/null || "$VSFTPD" -v 0>&- 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1)
PYFTPDLIB_VERSION=$(/usr/bin/python3 -c 'import pyftpdlib; print(pyftpdlib.__ver__)')

# name | command (PORT is replaced) | home | how the password reaches it
SERVERS=(
    "sockserv async|$SOCKSERV_SERVE --mode async|$WORK/homes/sockserv"
    "sockserv eventloop|$SOCKSERV_SERVE --mode eventloop|$WORK/homes/sockserv"
    "vsftpd $VSFTPD_VERSION|$VSFTPD $WORK/vsftpd.conf -olisten_port=PORT|$WORK/homes/vsftpd"
    "pyftpdlib $PYFTPDLIB_VERSION (threaded)|/usr/bin/python3 bench/ftp/pyftpdlib_server.py PORT $BENCH_USER $WORK/homes/pyftpdlib $CERT $KEY|$WORK/homes/pyftpdlib"
)
if [[ -n "$FILTER" ]]; then
    kept=()
    for entry in "${SERVERS[@]}"; do [[ "${entry%%|*}" =~ $FILTER ]] && kept+=("$entry"); done
    [[ ${#kept[@]} -gt 0 ]] || usage_error "no server's name matches '$FILTER' (the names: $(for e in "${SERVERS[@]}"; do printf '%s; ' "${e%%|*}"; done))"
    SERVERS=("${kept[@]}")
fi

# Waits until the server greets: 220 on a fresh connection (any server, whatever it prints at start).
wait_ready() { # port
    for _ in $(seq 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 5 line <&3 && [[ $line == 220* ]]) 2>/dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench/ftp/run.sh: the server did not start; its output:" >&2
    cat "$WORK/server.log" >&2
    return 1
}
start_server() { # command
    PORT=$(free_port)
    # shellcheck disable=SC2086
    printf '%s\n' "$PASSWORD" | taskset -c 0 ${1//PORT/$PORT} >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$PORT"
}

record() { # server shape round value [note]
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$RESULTS"
    echo "round $3: $1, $2: $4 ${5:-}" >&2
}

# Resident memory of the server's family, in KiB: "RSS PSS" (smaps_rollup; a process gone meanwhile counts 0).
memory_kb() {
    local rss=0 pss=0 pid r p
    for pid in $(family "$SERVER_PID"); do
        read -r r p < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r + 0, p + 0 }' /proc/"$pid"/smaps_rollup 2>/dev/null || echo "0 0")
        rss=$((rss + r)); pss=$((pss + p))
    done
    echo "$rss $pss"
}

ftpload() { # mode n [path]   (RAMP_NOW, when set, replaces RAMP)
    FTPLOAD_PASSWORD=$PASSWORD TIMEOUT=300 RAMP=${RAMP_NOW:-$RAMP} taskset -c 1 "$WORK/ftpload" 127.0.0.1 "$PORT" "$BENCH_USER" "$@"
}

# CPU time of the server's family in clock ticks: user and system time of each process, and of its reaped children
# (vsftpd's ended sessions land in its listener's cutime and cstime).
server_ticks() {
    local total=0 pid t
    for pid in $(family "$SERVER_PID"); do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' /proc/"$pid"/stat 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
# The server's family back to the processes it had before a transfer (vsftpd's session gone and reaped).
wait_sessions_gone() { # count
    for _ in $(seq 50); do
        [[ $(family "$SERVER_PID" | wc -l) -le $1 ]] && return 0
        sleep 0.1
    done
}

# One transfer of the big file: prints "MB/s cpu=SHARE server_ms_gib=N" or "failed: why" (see client_transfer);
# with PROFILE=1, perf samples CPU 0 (the server's) meanwhile and PROFILE_OUT gets the top of its report.
big_transfer() { # retr|stor tls(0|1) home client(curl|ftplib)
    local processes ticks_before ticks_after line perf_pid=
    processes=$(family "$SERVER_PID" | wc -l)
    ticks_before=$(server_ticks)
    if [[ $PROFILE == 1 ]]; then
        perf record -q -F 999 -e cpu-clock -a -C 0 -o "$WORK/perf.data" 2>/dev/null &
        perf_pid=$!
    fi
    line=$(client_transfer "$@")
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf report -i "$WORK/perf.data" --stdio --sort comm,dso,sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 >"$PROFILE_OUT" || true
    fi
    wait_sessions_gone "$processes"
    ticks_after=$(server_ticks)
    if [[ $line == failed* ]]; then echo "$line"; return; fi
    echo "$line server_ms_gib=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$TICKS" -v b="$BIG_BYTES" 'BEGIN { printf "%.0f", t * 1000 / hz / (b / 1073741824) }')"
}

# The transfer itself: prints "MB/s cpu=SHARE" or "failed: why". The client is curl, or Python's ftplib
# (bench/ftp/ftplib_big.py) for a server that takes AUTH TLS but fails with curl.
client_transfer() { # retr|stor tls(0|1) home client(curl|ftplib)
    local direction=$1 tls=$2 home=$3 client=$4 url="ftp://127.0.0.1:$PORT/" code=0 out bytes seconds share
    if [[ $client == ftplib ]]; then
        local args=("$PORT" "$BENCH_USER" "$direction")
        if [[ $direction == retr ]]; then args+=(/big.bin); else args+=(/up.bin "$WORK/data/big.bin"); fi
        out=$(FTPLOAD_PASSWORD=$PASSWORD taskset -c 1 /usr/bin/python3 bench/ftp/ftplib_big.py "${args[@]}" 2>"$WORK/curl.err") || code=$?
        if [[ $code -ne 0 ]]; then echo "failed: ftplib exit $code, $(tail -1 "$WORK/curl.err")"; return; fi
        read -r bytes seconds share <<<"$out"
    else
        local args=(--silent --show-error --netrc-file "$WORK/netrc" --max-time 900)
        [[ $tls == 1 ]] && args+=(--ssl-reqd --insecure)
        if [[ $direction == retr ]]; then args+=(-o /dev/null "${url}big.bin"); else args+=(-T "$WORK/data/big.bin" "${url}up.bin"); fi
        out=$( { TIMEFORMAT='%R %U %S'; time taskset -c 1 curl "${args[@]}" -w '%{size_download} %{size_upload} %{time_pretransfer} %{time_total}' 2>"$WORK/curl.err"; } 2>"$WORK/curl.time" ) || code=$?
        if [[ $code -ne 0 ]]; then
            echo "failed: curl exit $code, $(head -c 200 "$WORK/curl.err" | tr '\n' ' ')"
            return
        fi
        local size_down size_up pre total wall user sys
        read -r size_down size_up pre total <<<"$out"
        read -r wall user sys <"$WORK/curl.time"
        bytes=$([[ $direction == retr ]] && echo "${size_down%.*}" || echo "${size_up%.*}")
        seconds=$(awk -v t="$total" -v p="$pre" 'BEGIN { print t - p }')
        share=$(awk -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", (u + s) / w }')
    fi
    if [[ $direction == stor ]]; then
        local stored
        stored=$(stat -c %s "$home/up.bin" 2>/dev/null || echo 0)
        rm -f "$home/up.bin"
        if [[ $stored -ne $BIG_BYTES ]]; then echo "failed: $stored of $BIG_BYTES bytes stored"; return; fi
    fi
    if [[ $bytes -ne $BIG_BYTES ]]; then echo "failed: $bytes of $BIG_BYTES bytes moved"; return; fi
    awk -v b="$bytes" -v t="$seconds" -v c="$share" 'BEGIN { printf "%.1f cpu=%s\n", b / t / 1e6, c }'
}

# Does the server take AUTH TLS, and does curl get through? Prints "curl PROTOCOL" (what curl negotiated),
# "ftplib: why curl failed" (AUTH TLS taken, curl failed later), or "refused: why".
tls_probe() {
    local code=0
    taskset -c 1 curl --silent --show-error --verbose --netrc-file "$WORK/netrc" --ssl-reqd --insecure --max-time 30 \
        -o /dev/null "ftp://127.0.0.1:$PORT/" 2>"$WORK/tls.err" || code=$?
    if [[ $code -eq 0 ]]; then
        echo "curl $(sed -n 's/.*SSL connection using \(.*\)$/\1/p' "$WORK/tls.err" | head -1)"
    elif [[ $code -eq 64 ]]; then
        echo "refused: the server does not offer AUTH TLS ($(grep -m1 -E '^< (5|4)[0-9][0-9]' "$WORK/tls.err" | cut -c3- | tr -d '\r'))"
    elif grep -q '^< 234' "$WORK/tls.err"; then
        echo "ftplib: curl fails against it (exit $code, $(grep -m1 -E 'curl: |Connection reset|SSL_connect' "$WORK/tls.err" | sed 's/^\* //' | tr -d '\r'))"
    else
        echo "refused: curl exit $code, $(grep -m1 'curl:' "$WORK/tls.err" | tr -d '\r')"
    fi
}

measure_server() { # name command home round
    local name=$1 command=$2 home=$3 round=$4 line seconds cpu before before_pss rss pss
    start_server "$command"

    if [[ $SHAPES != big ]]; then
        # Logins: the first burst after the start, then another (caches and JIT warm).
        for burst in first again; do
            line=$(ftpload login "$CLIENTS" 2>>"$WORK/load.err" || true)
            seconds=$(awk '{ print $2 }' <<<"$line")
            if [[ $line == *"errors=0"* ]]; then
                cpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"$line")
                record "$name" "$CLIENTS logins, $burst" "$round" "$seconds" "loader_cpu=$(awk -v c="$cpu" -v s="$seconds" 'BEGIN { printf "%.2f", (s > 0 ? c / s : 0) }')"
            else
                record "$name" "$CLIENTS logins, $burst" "$round" "failed" "$line $(tail -3 "$WORK/load.err" | tr '\n' ' ')"
            fi
        done
        # All at once: how many of them the server serves (a listen backlog shorter than the burst drops the rest unseen).
        line=$(RAMP_NOW=0 ftpload login "$CLIENTS" 2>>"$WORK/load.err" || true)
        served=$(sed -n 's/.* count=\([0-9]*\).*/\1/p' <<<"$line")
        record "$name" "$CLIENTS at once" "$round" "${served:-0}" "$line"
    fi

    # The big file, plain; TRANSFERS times each (one transfer of a GiB into a tmpfs moves by 2-3x from one to the next).
    for direction in retr stor; do
        for transfer in $(seq "$TRANSFERS"); do
            PROFILE_OUT="${PROFILE_DIR:-}/${name// /_},${direction^^},$round.$transfer.txt"
            line=$(big_transfer "$direction" 0 "$home" curl)
            if [[ $line == failed* ]]; then record "$name" "${direction^^} ${BIG_MIB} MiB" "$round" "failed" "$line"
            else record "$name" "${direction^^} ${BIG_MIB} MiB" "$round" "${line%% *}" "client_${line#* }"; fi
        done
    done

    # The big file over TLS, when the server takes AUTH TLS.
    local tls
    tls=$(tls_probe)
    for direction in retr stor; do
        if [[ $tls == refused* ]]; then
            record "$name" "TLS ${direction^^} ${BIG_MIB} MiB" "$round" "skipped" "$tls"
            continue
        fi
        local client=${tls%% *} negotiated=${tls#* }
        client=${client%:}
        [[ $client == ftplib ]] && negotiated="curl_failed:_${negotiated// /_}"
        for transfer in $(seq "$TRANSFERS"); do
            PROFILE_OUT="${PROFILE_DIR:-}/${name// /_},TLS_${direction^^},$round.$transfer.txt"
            line=$(big_transfer "$direction" 1 "$home" "$client")
            if [[ $line == failed* ]]; then record "$name" "TLS ${direction^^} ${BIG_MIB} MiB" "$round" "failed" "$line ($tls)"
            else record "$name" "TLS ${direction^^} ${BIG_MIB} MiB" "$round" "${line%% *}" "client_${line#* } client=$client tls=${negotiated// /_}"; fi
        done
    done

    if [[ $SHAPES == big ]]; then stop_server; return; fi

    # Many clients, each RETR of the small file at once.
    line=$(ftpload retr "$CLIENTS" /small.bin 2>>"$WORK/load.err" || true)
    seconds=$(awk '{ print $2 }' <<<"$line")
    if [[ $line == *"errors=0"* && $line == *"bytes=$((CLIENTS * SMALL_BYTES)) "* ]]; then
        cpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"$line")
        record "$name" "$CLIENTS × RETR $SMALL_MIB MiB" "$round" "$seconds" "loader_cpu=$(awk -v c="$cpu" -v s="$seconds" 'BEGIN { printf "%.2f", (s > 0 ? c / s : 0) }')"
    else
        record "$name" "$CLIENTS × RETR $SMALL_MIB MiB" "$round" "failed" "$line $(tail -3 "$WORK/load.err" | tr '\n' ' ')"
    fi

    stop_server

    # Memory, on a server started afresh (so that the garbage of the shapes above does not blur it): a few
    # sessions first (the code they run compiled and loaded), then the family before and with CLIENTS idle
    # logged-in sessions.
    start_server "$command"
    line=$(ftpload login 10 2>>"$WORK/load.err" || true)
    sleep 1
    read -r before before_pss < <(memory_kb)
    rm -f "$WORK/hold" && mkfifo "$WORK/hold"
    ftpload idle "$CLIENTS" <"$WORK/hold" >"$WORK/idle.out" 2>>"$WORK/load.err" &
    local load_pid=$!
    exec 7>"$WORK/hold"
    for _ in $(seq 3000); do grep -q '^ready' "$WORK/idle.out" 2>/dev/null && break; kill -0 "$load_pid" 2>/dev/null || break; sleep 0.1; done
    if grep -q "^ready $CLIENTS\$" "$WORK/idle.out"; then
        sleep 2
        read -r rss pss < <(memory_kb)
        record "$name" "idle session" "$round" "$(awk -v a="$pss" -v b="$before_pss" -v n="$CLIENTS" 'BEGIN { printf "%.1f", (a - b) / n }')" \
            "rss_per_session=$(awk -v a="$rss" -v b="$before" -v n="$CLIENTS" 'BEGIN { printf "%.1f", (a - b) / n }') pss_total_kb=$pss rss_total_kb=$rss"
    else
        record "$name" "idle session" "$round" "failed" "$(cat "$WORK/idle.out") $(tail -3 "$WORK/load.err" | tr '\n' ' ')"
    fi
    exec 7>&-
    wait "$load_pid" 2>/dev/null || true

    stop_server
}

: >"$RESULTS"
for round in $(seq "$REPEATS"); do
    # A new order each round, so that a slow minute of the machine does not always fall on one server.
    mapfile -t order < <(printf '%s\n' "${SERVERS[@]}" | shuf)
    for entry in "${order[@]}"; do
        IFS='|' read -r name command home <<<"$entry"
        measure_server "$name" "$command" "$home" "$round"
    done
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -sr), .NET $(dotnet --version), $(curl --version | head -1 | cut -d' ' -f1-2), $(openssl version | cut -d' ' -f1-2), $(date -u +%Y-%m-%d); load average $LOAD_START at the start, $LOAD_END at the end"
SECTION=$(python3 bench/ftp/report.py "$RESULTS" "$MACHINE" "$REPEATS" "$BIG_MIB" "$SMALL_MIB" "$CLIENTS" "$HASH_METHOD" "$RAMP" "$TRANSFERS")
echo "$SECTION"
cp "$RESULTS" "${TMPDIR}/ftp-bench-results.$$.tsv" && echo "raw results: ${TMPDIR}/ftp-bench-results.$$.tsv" >&2
# Only a whole run goes into the docs: not one filtered to some servers, nor a partial or profiled one (perf and
# the runtime's JIT-only mode that PROFILE=1 sets slow the servers down).
if [[ -z "$FILTER" && $SHAPES != big && $PROFILE != 1 ]]; then
    python3 bench/write_section.py docs/benchmarks.md ftp "$SECTION"
fi
