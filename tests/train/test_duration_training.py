"""Training the duration model through the shared accelerate loop, exact resume, and the
DurationPredictor inference API on a tiny trained model.

The corpus is make_corpus's, with its alignments rewritten so that a phone's duration
depends on the phone (pK lasts 2 + 3 K frames, +-1 by chance; silences 4): something a
tiny model can learn in a few dozen steps, and that the training-set mean cannot predict.
"""

import json
import random
from pathlib import Path

import pytest
import torch

from synthetic_corpus import corpus_overrides, make_corpus
from voiceflow.align import alignment_from_frame_durations
from voiceflow.config import load_config
from voiceflow.errors import VoiceflowError
from voiceflow.train import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]
SMALL_DURATION = ["duration.dim=32", "duration.depth=2", "duration.heads=2", "duration.ff_dim=64",
                  "duration.phone_dim=16", "duration.conv_pos_kernel=7", "duration.conv_pos_groups=4",
                  "duration.max_phones=48", "duration.max_utt_phones=12"]


def phone_duration(symbol: str, rng: random.Random) -> int:
    base = 4 if symbol == "sil" else 2 + 3 * int(symbol[1])
    return base + rng.choice((-1, 0, 1))


def duration_corpus(root: Path, n_utts: int = 36) -> Path:
    """make_corpus, then phone-dependent durations in every manifest (features are not read)."""
    make_corpus(root, n_utts=n_utts, with_audio=False)
    rng = random.Random(0)
    rewritten = {}
    for line in (root / "all.jsonl").read_text().splitlines():
        row = json.loads(line)
        phones = [seg[0] for seg in row["alignment"]]
        durs = [phone_duration(p, rng) for p in phones]
        row["alignment"] = [list(seg) for seg in alignment_from_frame_durations(phones, durs, 24000, 256)]
        row["frames"] = sum(durs)
        rewritten[row["id"]] = row
    for name in ("train.jsonl", "valid.jsonl"):
        ids = [json.loads(line)["id"] for line in (root / name).read_text().splitlines()]
        (root / name).write_text("".join(json.dumps(rewritten[i]) + "\n" for i in ids))
    return root


def overrides(root: Path, exp: Path, kind: str, **train) -> list[str]:
    base = [o for o in corpus_overrides(root, exp, **train) if not o.startswith("data.stats=")]
    # trained with a rounded packed length (as GPU training does), which inference drops
    return base + ["task=duration", f"duration.kind={kind}", "duration.pack_multiple=64"] + SMALL_DURATION


def trainer_for(root, exp, kind, **train):
    from accelerate.state import AcceleratorState

    from voiceflow.train.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)
    return Trainer(load_config(None, overrides(root, exp, kind, **train)))


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory):
    return duration_corpus(tmp_path_factory.mktemp("dur") / "c")


@pytest.fixture(scope="module")
def trained(corpus_root, tmp_path_factory):
    """Both kinds trained for 120 steps; returns {kind: (exp_dir, untrained valid loss, summary)}."""
    out = {}
    for kind in ("regression", "flow"):
        exp = tmp_path_factory.mktemp(f"exp_{kind}")
        trainer = trainer_for(corpus_root, exp, kind, max_steps=120, warmup_steps=10, valid_every=120,
                              save_every=120, log_every=40, lr=3e-3)
        before = trainer.validate()["valid/loss"]
        out[kind] = (exp, before, trainer.fit())
    return out


@pytest.mark.parametrize("kind", ["regression", "flow"])
def test_both_kinds_learn(trained, kind):
    exp, before, summary = trained[kind]
    assert summary["step"] == 120 and summary["skipped"] == 0
    assert summary["valid"]["valid/loss"] < 0.6 * before, (before, summary["valid"])
    # the experiment holds what inference needs; no mel statistics for durations
    names = {p.name for p in exp.iterdir()}
    assert {"config.yaml", "phones.txt"} <= names and "stats.json" not in names
    state = ckpt.load_file(ckpt.latest_checkpoint(exp), "model")
    assert {"log_mean", "log_std"} <= set(state) and float(state["log_std"]) > 0


@pytest.mark.parametrize("kind", ["regression", "flow"])
def test_duration_resume_is_exact(corpus_root, tmp_path, kind):
    kw = dict(max_steps=8, save_every=4, warmup_steps=2, valid_every=100)
    trainer_for(corpus_root, tmp_path / "straight", kind, **kw).fit()
    trainer_for(corpus_root, tmp_path / "resumed", kind, **kw).fit(stop_at=4)
    assert trainer_for(corpus_root, tmp_path / "resumed", kind, **kw).fit()["step"] == 8
    a, b = (ckpt.latest_checkpoint(tmp_path / n) for n in ("straight", "resumed"))
    ma, mb = ckpt.load_file(a, "model"), ckpt.load_file(b, "model")
    ea, eb = ckpt.load_file(a, "ema")["params"], ckpt.load_file(b, "ema")["params"]
    for name in ma:
        assert torch.equal(ma[name], mb[name]), name
    for name in ea:
        assert torch.equal(ea[name], eb[name]), name
    assert ckpt.load_trainer_state(a)["epoch"] >= 1  # the run crossed an epoch boundary


