#!/usr/bin/env bash
# The voiceflow demo recipe: a multi-speaker corpus made offline, a Voicebox audio model
# trained on it, held-out infilling, and a report that shows the model learned.
#
# Usage (from anywhere; the recipe works in its own directory):
#   bash recipes/demo/run.sh                      # every stage, CPU or GPU
#   bash recipes/demo/run.sh --stage 3 --stop-stage 5 --config conf/demo.yaml
#   bash recipes/demo/run.sh --config conf/smoke.yaml --train-per-voice 4 --check false   # seconds
#
# Stages (each is skipped when its .done marker exists; delete data/ or exp/ to redo):
#   0 corpus     4 flite voices speaking generated sentences, exact phone timings (local/)
#   1 manifests  the phone inventory from the aligned manifests
#   2 features   log-mel features of every split, global statistics of the training split
#   3 train      the audio model, then the duration model into $exp/duration (each resumes
#                from its newest checkpoint when re-run)
#   4 infer      held-out sentences of every voice with a 1-2 s span of whole words masked,
#                regenerated at NFE $nfe (Euler), into exp/.../infer/nfe<N>_euler_cfg<a>_seed<s>/;
#                then zero-shot TTS: $tts_per_voice unseen sentences per voice, each in the
#                voice of a held-out prompt (voiceflow synth), into exp/.../tts/
#   5 report     masked-region L1 of the trained model, the untrained model and a mean fill,
#                and for the TTS: pocketsphinx WER beside the ground truth's, and resemblyzer
#                similarity to the own voice vs the others (report.json next to the infilled
#                wavs; with --check true the stage fails unless the trained model reaches
#                <= 0.8 x mean fill and <= 0.5 x untrained, and every TTS output is closer to
#                its own voice than to the others)
#   6 ablation   (only with --stop-stage 6) one model per probability path x coupling in
#                $ablation_variants, each trained for $ablation_steps steps, then one table:
#                masked L1 at NFE 4-32 for every sampler, NLL, training time
#                ($ablation_exp/table/ablation.md)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
. ../shared/log.sh

stage=0
stop_stage=5
config=auto              # auto: conf/demo_gpu.yaml with a CUDA GPU, else conf/demo.yaml
dur_config=conf/duration.yaml   # the duration model (regression, as the paper's default here)
data=data
exp=exp/demo
voices=slt,rms,awb,kal16
train_per_voice=120
valid_per_voice=4
test_per_voice=12
seed=0
nfe=auto                 # auto: 32 with a CUDA GPU, 16 on the CPU (the report allows 16-32)
guidance=0.7             # the report also samples with this guidance strength
span_seconds=1.0,2.0
tts_per_voice=6          # zero-shot TTS items per voice (stage 4)
check=true
nj=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)   # nproc alone follows OMP_NUM_THREADS
vocoder=""               # a vocos folder or hub id; empty: the Griffin-Lim fallback
ablation_variants=ot:independent,ot:ot,icfm:independent,icfm:ot   # path:coupling (stage 6)
ablation_steps=600       # the same training budget for every variant of stage 6
ablation_items=24        # held-out items the stage-6 table evaluates (6 per voice)
ablation_exp=auto        # auto: ablation/ beside $exp
python=${PYTHON:-}
. ../shared/parse_options.sh

if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
if "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then gpu=true; else gpu=false; fi
if [ "$config" = auto ]; then
  if $gpu; then config=conf/demo_gpu.yaml; else config=conf/demo.yaml; fi
fi
[ "$ablation_exp" = auto ] && ablation_exp=$(dirname "$exp")/ablation
if [ "$nfe" = auto ]; then
  if $gpu; then nfe=32; else nfe=16; fi
fi
corpus=$data/corpus
manifests=$data/manifests
mkdir -p "$data" "$exp"
t_start=$(date +%s)
done_marker() { echo "$1/.done.$2"; }

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ] && [ ! -f "$(done_marker "$data" corpus)" ]; then
  log "stage 0: corpus ($voices; $train_per_voice train, $valid_per_voice valid, $test_per_voice test per voice)"
  "$python" local/make_corpus.py --out "$corpus" --voices "$voices" --train-per-voice "$train_per_voice" \
    --valid-per-voice "$valid_per_voice" --test-per-voice "$test_per_voice" --seed "$seed" --jobs "$nj"
  touch "$(done_marker "$data" corpus)"
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ] && [ ! -f "$(done_marker "$data" manifests)" ]; then
  log "stage 1: manifests and the phone inventory"
  mkdir -p "$manifests"
  "$python" -m voiceflow.bin.phones --out "$data/phones.txt" \
    $(for s in train valid test; do echo --manifest "$corpus/manifests/demo_$s.jsonl"; done)
  touch "$(done_marker "$data" manifests)"
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ] && [ ! -f "$(done_marker "$data" features)" ]; then
  log "stage 2: features and statistics"
  "$python" -m voiceflow.bin.features --manifest "$corpus/manifests/demo_train.jsonl" \
    --out-manifest "$manifests/demo_feats_train.jsonl" --feats-dir "$data/feats" --stats "$data/stats.json" \
    --config "$config" --jobs "$nj"
  for s in valid test; do
    "$python" -m voiceflow.bin.features --manifest "$corpus/manifests/demo_$s.jsonl" \
      --out-manifest "$manifests/demo_feats_$s.jsonl" --feats-dir "$data/feats" --config "$config" --jobs "$nj"
  done
  touch "$(done_marker "$data" features)"
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ] && [ ! -f "$(done_marker "$exp" train)" ]; then
  log "stage 3: training with $config"
  "$python" -m voiceflow.bin.train --config "$config" train.exp_dir="$exp" train.seed="$seed" \
    data.train_manifest="$manifests/demo_feats_train.jsonl" data.valid_manifest="$manifests/demo_feats_valid.jsonl" \
    data.phones="$data/phones.txt" data.stats="$data/stats.json"
  touch "$(done_marker "$exp" train)"
