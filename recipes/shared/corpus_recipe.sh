#!/usr/bin/env bash
# The stages every corpus recipe shares (recipes/<corpus>/run.sh sets its defaults, then
# sources this file with the command-line options). Each stage is skipped when its
# .done marker exists; delete the marker to redo it (the pieces of the training split are
# redone when their input is newer or the stage's options changed). Relative paths in
# options are read from the recipe's directory (recipes/<corpus>/).
#
#   0 download     the corpus (resumable, checksums verified where published), unless
#                  --corpus-root points to an existing copy; the LibriSpeech test-clean copy
#                  for the Voicebox evaluation sets likewise (--librispeech-root)
#   1 manifests    voiceflow prepare: manifests of every split from the corpus's own layout
#   2 text         voiceflow phonemize: normalised text; rows the G2P cannot say stop or skip
#                  (the training split in pieces of --piece-rows rows, random samples of it)
#   3 alignments   the user's MFA TextGrids (--textgrids DIR) or the built-in aligner;
#                  then the phone inventory
#   4 features     voiceflow shards: log-mels, phone ids and durations in streaming shards
#                  (train, valid) and the global mel statistics
#   5 audio model  voiceflow train (accelerate launch on --gpus N > 1)
#   6 duration     voiceflow train with the duration config
#   7 vocoder      voiceflow train-vocoder on the first piece of the training split (up to
#                  $piece_rows utterances; --vocoder train), or a given vocos folder / hub id
#   8 generate     held-out infilling and zero-shot TTS of the test split; with
#                  --eval-sets librispeech also the Voicebox cross-sentence and continuation
#                  sets of LibriSpeech test-clean (recipes/shared/evalsets/)
#   9 metrics      voiceflow score (masked L1) and voiceflow eval (WER, SIM-o, MOS) of every
#                  generated set; the table goes to $exp/RESULTS.md (--results RESULTS.md
#                  writes it into the recipe's own record)
#
# Options common to every recipe (each is --name value on the command line):
#   --stage N --stop-stage M      which stages to run
#   --corpus-root DIR             an existing copy of the corpus (skips the download)
#   --download DIR                where stage 0 downloads to (default downloads/)
#   --textgrids DIR               MFA TextGrids (then set the configs' text.g2p to cmudict)
#   --g2p NAME                    espeak | cmudict | flite for stages 2, 3 and 8 (default: the
#                                 audio config's text.g2p, which inference uses)
#   --gpus N                      GPUs on this node (N > 1: accelerate launch --multi_gpu)
#   --vocoder train|DIR|HUB_ID    stage 7 trains vocos, or this vocoder is used as is
#   --on-error stop|skip          a bad file stops a stage (default) or is reported and skipped
#   --nj N                        CPU workers of the data stages
set -euo pipefail

: "${here:?run.sh sets here}"
root=$(cd "$here/../.." && pwd)
cd "$here"
. ../shared/log.sh

stage=${stage:-0}
stop_stage=${stop_stage:-9}
data=${data:-data}
exp=${exp:-exp}
download=${download:-downloads}
corpus_root=${corpus_root:-}
cuts=${cuts:-}                    # LibriHeavy's cut manifests
prepare_opts=${prepare_opts:-}    # more options of voiceflow prepare (e.g. "--mic mic2")
subsets=${subsets:-}
download_parts=${download_parts:-}
textgrids=${textgrids:-}
g2p=${g2p:-auto}                  # auto: text.g2p of the audio config (inference spells text alike)
gpus=${gpus:-1}
nj=${nj:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}   # nproc alone follows OMP_NUM_THREADS
on_error=${on_error:-stop}
vocoder=${vocoder:-train}
eval_sets=${eval_sets:-heldout}   # heldout, or heldout,librispeech
librispeech_root=${librispeech_root:-}
eval_list=${eval_list:-../shared/evalsets/librispeech_test_clean_4to10s_cross_sentence.tsv}
eval_max_items=${eval_max_items:-0}    # 0: every pair of the list
prompt_seconds=${prompt_seconds:-3.0}  # Voicebox sec. 5.2: a 3 s prompt
test_items=${test_items:-200}          # held-out test utterances used by stage 8 (0: all)
piece_rows=${piece_rows:-200000}       # rows per piece of the training split in stages 2-4
nfe=${nfe:-32}
guidance=${guidance:-0.7}
seed=${seed:-0}
span_seconds=${span_seconds:-1.0,2.0}
asr=${asr:-pocketsphinx}               # e.g. transformers:openai/whisper-large-v3
speaker_model=${speaker_model:-resemblyzer}   # e.g. wavlm:microsoft/wavlm-base-plus-sv
metrics=${metrics:-wer,sim_o,mos}
results=${results:-}                  # the file whose table stage 9 fills (default: $exp/RESULTS.md)
python=${PYTHON:-}
fixed_names="here root corpus corpus_dir"   # what the recipe is, not options
options_doc="recipes/shared/corpus_recipe.sh (the shared ones) and $0"
. ../shared/parse_options.sh
results=${results:-$exp/RESULTS.md}

