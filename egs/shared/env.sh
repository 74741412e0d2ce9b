#!/usr/bin/env bash
# Sourced by the egs/*/run.sh scripts after their defaults and parse_options.sh: the Python
# to run (the repository's .venv when present), PYTHONPATH on the checkout, the output
# folder, and `demo_manifest`, which prints the demo recipe's held-out manifest or stops
# with a one-line error saying how to make it.
python=${PYTHON:-$root/.venv/bin/python}
[ -x "$python" ] || python=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"

demo_manifest() {
  local manifest=$root/recipes/demo/data/corpus/manifests/demo_test.jsonl
  if [ ! -f "$manifest" ]; then
    echo "error: $manifest not found (run recipes/demo/run.sh first${1:+, or pass $1})" >&2
    exit 1
  fi
  echo "$manifest"
}
