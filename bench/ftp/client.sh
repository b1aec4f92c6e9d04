#!/usr/bin/env bash
# The FTP client against vsftpd: `sockserv ftp get` and `ftp put` of one big file beside curl's
# `-o` and `-T`, plain and explicit TLS (vsftpd's require_ssl_reuse=YES, its default), in
# interleaved rounds (which client goes first alternates), each put also by the simplest sender
# there is (bench/ftp/raw_put.py, python3), which shows vsftpd's own ceiling for an upload; then
# the progress display's cost: `ftp get` under a pseudo-terminal (script -qfc) with the bar,
# against the same with --quiet.
# Prints markdown tables: the median MB/s of the rounds and their range, timed two ways, the
# whole command (start-up and login included) and the transfer alone as vsftpd's own log
# clocks it (the same clock for both clients: from its data connection's start to its end).
#
# Free page reporting: on a VM whose balloon driver reports freed memory to the host at once
# (this one: /sys/module/page_reporting, min_free_ms 0), every GiB written into a tmpfs after
# one was deleted faults its pages back in from the host, and `dd` of 1 GiB into /dev/shm takes
# 0.5 s or 2.5 s. The script holds reporting off while it runs (page_reporting_order above the
# largest block) and puts the old value back at exit; PAGE_REPORTING=keep leaves it alone.
#
# Needs: root (vsftpd starts as root; a system user is made and removed), the .NET SDK, curl,
# openssl, python3, vsftpd, script (util-linux), taskset, useradd/chpasswd/userdel.
# The build: BUILD=composite (the default) publishes sockserv self-contained and ReadyToRun-compiled with the
# framework in one composite image, as README's Install shows for the quickest start (the runtime's generic
# code over our types is then compiled ahead too); BUILD=r2r, framework-dependent
# ReadyToRun, as the other benchmarks publish.
# Usage: sudo bench/ftp/client.sh   (REPEATS=5, BIG_MIB=1024, PAGE_REPORTING=hold, BUILD=composite by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=${REPEATS:-5}
BIG_MIB=${BIG_MIB:-1024}
PAGE_REPORTING=${PAGE_REPORTING:-hold}
BUILD=${BUILD:-composite}
[[ $REPEATS =~ ^[1-9][0-9]?$ ]] || { echo "bench/ftp/client.sh: REPEATS must be 1 to 99, not '$REPEATS'" >&2; exit 2; }
[[ $BIG_MIB =~ ^[1-9][0-9]{0,4}$ ]] || { echo "bench/ftp/client.sh: BIG_MIB must be 1 to 99999, not '$BIG_MIB'" >&2; exit 2; }
[[ $PAGE_REPORTING == hold || $PAGE_REPORTING == keep ]] || { echo "bench/ftp/client.sh: PAGE_REPORTING must be hold or keep, not '$PAGE_REPORTING'" >&2; exit 2; }
[[ $BUILD == composite || $BUILD == r2r ]] || { echo "bench/ftp/client.sh: BUILD must be composite or r2r, not '$BUILD'" >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then
    echo "bench/ftp/client.sh: run it as root: vsftpd starts as root, and a system user is made for its logins" >&2
    exit 2
fi
VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
for tool in "$VSFTPD" curl openssl python3 script taskset useradd chpasswd userdel; do
    command -v "$tool" >/dev/null || { echo "bench/ftp/client.sh: $tool is missing (see the Needs line at the top)" >&2; exit 2; }
done
export TMPDIR=${TMPDIR:-/dev/shm}
# shellcheck source=bench/common.sh
source bench/common.sh
BENCH_USER=sockserv-ftpclient
REPORTING=/sys/module/page_reporting/parameters/page_reporting_order
REPORTING_WAS=
SLOW_PID=
finish() {
    [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
    [[ -n "$SLOW_PID" ]] && { kill "$SLOW_PID" 2>/dev/null || true; wait "$SLOW_PID" 2>/dev/null || true; }
    SERVER_PID=
    userdel "$BENCH_USER" 2>/dev/null || true
    if [[ -n "$REPORTING_WAS" ]]; then
        (echo "$REPORTING_WAS" >"$REPORTING") 2>/dev/null ||
            echo "bench/ftp/client.sh: could not put page_reporting_order back to $REPORTING_WAS: do it by hand ($REPORTING)" >&2
    fi
    cleanup
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

userdel "$BENCH_USER" 2>/dev/null || true
MEMORY="free page reporting: none on this machine"
if [[ -w $REPORTING ]]; then
    if [[ $PAGE_REPORTING == hold ]]; then
        was=$(cat "$REPORTING")
        # No free block is of order 11 (the largest is 10, 4 MiB), so nothing is reported until it is put back.
        # A kernel that allows no order above the largest refuses it: then the run says so and goes on.
        if (echo 11 >"$REPORTING") 2>/dev/null; then
            REPORTING_WAS=$was
            MEMORY="free page reporting held off during the run (page_reporting_order $was -> 11)"
        else
            MEMORY="free page reporting left on: this kernel refused page_reporting_order 11 (it stays $was)"
        fi
    else
        MEMORY="free page reporting left on (page_reporting_order $(cat "$REPORTING"))"
    fi
fi
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
if [[ $BUILD == composite ]]; then
    case $(uname -m) in
        x86_64) rid=linux-x64 ;;
        aarch64) rid=linux-arm64 ;;
        *) echo "bench/ftp/client.sh: BUILD=composite knows x86_64 and aarch64, not $(uname -m): use BUILD=r2r" >&2; exit 2 ;;
    esac
    dotnet publish src/Sockserv -c Release -r "$rid" --self-contained -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true \
        -o "$WORK/sockserv" -v quiet -nologo >/dev/null
