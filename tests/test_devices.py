"""--device is checked before any model loads: a name torch does not know, or a CUDA device
that is not there, is a one-line error."""

import pytest
import torch

from voiceflow.devices import resolve_device
from voiceflow.errors import VoiceflowError


def test_default_and_cpu():
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_unknown_name_is_refused():
    with pytest.raises(VoiceflowError, match="--device 'gpu': not a torch device"):
        resolve_device("gpu")


def test_a_missing_cuda_device_is_refused():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(VoiceflowError, match="--device cuda:.*" if count else "no CUDA device is available"):
        resolve_device(f"cuda:{count}" if count else "cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the notice is for machines without CUDA")
def test_cuda_graph_without_cuda_is_a_notice(tmp_path, capsys):
    from synthetic_corpus import make_corpus, train_tiny
    from voiceflow.infer import Synthesizer

    c = make_corpus(tmp_path / "c", n_utts=4)
    exp = train_tiny(c["root"], tmp_path / "exp", max_steps=1)
    synth = Synthesizer(exp, device="cpu", cuda_graph=True)
    assert synth.device.type == "cpu"
    assert "cuda_graph needs a CUDA device" in capsys.readouterr().err