fi
if [ $stage -le 3 ] && [ $stop_stage -ge 3 ] && [ ! -f "$(done_marker "$exp" duration)" ]; then
  log "stage 3: duration model with $dur_config"
  "$python" -m voiceflow.bin.train --config "$dur_config" train.exp_dir="$exp/duration" train.seed="$seed" \
    data.train_manifest="$manifests/demo_feats_train.jsonl" data.valid_manifest="$manifests/demo_feats_valid.jsonl" \
    data.phones="$data/phones.txt"
  touch "$(done_marker "$exp" duration)"
fi

gen_dir=$exp/infer/nfe${nfe}_euler_cfg0_seed${seed}
guided=$(awk -v g="$guidance" 'BEGIN { print (g + 0 != 0) ? "true" : "false" }')
tts_dir=$exp/tts/nfe${nfe}_euler_cfg${guidance}_seed${seed}
if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "stage 4: held-out infilling (NFE $nfe, Euler, spans of $span_seconds s)"
  for g in 0 $($guided && echo "$guidance"); do
    "$python" -m voiceflow.bin.generate --checkpoint "$exp" --manifest "$corpus/manifests/demo_test.jsonl" \
      --out-root "$exp/infer" --span-seconds "$span_seconds" --nfe "$nfe" --guidance "$g" --seed "$seed" \
      ${vocoder:+--vocoder "$vocoder"}
  done
  log "stage 4: zero-shot TTS ($tts_per_voice unseen sentences per voice, prompts held out)"
  "$python" local/make_tts_items.py --manifest "$corpus/manifests/demo_test.jsonl" \
    --out "$exp/tts/items.jsonl" --per-voice "$tts_per_voice"
  "$python" -m voiceflow.bin.synth --checkpoint "$exp" --manifest "$exp/tts/items.jsonl" --out-dir "$tts_dir" \
    --nfe "$nfe" --guidance "$guidance" --seed "$seed" ${vocoder:+--vocoder "$vocoder"}
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  log "stage 5: report"
  check_flag=""
  [ "$check" = true ] && check_flag=--check
  # the trained model's span L1s are read from stage 4's directories (checked to match)
  generated=(--generated "$gen_dir")
  $guided && generated+=(--generated "$exp/infer/nfe${nfe}_euler_cfg${guidance}_seed${seed}")
  "$python" -m voiceflow.bin.score --checkpoint "$exp" --manifest "$corpus/manifests/demo_test.jsonl" \
    --span-seconds "$span_seconds" --nfe "$nfe" --guidance "$guidance" --seed "$seed" \
    --out "$gen_dir/report.json" "${generated[@]}" $check_flag
  "$python" local/tts_report.py --synth-dir "$tts_dir" --report "$gen_dir/report.json" --jobs "$nj" $check_flag
fi
if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "stage 6: ablation of paths and couplings ($ablation_variants; $ablation_steps steps each)"
  exps=()
  for variant in ${ablation_variants//,/ }; do
    path=${variant%%:*}; coupling=${variant#*:}
    vexp=$ablation_exp/${path}_${coupling}
    exps+=(--checkpoint "$vexp")
    marker=$(done_marker "$vexp" train)
    if [ -f "$marker" ]; then   # the marker holds the steps the variant was trained for
      trained=$(cat "$marker"); trained=${trained:-unknown}
      [ "$trained" = "$ablation_steps" ] && continue
      echo "error: $vexp was trained for $trained steps, not --ablation-steps $ablation_steps;" \
        "pass --ablation-exp DIR for a new ablation (or delete $vexp)" >&2
      exit 1
    fi
    log "stage 6: training $vexp"
    "$python" -m voiceflow.bin.train --config "$config" train.exp_dir="$vexp" train.seed="$seed" \
      train.max_steps="$ablation_steps" flow.path="$path" flow.coupling="$coupling" \
      data.train_manifest="$manifests/demo_feats_train.jsonl" data.valid_manifest="$manifests/demo_feats_valid.jsonl" \
      data.phones="$data/phones.txt" data.stats="$data/stats.json"
    echo "$ablation_steps" > "$marker"
  done
  "$python" -m voiceflow.bin.ablation "${exps[@]}" --manifest "$corpus/manifests/demo_test.jsonl" \
    --out "$ablation_exp/table" --span-seconds "$span_seconds" --seed "$seed" --max-items "$ablation_items"
  gen_dir=$ablation_exp/table
fi
log "done in $(( $(date +%s) - t_start )) s; results in $here/$gen_dir"