else
    dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
fi
SOCKSERV=$WORK/sockserv/sockserv
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
BYTES=$((BIG_MIB << 20))
if [[ -n "$REPORTING_WAS" ]]; then
    # Memory reported to the host before the hold is still not backed there: touch four files' worth of it once
    # (written, then freed while reporting is held), so that the transfers' writes land on pages the host holds.
    head -c $((4 * BYTES)) /dev/zero >"$WORK/touch.bin"
    rm -f "$WORK/touch.bin"
fi
head -c "$BYTES" /dev/urandom >"$WORK/big.bin"
cp "$WORK/big.bin" "$WORK/home/big.bin"
SLOW_BYTES=$((BYTES < 100 << 20 ? BYTES : 100 << 20))
head -c "$SLOW_BYTES" "$WORK/big.bin" >"$WORK/home/slow.bin"
chown "$BENCH_USER:" "$WORK/home/big.bin" "$WORK/home/slow.bin"

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
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=$WORK/xfer.log
CONF
# vsftpd (and its session processes) on CPU 0, the clients on CPU 1, as in bench/ftp/run.sh. The second one
# sends at most SLOW_RATE bytes a second (vsftpd's local_max_rate): a transfer long enough for the display's
# cost while it runs to show apart from its cost once, at the start.
start_vsftpd() { # conf port name: sets STARTED_PID
    taskset -c 0 "$VSFTPD" "$1" >"$WORK/$3.out" 2>&1 &
    STARTED_PID=$!
    local ready=
    for _ in $(seq 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$2" && read -r -t 5 line <&3 && [[ $line == 220* ]]) 2>/dev/null; then ready=1; break; fi
        kill -0 "$STARTED_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$ready" ]] || { echo "bench/ftp/client.sh: vsftpd ($3) did not start; its output:" >&2; cat "$WORK/$3.out" >&2; exit 1; }
}
start_vsftpd "$WORK/vsftpd.conf" "$PORT" server
SERVER_PID=$STARTED_PID
SLOW_RATE=$((20 * 1000 * 1000))
SLOW_PORT=$(free_port)
sed -e "s/^listen_port=.*/listen_port=$SLOW_PORT/" -e "s|^vsftpd_log_file=.*|vsftpd_log_file=$WORK/slow.log|" "$WORK/vsftpd.conf" >"$WORK/slow.conf"
echo "local_max_rate=$SLOW_RATE" >>"$WORK/slow.conf"
start_vsftpd "$WORK/slow.conf" "$SLOW_PORT" slow
SLOW_PID=$STARTED_PID

