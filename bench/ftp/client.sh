#!/usr/bin/env bash
# The FTP client against vsftpd: `sockserv ftp get` and `ftp put` of one big file beside curl's
# `-o` and `-T`, plain and explicit TLS (vsftpd's require_ssl_reuse=YES, its default), in
# interleaved rounds; then the progress display's cost: `ftp get` under a pseudo-terminal
# (script -qfc) with the bar, against the same with --quiet. Prints a markdown table (MB/s).
#
# Needs: root (vsftpd starts as root; a system user is made and removed), the .NET SDK, curl,
# openssl, bc, vsftpd, script (util-linux), taskset, useradd/chpasswd/userdel.
# Usage: sudo bench/ftp/client.sh   (REPEATS=3, BIG_MIB=1024 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=${REPEATS:-3}
BIG_MIB=${BIG_MIB:-1024}
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/ftp/client.sh: run it as root: vsftpd starts as root, and a system user is made for its logins" >&2
    exit 2
fi
VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
for tool in "$VSFTPD" curl openssl bc script taskset useradd chpasswd userdel; do
    command -v "$tool" >/dev/null || { echo "bench/ftp/client.sh: $tool is missing (see the Needs line at the top)" >&2; exit 2; }
done
export TMPDIR=${TMPDIR:-/dev/shm}
# shellcheck source=bench/common.sh
source bench/common.sh
BENCH_USER=sockserv-ftpclient
finish() {
    [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
    SERVER_PID=
    userdel "$BENCH_USER" 2>/dev/null || true
    cleanup
}
trap finish EXIT
trap 'exit 143' TERM INT

userdel "$BENCH_USER" 2>/dev/null || true
PASSWORD=$(openssl rand -hex 16)
mkdir -p "$WORK/home" "$WORK/empty" "$WORK/out"
chmod 755 "$WORK"
chmod 555 "$WORK/empty"
useradd --no-create-home --home-dir "$WORK/home" --shell /bin/sh --user-group "$BENCH_USER"
echo "$BENCH_USER:$PASSWORD" | chpasswd
chown "$BENCH_USER:" "$WORK/home"
printf 'machine 127.0.0.1 login %s password %s\n' "$BENCH_USER" "$PASSWORD" >"$WORK/netrc"
chmod 600 "$WORK/netrc"

echo "bench/ftp/client.sh: building, and writing the test file" >&2
dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
SOCKSERV=$WORK/sockserv/sockserv
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
BYTES=$((BIG_MIB << 20))
head -c "$BYTES" /dev/urandom >"$WORK/big.bin"
cp "$WORK/big.bin" "$WORK/home/big.bin"
chown "$BENCH_USER:" "$WORK/home/big.bin"

PORT=$(free_port)
cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir=$WORK/empty
pam_service_name=vsftpd
use_sendfile=YES
ssl_enable=YES
rsa_cert_file=$WORK/cert.pem
rsa_private_key_file=$WORK/key.pem
ssl_ciphers=HIGH
require_ssl_reuse=YES
force_local_logins_ssl=NO
force_local_data_ssl=NO
CONF
# vsftpd (and its session processes) on CPU 0, the clients on CPU 1, as in bench/ftp/run.sh.
taskset -c 0 "$VSFTPD" "$WORK/vsftpd.conf" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=
for _ in $(seq 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && read -r -t 5 line <&3 && [[ $line == 220* ]]) 2>/dev/null; then ready=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -n "$ready" ]] || { echo "bench/ftp/client.sh: vsftpd did not start; its output:" >&2; cat "$WORK/server.log" >&2; exit 1; }

export SOCKSERV_FTP_PASSWORD=$PASSWORD
# One run of a client: prints "WHOLE TRANSFER", seconds of the whole command (start-up and login included) and of
# the transfer alone: curl's time_total less its time_pretransfer; sockserv's own line for the finished
# transfer ("1.0 GiB in 1.234 s (…)", printed when stdout is not a terminal), which starts before the
# data connection is opened, so it is the larger of the two scopes.
run_client() { # sockserv|curl args...
    local kind=$1 start end out
    shift
    start=$(date +%s.%N)
    out=$(taskset -c 1 "$@" 2>"$WORK/client.err") || { echo "bench/ftp/client.sh: failed: $*" >&2; cat "$WORK/client.err" >&2; exit 1; }
    end=$(date +%s.%N)
    local transfer
    if [[ $kind == curl ]]; then
        transfer=$(awk '{ print $2 - $1 }' <<<"$out")
    else
        transfer=$(grep -o ' in [0-9.]* s' <<<"$out" | tail -1 | awk '{ print $2 }')
    fi
    [[ -n "$transfer" ]] || { echo "bench/ftp/client.sh: no transfer time in what $kind printed: $out" >&2; exit 1; }
    echo "$(echo "$end - $start" | bc -l) $transfer"
}
# One whole run of "$@" (the pty rows): prints "WALL CPU", seconds, CPU being user + system time of it and its
# children (script, sockserv): the display's cost shows in CPU far above the noise that moves the wall clock.
timed() {
    local times
    times=$( { TIMEFORMAT='%R %U %S'; time taskset -c 1 "$@" >/dev/null 2>"$WORK/client.err"; } 2>&1 ) ||
        { echo "bench/ftp/client.sh: failed: $*" >&2; cat "$WORK/client.err" >&2; exit 1; }
    awk '{ print $1, $2 + $3 }' <<<"$(tail -1 <<<"$times")"
}
mbps() { echo "scale=1; $BYTES / 1000000 / $1" | bc -l; }

