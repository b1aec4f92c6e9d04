"""Turns bench/run.sh's measurements into the Markdown section of docs/benchmarks.md.

    python3 bench/report.py RESULTS.tsv MACHINE SETUP SECONDS

Medians over the rounds, with the spread; the targets of issue 6 computed as ratios of servers
measured in the same round (the median of those ratios), each marked met or missed.
"""
import csv
import re
import statistics
import sys

path, machine, setup, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

SHAPES = ["1 conn", "64 conns", "512 conns", "16×16 pipelined", "8×64 KiB", "10k conns"]
C, THREADS, INLINE, KESTREL, PYTHON = ("C epoll, 1 thread", ".NET threads", ".NET async, inline completions",
                                       "Kestrel ConnectionHandler", "Python ThreadingTCPServer")

# The rows in the order bench/run.sh lists the servers (it measures them shuffled); others after.
ORDER = [C, THREADS, ".NET async, defaults", INLINE, KESTREL, "DotNetty 0.7.6", PYTHON, "sockserv threading",
         "sockserv pool", "sockserv async", "sockserv eventloop", "sockserv forking"]

# runs[(server, shape)] = [ {round, msgs, mbs, p99, errors, cpu_us, core, loadgen_core, kb}, ... ]
runs = {}
servers = []
with open(path, encoding="utf-8") as f:
    for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
        fields = dict(re.findall(r"(\w+)=([0-9.]+)", row["result"]))
        if row["server"] not in servers:
            servers.append(row["server"])
        run = {"round": int(row["round"]), "failed": row["result"].startswith("failed") or "msgs_per_s" not in fields}
        if not run["failed"]:
            msgs = float(fields["msgs_per_s"])
            cpu = float(row["server_cpu_s"])
            run.update(
                # A round in which no message came back has no latency to report (the generator says 0).
                msgs=msgs, mbs=float(fields["mb_per_s"]), p99=float(fields["p99_us"]) if msgs > 0 else None, errors=int(fields["errors"]),
                # The server's CPU over the generator's 1 s warm-up and the timed run, both at the measured rate.
                cpu_us=cpu * 1e6 / (msgs * (seconds + 1)) if msgs > 0 else None,
                core=cpu / (seconds + 1), loadgen_core=float(row["loadgen_cpu_s"] or 0) / (seconds + 1),
                kb=float(row["kb_per_conn"]) if row["kb_per_conn"] else None)
        runs.setdefault((row["server"], row["shape"]), []).append(run)


servers.sort(key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))


def good(server, shape):
    return [r for r in runs.get((server, shape), []) if not r["failed"]]