export SOCKSERV_FTP_PASSWORD=$PASSWORD
touch "$WORK/xfer.log" "$WORK/slow.log"
LOG=$WORK/xfer.log # the log of the vsftpd the next run_client talks to
SAMPLES=$WORK/samples.tsv
: >"$SAMPLES"
# The rate vsftpd logged for the transfer just made ("OK DOWNLOAD: Client "127.0.0.1", "/big.bin", 1073741824
# bytes, 912345.67Kbyte/sec"), in MB/s. Its log line may come a moment after the 226 the client exits on:
# waited for, 10 s at most.
server_rate() { # N BYTES: the Nth transfer logged, of BYTES
    local line
    for _ in $(seq 100); do
        line=$(grep -E 'OK (UP|DOWN)LOAD:' "$LOG" | sed -n "${1}p")
        [[ -n "$line" ]] && break
        sleep 0.1
    done
    [[ -n "$line" ]] || { echo "bench/ftp/client.sh: vsftpd logged no transfer $1; its log:" >&2; tail -5 "$LOG" >&2; exit 1; }
    grep -q " $2 bytes" <<<"$line" || { echo "bench/ftp/client.sh: vsftpd moved the wrong size: $line" >&2; exit 1; }
    sed -E 's/.* ([0-9.]+)Kbyte\/sec.*/\1/' <<<"$line" | awk '{ printf "%.1f\n", $1 * 1024 / 1000000 }'
}
# One run of a client on CPU 1: a sample line "KEY WHOLE_MBPS SERVER_MBPS CPU_S" (CPU: user + system of the
# command and its children).
run_client() { # key command...
    local key=$1 times logged
    shift
    logged=$(grep -cE 'OK (UP|DOWN)LOAD:' "$LOG" || true)
    times=$( { TIMEFORMAT='%R %U %S'; time taskset -c 1 "$@" >"$WORK/client.out" 2>"$WORK/client.err"; } 2>&1 ) ||
        { echo "bench/ftp/client.sh: failed: $*" >&2; cat "$WORK/client.err" >&2; exit 1; }
    read -r wall user sys <<<"$(tail -1 <<<"$times")"
    local bytes=$BYTES
    [[ $LOG == "$WORK/slow.log" ]] && bytes=$SLOW_BYTES
    local rate
    rate=$(server_rate $((logged + 1)) "$bytes") || exit 1
    printf '%s\t%s\t%s\t%s\n' "$key" "$(awk -v b="$bytes" -v t="$wall" 'BEGIN { printf "%.1f", b / 1000000 / t }')" \
        "$rate" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')" >>"$SAMPLES"
}

CURL=(curl -sS --netrc-file "$WORK/netrc")
for round in $(seq "$REPEATS"); do
    echo "bench/ftp/client.sh: round $round of $REPEATS" >&2
    # Odd rounds sockserv first, even rounds curl first: neither always meets the state the other left.
    order=(sockserv curl)
    ((round % 2 == 0)) && order=(curl sockserv)
    for scheme in ftp ftps; do
        tls=(); curl_tls=(); raw_tls=()
        [[ $scheme == ftps ]] && { tls=(--insecure); curl_tls=(--ssl-reqd -k); raw_tls=(--tls); }
        # By name: .NET resumes a client TLS session only with a server named by a DNS name, and vsftpd's
        # require_ssl_reuse refuses data connections that do not resume (localhost is 127.0.0.1 here).
        url="$scheme://$BENCH_USER@localhost:$PORT"
        curl_url="ftp://127.0.0.1:$PORT"
        for dir in get put; do
            clients=("${order[@]}")
            # And after the two, the simplest sender there is (raw_put.py): where vsftpd's own ceiling is.
            [[ $dir == put ]] && clients+=(raw)
            for client in "${clients[@]}"; do
                # Each transfer writes a new file: vsftpd's STOR of a file that exists truncates it first, which
                # frees the last upload's GiB on the server's core within this command's time (runs 1 to 9 did so).
                rm -f "$WORK/out/got.bin" "$WORK/home/up.bin"
                case $client/$dir in
                    sockserv/get) run_client "$scheme get sockserv" "$SOCKSERV" ftp get "${tls[@]}" "$url/big.bin" "$WORK/out/got.bin" ;;
                    curl/get) run_client "$scheme get curl" "${CURL[@]}" "${curl_tls[@]}" -o "$WORK/out/got.bin" "$curl_url/big.bin" ;;
                    sockserv/put) run_client "$scheme put sockserv" "$SOCKSERV" ftp put "${tls[@]}" "$WORK/big.bin" "$url/up.bin" ;;
                    curl/put) run_client "$scheme put curl" "${CURL[@]}" "${curl_tls[@]}" -T "$WORK/big.bin" "$curl_url/up.bin" ;;
                    raw/put) run_client "$scheme put raw" python3 bench/ftp/raw_put.py "${raw_tls[@]}" 127.0.0.1 "$PORT" "$BENCH_USER" "$WORK/big.bin" up.bin ;;
                esac
            done
        done
    done
    # The progress display's cost: the same get on a pseudo-terminal, with the bar and with --quiet.
    for display in bar quiet; do
        quiet=
        [[ $display == quiet ]] && quiet=--quiet
        rm -f "$WORK/out/got.bin"
        run_client "pty $display" script -qefc "$SOCKSERV ftp get $quiet ftp://$BENCH_USER@127.0.0.1:$PORT/big.bin $WORK/out/got.bin" /dev/null
        # And a transfer of 100 MiB (at most BIG_MIB) held to 20 MB/s: five seconds of redrawing.
        LOG=$WORK/slow.log
        rm -f "$WORK/out/got.bin"
        run_client "slow $display" script -qefc "$SOCKSERV ftp get $quiet ftp://$BENCH_USER@127.0.0.1:$SLOW_PORT/slow.bin $WORK/out/got.bin" /dev/null
        LOG=$WORK/xfer.log
    done
