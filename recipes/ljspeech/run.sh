#!/usr/bin/env bash
# LJSpeech 1.1 (one speaker, 24 h, 13 100 clips): download -> trained Voicebox audio and
# duration models, a vocos vocoder trained on the corpus, held-out test sets and metrics.
#
# Usage (from anywhere; the recipe works in its own directory):
#   bash recipes/ljspeech/run.sh                                   # every stage, one GPU
#   bash recipes/ljspeech/run.sh --corpus-root /data/LJSpeech-1.1  # an existing copy: no download
#   bash recipes/ljspeech/run.sh --stage 5 --stop-stage 5 --gpus 4 # the audio model on 4 GPUs
#   bash recipes/ljspeech/run.sh --audio-config conf/smoke.yaml --dur-config conf/duration_smoke.yaml \
#        --vocoder-config conf/vocoder_smoke.yaml               # minutes on a CPU: checks the wiring
#
# Stages 0-9 and the options every recipe shares: ../shared/corpus_recipe.sh. Splits: 100
# valid and 500 test clips drawn by a fixed rule (voiceflow.data.corpora.ljspeech); the rest
# trains. What each stage needs and takes: README.md; figures: RESULTS.md.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=ljspeech
corpus_dir=LJSpeech-1.1                # what the download unpacks (under --download)
audio_config=conf/audio.yaml           # `small` preset (42 M parameters), one GPU
dur_config=conf/duration.yaml
vocoder_config=conf/vocoder.yaml
. "$here/../shared/corpus_recipe.sh"
