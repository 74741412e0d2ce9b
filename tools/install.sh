#!/usr/bin/env bash
# Install everything voiceflow, its demo recipe and its tests need on a fresh Debian/Ubuntu
# machine: Debian packages (flite speaks the demo corpus; chromium and its driver run the
# listening-test page in the browser tests), then a virtual environment in .venv with the
# pinned Python dependencies (torch 2.11 and torchaudio 2.11 among them).
#
# Usage: bash tools/install.sh            (idempotent: a second run only checks)
#        PYTHON=python3.11 bash tools/install.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

packages=(flite chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "install.sh: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "install.sh: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.voiceflow-installed
want=$(cat pyproject.toml "$root/tools/install.sh" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install.sh: installing Python dependencies (first time: a few minutes, ~5 GB for torch)"
  .venv/bin/python -m pip install -q -e ".[dev]"
  # speaker embeddings for voiceflow eval; its declared webrtcvad does not build, and
  # webrtcvad-wheels (a pyproject dependency) provides the same module
  .venv/bin/python -m pip install -q --no-deps resemblyzer==0.1.4
  echo "$want" > "$stamp"
fi
.venv/bin/python -c "import torch, torchaudio, vocos, accelerate, resemblyzer, voiceflow; print('install.sh: ok, torch', torch.__version__)"
