#!/usr/bin/env bash
# LibriTTS-R (585 h, 2 456 speakers, 24 kHz; falls back to LibriTTS with --corpus libritts):
# download -> the paper-size (330 M) Voicebox audio model and the duration model, a vocos
# vocoder trained on the corpus, held-out sets, the Voicebox LibriSpeech test-clean sets
# (cross-sentence and continuation, recipes/shared/evalsets/) and metrics.
#
# Usage (from anywhere; the recipe works in its own directory):
#   bash recipes/libritts_r/run.sh --gpus 8                        # every stage, 8 GPUs
#   bash recipes/libritts_r/run.sh --corpus-root /data/LibriTTS_R --librispeech-root /data/LibriSpeech
#   bash recipes/libritts_r/run.sh --corpus libritts --corpus-dir LibriTTS   # LibriTTS instead
#   bash recipes/libritts_r/run.sh --textgrids /data/mfa/libritts_r --g2p cmudict  # MFA alignments
#   bash recipes/libritts_r/run.sh --audio-config conf/smoke.yaml --dur-config conf/duration_smoke.yaml \
#        --vocoder-config conf/vocoder_smoke.yaml               # minutes on a CPU: checks the wiring
#
# Stages 0-9 and the options every recipe shares: ../shared/corpus_recipe.sh. Splits: the
# train-* subsets train, dev-clean validates, test-clean is the held-out set.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=libritts_r
corpus_dir=LibriTTS_R
download_parts=train_clean_100,train_clean_360,train_other_500,dev_clean,test_clean
subsets=train-clean-100,train-clean-360,train-other-500,dev-clean,test-clean
audio_config=conf/audio.yaml           # the `paper` preset (330 M parameters)
dur_config=conf/duration.yaml
vocoder_config=conf/vocoder.yaml
eval_sets=heldout,librispeech
. "$here/../shared/corpus_recipe.sh"
