#!/usr/bin/env bash
# Zero-shot TTS with a trained checkpoint: say a new sentence in the voice of a prompt.
#
# Usage (after `bash recipes/demo/run.sh`; from anywhere):
#   bash egs/tts/run.sh [--checkpoint recipes/demo/exp/demo] [--prompt-wav P.wav --prompt-text "..."]
#                       [--text "..."] [--out egs/tts/out] [--guidance 0.7] [--rate 1.0] [--vocoder DIR]
# Without --prompt-wav, a held-out utterance of each demo voice is the prompt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
checkpoint=$root/recipes/demo/exp/demo
prompt_wav=""
prompt_text=""
text="Nobody expected the old lamp to sing in the garden at night."
out=$here/out
guidance=0.7
rate=1.0
vocoder=""
. "$root/recipes/shared/parse_options.sh"
. "$root/egs/shared/env.sh"

prompts=()
if [ -n "$prompt_wav" ]; then
  prompts+=("$prompt_wav|$prompt_text")
else  # the first held-out utterance of each demo voice
  manifest=$(demo_manifest --prompt-wav)
  while IFS= read -r line; do prompts+=("$line"); done < <("$python" - "$manifest" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row["speaker"] not in seen:
        seen.add(row["speaker"])
        print(f'{row["audio"]}|{row["text"]}')
PY
)
fi
for p in "${prompts[@]}"; do
  wav=${p%%|*}; ptext=${p#*|}
  name=$(basename "$wav" .wav)
  "$python" -m voiceflow.bin.cli tts --checkpoint "$checkpoint" --prompt-wav "$wav" --prompt-text "$ptext" \
    --text "$text" --out "$out/tts_$name.wav" --guidance "$guidance" --rate "$rate" ${vocoder:+--vocoder "$vocoder"}
done
echo "wavs in $out"
