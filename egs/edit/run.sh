#!/usr/bin/env bash
# Speech editing with a trained checkpoint: change words of a recording, keep the rest.
#
# Usage (after `bash recipes/demo/run.sh`; from anywhere):
#   bash egs/edit/run.sh [--checkpoint recipes/demo/exp/demo] [--wav IN.wav --text "..." --new-text "..."]
#                        [--out egs/edit/out] [--guidance 0.7] [--vocoder DIR]
# Without --wav, a held-out demo utterance is edited four ways: a word replaced, one deleted,
# one inserted at the start, one appended at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
checkpoint=$root/recipes/demo/exp/demo
wav=""
text=""
new_text=""
out=$here/out
guidance=0.7
vocoder=""
. "$root/recipes/shared/parse_options.sh"
. "$root/egs/shared/env.sh"

edits=()
if [ -n "$wav" ]; then
  edits+=("custom|$wav|$text|$new_text")
else
  manifest=$(demo_manifest --wav)
  while IFS= read -r line; do edits+=("$line"); done < <("$python" - "$manifest" <<'PY'
import json, sys
row = json.loads(open(sys.argv[1]).readline())
words = row["text"].rstrip(".?!").split()
mid = len(words) // 2
variants = {
    "replace": words[:mid] + ["yellow"] + words[mid + 1:],
    "delete": words[:mid] + words[mid + 1:],
    "insert_start": ["Well"] + words,
    "insert_end": words + ["today"],
}
for name, new in variants.items():
    print(f'{name}|{row["audio"]}|{row["text"]}|{" ".join(new)}')
PY
)
fi
for e in "${edits[@]}"; do
  IFS='|' read -r name w t nt <<< "$e"
  echo "$name: '$t' -> '$nt'"
  "$python" -m voiceflow.bin.cli edit --checkpoint "$checkpoint" --wav "$w" --text "$t" --new-text "$nt" \
    --out "$out/edit_$name.wav" --guidance "$guidance" ${vocoder:+--vocoder "$vocoder"}
done
echo "wavs in $out"