def median(server, shape, key):
    values = [r[key] for r in good(server, shape) if r.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(a, b, shape, key="msgs"):
    """The median over rounds of a's figure over b's in the same round."""
    mine = {r["round"]: r.get(key) for r in good(a, shape)}
    theirs = {r["round"]: r.get(key) for r in good(b, shape)}
    pairs = [mine[k] / theirs[k] for k in mine if mine[k] is not None and theirs.get(k)]
    return statistics.median(pairs) if pairs else None


def troubles(server, shapes):
    """Failed rounds, rounds with errors, or rounds that carried nothing: a target cannot be met over those."""
    found = []
    for shape in shapes:
        rs = runs.get((server, shape), [])
        failed = sum(r["failed"] for r in rs)
        errors = sum(1 for r in rs if not r["failed"] and (r["errors"] or not r["msgs"]))
        if not rs:
            found.append(f"{server}, {shape}: not measured")
        if failed:
            found.append(f"{server}, {shape}: {failed} failed rounds")
        if errors:
            found.append(f"{server}, {shape}: {errors} rounds with errors or no messages")
    return found


def number(value, digits=0):
    return "—" if value is None else f"{value:,.{digits}f}"


def throughput_cell(server, shape):
    rs = good(server, shape)
    if not rs:
        return "failed"
    key, unit, scale = ("mbs", " MB/s", 1) if shape == "8×64 KiB" else ("msgs", "k", 1000)
    values = sorted(r[key] / scale for r in rs)
    digits = 0 if unit == " MB/s" else 1
    cell = f"**{number(statistics.median(values), digits)}{unit}**"
    if len(values) > 1:
        cell += f" ({number(values[0], digits)}–{number(values[-1], digits)})"
    errors = statistics.median(r["errors"] for r in rs)
    if errors:
        cell += f", {number(errors)} errors"
    failed = len(runs[(server, shape)]) - len(rs)
    if failed:
        cell += f", {failed} failed"
    return cell


def table(title, cell):
    lines = [f"| {title} | " + " | ".join(SHAPES) + " |", "|---|" + "---|" * len(SHAPES)]
    for server in servers:
        lines.append(f"| {server} | " + " | ".join(cell(server, shape) for shape in SHAPES) + " |")
    return "\n".join(lines)


out = ["<!-- echo:begin -->", "## Echo servers side by side", ""]
out.append(f"Measured by `bash bench/run.sh` on {machine}. {setup}. Server (Release builds, ReadyToRun) "
           "pinned to CPU 0 with any worker processes, load generator (`bench/loadgen`, C on epoll, closed loop, "
           "one message in flight per connection unless pipelined) pinned to CPU 1; 64-byte messages unless noted. "
           "Every figure is the median of the rounds.")
out += ["", "**Throughput**: thousands of messages per second (MB/s for 8×64 KiB), median (lowest–highest).", ""]
out.append(table("server (1 core)", throughput_cell))
out += ["", "**Latency**: p99 in µs (median of the rounds).", ""]
out.append(table("server", lambda s, sh: number(median(s, sh, "p99"))))
out += ["", "**Efficiency**: the server's CPU time (user+system, all its processes) per message, µs; "
        "at 10k connections also its resident memory per connection (RSS mid-run less RSS after the warm-up, which runs 64 connections for that shape; ÷ connections).", ""]


def efficiency(server, shape):
    cell = number(median(server, shape, "cpu_us"), 2)
    if shape == "10k conns" and median(server, shape, "kb") is not None:
        cell += f", {number(median(server, shape, 'kb'), 1)} KB/conn"
    return cell


out.append(table("server", efficiency))

# Is the generator the limit? The C server's core and the generator's, busy over the timed run.
out += ["", "**Who is the limit**: the share of its core the C server and the load generator used over the timed run "
        "(CPU seconds ÷ seconds). A server near 100% is the limit at that shape; both near 100% means the two cores are spent.", ""]
out.append("| | " + " | ".join(SHAPES) + " |")
out.append("|---|" + "---|" * len(SHAPES))
def share(server, shape, key):
    value = median(server, shape, key)
    return "—" if value is None else f"{number(100 * value)}%"


out.append(f"| {C}: server core | " + " | ".join(share(C, s, "core") for s in SHAPES) + " |")
out.append(f"| load generator's core (against {C}) | " + " | ".join(share(C, s, "loadgen_core") for s in SHAPES) + " |")

# The targets, from this run.
targets = []


def verdict(values, test, involved=()):
    present = [v for v in values if v is not None]
    if not present:
        return "not measured"
    found = [t for server, shapes in involved for t in troubles(server, shapes)]
    if found:
        return "missed (" + "; ".join(found) + ")"
    return "met" if len(present) == len(values) and all(test(v) for v in present) else "missed"


def ratios(a, b, shapes, key="msgs"):
    values = [ratio(a, b, s, key) for s in shapes]
    return values, ", ".join(f"{s} {number(v, 2)}×" for s, v in zip(shapes, values))


UP_TO_512 = ["1 conn", "64 conns", "512 conns", "16×16 pipelined", "8×64 KiB"]
for model in ("sockserv threading", "sockserv pool"):
    values, text = ratios(model, THREADS, UP_TO_512)
    targets.append((f"{model.split()[1]} ≥ 0.9× {THREADS}, every shape up to 512 conns", text,
                    verdict(values, lambda v: v >= 0.9, [(model, UP_TO_512)])))
ASYNC_SHAPES = ["64 conns", "512 conns", "16×16 pipelined"]
values, text = ratios("sockserv async", KESTREL, ASYNC_SHAPES)
targets.append((f"async ≥ 2× {KESTREL}", text, verdict(values, lambda v: v >= 2, [("sockserv async", ASYNC_SHAPES)])))
values, text = ratios("sockserv async", INLINE, ASYNC_SHAPES)
targets.append((f"async ≥ 0.9× {INLINE}", text, verdict(values, lambda v: v >= 0.9, [("sockserv async", ASYNC_SHAPES)])))
p99 = ratio("sockserv async", C, "512 conns", "p99")
targets.append((f"async p99 at 512 conns ≤ 1.5× {C}'s",
                f"{number(median('sockserv async', '512 conns', 'p99'))} µs against {number(median(C, '512 conns', 'p99'))} µs ({number(p99, 2)}×)",
                verdict([p99], lambda v: v <= 1.5, [("sockserv async", ["512 conns"])])))
values, text = ratios("sockserv eventloop", C, SHAPES)
targets.append((f"eventloop ≥ 0.9× {C}, every shape", text, verdict(values, lambda v: v >= 0.9, [("sockserv eventloop", SHAPES)])))
values, text = ratios("sockserv eventloop", C, SHAPES, "cpu_us")
targets.append((f"eventloop CPU per message ≤ 2× {C}'s", text, verdict(values, lambda v: v <= 2, [("sockserv eventloop", SHAPES)])))
kb = median("sockserv eventloop", "10k conns", "kb")
targets.append(("eventloop ≤ 2 KB resident per connection at 10k", f"{number(kb, 1)} KB",
                verdict([kb], lambda v: v <= 2, [("sockserv eventloop", ["10k conns"])])))
best, best_ratio = None, None
for server in servers:
    if server.startswith("sockserv"):
        r = ratio(server, THREADS, "8×64 KiB", "mbs")
        if r is not None and (best_ratio is None or r > best_ratio):
            best, best_ratio = server, r
targets.append((f"bulk (8×64 KiB), best model ≥ 0.9× {THREADS}",
                f"{best or '—'}: {number(median(best, '8×64 KiB', 'mbs') if best else None)} MB/s, {number(best_ratio, 2)}×",
                verdict([best_ratio], lambda v: v >= 0.9, [(best, ["8×64 KiB"])] if best else [])))
f = ratio("sockserv forking", "sockserv threading", "64 conns")
targets.append(("forking ≥ 0.5× threading at 64 conns", f"{number(f, 2)}×", verdict([f], lambda v: v >= 0.5, [("sockserv forking", ["64 conns"])])))


def holds(server):
    """Throughput at 512 and 10k connections as a share of its own at 64, and errors there."""
    base = median(server, "64 conns", "msgs")
    parts = []
    for shape in ("512 conns", "10k conns"):
        m = median(server, shape, "msgs")
        errors = median(server, shape, "errors")
        rounds = good(server, shape)
        silent = sum(1 for r in rounds if r["msgs"] == 0)
        parts.append(f"{shape} {number(m / base if m is not None and base else None, 2)}× its 64-conn rate"
                     + (f" ({number(errors)} errors)" if errors else "")
                     + (f" (in {silent} of {len(rounds)} rounds no message came back)" if silent else "")
                     + f", p99 {number(median(server, shape, 'p99'))} µs")
    return "; ".join(parts)


scale = "; ".join(f"**{s}**: {holds(s)}" for s in (PYTHON, "sockserv async", "sockserv eventloop") if s in servers)
targets.append(("Python's server collapses at 512+ conns; ours that claim scale (async, eventloop) do not", scale, "see figures"))

out += ["", "**Targets of issue 6**, from this run (a ratio is the median over rounds of the two servers' figures in the same round):", ""]
out += ["| target | this run | |", "|---|---|---|"]
out += [f"| {t} | {text} | {v} |" for t, text, v in targets]
out.append("<!-- echo:end -->")
print("\n".join(out))
