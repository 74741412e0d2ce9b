#!/usr/bin/env bash
# GPU correctness tests and benchmarks in one call, for a CUDA machine without network.
#
# Usage (from the repository root):
#   bash tools/gpu_checks.sh [tests] [train] [train_padded] [train_dynamic] [infer] [infer_padded] [peers]
# (default: all). One device call may run 600 s at most, so run them in groups, e.g.
#   tests | train train_padded | infer infer_padded peers
# The *_padded sections measure model.attention=flex_padded (FlexAttention on padded rows, no
# per-score look-up) against the default packed-sequence FlexAttention.
#
# Wheels of packages missing on the machine may wait in .whl/ (git-ignored); they are
# installed into /tmp/site first. The peer benchmark (shared/bench/peers_gpu.py) runs
# when a copy sits in .peerbench/ (git-ignored), in the same call as ours, so every ratio
# is measured side by side. Results go to $OUT (or ./gpu_results) as JSON lines and logs.
set -uo pipefail
out=${OUT:-gpu_results}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
sections=${*:-tests train train_padded infer infer_padded train_dynamic peers}
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm --format=csv,noheader | tee "$out/gpu.txt"
for s in $sections; do
  echo "=== $s ($(date +%T))"
  case $s in
    tests) timeout 240 python3 -m pytest -q -x -m gpu -p no:cacheprovider tests 2>&1 | tail -25 | tee "$out/tests.log" ;;
    train) timeout 200 python3 tools/benchmark.py train --preset paper --batch 16 --min-frames 600 --max-frames 1000 \
             --precision bf16 --compile --pack-multiple 1024 --steps 30 --warmup 12 --out "$out/bench.jsonl" 2>&1 | tail -3 ;;
    train_padded) timeout 200 python3 tools/benchmark.py train --preset paper --batch 16 --min-frames 600 \
             --max-frames 1000 --precision bf16 --compile --attention flex_padded --pack-multiple 1024 --steps 30 \
             --warmup 12 --out "$out/bench.jsonl" 2>&1 | tail -3 ;;
    train_dynamic) timeout 200 python3 tools/benchmark.py train --preset paper --batch 16 --min-frames 600 \
             --max-frames 1000 --precision bf16 --compile --dynamic --pack-multiple 128 --steps 30 --warmup 12 \
             --out "$out/bench.jsonl" 2>&1 | tail -3 ;;
    infer) timeout 160 python3 tools/benchmark.py infer --preset paper --batch 1,16 --frames 940 --nfe 32 \
             --guidance 0,0.7 --compile --cuda-graph --dtype bf16 --out "$out/bench.jsonl" 2>&1 | grep -v Warning | tail -6 ;;
    infer_padded) timeout 160 python3 tools/benchmark.py infer --preset paper --batch 1,16 --frames 940 --nfe 32 \
             --guidance 0,0.7 --compile --cuda-graph --dtype bf16 --attention flex_padded --out "$out/bench.jsonl" 2>&1 \
             | grep -v Warning | tail -6 ;;
    peers) [ -f .peerbench/peers_gpu.py ] && timeout 420 python3 .peerbench/peers_gpu.py --out "$out/peers.jsonl" \
             --only ref_compile,f5,voicebox_flash --train-batches 16 --infer-batches 1,16 --budget-s 300 2>&1 \
             | sed -n '/^SUMMARY/,$p' | tee "$out/peers_summary.txt" ;;
    *) echo "unknown section $s" ;;
  esac
done
