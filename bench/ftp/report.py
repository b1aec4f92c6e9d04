"""Turns bench/ftp/run.sh's measurements into its section of docs/benchmarks.md.

    python3 bench/ftp/report.py RESULTS.tsv MACHINE REPEATS BIG_MIB SMALL_MIB CLIENTS HASH_METHOD RAMP [TRANSFERS]

RESULTS has one line per measurement: server, shape, round, value (a number, "failed" or
"skipped"), note (key=value pairs, or why it failed). Prints the section: medians with the spread,
then each target of issue 16 computed from the same run.
"""
import re
import statistics
import sys

path, machine, repeats, big, small, clients, hash_method, ramp = sys.argv[1:9]
transfers = sys.argv[9] if len(sys.argv) > 9 else "1"

rows = [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8") if line.strip()]
servers = list(dict.fromkeys(r[0] for r in rows))
ORDER = ["sockserv async", "sockserv eventloop", "vsftpd", "pyftpdlib"]
servers.sort(key=lambda s: next((i for i, o in enumerate(ORDER) if s.startswith(o)), len(ORDER)))

RETR, STOR = f"RETR {big} MiB", f"STOR {big} MiB"
TRETR, TSTOR = f"TLS RETR {big} MiB", f"TLS STOR {big} MiB"
LOGIN1, LOGIN2 = f"{clients} logins, first", f"{clients} logins, again"
MANY = f"{clients} × RETR {small} MiB"
IDLE = "idle session"
AT_ONCE = f"{clients} at once"
COLUMNS = [(RETR, "MB/s"), (STOR, "MB/s"), (TRETR, "MB/s"), (TSTOR, "MB/s"), (LOGIN1, "s"), (LOGIN2, "s"), (MANY, "s"), (IDLE, "KiB"),
           (AT_ONCE, "served")]

cells = {}
for server, shape, _round, value, note in (r + [""] * (5 - len(r)) for r in rows):
    cells.setdefault((server, shape), []).append((value, note))


def numbers(server, shape):
    return [float(v) for v, _ in cells.get((server, shape), []) if re.fullmatch(r"[0-9.]+", v)]


def median(server, shape):
    values = numbers(server, shape)
    return statistics.median(values) if values else None


def notes(server, shape, key):
    return [m.group(1) for _, n in cells.get((server, shape), []) for m in [re.search(key + r"=(\S+)", n)] if m]


def text(server, shape, unit):
    entries = cells.get((server, shape), [])
    values = numbers(server, shape)
    if not entries:
        return "—"
    if not values:
        value, note = entries[0]
        if value == "skipped":
            return "skipped: " + note.replace("refused: ", "")
        return f"failed in {len(entries)} of {len(entries)} rounds: {note[:160]}"
    if shape == AT_ONCE:
        served = sorted(int(v) for v in values)
        spread = f" ({served[0]}–{served[-1]})" if served[0] != served[-1] else ""
        return f"**{int(statistics.median(served))}** of {clients}{spread}"
    digits = 0 if unit == "MB/s" else 1 if unit == "KiB" else 2
    out = f"**{statistics.median(values):,.{digits}f}**"
    if len(values) > 1:
        out += f" ({min(values):,.{digits}f}–{max(values):,.{digits}f})"
    failed = len(entries) - len(values)
    if failed:
        out += f", failed in {failed} of {len(entries)} rounds"
    if "ftplib" in notes(server, shape, "client"):
        out += " (ftplib)"
    if shape == MANY:
        out += f", {int(clients) * int(small) * 1.048576 / statistics.median(values):,.0f} MB/s"
    return out


lines = []
lines.append("<!-- ftp:begin -->")
lines.append("### FTP servers side by side")
lines.append("")
lines.append(
    f"Measured by `bench/ftp/run.sh` on {machine}. Each server pinned to CPU 0 (vsftpd's session processes "
    "with it), the clients to CPU 1, on loopback; the files in a tmpfs, so the disk is not measured. "
    f"The median of {repeats} rounds (lowest–highest in brackets), the servers in a new shuffled order each round, "
    "each started afresh per round. "
    + (f"Each big transfer is made {transfers} times a round, all of them in the median (one GiB into a tmpfs moves by 2–3× "
       f"from one transfer to the next, for every server). " if transfers != "1" else "") +
    "MB/s are 10⁶ bytes per second of the transfer itself, as curl times it "
    "(time_total less time_pretransfer: connecting and logging in are not counted); the big file is "
    f"{big} MiB, written by the server to its tmpfs on STOR. TLS: AUTH TLS then PROT P, curl's defaults "
    f"(`--ssl-reqd`), one RSA 2048 certificate for all. {clients} clients: `bench/ftp/ftpload.c` (C, one epoll "
    f"thread) opens them {ramp} at a time, the next as soon as one is greeted ({ramp} is vsftpd's listen backlog, "
    f"fixed in its source: a burst longer than a server's backlog loses connections unseen, so the clients come "
    f"no faster than every server can take them); *logins* is the time from its first connect to the last 230 (the first "
    f"burst after the server started, then a second one); *{clients} at once* is a third burst, all {clients} "
    f"connecting together, and how many of them were served (the rest never heard a greeting within 30 s); "
    f"*{clients} × RETR* the time from the moment all are "
    f"logged in until the last of them has its {small} MiB file and its 226 (TYPE I, EPSV and the data "
    f"connection included). *Idle session*: the proportional set size (PSS) of the server's whole process family "
    f"with {clients} logged-in idle sessions, less what it was before they connected, per session; measured on a server "
    f"started afresh for it, after 10 logins to warm it up, so that the garbage of the other shapes does not blur it."
)
lines.append("")
lines.append("| server | " + " | ".join(f"{shape} ({unit})" for shape, unit in COLUMNS) + " |")
lines.append("|---|" + "---|" * len(COLUMNS))
for server in servers:
    lines.append(f"| {server} | " + " | ".join(text(server, shape, unit) for shape, unit in COLUMNS) + " |")
lines.append("")

# The server's CPU time per GiB it moved: what each transfer cost it, which a busy neighbour moves less than MB/s.
BIG_SHAPES = (RETR, STOR, TRETR, TSTOR)
if any(notes(s, shape, "server_ms_gib") for s in servers for shape in BIG_SHAPES):
    lines.append("Server CPU time per GiB moved, in ms (user and system time of its whole process family, vsftpd's "
                 "session processes included; the median of the transfers, lowest–highest in brackets):")
    lines.append("")
    lines.append("| server | " + " | ".join(BIG_SHAPES) + " |")
    lines.append("|---|" + "---|" * len(BIG_SHAPES))
    for server in servers:
        row = []
        for shape in BIG_SHAPES:
            values = [float(x) for x in notes(server, shape, "server_ms_gib")]
            row.append(f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})" if values else "—")
        lines.append(f"| {server} | " + " | ".join(row) + " |")
    lines.append("")