if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
if [ "$gpus" -gt 1 ]; then
  launch=("$python" -m accelerate.commands.launch --multi_gpu --num_processes "$gpus" -m)
else
  launch=("$python" -m)
fi
vf() { "$python" -m voiceflow.bin.cli "$@"; }
if [ "$g2p" = auto ]; then
  g2p=$("$python" -c "import sys
from voiceflow.config import load_config
from voiceflow.errors import VoiceflowError
try:
    print(load_config(sys.argv[1]).text.g2p)
except VoiceflowError as e:
    sys.exit(f'error: {e}')" "$audio_config")
fi
done_marker() { echo "$1/.done.$2"; }
raw=$data/manifests/raw
text=$data/manifests/text
aligned=$data/manifests/aligned
mkdir -p "$data" "$exp"
t_start=$(date +%s)

given_root=$corpus_root
if [ -z "$corpus_root" ]; then corpus_root=$download/$corpus_dir; fi
usable_copy() { "$python" -c "import sys; from voiceflow.data.download import existing_copy; \
sys.exit(0 if existing_copy('$corpus', sys.argv[1]) else 1)" "$1"; }
if [ $stage -le 0 ] && [ $stop_stage -ge 0 ] && [ ! -f "$(done_marker "$data" download)" ]; then
  if [ -e "$corpus_root" ] && usable_copy "$corpus_root"; then
    log "stage 0: using the existing copy $corpus_root"
  elif [ -n "$given_root" ]; then
    echo "error: --corpus-root $given_root ($(realpath -m "$given_root")): not a copy of $corpus" \
      "(relative paths are read from $here; the layout: voiceflow/data/corpora/$corpus.py)" >&2
    exit 1
  else
    log "stage 0: downloading $corpus ($download_parts) into $download"
    vf download --corpus "$corpus" --dest "$download" ${download_parts:+--parts "$download_parts"}
  fi
  if [ -n "$cuts" ] && ! compgen -G "$cuts/libriheavy_cuts_*.jsonl.gz" > /dev/null; then
    log "stage 0: downloading LibriHeavy's cut manifests into $download/libriheavy"
    vf download --corpus libriheavy --dest "$download" --parts cuts
  fi
  if [[ ",$eval_sets," == *,librispeech,* ]] && [ -z "$librispeech_root" ]; then
    log "stage 0: downloading LibriSpeech test-clean (the Voicebox evaluation sets)"
    vf download --corpus librispeech --dest "$download" --parts test-clean
  fi
  touch "$(done_marker "$data" download)"
fi
[ -z "$librispeech_root" ] && librispeech_root=$download/LibriSpeech

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ] && [ ! -f "$(done_marker "$data" manifests)" ]; then
  log "stage 1: manifests of $corpus_root"
  vf prepare --corpus "$corpus" --root "$corpus_root" --out-dir "$raw" --on-error "$on_error" --jobs "$nj" \
    ${subsets:+--subsets "$subsets"} ${cuts:+--cuts "$cuts"} $prepare_opts
  touch "$(done_marker "$data" manifests)"
fi

