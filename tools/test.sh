#!/usr/bin/env bash
# The README's test command (and .ci/run's): builds the solution, runs every test, then prints each
# failed test, each skipped test with its reason, and last, alone on its line, "N passed, N failed,
# N skipped" (CI reads that line). Exits non-zero when a test failed, when no test ran, or when
# dotnet test itself failed (a build error, a test host that crashed).
# Arguments go to dotnet test as they are: bash tools/test.sh --filter 'FullyQualifiedName~Echo'
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null; then
    echo "tools/test.sh: error: python3 is needed to sum the test results (apt-get install python3)" >&2
    exit 1
fi

# Each test project writes its TRX file here; the summary reads them all, then they go.
results=$(mktemp -d "${TMPDIR:-/tmp}/sockserv-test-results.XXXXXX")
trap 'rm -rf "$results"' EXIT

status=0
dotnet test SocketServer.slnx --logger trx --results-directory "$results" "$@" || status=$?
python3 tools/test_summary.py "$results" "$status"