done

echo
echo "FTP client against vsftpd ($(dpkg-query -W -f '${Version}' vsftpd 2>/dev/null || echo '?')), $BIG_MIB MiB, $REPEATS interleaved rounds, $(nproc) cores, load at start $(cut -d' ' -f1-3 /proc/loadavg), $MEMORY, sockserv built $BUILD"
echo
python3 - "$SAMPLES" "$SLOW_BYTES" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key, whole, server, cpu = line.rstrip("\n").split("\t")
    rows.setdefault(key, []).append((float(whole), float(server), float(cpu)))
def med(key, i):
    return statistics.median(v[i] for v in rows[key])
def spread(key, i):
    values = [v[i] for v in rows[key]]
    return f"{min(values):,.0f}–{max(values):,.0f}"
print("MB/s, the median of the rounds; the ranges are of the transfer alone.\n")
print("| transfer | TLS | whole command: sockserv | curl | sockserv ÷ curl | transfer alone (vsftpd's clock): sockserv | curl | sockserv ÷ curl | sockserv range | curl range |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for scheme in ("ftp", "ftps"):
    for d in ("get", "put"):
        s, c = f"{scheme} {d} sockserv", f"{scheme} {d} curl"
        print(f"| {d} | {'explicit, session reuse' if scheme == 'ftps' else 'no'} | {med(s, 0):,.1f} | {med(c, 0):,.1f} | {med(s, 0) / med(c, 0):.2f}× "
              f"| {med(s, 1):,.1f} | {med(c, 1):,.1f} | {med(s, 1) / med(c, 1):.2f}× | {spread(s, 1)} | {spread(c, 1)} |")
print("\nThe server's ceiling for the puts: bench/ftp/raw_put.py, python3 reading 256 KiB at a time and sending it, nothing else.\n")
print("| put | TLS | transfer alone: raw sender | its range | sockserv ÷ raw | curl ÷ raw |")
print("|---|---|---:|---:|---:|---:|")
for scheme in ("ftp", "ftps"):
    r = f"{scheme} put raw"
    print(f"| put | {'explicit, session reuse' if scheme == 'ftps' else 'no'} | {med(r, 1):,.1f} | {spread(r, 1)} "
          f"| {med(f'{scheme} put sockserv', 1) / med(r, 1):.2f}× | {med(f'{scheme} put curl', 1) / med(r, 1):.2f}× |")
print("\n| `ftp get` on a pty | whole command MB/s | transfer alone MB/s | CPU s a run (user + system) |")
print("|---|---:|---:|---:|")
for name, key in (("progress bar", "pty bar"), ("--quiet", "pty quiet")):
    print(f"| {name} | {med(key, 0):,.1f} | {med(key, 1):,.1f} | {med(key, 2):.3f} |")
print(f"| bar ÷ quiet | {med('pty bar', 0) / med('pty quiet', 0):.3f} | {med('pty bar', 1) / med('pty quiet', 1):.3f} | {med('pty bar', 2) / med('pty quiet', 2):.3f} |")
print(f"\n| `ftp get` of {int(sys.argv[2]) >> 20} MiB held to 20 MB/s, on a pty | whole command MB/s | transfer alone MB/s | CPU s a run |")
print("|---|---:|---:|---:|")
for name, key in (("progress bar", "slow bar"), ("--quiet", "slow quiet")):
    print(f"| {name} | {med(key, 0):,.1f} | {med(key, 1):,.1f} | {med(key, 2):.3f} |")
seconds = int(sys.argv[2]) / 1e6 / med("slow quiet", 1)
extra = med("slow bar", 2) - med("slow quiet", 2)
print(f"\nThe bar's CPU over the {seconds:.1f} s transfer: {extra * 1000:.0f} ms more than --quiet (the first draw included), "
      f"{extra / seconds * 100:.2f}% of one core while it runs.")
PY
