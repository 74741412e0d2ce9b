#!/usr/bin/env bash
# A listening test from the demo recipe's outputs: ground truth, vocoder resynthesis and
# voiceflow infilling as three systems; a MOS and a MUSHRA page; simulated listeners; analysis.
#
# Usage (after `bash recipes/demo/run.sh`; from anywhere):
#   bash egs/listening_test/run.sh [--demo recipes/demo] [--generated DIR] \
#       [--out egs/listening_test/out] [--listeners 12] [--vocoder DIR_OR_HUB_ID] [--post-url URL]
# (--generated: a `voiceflow generate` directory; default: the demo's unguided one)
#
# Writes OUT/systems/{ground_truth,resynthesis}/, OUT/web/{mos,mushra}/ (open index.html in
# a browser, or upload the folder to any static host; the keys OUT/web/*.key.json stay with
# you), OUT/results/{mos,mushra}/listener_NN.json (simulated) and OUT/analysis/{mos,mushra}/.
# Real listeners' downloaded result files go into OUT/results/<test>/ the same way.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
demo=$root/recipes/demo
out=$here/out
listeners=12
vocoder=""
post_url=""
generated=""
while [ $# -gt 0 ]; do
  case $1 in
    --demo) demo=$2; shift 2 ;;
    --generated) generated=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --listeners) listeners=$2; shift 2 ;;
    --vocoder) vocoder=$2; shift 2 ;;
    --post-url) post_url=$2; shift 2 ;;
    --help|-h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
python=${PYTHON:-$root/.venv/bin/python}
[ -x "$python" ] || python=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"

[ -n "$generated" ] || generated=$(ls -d "$demo"/exp/demo/infer/nfe*_euler_cfg0_seed0 2>/dev/null | head -1 || true)
if [ -z "$generated" ]; then
  echo "error: no generated directory under $demo/exp/demo/infer (run recipes/demo/run.sh first)" >&2
  exit 1
fi

"$python" "$here/prepare_systems.py" --generated "$generated" --out "$out/systems" ${vocoder:+--vocoder "$vocoder"}
systems=(--system "ground_truth=$out/systems/ground_truth" --system "resynthesis=$out/systems/resynthesis"
         --system "voiceflow=$generated")
"$python" -m voiceflow.bin.cli listen build --test mos "${systems[@]}" --out "$out/web/mos" \
  --title "Naturalness (MOS)" --items 12 --texts ${post_url:+--post-url "$post_url"}
"$python" -m voiceflow.bin.cli listen build --test mushra --reference "$out/systems/ground_truth" \
  --system "resynthesis=$out/systems/resynthesis" --system "voiceflow=$generated" --out "$out/web/mushra" \
  --title "Quality (MUSHRA)" --items 8 ${post_url:+--post-url "$post_url"}

for test in mos mushra; do
  "$python" "$here/simulate_listeners.py" --key "$out/web/$test.key.json" --out "$out/results/$test" \
    --listeners "$listeners" --fail-attention 1 $([ $test = mushra ] && echo --fail-hidden-ref 1) --seed 0
  "$python" -m voiceflow.bin.cli listen analyze --key "$out/web/$test.key.json" "$out/results/$test" \
    --out "$out/analysis/$test"
done
echo "pages: $out/web/{mos,mushra}/index.html; analysis: $out/analysis/{mos,mushra}/summary.md"
