#!/usr/bin/env bash
# sockserv exec against OpenSSH on this machine, in one run: stdout throughput of a command
# (1 GB of its stdout, TLS vs ssh) and the whole time of `run HOST -- true` vs `ssh HOST true`.
# Needs: the .NET SDK; openssh-server and openssh-client (installed with apt-get if missing, as root).
# Usage: bench/exec/run.sh [BYTES] [ROUNDS]   (defaults: 1073741824 bytes, 20 rounds)
# Prints a Markdown table and writes it into docs/benchmarks.md between the exec markers.
set -euo pipefail
cd "$(dirname "$0")/../.."
BYTES=${1:-1073741824}
ROUNDS=${2:-20}
WORK=$(mktemp -d)
cleanup() {
    [[ -n "${SSHD_PID:-}" ]] && kill "$SSHD_PID" 2>/dev/null || true
    [[ -n "${EXEC_PID:-}" ]] && kill "$EXEC_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v sshd >/dev/null && [[ ! -x /usr/sbin/sshd ]]; then
    apt-get update -q && apt-get install -y -q openssh-server openssh-client
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- OpenSSH on a loopback port, key authentication only -------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key"
mkdir -p "$WORK/home/.ssh" /run/sshd
cp "$WORK/client_key.pub" "$WORK/authorized_keys"
chmod 600 "$WORK/authorized_keys"
SSH_PORT=$(free_port)
cat > "$WORK/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $WORK/sshd.pid
CONF
/usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
SSHD_PID=$!
SSH=(ssh -q -p "$SSH_PORT" -i "$WORK/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile="$WORK/ssh_known_hosts" -o BatchMode=yes 127.0.0.1)
for _ in $(seq 50); do "${SSH[@]}" true 2>/dev/null && break; sleep 0.2; done

# --- sockserv exec, published Release build -------------------------------------------------
dotnet publish src/Sockserv -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$WORK/sockserv" -v q -nologo >/dev/null
SOCKSERV="$WORK/sockserv/sockserv"
EXEC_PORT=$(free_port)
export SOCKSERV_KNOWN_HOSTS="$WORK/known_hosts"
export SOCKSERV_TOKEN=$("$SOCKSERV" exec token add bench --state-dir "$WORK/state" 2>/dev/null)
"$SOCKSERV" exec serve --port "$EXEC_PORT" --state-dir "$WORK/state" >"$WORK/exec.log" 2>&1 &
EXEC_PID=$!
RUN=("$SOCKSERV" exec run -n "127.0.0.1:$EXEC_PORT" --)
for _ in $(seq 50); do "${RUN[@]}" true 2>/dev/null && break; sleep 0.2; done

seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
best_of() { local best=""; for _ in 1 2 3; do local t; t=$(seconds "$@"); if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi; done; echo "$best"; }
mean_of() { local n=$1; shift; local total=0; for _ in $(seq "$n"); do total=$(echo "$total + $(seconds "$@")" | bc -l); done; echo "$total / $n" | bc -l; }

CMD="head -c $BYTES /dev/zero"
ssh_bulk=$(best_of "${SSH[@]}" "$CMD")
exec_bulk=$(best_of "${RUN[@]}" "$CMD")
ssh_true=$(mean_of "$ROUNDS" "${SSH[@]}" true)
exec_true=$(mean_of "$ROUNDS" "${RUN[@]}" true)

mb() { echo "$BYTES / $1 / 1000000" | bc -l; }
TABLE=$(cat <<MD
| measure | OpenSSH $(ssh -V 2>&1 | sed 's/,.*//') | sockserv exec (TLS) | ratio | target |
|---|---|---|---|---|
| stdout of \`$CMD\`, best of 3 | $(printf '%.2f s (%.0f MB/s)' "$ssh_bulk" "$(mb "$ssh_bulk")") | $(printf '%.2f s (%.0f MB/s)' "$exec_bulk" "$(mb "$exec_bulk")") | $(printf '%.2f×' "$(echo "$ssh_bulk / $exec_bulk" | bc -l)") throughput | ≥ 2× |
| whole \`true\`, mean of $ROUNDS | $(printf '%.3f s' "$ssh_true") | $(printf '%.3f s' "$exec_true") | $(printf '%.2f×' "$(echo "$exec_true / $ssh_true" | bc -l)") time | ≤ 0.5× |
MD
)
MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -sr), .NET $(dotnet --version), $(date -u +%Y-%m-%d)"
echo "$TABLE"
echo
echo "$MACHINE"

DOC=docs/benchmarks.md
SECTION=$(printf '<!-- exec:begin -->\n## sockserv exec vs OpenSSH\n\nMeasured by `bench/exec/run.sh` on %s. Both servers and clients on loopback, unpinned; the client'"'"'s stdout goes to /dev/null. sockserv is the published Release build (apphost, ReadyToRun), OpenSSH uses key authentication and its default cipher.\n\n%s\n<!-- exec:end -->' "$MACHINE" "$TABLE")
python3 bench/write_section.py "$DOC" exec "$SECTION"
