#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers a peer reaches (docs/fuzzing.md): each target of
# fuzz/SocketServer.Fuzz runs under afl-fuzz for a bounded time, one after another, against
# SharpFuzz-instrumented copies of SocketServer.dll and SocketServer.Exec.dll. What afl finds is
# minimised with afl-cmin into fuzz/corpus/TARGET/afl-* (committed, replayed by `dotnet test`);
# crashes and hangs stay in fuzz/results/ (not committed): once fixed, add one as finding-NAME.
#
#   tools/fuzz.sh [SECONDS [TARGET...]]     SECONDS per target (default 60); all targets by default
#   MERGE=0 tools/fuzz.sh ...               leave fuzz/corpus/ as it is
#
# Installs nothing. Needs, besides the .NET SDK:
#   afl-fuzz, afl-cmin    apt-get install afl++
#   sharpfuzz             dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path fuzz/.tools
# Not run by CI (.ci/run): CI has no afl, and the replay of the corpus needs none.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
results=fuzz/results
bin=$results/bin

missing=0
for tool in afl-fuzz afl-cmin; do
    if ! command -v "$tool" >/dev/null; then
        echo "fuzz.sh: $tool not found: apt-get install afl++" >&2
        missing=1
    fi
done
sharpfuzz=$(command -v sharpfuzz || true)
if [ -z "$sharpfuzz" ] && [ -x fuzz/.tools/sharpfuzz ]; then sharpfuzz=fuzz/.tools/sharpfuzz; fi
if [ -z "$sharpfuzz" ]; then
    echo "fuzz.sh: sharpfuzz not found: dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path fuzz/.tools" >&2
    missing=1
fi
if [ "$missing" -ne 0 ]; then exit 2; fi

# A fresh build each run: sharpfuzz instruments in place and refuses an assembly twice.
rm -rf "$bin"
dotnet publish fuzz/SocketServer.Fuzz -c Release -o "$bin" -v quiet -nologo
for assembly in SocketServer SocketServer.Exec; do
    "$sharpfuzz" "$bin/$assembly.dll"
done

if [ "$#" -eq 0 ]; then
    # The program's usage line lists its targets.
    set -- $(dotnet "$bin/SocketServer.Fuzz.dll" 2>&1 </dev/null | sed -n 's/.*targets: //p' | tr -d ,)
fi

dictionary() {
    case "$1" in
        exec-frames) echo fuzz/dict/exec.dict ;;
        exec-run) echo fuzz/dict/json.dict ;;
        legacy) echo fuzz/dict/legacy.dict ;;
        *) echo fuzz/dict/framing.dict ;;
    esac
}

# The machine is shared: no CPU pinning, no status screen; the target is .NET, not an afl-compiled binary.
export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
run=("$(command -v dotnet)" "$bin/SocketServer.Fuzz.dll")
summary=$results/summary.txt
: >"$summary"
for target in "$@"; do
    out=$results/$target
    rm -rf "$out"
    echo "fuzz.sh: $target for ${seconds}s"
    # -t: a .NET target's first input includes the JIT; an input slower than this is a hang.
    afl-fuzz -i "fuzz/corpus/$target" -o "$out" -V "$seconds" -t 5000 -m none -x "$(dictionary "$target")" \
        -- "${run[@]}" "$target" >"$out.log" 2>&1 || { echo "fuzz.sh: afl-fuzz failed on $target; see $out.log" >&2; tail -20 "$out.log" >&2; exit 1; }
    stats=$out/default/fuzzer_stats
    stat() { sed -n "s/^$1 *: //p" "$stats"; }
    crashes=$(stat saved_crashes); hangs=$(stat saved_hangs)
    line="$target: $(stat run_time) s, $(stat execs_done) execs ($(stat execs_per_sec)/s), corpus $(stat corpus_count), crashes $crashes, hangs $hangs"
    echo "fuzz.sh: $line"
    echo "$line" >>"$summary"
    for finding in "$out"/default/crashes/id* "$out"/default/hangs/id*; do
        [ -e "$finding" ] || continue
        echo "fuzz.sh:   $finding   (reproduce: dotnet $bin/SocketServer.Fuzz.dll $target < FILE)"
    done

    if [ "${MERGE:-1}" = 1 ]; then
        # Seeds and fixed findings (seed-*, finding-*) stay as written; of the rest, afl-cmin keeps
        # the inputs that add coverage, named by their content.
        merged=$out/merged
        mkdir -p "$out/all"
        cp "fuzz/corpus/$target"/* "$out"/default/queue/id* "$out/all/" 2>/dev/null || true
        if afl-cmin -i "$out/all" -o "$merged" -t 5000 -m none -- "${run[@]}" "$target" >"$out/cmin.log" 2>&1; then
            find "fuzz/corpus/$target" -type f -name 'afl-*' -delete
            for file in "$merged"/*; do
                kept=0
                for named in "fuzz/corpus/$target"/seed-* "fuzz/corpus/$target"/finding-*; do
                    if [ -e "$named" ] && cmp -s "$file" "$named"; then kept=1; break; fi
                done
                if [ "$kept" -eq 0 ]; then cp "$file" "fuzz/corpus/$target/afl-$(sha1sum "$file" | cut -c1-12)"; fi
            done
            echo "fuzz.sh:   corpus: $(ls "fuzz/corpus/$target" | wc -l) files, $(du -sk "fuzz/corpus/$target" | cut -f1) KiB"
        else
            echo "fuzz.sh:   afl-cmin failed (see $out/cmin.log); fuzz/corpus/$target left as it was" >&2
        fi
    fi
done
echo "fuzz.sh: summary in $summary"
cat "$summary"