# The training split goes through stages 2-4 in pieces of $piece_rows rows (random samples of
# it, local/split_manifest.py), so that no stage holds a 50 k-hour manifest at once; each
# finished piece is kept, so an interrupted stage resumes at the next piece.
pieces() {   # the pieces of a split directory, or a one-line error naming the stage to redo
  if ! compgen -G "$1/piece-*.jsonl" > /dev/null; then
    echo "error: $1: no pieces of the training split; redo stage $2 (delete $data/.done.$3)" >&2
    return 1
  fi
  printf '%s\n' "$1"/piece-*.jsonl
}
first_piece() { local f; for f in "$1"/piece-*.jsonl; do echo "$f"; return; done; }
# Outputs of pieces are reused only when newer than their input and made with the same
# options (an interrupted stage resumes; a redone one does not keep stale pieces).
fresh() { [ -e "$1" ] && [ "$1" -nt "$2" ]; }
same_options() {   # same_options DIR "OPTIONS": empty DIR unless it was made with OPTIONS
  if [ ! -f "$1/.options" ] || [ "$(cat "$1/.options")" != "$2" ]; then
    rm -rf "$1"; mkdir -p "$1"; printf '%s\n' "$2" > "$1/.options"
  fi
}
if [ $stage -le 2 ] && [ $stop_stage -ge 2 ] && [ ! -f "$(done_marker "$data" text)" ]; then
  log "stage 2: text normalisation and G2P ($g2p)"
  if ! fresh "$raw/train.d/.complete" "$raw/train.jsonl" \
      || [ "$(cat "$raw/train.d/.complete")" != "$piece_rows $seed" ]; then
    rm -rf "$raw/train.d"
    "$python" ../shared/local/split_manifest.py --manifest "$raw/train.jsonl" \
      --out-dir "$raw/train.d" --rows-per-piece "$piece_rows" --seed "$seed"
    echo "$piece_rows $seed" > "$raw/train.d/.complete"
  fi
  same_options "$text/train.d" "g2p=$g2p on_error=$on_error"
  list=$(pieces "$raw/train.d" 2 text) || exit 1   # (a failure inside `for ... in $(...)` would not stop)
  for piece in $list; do
    out=$text/train.d/$(basename "$piece")
    fresh "$out" "$piece" || vf phonemize --manifest "$piece" --out "$out" --g2p "$g2p" --jobs "$nj" --on-error "$on_error"
  done
  for s in valid test; do
    vf phonemize --manifest "$raw/$s.jsonl" --out "$text/$s.jsonl" --g2p "$g2p" --jobs "$nj" --on-error "$on_error"
  done
  touch "$(done_marker "$data" text)"
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ] && [ ! -f "$(done_marker "$data" align)" ]; then
  if [ -n "$textgrids" ]; then
    log "stage 3: importing the MFA TextGrids of $textgrids"
    how=(--textgrids "$textgrids")
  else
    log "stage 3: built-in aligner"
    how=(--g2p "$g2p")
  fi
  same_options "$aligned/train.d" "${how[*]} on_error=$on_error"
  list=$(pieces "$text/train.d" 2 text) || exit 1
  for piece in $list; do
    out=$aligned/train.d/$(basename "$piece")
    fresh "$out" "$piece" || vf align --manifest "$piece" --out "$out" "${how[@]}" --jobs "$nj" --on-error "$on_error"
  done
  for s in valid test; do
    vf align --manifest "$text/$s.jsonl" --out "$aligned/$s.jsonl" "${how[@]}" --jobs "$nj" --on-error "$on_error"
  done
  vf phones --out "$data/phones.txt" --manifest "$aligned/train.d" --manifest "$aligned/valid.jsonl" \
    --manifest "$aligned/test.jsonl"
  touch "$(done_marker "$data" align)"
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ] && [ ! -f "$(done_marker "$data" shards)" ]; then
  log "stage 4: features in shards (--nj $nj)"
  vf shards --manifest "$aligned/train.d" --out "$data/shards/train" --phones "$data/phones.txt" \
    --stats "$data/stats.json" --config "$audio_config" --jobs "$nj" --on-error "$on_error"
  vf shards --manifest "$aligned/valid.jsonl" --out "$data/shards/valid" --phones "$data/phones.txt" \
    --config "$audio_config" --jobs "$nj" --on-error "$on_error"
  touch "$(done_marker "$data" shards)"
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ] && [ ! -f "$(done_marker "$exp" audio)" ]; then
  log "stage 5: audio model ($audio_config; --gpus $gpus)"
  "${launch[@]}" voiceflow.bin.train --config "$audio_config" train.exp_dir="$exp/audio" train.seed="$seed" \
    data.train_manifest="$data/shards/train" data.valid_manifest="$data/shards/valid" \
    data.phones="$data/phones.txt" data.stats="$data/stats.json"
  touch "$(done_marker "$exp" audio)"
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ] && [ ! -f "$(done_marker "$exp" duration)" ]; then
  log "stage 6: duration model ($dur_config)"
  "${launch[@]}" voiceflow.bin.train --config "$dur_config" train.exp_dir="$exp/audio/duration" train.seed="$seed" \
    data.train_manifest="$data/shards/train" data.valid_manifest="$data/shards/valid" data.phones="$data/phones.txt"
  touch "$(done_marker "$exp" duration)"
