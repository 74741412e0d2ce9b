#!/usr/bin/env bash
# Denoising with a trained checkpoint: a span of a recording is buried in noise, then
# regenerated from the transcript with the clean rest as context.
#
# Usage (after `bash recipes/demo/run.sh`; from anywhere):
#   bash egs/denoise/run.sh [--checkpoint recipes/demo/exp/demo] [--wav IN.wav --text "..."]
#                           [--start 0.8] [--end 1.4] [--snr-db 10] [--out egs/denoise/out] [--vocoder DIR]
# Without --wav, a held-out demo utterance gets white noise at --snr-db between --start and
# --end (noisy.wav), which `voiceflow denoise` then regenerates (denoised.wav).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
checkpoint=$root/recipes/demo/exp/demo
wav=""
text=""
start=0.8
end=1.4
snr_db=10
out=$here/out
guidance=0.7
vocoder=""
. "$root/recipes/shared/parse_options.sh"
. "$root/egs/shared/env.sh"

if [ -z "$wav" ]; then
  manifest=$(demo_manifest --wav)
  text=$("$python" - "$manifest" "$out/noisy.wav" "$start" "$end" "$snr_db" <<'PY'
import json, sys
import torch
from voiceflow.audio import load_audio, save_wav
row = json.loads(open(sys.argv[1]).readline())
wav = load_audio(row["audio"], 24000)
a, b = int(float(sys.argv[3]) * 24000), int(float(sys.argv[4]) * 24000)
power = wav.pow(2).mean()
noise = torch.randn(b - a, generator=torch.Generator().manual_seed(0)) * (power / 10 ** (float(sys.argv[5]) / 10)).sqrt()
wav[a:b] += noise
save_wav(sys.argv[2], wav / max(1.0, float(wav.abs().max())), 24000)
print(row["text"])
PY
)
  wav=$out/noisy.wav
fi
"$python" -m voiceflow.bin.cli denoise --checkpoint "$checkpoint" --wav "$wav" --text "$text" \
  --start "$start" --end "$end" --out "$out/denoised.wav" --guidance "$guidance" ${vocoder:+--vocoder "$vocoder"}
echo "wavs in $out"
