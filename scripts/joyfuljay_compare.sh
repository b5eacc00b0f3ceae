#!/usr/bin/env bash
# Whole-process speed of JoyfulJay and jjc on the same VLAN-free capture, JJ-CORE groups.
#
# Installs JoyfulJay 0.1.6.1 and dpkt in a virtualenv (bench-out/jj-venv), generates a VLAN-free
# capture with jjc-synth (JoyfulJay's dpkt reader crashes on 802.1Q tags), runs JoyfulJay's Python
# API with the dpkt backend and store_raw_payload=True over the groups flow_meta, timing, size,
# tcp and tls, runs `jjc run` (JJ-CORE, default threads) on the same file, and prints both times
# and the ratio.
#
# Each runs several times and its best time counts, so that a slow moment of the machine
# favours neither: jjc JJ_JJC_RUNS times (default 5), JoyfulJay, which takes seconds a run,
# JJ_JJ_RUNS times (default 3).
#
# Environment: JJ_SIZE (capture size for jjc-synth --size, default 50M: JoyfulJay needs about
# half a minute per 50 MB), JJ_SEED (default 1), JJ_JJC_RUNS (default 5), JJ_JJ_RUNS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

size="${JJ_SIZE:-50M}"
runs="${JJ_JJC_RUNS:-5}"
jj_runs="${JJ_JJ_RUNS:-3}"
for n in "$runs" "$jj_runs"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "joyfuljay_compare: JJ_JJC_RUNS and JJ_JJ_RUNS must be positive integers" >&2; exit 2; }
done
seed="${JJ_SEED:-1}"
out=bench-out
venv="$out/jj-venv"
capture="$out/novlan-$size-$seed.pcap"
mkdir -p "$out"

cargo build --release -p jjc-cli -p jjc-synth -p jjc-bench
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "joyfuljay==0.1.6.1" dpkt
fi
if [[ ! -f "$capture" ]]; then
    target/release/jjc-synth --seed "$seed" --size "$size" --no-vlan -o "$capture"
fi

cat >"$out/jj_run.py" <<'PY'
import sys, time
import joyfuljay as jj
from joyfuljay.capture.dpkt_backend import DpktBackend
from joyfuljay.core.pipeline import Pipeline
t = time.perf_counter()
config = jj.Config(features=["flow_meta", "timing", "size", "tcp", "tls"])
df = Pipeline(config, backend=DpktBackend(store_raw_payload=True)).process_pcap(sys.argv[1])
df.to_csv(sys.argv[2], index=False)
print(f"joyfuljay: {len(df)} flows, {len(df.columns)} columns, {time.perf_counter() - t:.3f} s in Python", file=sys.stderr)
PY

# Both read the capture from the same page-cache state: dropped and read back sequentially
# (see bench.sh: how a cached file was last brought in changes read speed by up to 40%).
sync
dd if="$capture" iflag=nocache count=0 status=none 2>/dev/null ||
    echo "joyfuljay_compare: warning: could not drop $capture from the page cache" >&2
cat "$capture" >/dev/null

# Each process is timed by jjc-bench from just before it starts to just after it is reaped
# (`date` around it added about 1.2 ms, a twenty-fifth of jjc's run).
timed() { target/release/jjc-bench time "$out/time" "$@" && read -r secs _ <"$out/time"; }
jj_s=""
for ((i = 0; i < jj_runs; i++)); do
    rm -f "$out/jj.csv"
    sync
    timed "$venv/bin/python" "$out/jj_run.py" "$capture" "$out/jj.csv"
    if [[ -z "$jj_s" ]] || (($(echo "$secs < $jj_s" | bc -l))); then jj_s="$secs"; fi
done
jjc_s=""
for ((i = 0; i < runs; i++)); do
    rm -f "$out/jjc.csv" # a new table each run, as JoyfulJay's
    sync
    timed target/release/jjc run "$capture" -q -o "$out/jjc.csv"
    if [[ -z "$jjc_s" ]] || (($(echo "$secs < $jjc_s" | bc -l))); then jjc_s="$secs"; fi
done
packets=$(target/release/jjc info "$capture" | sed -n 's/^ *packets: //p')
printf 'capture: %s (%s packets, %s bytes)\n' "$capture" "$packets" "$(stat -c %s "$capture")"
printf '%-10s %10.3f s %12.0f packets/s\n' joyfuljay "$jj_s" "$(echo "$packets / $jj_s" | bc -l)"
printf '%-10s %10.3f s %12.0f packets/s\n' jjc "$jjc_s" "$(echo "$packets / $jjc_s" | bc -l)"
printf 'jjc is %.0fx faster (whole process)\n' "$(echo "$jj_s / $jjc_s" | bc -l)"
