#!/usr/bin/env bash
# LibriHeavy (LibriLight audio, ~50 k hours of read English with punctuated, cased
# transcripts; the Voicebox paper's scale): download -> the paper-size (330 M) Voicebox audio
# model on many GPUs fed from streaming shards, the duration model, a vocos vocoder trained
# on the corpus, the Voicebox LibriSpeech test-clean sets (cross-sentence and continuation)
# and metrics.
#
# Usage (from anywhere; the recipe works in its own directory):
#   bash recipes/libriheavy/run.sh --gpus 8                        # one node; see README for many
#   bash recipes/libriheavy/run.sh --corpus-root /data/librilight --cuts /data/libriheavy \
#        --librispeech-root /data/LibriSpeech                     # existing copies: no download
#   bash recipes/libriheavy/run.sh --download-parts small,cuts --subsets small,dev,test_clean --on-error skip
#   bash recipes/libriheavy/run.sh --audio-config conf/smoke.yaml --dur-config conf/duration_smoke.yaml \
#        --vocoder-config conf/vocoder_smoke.yaml               # minutes on a CPU: checks the wiring
#
# Stages 0-9 and the options every recipe shares: ../shared/corpus_recipe.sh. Utterances are
# LibriHeavy's cuts: segments (offset, duration) of LibriLight's long recordings, read in
# place. Splits: small/medium/large train, dev validates, test_clean is the held-out set.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=libriheavy
corpus_dir=librilight                  # LibriLight's small/ medium/ large/ unpack here
download_parts=small,medium,large,cuts # the audio tars and LibriHeavy's cut manifests
subsets=small,medium,large,dev,test_clean
cuts=downloads/libriheavy              # where the cut manifests are (--cuts DIR for a copy)
audio_config=conf/audio.yaml           # the `paper` preset (330 M parameters)
dur_config=conf/duration.yaml
vocoder_config=conf/vocoder.yaml
eval_sets=heldout,librispeech
. "$here/../shared/corpus_recipe.sh"