def held_out(root: Path) -> list[tuple[list[str], list[int]]]:
    rows = [json.loads(line) for line in (root / "valid.jsonl").read_text().splitlines()]
    from voiceflow.align import frame_durations

    return [([s[0] for s in r["alignment"]], frame_durations(r["alignment"], r["frames"], 24000, 256))
            for r in rows]


def test_predictor_beats_the_training_mean(trained, corpus_root):
    from voiceflow.infer.duration import DurationPredictor

    train_rows = [json.loads(line) for line in (corpus_root / "train.jsonl").read_text().splitlines()]
    mean = sum(r["frames"] for r in train_rows) / sum(len(r["alignment"]) for r in train_rows)
    predictor = DurationPredictor.load(trained["regression"][0])
    model_err, mean_err, n = 0.0, 0.0, 0
    for phones, durs in held_out(corpus_root):
        # the middle phones are predicted from the rest (the infilling use)
        context = [d if i < 2 or i >= len(durs) - 2 else None for i, d in enumerate(durs)]
        pred = predictor.predict(phones, context)
        for p, d, c in zip(pred, durs, context):
            if c is None:
                model_err, mean_err, n = model_err + abs(p - d), mean_err + abs(mean - d), n + 1
    assert n > 10 and model_err / n < 0.6 * mean_err / n, (model_err / n, mean_err / n)


@pytest.mark.parametrize("kind", ["regression", "flow"])
def test_predictor_contract(trained, corpus_root, kind):
    from voiceflow.infer.duration import DurationPredictor

    predictor = DurationPredictor.load(trained[kind][0], weights="model")
    assert predictor.cfg.duration.pack_multiple == 64 and predictor.model.make_pack([5], 5).total == 6
    phones, durs = held_out(corpus_root)[0]
    context = [d if i % 3 == 0 else None for i, d in enumerate(durs)]
    pred = predictor.predict(phones, context, nfe=8)
    assert len(pred) == len(phones) and all(isinstance(p, int) and p >= 0 for p in pred)
    assert all(p == c for p, c in zip(pred, context) if c is not None)  # known ones unchanged
    assert predictor.predict(phones, durs) == durs  # nothing to predict
    # speaking rate: rate 2 about halves the predicted frames (each rounded once)
    free = [None] * len(phones)
    one, two = predictor.predict(phones, free, seed=3), predictor.predict(phones, free, rate=2.0, seed=3)
    assert sum(one) > 2 * len(phones)
    assert abs(sum(two) - sum(one) / 2) <= 0.5 * len(phones) + 1
    # deterministic for a seed; batch agrees with single calls for the regression model
    assert predictor.predict(phones, free, seed=5, guidance=0.5) == predictor.predict(phones, free, seed=5,
                                                                                       guidance=0.5)
    if kind == "flow":
        assert any(predictor.predict(phones, free, seed=s) != one for s in range(4, 9))
    else:
        batch = predictor.predict_batch([(phones, free), (phones[:3], [None] * 3)])
        assert batch[0] == one and len(batch[1]) == 3
    with pytest.raises(VoiceflowError, match="unknown phone 'xx_B'"):
        predictor.predict(["sil", "xx_B"], [None, None])
    with pytest.raises(VoiceflowError, match="2 phones but 1 context"):
        predictor.predict(["sil", "sil"], [None])


def test_cli_trains_a_duration_model_without_mel_stats(corpus_root, tmp_path):
    from accelerate.state import AcceleratorState

    from voiceflow.bin.train import main

    AcceleratorState._reset_state(reset_partial_state=True)
    exp = tmp_path / "cli"
    args = [f"data.train_manifest={corpus_root / 'train.jsonl'}", f"data.valid_manifest={corpus_root / 'valid.jsonl'}",
            f"data.phones={corpus_root / 'phones.txt'}", f"train.exp_dir={exp}", "duration.max_phones=48",
            "duration.max_utt_phones=12"]
    assert main(["--config", str(ROOT / "recipes/demo/conf/duration_smoke.yaml"), *args]) == 0
    assert load_config(exp / "config.yaml").task == "duration"
    assert ckpt.load_trainer_state(ckpt.latest_checkpoint(exp))["step"] == 4
    from voiceflow.infer.duration import DurationPredictor

    with pytest.raises(VoiceflowError, match="not a duration model"):
        audio_exp = tmp_path / "audio"
        audio_exp.mkdir()
        (audio_exp / "config.yaml").write_text("task: audio\n")
        (audio_exp / "model.pt").write_bytes(b"")
        DurationPredictor.load(audio_exp)
