#!/usr/bin/env bash
# VCTK 0.92 (110 English speakers, 44 h at 48 kHz, mic1): download -> trained Voicebox audio
# and duration models, a vocos vocoder trained on the corpus, held-out (unseen-speaker) test
# sets and metrics.
#
# Usage (from anywhere; the recipe works in its own directory):
#   bash recipes/vctk/run.sh                                       # every stage, one GPU
#   bash recipes/vctk/run.sh --corpus-root /data/VCTK-Corpus-0.92 # an existing copy: no download
#   bash recipes/vctk/run.sh --prepare-opts "--mic mic2"           # the other microphone
#   bash recipes/vctk/run.sh --audio-config conf/smoke.yaml --dur-config conf/duration_smoke.yaml \
#        --vocoder-config conf/vocoder_smoke.yaml               # minutes on a CPU: checks the wiring
#
# Stages 0-9 and the options every recipe shares: ../shared/corpus_recipe.sh. Splits: a fixed
# set of held-out speakers is the test split (zero-shot TTS in unseen voices), a few
# utterances per training speaker validate (voiceflow.data.corpora.vctk). Audio is read at
# 48 kHz and resampled to the 24 kHz mel contract. README.md: hardware; RESULTS.md: figures.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=vctk
corpus_dir=VCTK-Corpus-0.92
audio_config=conf/audio.yaml           # `small` preset (42 M parameters), one GPU
dur_config=conf/duration.yaml
vocoder_config=conf/vocoder.yaml
. "$here/../shared/corpus_recipe.sh"
