#!/usr/bin/env python3
"""Sums the TRX files of one `dotnet test` run (tools/test.sh) into the closing line CI reads.

    python3 tools/test_summary.py RESULTS_DIR [DOTNET_TEST_EXIT_CODE]

Reads every *.trx under RESULTS_DIR and prints each failed test (its outcome and the first line of
its message), each skipped test with its reason, and last, alone on its line:

    N passed, N failed, N skipped

Exits 1 when a test failed, when no test ran, when a TRX file cannot be read, or when dotnet test
exited non-zero (a build error or a crashed test host: then the counts may be short); else 0.
"""

import pathlib
import sys
import xml.etree.ElementTree as ET

TRX = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def first_line(text):
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""


def read(path, passed, failed, skipped):
    """Adds the results of one TRX file to the three lists."""
    root = ET.parse(path).getroot()
    for result in root.iterfind(f"{TRX}Results/{TRX}UnitTestResult"):
        name = result.get("testName", "(unnamed test)")
        outcome = result.get("outcome", "")
        message = first_line(result.findtext(f"{TRX}Output/{TRX}ErrorInfo/{TRX}Message"))
        if outcome == "Passed":
            passed.append(name)
        elif outcome == "NotExecuted":  # how the VSTest adapter records a skipped test; the reason is the message
            skipped.append((name, message or "(no reason given)"))
        else:  # Failed, and every outcome that is neither a pass nor a skip (Error, Timeout, Aborted, ...)
            failed.append((name, outcome, message))


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and not argv[2].lstrip("-").isdigit()):
        print("usage: test_summary.py RESULTS_DIR [DOTNET_TEST_EXIT_CODE]", file=sys.stderr)
        return 2
    directory = pathlib.Path(argv[1])
    dotnet_status = int(argv[2]) if len(argv) == 3 else 0

    passed, failed, skipped, unreadable = [], [], [], []
    for path in sorted(directory.rglob("*.trx")):
        try:
            read(path, passed, failed, skipped)
        except (ET.ParseError, OSError) as error:
            unreadable.append(f"{path.name}: {error}")

    print()
    if skipped:
        print(f"Skipped ({len(skipped)}):")
        for name, reason in sorted(skipped):
            print(f"  {name}: {reason}")
    if failed:
        print(f"Failed ({len(failed)}):")
        for name, outcome, message in sorted(failed):
            print(f"  {name} [{outcome}]" + (f": {message}" if message else ""))
    for problem in unreadable:
        print(f"Unreadable results file {problem}")
    if dotnet_status != 0:
        print(f"dotnet test exited {dotnet_status}: a build error or a test run that did not finish (see above)")
    total = len(passed) + len(failed) + len(skipped)
    if total == 0:
        print("No test ran.")
    print(f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")

    return 1 if failed or total == 0 or unreadable or dotnet_status != 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
