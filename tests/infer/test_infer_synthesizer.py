"""Inference on a small trained checkpoint: infilling keeps the context, sampling does not
depend on batching, and generate writes a complete self-describing directory."""

import json

import pytest
import soundfile
import torch

from synthetic_corpus import make_corpus, train_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("infer")
    c = make_corpus(root / "c", n_utts=12)
    return c, train_tiny(c["root"], root / "exp", max_steps=3)


def test_infill_regenerates_only_the_span_and_ignores_batching(trained):
    from voiceflow.infer import Synthesizer

    c, exp = trained
    synth = Synthesizer(exp, device="cpu", vocoder="griffinlim")
    rows = c["rows"][:4]
    items = [synth.prepare(r["id"], r["audio"], r["alignment"], 0.05, 0.12) for r in rows]
    together = synth.infill_items(items, nfe=4, seed=3)
    alone = [synth.infill_items([it], nfe=4, seed=3)[0] for it in items]
    for it, a, b in zip(items, together, alone):
        assert a.shape == it.mel.shape
        assert torch.equal(a[~it.mask], it.mel[~it.mask])  # context kept exactly
        assert not torch.allclose(a[it.mask], it.mel[it.mask])  # the span was generated
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)  # same noise, padding-invariant model
        f0, f1 = it.meta["span_frames"]
        assert it.mask.sum() == f1 - f0 > 0
    # a different seed draws different noise
    other = synth.infill_items(items[:1], nfe=4, seed=4)[0]
    assert not torch.allclose(other[items[0].mask], together[0][items[0].mask])
    # a phone the model does not know is blamed on the alignment file, not the recording
    bad = [["xx" if i == 1 else p, s, e] for i, (p, s, e) in enumerate(rows[0]["alignment"])]
    from voiceflow.errors import VoiceflowError

    with pytest.raises(VoiceflowError, match=r"^bad.json \(the alignment of .*\.wav\): unknown phone 'xx'"):
        synth.infill(rows[0]["audio"], bad, 0.05, 0.12, nfe=2, alignment_name="bad.json")


def test_generate_writes_a_self_describing_directory(trained, tmp_path):
    from voiceflow.infer import Synthesizer

    c, exp = trained
    manifest = tmp_path / "items.jsonl"
    rows = c["rows"][:3]
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.15]}) + "\n" for r in rows))
    synth = Synthesizer(exp, device="cpu", vocoder="griffinlim")
    out = synth.generate(manifest, tmp_path / "out", nfe=4, solver="midpoint", guidance=0.5, seed=7)
    assert out.name == "nfe4_midpoint_cfg0.5_seed7"
    meta = [json.loads(line) for line in (out / "meta.jsonl").read_text().splitlines()]
    assert [m["id"] for m in meta] == [r["id"] for r in rows]
    for m, r in zip(meta, rows):
        assert {"text", "prompt", "span", "checkpoint", "solver", "nfe", "guidance", "seed", "timings"} <= set(m)
        assert (m["solver"], m["nfe"], m["guidance"], m["seed"]) == ("midpoint", 4, 0.5, 7)
        info = soundfile.info(out / f"{r['id']}.wav")
        assert info.samplerate == 24000 and info.frames == (r["frames"] - 1) * 256
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary left behind


def test_masked_l1_report(trained):
    from voiceflow.infer import Synthesizer
    from voiceflow.infer.loading import load_audio_model
    from voiceflow.infer.scoring import masked_l1_report, mean_fill, span_l1

    c, exp = trained
    synth = Synthesizer(exp, device="cpu")
    untrained = Synthesizer(load_audio_model(exp, "cpu", weights="untrained"), device="cpu")
    items = [synth.prepare(r["id"], r["audio"], r["alignment"], 0.05, 0.15, {"speaker": r["speaker"]})
             for r in c["rows"][:4]]
    report = masked_l1_report(synth, untrained, items, nfe=4, solver="euler", guidance=0.5, seed=0)
    assert {"masked_l1_trained", "masked_l1_trained_guided", "masked_l1_untrained", "masked_l1_mean_fill",
            "ratio_trained_to_mean_fill", "ratio_trained_to_untrained", "per_speaker"} <= set(report)
    assert set(report["per_speaker"]) == {"spk0", "spk1"}
    # the mean fill by hand
    it = items[0]
    fill = it.mel[~it.mask].mean(0)
    assert span_l1(mean_fill(it), it.mel, it.mask) == pytest.approx((it.mel[it.mask] - fill).abs().mean().item())


