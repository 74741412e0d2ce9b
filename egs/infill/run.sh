#!/usr/bin/env bash
# Infilling with a trained checkpoint: regenerate a time span of a recording from its alignment.
#
# Usage (after `bash recipes/demo/run.sh`; from anywhere):
#   bash egs/infill/run.sh [--checkpoint recipes/demo/exp/demo] [--start 0.8] [--end 2.0]
#                          [--out egs/infill/out] [--guidance 0.7] [--vocoder DIR]
# The first held-out utterance of every demo voice is infilled between --start and --end
# (snapped to phone boundaries) with its exact alignment from the demo corpus.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
checkpoint=$root/recipes/demo/exp/demo
start=0.8
end=2.0
out=$here/out
guidance=0.7
vocoder=""
. "$root/recipes/shared/parse_options.sh"
. "$root/egs/shared/env.sh"
manifest=$(demo_manifest)
mkdir -p "$out/alignments"

"$python" - "$manifest" "$out/alignments" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row["speaker"] in seen:
        continue
    seen.add(row["speaker"])
    json.dump({"audio": row["audio"], "alignment": row["alignment"]}, open(f'{sys.argv[2]}/{row["id"]}.json', "w"))
PY
for a in "$out"/alignments/*.json; do
  id=$(basename "$a" .json)
  wav=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["audio"])' "$a")
  "$python" -m voiceflow.bin.cli infill --checkpoint "$checkpoint" --wav "$wav" --alignment "$a" \
    --start "$start" --end "$end" --out "$out/infill_$id.wav" --guidance "$guidance" ${vocoder:+--vocoder "$vocoder"}
done
echo "wavs in $out"
