#!/usr/bin/env bash
# Compares two builds of jjc (or any two commands) on the same arguments, interleaved: A, B,
# A, B, … so that a slow stretch of the machine falls on both alike. Prints each one's median
# and best wall time and median peak RSS, and B's median against A's. This is how the change
# log of docs/performance.md measures a change: one best-of-9 run of bench.sh moves by as much
# as most changes are worth.
#
#   scripts/ab.sh [-n RUNS] [-o FILE] A B -- ARG…
#
#   A, B      the two programs (paths), each run as `PROGRAM ARG…`
#   -n RUNS   runs of each (default 21)
#   -o FILE   a file the runs write (their -o output): deleted, and the disk synced, before
#             each run, so that neither pays for replacing or writing back the other's
#
# Each run is timed by `jjc-bench time` (built if missing), from just before it starts to just
# after it is reaped. Example, a change to jjc against the build before it:
#
#   cp target/release/jjc /tmp/jjc-before   # … change, rebuild …
#   scripts/ab.sh -o /tmp/t.csv /tmp/jjc-before target/release/jjc -- \
#       run bench-out/large.pcap -q -o /tmp/t.csv
set -euo pipefail

die() { echo "ab: $*" >&2; exit 2; }

runs=21
out=""
while getopts "n:o:" opt; do
    case "$opt" in
        n) runs="$OPTARG" ;;
        o) out="$OPTARG" ;;
        *) die "usage: scripts/ab.sh [-n RUNS] [-o FILE] A B -- ARG…" ;;
    esac
done
shift $((OPTIND - 1))
(($# >= 3)) && [[ "$3" == "--" ]] || die "usage: scripts/ab.sh [-n RUNS] [-o FILE] A B -- ARG…"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "-n takes a positive number of runs"
a="$1"
b="$2"
shift 3
for program in "$a" "$b"; do
    [[ -x "$program" ]] || die "$program is not an executable file"
done

root="$(cd "$(dirname "$0")/.." && pwd)"
timer="$root/target/release/jjc-bench"
if [[ ! -x "$timer" ]]; then
    (cd "$root" && cargo build --release -p jjc-bench) >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# run PROGRAM LOG ARG…: one timed run of PROGRAM ARG…, its "seconds rss_kib" appended to LOG.
run() {
    local program="$1" log="$2"
    shift 2
    [[ -z "$out" ]] || rm -f "$out"
    sync
    "$timer" time "$tmp/one" "$program" "$@" >/dev/null 2>"$tmp/stderr" ||
        die "$program failed: $(tail -n 3 "$tmp/stderr")"
    cat "$tmp/one" >>"$log"
}

for ((i = 0; i < runs; i++)); do
    run "$a" "$tmp/a" "$@"
    run "$b" "$tmp/b" "$@"
done

# stats LOG: "median best median_rss" of a log.
stats() {
    sort -n "$1" | awk '{ s[NR] = $1 } END { printf "%.6f %.6f ", s[int((NR + 1) / 2)], s[1] }'
    sort -n -k2 "$1" | awk '{ r[NR] = $2 } END { printf "%d\n", r[int((NR + 1) / 2)] }'
}
read -r a_med a_best a_rss <<<"$(stats "$tmp/a")"
read -r b_med b_best b_rss <<<"$(stats "$tmp/b")"
printf '%s runs each, interleaved\n' "$runs"
printf 'A %-50s median %8.2f ms  best %8.2f ms  peak RSS %7.1f MiB\n' "$a" \
    "$(awk -v s="$a_med" 'BEGIN { print s * 1000 }')" "$(awk -v s="$a_best" 'BEGIN { print s * 1000 }')" \
    "$(awk -v k="$a_rss" 'BEGIN { print k / 1024 }')"
printf 'B %-50s median %8.2f ms  best %8.2f ms  peak RSS %7.1f MiB\n' "$b" \
    "$(awk -v s="$b_med" 'BEGIN { print s * 1000 }')" "$(awk -v s="$b_best" 'BEGIN { print s * 1000 }')" \
    "$(awk -v k="$b_rss" 'BEGIN { print k / 1024 }')"
awk -v a="$a_med" -v b="$b_med" 'BEGIN { printf "B/A median %.3f (%+.1f%%)\n", b / a, (b / a - 1) * 100 }'