def test_score_reads_generated_directories_and_refuses_mismatches(trained, tmp_path):
    """The span L1s that generate records equal what the report samples itself, and a
    directory made with other settings is an error naming its meta.jsonl."""
    from voiceflow.errors import VoiceflowError
    from voiceflow.infer import Synthesizer
    from voiceflow.infer.loading import load_audio_model
    from voiceflow.infer.scoring import generated_by_guidance, masked_l1_report

    c, exp = trained
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.15]}) + "\n" for r in c["rows"][:4]))
    synth = Synthesizer(exp, device="cpu", vocoder="griffinlim")
    untrained = Synthesizer(load_audio_model(exp, "cpu", weights="untrained"), device="cpu")
    dirs = [synth.generate(manifest, tmp_path / "out", nfe=4, guidance=g, seed=2) for g in (0.0, 0.5)]
    for d in dirs:
        assert all(m["masked_l1"] > 0 for m in map(json.loads, (d / "meta.jsonl").read_text().splitlines()))
    items = synth.items_from_manifest(manifest)
    sampled = masked_l1_report(synth, untrained, items, nfe=4, solver="euler", guidance=0.5, seed=2)
    read = masked_l1_report(synth, untrained, items, nfe=4, solver="euler", guidance=0.5, seed=2,
                            generated=generated_by_guidance(dirs))
    assert read["read_from_generated"] == {"masked_l1_trained": str(dirs[0]), "masked_l1_trained_guided": str(dirs[1])}
    for key in ("masked_l1_trained", "masked_l1_trained_guided", "masked_l1_untrained", "masked_l1_mean_fill"):
        assert read[key] == pytest.approx(sampled[key], abs=1e-5)
    with pytest.raises(VoiceflowError, match=r"meta.jsonl: item .*: seed 2, but the report samples with 3"):
        masked_l1_report(synth, untrained, items, 4, "euler", 0.5, 3, generated=generated_by_guidance(dirs))
    with pytest.raises(VoiceflowError, match=r"nfe 4, but the report samples with 8"):
        masked_l1_report(synth, untrained, items, 8, "euler", 0.5, 2, generated={0.0: dirs[0]})
    with pytest.raises(VoiceflowError, match=r"guidance 0.5, which the report does not use"):
        masked_l1_report(synth, untrained, items, 4, "euler", 0.7, 2, generated=generated_by_guidance(dirs))
    with pytest.raises(VoiceflowError, match=r"does not use \(0 only\) \(pass --guidance 0.5 to report it\)"):
        masked_l1_report(synth, untrained, items, 4, "euler", 0.0, 2, generated=generated_by_guidance(dirs))
    shifted = [synth.prepare(it.id, c["rows"][j]["audio"], c["rows"][j]["alignment"], 0.02, 0.15)
               for j, it in enumerate(items)]
    with pytest.raises(VoiceflowError, match=r"span_frames"):
        masked_l1_report(synth, untrained, shifted, 4, "euler", 0.0, 2, generated={0.0: dirs[0]})
    with pytest.raises(VoiceflowError, match=r"second directory sampled with guidance 0"):
        generated_by_guidance([dirs[0], dirs[0]])


@pytest.mark.parametrize("solver,options", [
    ("stochastic_euler", {"noise_scale": 0.5}), ("euler", {"schedule": "sway", "sway": -1.0}),
    ("midpoint", {"schedule": "sway", "sway": 0.5})])
def test_every_sampler_with_guidance_keeps_context_and_ignores_batching(trained, solver, options):
    from voiceflow.infer import Synthesizer

    c, exp = trained
    synth = Synthesizer(exp, device="cpu", vocoder="griffinlim")
    items = [synth.prepare(r["id"], r["audio"], r["alignment"], 0.05, 0.12) for r in c["rows"][:3]]
    together = synth.infill_items(items, 4, solver, 0.7, 3, **options)
    alone = [synth.infill_items([it], 4, solver, 0.7, 3, **options)[0] for it in items]
    plain = synth.infill_items(items, 4, "euler", 0.7, 3)
    for it, a, b, p in zip(items, together, alone, plain):
        assert torch.isfinite(a).all() and torch.equal(a[~it.mask], it.mel[~it.mask])
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)  # per-item noise, not per-batch
        assert not torch.allclose(a[it.mask], p[it.mask])  # the option changed the sampling


def test_stochastic_output_directory_names_its_options(trained, tmp_path):
    from voiceflow.infer import Synthesizer

    c, exp = trained
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.15]}) + "\n" for r in c["rows"][:2]))
    synth = Synthesizer(exp, device="cpu", vocoder="griffinlim")
    out = synth.generate(manifest, tmp_path / "out", nfe=4, solver="stochastic_euler", seed=1,
                         noise_scale=0.3, schedule="sway", sway=-1.0)
    assert out.name == "nfe4_stochastic_euler-s0.3_sway-1_cfg0_seed1"
    meta = json.loads((out / "meta.jsonl").read_text().splitlines()[0])
    assert (meta["solver"], meta["noise_scale"], meta["schedule"], meta["sway"]) == (
        "stochastic_euler", 0.3, "sway", -1.0)