# How each server was set up, as far as this run can tell.
tls_seen = {s: sorted(set(t.replace("_", " ") for t in notes(s, TRETR, "tls") + notes(s, TSTOR, "tls"))) for s in servers}
setup, fallback = [], []
for server in servers:
    for seen in tls_seen[server]:
        (fallback if seen.startswith("curl failed") else setup).append(f"{server}: {seen.replace('curl failed: ', '')}")
if setup:
    lines.append("TLS as negotiated with curl: " + "; ".join(sorted(set(setup))) + ".")
if fallback:
    lines.append("*(ftplib)*: curl fails against this server over TLS, so Python's ftplib (`FTP_TLS`, 256 KiB blocks, "
                 "`bench/ftp/ftplib_big.py`) is the client there; what curl said: " + "; ".join(sorted(set(fallback))) + ".")
if setup or fallback:
    lines.append("")
lines.append(
    f"Logins check a password in every server: sockserv against its SQLite store (PBKDF2-HMAC-SHA256, 600,000 "
    f"iterations, with its password cache: one user for all clients, so one hash a burst, and none in the second); "
    f"vsftpd through PAM against /etc/shadow ({hash_method}, the system's default method; no cache, so every login "
    f"hashes, in a process of its own); pyftpdlib's default DummyAuthorizer, which compares plain-text passwords. "
    f"sockserv runs with `--max-connections 1000 --max-per-ip 1000 --max-sessions-per-user 1000` (its defaults, "
    f"256 in all and 16 per address and per user, would refuse these clients), vsftpd with `max_per_ip=0 max_clients=0` "
    f"(its default allows 50 per address); pyftpdlib (`ThreadedFTPServer`, listen backlog 100 by default) allows 512 sessions and any number from one address by default. sockserv and pyftpdlib log a line per login and transfer (to a file); vsftpd's "
    f"default logs nothing."
)
lines.append("")


