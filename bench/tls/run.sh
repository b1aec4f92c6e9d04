#!/usr/bin/env bash
# TLS echo: sockserv's models beside Kestrel's TLS (UseHttps in front of a ConnectionHandler), in one
# run, under bench/tls/tlsload.c (OpenSSL): full handshakes per second, resumed handshakes per second,
# and 64 connections echoing 1 KiB messages over TLS. The server is pinned to CPU 0 and the load to
# CPU 1 (taskset); both servers use the same ECDSA P-256 certificate, made here with openssl.
# Needs: the .NET SDK (with the ASP.NET Core shared framework), gcc and libssl-dev, openssl, taskset, python3.
# Usage: bench/tls/run.sh [SECONDS] [SERVER-FILTER]
#   SECONDS: timed run per measurement (default 5), after tlsload's warm-up
#   SERVER-FILTER: a regular expression on server names; with one, docs/benchmarks.md is left alone.
#   Environment: REPEATS (default 3; the median is reported), TLS_VERSIONS (default "1.3 1.2").
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_SHAPE=${1:-5}
FILTER=${2:-}
REPEATS=${REPEATS:-3}
TLS_VERSIONS=${TLS_VERSIONS:-"1.3 1.2"}
# shellcheck source=bench/common.sh
source bench/common.sh

gcc -O2 -Wall -o "$WORK/tlsload" bench/tls/tlsload.c -lssl -lcrypto -lpthread
dotnet publish src/Sockserv -c Release -o "$WORK/sockserv" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
dotnet publish bench/servers/RefServers -c Release -o "$WORK/ref" -p:PublishReadyToRun=true -v quiet -nologo >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

CERT="$WORK/cert.pem"
KEY="$WORK/key.pem"
SERVERS=(
    "Kestrel UseHttps + ConnectionHandler|$WORK/ref/RefServers kestrel-tls PORT $CERT $KEY"
    "sockserv async|$WORK/sockserv/sockserv echo --port PORT --mode async --tls --cert $CERT --key $KEY"
    "sockserv eventloop|$WORK/sockserv/sockserv echo --port PORT --mode eventloop --tls --cert $CERT --key $KEY"
    "sockserv threading|$WORK/sockserv/sockserv echo --port PORT --mode threading --tls --cert $CERT --key $KEY"
    "sockserv forking|$WORK/sockserv/sockserv echo --port PORT --mode forking --max-children 8 --tls --cert $CERT --key $KEY"
)
if [[ -n "$FILTER" ]]; then
    kept=()
    for entry in "${SERVERS[@]}"; do [[ "${entry%%|*}" =~ $FILTER ]] && kept+=("$entry"); done
    SERVERS=("${kept[@]}")
fi

# The shapes: a name, then tlsload's mode and arguments after SECONDS.
SHAPES=("full handshakes/s|full 4" "resumed handshakes/s|resume 4" "64 conns × 1 KiB echo, msg/s|echo 64 1024")

RESULTS="$WORK/results.tsv"
start_server() { # command with PORT
    PORT=$(free_port)
    # shellcheck disable=SC2086
    taskset -c 0 ${1//PORT/$PORT} >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if grep -q -e "serving" "$WORK/server.log" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "bench/tls/run.sh: the server did not start: $1" >&2
    cat "$WORK/server.log" >&2
    return 1
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

for round in $(seq "$REPEATS"); do
    for entry in "${SERVERS[@]}"; do
        name=${entry%%|*}
        start_server "${entry#*|}"
        for version in $TLS_VERSIONS; do
            for shape in "${SHAPES[@]}"; do
                args=${shape#*|}
                # shellcheck disable=SC2086
                line=$(TLS_VERSION=$version WARMUP=2 taskset -c 1 "$WORK/tlsload" 127.0.0.1 "$PORT" "${args%% *}" "$SECONDS_PER_SHAPE" ${args#* } 2>&1 | tail -1)
                rate=$(awk '{ print $2 }' <<<"$line")
                errors=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$line")
                printf '%s\tTLS %s\t%s\t%s\t%s\n' "$name" "$version" "${shape%%|*}" "${rate:-0}" "${errors:-?}" >>"$RESULTS"
                echo "round $round: $name, TLS $version, ${shape%%|*}: $line" >&2
            done
        done
        stop_server
    done
done

TABLE=$(python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
servers = list(dict.fromkeys(r[0] for r in rows))
columns = list(dict.fromkeys((r[1], r[2]) for r in rows))
cell = {}
for server, version, shape, rate, errors in rows:
    cell.setdefault((server, version, shape), []).append((float(rate), errors))
print("| server | " + " | ".join(f"{v}: {s}" for v, s in columns) + " |")
print("|---|" + "---|" * len(columns))
kestrel = next((s for s in servers if s.startswith("Kestrel")), None)
for server in servers:
    out = []
    for version, shape in columns:
        values = cell.get((server, version, shape), [])
        if not values:
            out.append("—"); continue
        median = statistics.median(v for v, _ in values)
        errors = sum(int(e) for _, e in values if e.isdigit())
        text = f"{median:,.0f}"
        if kestrel and server != kestrel and cell.get((kestrel, version, shape)):
            ref = statistics.median(v for v, _ in cell[(kestrel, version, shape)])
            text += f" ({median / ref:.2f}×)" if ref else ""
        if errors:
            text += f", {errors} errors"
        out.append(text)
    print(f"| {server} | " + " | ".join(out) + " |")
PY
)
MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -sr), .NET $(dotnet --version), $(openssl version | cut -d' ' -f1-2), $(date -u +%Y-%m-%d)"
echo "$TABLE"
echo
echo "$MACHINE"
if [[ -z "$FILTER" ]]; then
    SECTION=$(printf '<!-- tls:begin -->\n## TLS echo vs Kestrel\n\nMeasured by `bench/tls/run.sh %s` on %s: the server on CPU 0, `bench/tls/tlsload.c` (OpenSSL) on CPU 1, an ECDSA P-256 certificate, the median of %s rounds; in brackets, the ratio to Kestrel in the same run. Handshakes: 4 client threads each connecting, completing the handshake and one echoed byte, then close_notify; resumed: each offers its previous session (every one counted was resumed). Echo: 64 connections, a window of one 1 KiB message each.\n\n%s\n<!-- tls:end -->' "$SECONDS_PER_SHAPE" "$MACHINE" "$REPEATS" "$TABLE")
    python3 bench/write_section.py docs/benchmarks.md tls "$SECTION"
fi