declare -A TOTAL XFER
add() { TOTAL[$1]=$(echo "${TOTAL[$1]:-0} + $2" | bc -l); }
add2() { # key "WHOLE TRANSFER"
    local whole transfer
    read -r whole transfer <<<"$2"
    add "$1" "$whole"
    XFER[$1]=$(echo "${XFER[$1]:-0} + $transfer" | bc -l)
}
CURL_TIMES=(-w '%{time_pretransfer} %{time_total}\n')
for round in $(seq "$REPEATS"); do
    echo "bench/ftp/client.sh: round $round of $REPEATS" >&2
    for scheme in ftp ftps; do
        tls=(); curl_tls=()
        [[ $scheme == ftps ]] && { tls=(--insecure); curl_tls=(--ssl-reqd -k); }
        # By name: .NET resumes a client TLS session only with a server named by a DNS name, and vsftpd's
        # require_ssl_reuse refuses data connections that do not resume (localhost is 127.0.0.1 here).
        url="$scheme://$BENCH_USER@localhost:$PORT"
        curl_url="ftp://127.0.0.1:$PORT"
        rm -f "$WORK/out/got.bin"
        add2 "$scheme get sockserv" "$(run_client sockserv "$SOCKSERV" ftp get "${tls[@]}" "$url/big.bin" "$WORK/out/got.bin")"
        rm -f "$WORK/out/got.bin"
        add2 "$scheme get curl" "$(run_client curl curl -sS --netrc-file "$WORK/netrc" "${curl_tls[@]}" "${CURL_TIMES[@]}" -o "$WORK/out/got.bin" "$curl_url/big.bin")"
        add2 "$scheme put sockserv" "$(run_client sockserv "$SOCKSERV" ftp put "${tls[@]}" "$WORK/big.bin" "$url/up.bin")"
        add2 "$scheme put curl" "$(run_client curl curl -sS --netrc-file "$WORK/netrc" "${curl_tls[@]}" "${CURL_TIMES[@]}" -T "$WORK/big.bin" "$curl_url/up.bin")"
    done
    # The progress display's cost: the same get on a pseudo-terminal, with the bar and with --quiet.
    rm -f "$WORK/out/got.bin"
    add2 "pty bar" "$(timed script -qfc "$SOCKSERV ftp get ftp://$BENCH_USER@127.0.0.1:$PORT/big.bin $WORK/out/got.bin" /dev/null)"
    rm -f "$WORK/out/got.bin"
    add2 "pty quiet" "$(timed script -qfc "$SOCKSERV ftp get --quiet ftp://$BENCH_USER@127.0.0.1:$PORT/big.bin $WORK/out/got.bin" /dev/null)"
done

avg() { echo "${TOTAL[$1]} / $REPEATS" | bc -l; }
echo
echo "FTP client against vsftpd ($(dpkg-query -W -f '${Version}' vsftpd 2>/dev/null || echo '?')), $BIG_MIB MiB, $REPEATS interleaved rounds, $(nproc) cores, load at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| transfer | TLS | sockserv MB/s | curl MB/s | sockserv / curl | transfer alone: sockserv MB/s | curl MB/s | sockserv / curl |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for scheme in ftp ftps; do
    for dir in get put; do
        s=$(mbps "$(avg "$scheme $dir sockserv")"); c=$(mbps "$(avg "$scheme $dir curl")")
        xs=$(mbps "$(echo "${XFER[$scheme $dir sockserv]} / $REPEATS" | bc -l)"); xc=$(mbps "$(echo "${XFER[$scheme $dir curl]} / $REPEATS" | bc -l)")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$dir" "$([[ $scheme == ftps ]] && echo "explicit, session reuse" || echo no)" \
            "$s" "$c" "$(echo "scale=3; $s / $c" | bc -l)" "$xs" "$xc" "$(echo "scale=3; $xs / $xc" | bc -l)"
    done
done
echo
echo "| ftp get on a pty | MB/s | CPU s a run (user + system) |"
echo "|---|---:|---:|"
bar=$(mbps "$(avg "pty bar")"); quiet=$(mbps "$(avg "pty quiet")")
bar_cpu=$(echo "scale=3; ${XFER[pty bar]} / $REPEATS" | bc -l); quiet_cpu=$(echo "scale=3; ${XFER[pty quiet]} / $REPEATS" | bc -l)
printf '| progress bar | %s | %s |\n| --quiet | %s | %s |\n| bar / quiet | %s | %s |\n' "$bar" "$bar_cpu" "$quiet" "$quiet_cpu" \
    "$(echo "scale=3; $bar / $quiet" | bc -l)" "$(echo "scale=3; $bar_cpu / $quiet_cpu" | bc -l)"
