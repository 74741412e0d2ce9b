"""`voiceflow generate`'s fast GPU setup (bf16 weights, compiled blocks, the sampling loop as
one CUDA graph) against fp32 eager sampling of the same checkpoint. Skipped without a GPU."""

import json

import pytest
import torch

from synthetic_corpus import make_corpus, train_tiny

pytestmark = pytest.mark.gpu
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)


def test_generate_bf16_compiled_cuda_graph_matches_fp32(tmp_path):
    from voiceflow.infer import Synthesizer

    c = make_corpus(tmp_path / "c", n_utts=8)
    exp = train_tiny(c["root"], tmp_path / "exp", max_steps=3)
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.15]}) + "\n" for r in c["rows"][:4]))
    plain = Synthesizer(exp, device="cuda", vocoder="griffinlim").generate(manifest, tmp_path / "out", nfe=8,
                                                                           guidance=0.7, seed=1)
    fast = Synthesizer(exp, device="cuda", vocoder="griffinlim", dtype="bf16", compile=True,
                       cuda_graph=True).generate(manifest, tmp_path / "out", nfe=8, guidance=0.7, seed=1)
    assert fast.name == plain.name + "_bf16"
    rows = {d: [json.loads(line) for line in (d / "meta.jsonl").read_text().splitlines()] for d in (plain, fast)}
    for a, b in zip(rows[plain], rows[fast]):
        assert b["dtype"] == "bf16" and abs(a["masked_l1"] - b["masked_l1"]) < 0.02 * a["masked_l1"]
