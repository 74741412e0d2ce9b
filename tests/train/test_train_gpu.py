"""A few real training steps on CUDA in each precision, through the accelerate trainer."""

import pytest
import torch

from synthetic_corpus import corpus_overrides, make_corpus
from voiceflow.config import load_config

pytestmark = pytest.mark.gpu
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)


@pytest.mark.parametrize("precision", ["bf16", "fp16", "no"])
def test_trainer_steps_on_gpu(tmp_path, precision):
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from voiceflow.train.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)  # one mixed-precision setting per test

    root = tmp_path / "c"
    make_corpus(root, n_utts=16)
    cfg = load_config(None, corpus_overrides(root, tmp_path / "exp", mixed_precision=precision, max_steps=6)
                      + ["model.compile=true", "model.pack_multiple=512"])
    trainer = Trainer(cfg, Accelerator(mixed_precision=precision))
    summary = trainer.fit()
    assert summary["step"] == 6
    assert summary["valid"]["valid/loss"] < 10 and summary["skipped"] <= (2 if precision == "fp16" else 0)