fi

if [ "$vocoder" = train ]; then vocoder_spec=$exp/vocoder/vocos; else vocoder_spec=$vocoder; fi
if [ $stage -le 7 ] && [ $stop_stage -ge 7 ] && [ "$vocoder" = train ] && [ ! -f "$(done_marker "$exp" vocoder)" ]; then
  log "stage 7: vocos on the corpus's audio ($vocoder_config)"
  "${launch[@]}" voiceflow.bin.train_vocoder --config "$vocoder_config" train.exp_dir="$exp/vocoder" \
    train.seed="$seed" data.train_manifest="$(first_piece "$raw/train.d")" data.valid_manifest="$raw/valid.jsonl"
  touch "$(done_marker "$exp" vocoder)"
fi

setup=nfe${nfe}_euler_cfg${guidance}_seed${seed}
if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  log "stage 8: test sets (held-out: up to ${test_items/#0/all} test utterances; $eval_sets)"
  "$python" ../shared/local/heldout_items.py --manifest "$aligned/test.jsonl" --out-dir "$exp/testsets/heldout" \
    --max-items "$test_items" --prompt-seconds "$prompt_seconds" --seed "$seed"
  vf generate --checkpoint "$exp/audio" --manifest "$exp/testsets/heldout/infill.jsonl" --out-root "$exp/infer" \
    --span-seconds "$span_seconds" --nfe "$nfe" --guidance "$guidance" --seed "$seed" --vocoder "$vocoder_spec"
  vf synth --checkpoint "$exp/audio" --manifest "$exp/testsets/heldout/tts.jsonl" \
    --out-dir "$exp/tts/heldout/$setup" --nfe "$nfe" --guidance "$guidance" --seed "$seed" --vocoder "$vocoder_spec" \
    --on-error skip
  if [[ ",$eval_sets," == *,librispeech,* ]]; then
    for task in cross continuation; do
      vf evalset --list "$eval_list" --librispeech "$librispeech_root" --task "$task" \
        --out-dir "$exp/testsets/librispeech_$task" --prompt-seconds "$prompt_seconds" --g2p "$g2p" \
        --max-items "$eval_max_items" --jobs "$nj"
      vf synth --checkpoint "$exp/audio" --manifest "$exp/testsets/librispeech_$task/items.jsonl" \
        --out-dir "$exp/tts/librispeech_$task/$setup" --nfe "$nfe" --guidance "$guidance" --seed "$seed" \
        --vocoder "$vocoder_spec" --on-error skip
    done
  fi
fi

if [ $stage -le 9 ] && [ $stop_stage -ge 9 ]; then
  log "stage 9: metrics"
  vf score --checkpoint "$exp/audio" --manifest "$exp/testsets/heldout/infill.jsonl" --span-seconds "$span_seconds" \
    --nfe "$nfe" --guidance "$guidance" --seed "$seed" --out "$exp/eval/heldout_infill/report.json" \
    --generated "$exp/infer/$setup"
  sets=(heldout)
  [[ ",$eval_sets," == *,librispeech,* ]] && sets+=(librispeech_cross librispeech_continuation)
  for set in "${sets[@]}"; do
    vf eval --system "voiceflow=$exp/tts/$set/$setup" --metrics "$metrics" --asr "$asr" \
      --speaker "$speaker_model" --out "$exp/eval/$set" --allow-missing --jobs "$nj"
  done
  "$python" ../shared/local/write_results.py --results "$results" --exp "$exp" --corpus "$corpus" \
    --setup "$setup" --audio-config "$audio_config" --sets "$(IFS=,; echo "${sets[*]}")"
fi
log "done in $(( $(date +%s) - t_start )) s"