def ratio_text(a, b, higher_is_better):
    if a is None or b is None or b == 0:
        return None, "not measured"
    r = a / b
    ok = r >= 1 if higher_is_better else r <= 1
    return ok, f"{r:.2f}×"


vsftpd = next((s for s in servers if s.startswith("vsftpd")), None)
pyftpdlib = next((s for s in servers if s.startswith("pyftpdlib")), None)
ours = [s for s in servers if s.startswith("sockserv")]
targets = []
for shape, label in [(RETR, "RETR"), (STOR, "STOR"), (TRETR, "TLS RETR"), (TSTOR, "TLS STOR")]:
    if not vsftpd:
        break
    parts, verdicts = [], []
    ref = median(vsftpd, shape)
    for s in ours:
        ok, r = ratio_text(median(s, shape), ref, True)
        mine = median(s, shape)
        parts.append(f"{s}: {mine:,.0f} MB/s, {r}" if mine is not None and ref is not None else f"{s}: {text(s, shape, 'MB/s')}")
        verdicts.append(ok)
    ref_text = f"{ref:,.0f} MB/s" if ref is not None else text(vsftpd, shape, "MB/s")
    verdict = "met" if verdicts and all(v is True for v in verdicts) else "missed" if any(v is False for v in verdicts) else "not measured"
    targets.append((f"{label} ≥ vsftpd's MB/s", f"vsftpd {ref_text}; " + "; ".join(parts), verdict))
if pyftpdlib:
    for shape, label, unit, digits in [(LOGIN1, f"{clients} logins ≤ pyftpdlib's time (first burst)", "s", 2),
                                       (LOGIN2, f"{clients} logins ≤ pyftpdlib's time (second burst)", "s", 2),
                                       (IDLE, "memory per idle session ≤ pyftpdlib's", "KiB", 1)]:
        ref = median(pyftpdlib, shape)
        parts, verdicts = [], []
        for s in ours:
            mine = median(s, shape)
            ok, r = ratio_text(mine, ref, False)
            parts.append(f"{s}: {mine:,.{digits}f} {unit}, {r}" if mine is not None and ref is not None else f"{s}: not measured")
            verdicts.append(ok)
        ref_text = f"{ref:,.{digits}f} {unit}" if ref is not None else text(pyftpdlib, shape, unit)
        verdict = "met" if verdicts and all(v is True for v in verdicts) else "missed" if any(v is False for v in verdicts) else "not measured"
        targets.append((label, f"pyftpdlib {ref_text}; " + "; ".join(parts), verdict))
if targets:
    lines.append("**Targets of issue 16**, from this run (ratios of medians):")
    lines.append("")
    lines.append("| target | this run | |")
    lines.append("|---|---|---|")
    for target, figures, verdict in targets:
        lines.append(f"| {target} | {figures} | {verdict} |")
    lines.append("")

# Is the client the limit? The share of its core each client used while it ran.
curl_shares = [float(x) for s in servers for shape in (RETR, STOR, TRETR, TSTOR) for x in notes(s, shape, "client_cpu")]
load_shares = [float(x) for s in servers for shape in (LOGIN1, LOGIN2, MANY) for x in notes(s, shape, "loader_cpu")]
check = []
if curl_shares:
    check.append(f"curl used {statistics.median(curl_shares):.0%} of its core in the median big transfer (at most {max(curl_shares):.0%})")
if load_shares:
    check.append(f"ftpload at most {max(load_shares):.0%} of its core in any many-client shape (median {statistics.median(load_shares):.0%})")
if check:
    lines.append("**Is the client the limit?** " + "; ".join(check) + ". A client near 100% would be.")
lines.append("<!-- ftp:end -->")
print("\n".join(lines))
