"""Masked-region likelihood of the audio model: Hutchinson agrees with the exact trace, the
numbers do not depend on batching, and the ``likelihood`` command writes one row per item."""

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from synthetic_corpus import SMALL_MODEL, make_corpus, train_tiny
from voiceflow.audio.stats import MelStats
from voiceflow.config import load_config
from voiceflow.infer.likelihood import masked_likelihood
from voiceflow.infer.sampler import frame_budget_batches
from voiceflow.infer.loading import LoadedModel
from voiceflow.infer.synthesizer import InfillItem
from voiceflow.models import VoiceboxAudioModel
from voiceflow.text import PhoneInventory

FIELDS = {"id", "speaker", "span", "masked_frames", "dims", "nll_nats_per_dim", "nll_nats_per_dim_se",
          "nll_bits_per_frame", "nll_bits_per_frame_se", "estimator", "probes", "probe", "steps", "solver"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("likelihood")
    c = make_corpus(root / "c", n_utts=6)
    return c, train_tiny(c["root"], root / "exp", max_steps=2)


def tiny_model(n_mels=4) -> LoadedModel:
    """An untrained model with 4 mel bins, so the exact trace is cheap."""
    inventory = PhoneInventory(["<pad>", "sil", "spn", "a", "b"])
    cfg = load_config(None, SMALL_MODEL + [f"mel.n_mels={n_mels}", f"model.n_phones={len(inventory)}"])
    torch.manual_seed(0)
    model = VoiceboxAudioModel(cfg.model, n_mels).eval().requires_grad_(False)
    return LoadedModel(model, cfg, inventory, MelStats(0.0, 1.0, 1), Path("untrained"), -1, "untrained")


def tiny_items(n_mels=4):
    g = torch.Generator().manual_seed(1)
    items = []
    for k, (length, f0, f1) in enumerate([(14, 4, 7), (10, 2, 5)]):
        mask = torch.zeros(length, dtype=torch.bool)
        mask[f0:f1] = True
        items.append(InfillItem(f"u{k}", torch.randn(length, n_mels, generator=g),
                                torch.randint(1, 5, (length,), generator=g), mask, {"speaker": "s"}))
    return items


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_hutchinson_agrees_with_the_exact_trace(probe):
    loaded, items = tiny_model(), tiny_items()
    exact = masked_likelihood(loaded, items, steps=4, estimator="exact")
    hutch = masked_likelihood(loaded, items, steps=4, estimator="hutchinson", probes=128, probe=probe)
    for e, h in zip(exact, hutch):
        assert FIELDS <= set(e) and e["dims"] == 3 * 4 and e["masked_frames"] == 3
        assert e["nll_nats_per_dim_se"] == 0 and e["probes"] is None
        assert h["nll_nats_per_dim_se"] > 0 and (h["probes"], h["probe"]) == (128, probe)
        z = (h["nll_nats_per_dim"] - e["nll_nats_per_dim"]) / h["nll_nats_per_dim_se"]
        assert abs(z) < 3.5, z
        assert e["nll_bits_per_frame"] == pytest.approx(e["nll_nats_per_dim"] * 4 / math.log(2))
    # one probe has an error that cannot be measured: null, not 0
    single = masked_likelihood(loaded, items, steps=4, estimator="hutchinson", probes=1, probe=probe)
    assert all(r["nll_nats_per_dim_se"] is None and r["nll_bits_per_frame_se"] is None for r in single)


def test_frame_budget_batches():
    assert frame_budget_batches([5, 3, 4, 9], 12) == [[1, 2], [0], [3]]  # 3 * 5 > 12
    assert frame_budget_batches([4, 3, 4, 9], 12) == [[1, 0, 2], [3]]
    assert frame_budget_batches([5, 3], 1) == [[1], [0]]


@pytest.mark.parametrize("path,guidance", [("ot", 0.0), ("icfm", 0.7)])
def test_numbers_do_not_depend_on_batching(trained, path, guidance):
    from voiceflow.infer import Synthesizer

    c, exp = trained
    synth = Synthesizer(exp, device="cpu")
    cfg = synth.loaded.cfg
    loaded = dataclasses.replace(synth.loaded, cfg=dataclasses.replace(cfg, flow=dataclasses.replace(
        cfg.flow, path=path)))
    items = [synth.prepare(r["id"], r["audio"], r["alignment"], 0.05, 0.09, {"speaker": r["speaker"]})
             for r in c["rows"][:3]]
    options = dict(steps=2, method="euler", probes=3, seed=5, guidance=guidance)
    together = masked_likelihood(loaded, items, max_frames=10**6, **options)
    alone = [masked_likelihood(loaded, [it], **options)[0] for it in items]
    assert [r["id"] for r in together] == [it.id for it in items]
    for a, b in zip(together, alone):
        assert a["dims"] == a["masked_frames"] * 100 and a["speaker"] in ("spk0", "spk1")
        for key in ("nll_nats_per_dim", "nll_nats_per_dim_se", "nll_bits_per_frame"):
            assert math.isfinite(a[key]) and a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-4)
    other = masked_likelihood(loaded, items[:1], **{**options, "seed": 6})[0]
    assert other["nll_nats_per_dim"] != together[0]["nll_nats_per_dim"]  # the seed draws other probes


def test_likelihood_command_writes_one_row_per_item(trained, tmp_path, capsys):
    from voiceflow.bin.cli import main

    c, exp = trained
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.1]}) + "\n" for r in c["rows"][:2]))
    out = tmp_path / "nll.jsonl"
    assert main(["likelihood", "--checkpoint", str(exp), "--manifest", str(manifest), "--out", str(out),
                 "--steps", "2", "--probes", "2", "--probe", "gaussian", "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in c["rows"][:2]]
    for r in rows:
        assert FIELDS | {"checkpoint", "step"} <= set(r)
        assert (r["estimator"], r["probes"], r["probe"], r["steps"], r["solver"], r["step"]) == (
            "hutchinson", 2, "gaussian", 2, "midpoint", 2)
        assert all(math.isfinite(r[k]) for k in FIELDS if k.startswith("nll"))
    assert "nats/dim" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.jsonl", "nll.jsonl"]


@pytest.mark.parametrize("change,needle", [
    ({"--probes": "0"}, "--probes 0"), ({"--steps": "-1"}, "--steps -1"),
    ({"--span-seconds": "2,1"}, "--span-seconds"), ({"--checkpoint": "nowhere"}, "no checkpoint found"),
    ({"--manifest": "missing.jsonl"}, "missing.jsonl")])
def test_likelihood_command_rejects_bad_input(trained, tmp_path, capsys, change, needle):
    from voiceflow.bin.likelihood import main

    c, exp = trained
    manifest = tmp_path / "items.jsonl"
    manifest.write_text(json.dumps({**c["rows"][0], "span": [0.05, 0.1]}) + "\n")
    args = {"--checkpoint": str(exp), "--manifest": str(manifest), "--out": str(tmp_path / "o.jsonl"),
            "--steps": "1", **{k: str(tmp_path / v) if k in ("--checkpoint", "--manifest") else v
                              for k, v in change.items()}}
    with pytest.raises(SystemExit) as e:
        main([x for kv in args.items() for x in kv])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and needle in err[-1], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.jsonl"]  # nothing written