def test_generate_in_bf16_names_its_weights_and_score_refuses_them(trained, tmp_path, capsys):
    """--dtype bf16 samples with bf16 weights (the ODE state stays fp32): close to fp32, written
    to a directory named for it, recorded in meta.jsonl, and not mixed into an fp32 report."""
    from voiceflow.bin.generate import main as generate_main
    from voiceflow.errors import VoiceflowError
    from voiceflow.infer import Synthesizer
    from voiceflow.infer.loading import load_audio_model
    from voiceflow.infer.scoring import masked_l1_report

    c, exp = trained
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.15]}) + "\n" for r in c["rows"][:3]))
    synth = Synthesizer(exp, device="cpu", vocoder="griffinlim")
    full = synth.generate(manifest, tmp_path / "out", nfe=4, seed=2)
    assert generate_main(["--checkpoint", str(exp), "--manifest", str(manifest), "--out-root", str(tmp_path / "out"),
                          "--nfe", "4", "--seed", "2", "--dtype", "bf16", "--device", "cpu",
                          "--vocoder", "griffinlim"]) == 0
    half = tmp_path / "out" / "nfe4_euler_cfg0_seed2_bf16"
    assert capsys.readouterr().out.strip() == str(half)
    meta = {d: [json.loads(line) for line in (d / "meta.jsonl").read_text().splitlines()] for d in (full, half)}
    assert {m["dtype"] for m in meta[full]} == {"fp32"} and {m["dtype"] for m in meta[half]} == {"bf16"}
    for a, b in zip(meta[full], meta[half]):
        assert a["masked_l1"] != b["masked_l1"] and abs(a["masked_l1"] - b["masked_l1"]) < 0.01 * a["masked_l1"]
        assert soundfile.info(half / f"{b['id']}.wav").frames == soundfile.info(full / f"{a['id']}.wav").frames
    untrained = Synthesizer(load_audio_model(exp, "cpu", weights="untrained"), device="cpu")
    items = synth.items_from_manifest(manifest)
    with pytest.raises(VoiceflowError, match=r"meta.jsonl: item .*: dtype 'bf16', but the report samples with 'fp32'"):
        masked_l1_report(synth, untrained, items, 4, "euler", 0.0, 2, generated={0.0: half})
    with pytest.raises(VoiceflowError, match=r"dtype 'int8': expected one of fp32, bf16, fp16"):
        Synthesizer(exp, device="cpu", dtype="int8")


def test_inference_packs_tightly_whatever_training_rounded_to(trained, tmp_path):
    """A checkpoint trained with a large pack_multiple (few compiled shapes) samples one
    utterance without the filler tokens that rounding would add."""
    import shutil

    import yaml

    from voiceflow.infer.loading import load_audio_model

    _, exp = trained
    copy = tmp_path / "exp"
    shutil.copytree(exp, copy)
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    cfg["model"]["pack_multiple"] = 4096
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    loaded = load_audio_model(copy, "cpu")
    assert loaded.cfg.model.pack_multiple == 4096  # the training config stays as written
    assert loaded.model.make_pack([300], 300).total == 301  # 300 frames + the flow-step token
    T, M = 40, loaded.cfg.mel.n_mels
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(1, T, M, generator=g), torch.randn(1, T, M, generator=g)
    ph, t = torch.randint(1, len(loaded.inventory), (1, T), generator=g), torch.rand(1, generator=g)
    rounded = load_audio_model(copy, "cpu").model
    rounded.cfg = loaded.cfg.model  # as training packs: 4096 tokens
    assert rounded.make_pack([T], T).total == 4096
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x, c, ph, t), rounded(x, c, ph, t), rtol=1e-5, atol=1e-5)


def test_a_bad_vocoder_fails_before_any_sampling(trained, tmp_path, monkeypatch):
    from voiceflow.errors import VoiceflowError
    from voiceflow.infer import Synthesizer

    c, exp = trained
    synth = Synthesizer(exp, device="cpu", vocoder=str(tmp_path / "no_vocos"))
    monkeypatch.setattr(synth, "infill_items", lambda *a, **k: pytest.fail("sampled before loading the vocoder"))
    with pytest.raises(VoiceflowError, match="no_vocos"):
        synth.generate(c["root"] / "all.jsonl", tmp_path / "out", nfe=2, span_seconds=(0.05, 0.1))


def test_infill_command_writes_the_span_it_regenerated(trained, tmp_path):
    """voiceflow infill: a JSON alignment file in, a 24 kHz wav out, the snapped span printed;
    the same wav as Synthesizer.infill with the same seed."""
    import os
    import subprocess
    import sys

    from voiceflow.infer import Synthesizer

    c, exp = trained
    row = c["rows"][0]
    alignment = tmp_path / "a.json"
    alignment.write_text(json.dumps(row["alignment"]))
    out = tmp_path / "o.wav"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "voiceflow.bin.cli", "infill", "--checkpoint", str(exp), "--wav",
                           row["audio"], "--alignment", str(alignment), "--start", "0.05", "--end", "0.12",
                           "--out", str(out), "--nfe", "2", "--seed", "5", "--device", "cpu"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    synth = Synthesizer(exp, device="cpu")
    span = synth.prepare("x", row["audio"], row["alignment"], 0.05, 0.12).meta["span"]
    assert f"{span[0]:.3f}-{span[1]:.3f} s regenerated" in done.stdout
    written, rate = soundfile.read(out, dtype="float32")
    assert rate == 24000
    same = synth.infill(row["audio"], row["alignment"], 0.05, 0.12, nfe=2, seed=5).clamp(-1, 1)
    assert abs(torch.from_numpy(written) - same).max() <= 1 / 32768 + 1e-6
