"""The text-driven tasks end to end on a tiny checkpoint trained on real (flite) speech.

One module fixture makes a two-voice flite corpus, its features, a tiny audio model and a
tiny duration model (seconds each); the tests then run tts / edit / denoise / continue /
synth through the Python API and the command line, and check what must hold whatever the
model's quality: kept audio is the input sample for sample outside the seams, identical
text is a no-op, outputs have the right extent, and bad input fails with one clear line.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from voiceflow.errors import VoiceflowError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "recipes" / "demo"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("flite") is None or shutil.which("t2p") is None,
                                 reason="Debian flite (flite, t2p) is not installed")]


def _run(*args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout)


def _ok(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A tiny demo checkpoint (audio + duration model) and its held-out utterances."""
    root = tmp_path_factory.mktemp("tasks")
    corpus, data, exp = root / "corpus", root / "data", root / "exp"
    _ok(_run(str(DEMO / "local/make_corpus.py"), "--out", str(corpus), "--voices", "slt,rms", "--train-per-voice",
             "4", "--valid-per-voice", "1", "--test-per-voice", "2", "--jobs", "1"))
    m = corpus / "manifests"
    _ok(_run("-m", "voiceflow.bin.phones", "--out", str(data / "phones.txt"),
             *[a for s in ("train", "valid", "test") for a in ("--manifest", str(m / f"demo_{s}.jsonl"))]))
    for split in ("train", "valid"):
        stats = ["--stats", str(data / "stats.json")] if split == "train" else []
        _ok(_run("-m", "voiceflow.bin.features", "--manifest", str(m / f"demo_{split}.jsonl"), "--out-manifest",
                 str(data / f"feats_{split}.jsonl"), "--feats-dir", str(data / "feats"), *stats,
                 "--config", str(DEMO / "conf/smoke.yaml"), "--jobs", "1"))
    common = [f"data.train_manifest={data / 'feats_train.jsonl'}", f"data.valid_manifest={data / 'feats_valid.jsonl'}",
              f"data.phones={data / 'phones.txt'}"]
    _ok(_run("-m", "voiceflow.bin.train", "--config", str(DEMO / "conf/smoke.yaml"), f"train.exp_dir={exp}",
             f"data.stats={data / 'stats.json'}", *common))
    _ok(_run("-m", "voiceflow.bin.train", "--config", str(DEMO / "conf/duration_smoke.yaml"),
             f"train.exp_dir={exp / 'duration'}", *common))
    test = [json.loads(line) for line in (m / "demo_test.jsonl").read_text().splitlines()]
    return {"exp": exp, "test": test, "root": root}


@pytest.fixture(scope="module")
def synth(demo):
    from voiceflow import Synthesizer

    return Synthesizer(demo["exp"], device="cpu")


def _at_24k(path):
    from voiceflow.audio import load_audio

    return load_audio(path, 24000)


OPTS = {"nfe": 2, "seed": 0}


def test_identical_text_returns_the_input(synth, demo):
    row = demo["test"][0]
    wav, info = synth.edit(row["audio"], row["text"], row["text"].upper(), **OPTS)
    assert info["changes"] == []
    assert torch.equal(wav, _at_24k(row["audio"]))


@pytest.mark.parametrize("kind", ["replace", "delete", "insert_start", "insert_end"])
def test_edit_keeps_the_untouched_audio_sample_for_sample(synth, demo, kind):
    row = demo["test"][0]
    words = row["text"].rstrip(".?!").split()
    mid = len(words) // 2
    new = {"replace": words[:mid] + ["garden"] + words[mid + 1:], "delete": words[:mid] + words[mid + 1:],
           "insert_start": ["Yes"] + words, "insert_end": words + ["today"]}[kind]
    wav, info = synth.edit(row["audio"], row["text"], " ".join(new), **OPTS)
    original = _at_24k(row["audio"])
    assert len(info["changes"]) == 1 and info["generated_s"] > 0
    sr, slack = 24000, 0.05  # the built-in aligner's boundaries are within tens of ms of flite's
    n = min(wav.numel(), original.numel())
    differs = (wav[:n] != original[:n]).nonzero()
    same_head = int(differs[0]) if len(differs) else n
    differs_tail = (wav.flip(0)[:n] != original.flip(0)[:n]).nonzero()
    same_tail = int(differs_tail[0]) if len(differs_tail) else n
    times = row["words"]
    if kind in ("replace", "delete"):  # kept up to the last phone of the word before, from the word after
        assert same_head >= (times[mid - 1][1] - slack) * sr
        assert same_tail >= original.numel() - (times[mid + 1][2] + slack) * sr
    elif kind == "insert_start":
        assert same_tail >= original.numel() - (times[0][2] + slack) * sr
        assert wav.numel() > original.numel()
    else:
        assert same_head >= (times[-1][1] - slack) * sr
        assert wav.numel() > original.numel()
    if kind == "delete":
        assert wav.numel() < original.numel()


def test_denoise_regenerates_only_the_span(synth, demo):
    row = demo["test"][1]
    original = _at_24k(row["audio"])
    wav, info = synth.denoise(row["audio"], row["text"], 0.6, 1.2, **OPTS)
    assert wav.numel() == original.numel()
    s0, s1 = (int(round(t * 24000)) for t in info["span"])
    # widened to the phone boundaries around the request: every noisy sample is regenerated
    assert 0.3 <= info["span"][0] <= 0.6 and 1.2 <= info["span"][1] <= 1.6
    # a span that reaches the recording's end keeps the recording's length
    end = synth.denoise(row["audio"], row["text"], original.numel() / 24000 - 0.3, original.numel() / 24000,
                        **OPTS)[0]
    assert end.numel() == original.numel()
    # (the span is given in s to 4 decimals: its sample may be one off the seam)
    assert torch.equal(wav[:s0 - 121], original[:s0 - 121])
    assert torch.equal(wav[s1 + 121:], original[s1 + 121:])
    assert not torch.equal(wav[s0 + 121:s1 - 121], original[s0 + 121:s1 - 121])
    name = Path(row["audio"]).name
    with pytest.raises(VoiceflowError, match=f"{name}: span end 1.000 s must come after its start 1.200 s"):
        synth.denoise(row["audio"], row["text"], 1.2, 1.0, **OPTS)
    with pytest.raises(VoiceflowError, match=f"{name}: span 0.600-99.000 s lies outside the recording"):
        synth.denoise(row["audio"], row["text"], 0.6, 99.0, **OPTS)


def test_tts_outputs_only_new_speech_and_follows_the_rate(synth, demo):
    prompt, target = demo["test"][0], demo["test"][1]
    wav, info = synth.tts(prompt["audio"], prompt["text"], target["text"], **OPTS)
    assert info["words"] == len(target["text"].split())
    seconds = wav.numel() / 24000
    assert 0.2 < seconds < 30 and info["generated_s"] == pytest.approx(seconds, abs=1e-3)  # all of it is new
    full, kept = synth.tts(prompt["audio"], prompt["text"], target["text"], keep_prompt=True, **OPTS)
    assert full.numel() > wav.numel() and kept["generated_s"] < full.numel() / 24000
    fast, _ = synth.tts(prompt["audio"], prompt["text"], target["text"], rate=2.0, **OPTS)
    assert fast.numel() < wav.numel()


def test_a_request_gives_the_same_wav_from_any_directory(synth, demo, tmp_path):
    """The noise is seeded by the request's content, not the prompt's path (it was: two
    clones of the demo produced different TTS wavs from identical models)."""
    prompt, target = demo["test"][0], demo["test"][1]
    copy = tmp_path / "elsewhere" / "p.wav"
    copy.parent.mkdir()
    shutil.copy(prompt["audio"], copy)
    # a process's first forward pass rounds differently (oneDNN picks its kernels then; 1e-3
    # in the mel of this tiny model), so the comparisons start after one call
    synth.tts(prompt["audio"], prompt["text"], target["text"], **OPTS)
    here, _ = synth.tts(prompt["audio"], prompt["text"], target["text"], **OPTS)
    there, _ = synth.tts(copy, prompt["text"], target["text"], **OPTS)
    assert torch.equal(here, there)
    reseeded, _ = synth.tts(copy, prompt["text"], target["text"], **{**OPTS, "seed": 1})
    assert (here - reseeded).abs().max() > 0.1
    row = demo["test"][1]
    shutil.copy(row["audio"], tmp_path / "d.wav")
    a, _ = synth.denoise(row["audio"], row["text"], 0.6, 1.2, **OPTS)
    b, _ = synth.denoise(tmp_path / "d.wav", row["text"], 0.6, 1.2, **OPTS)
    assert torch.equal(a, b)


def test_tasks_take_the_users_alignment_instead_of_the_aligner(synth, demo, tmp_path, monkeypatch):
    """With an alignment (JSON file or list) no built-in alignment runs, spans snap to the
    given boundaries, and an alignment in another phone set or of other words is refused."""
    import voiceflow.align.aligner as aligner

    def refuse(*args, **kwargs):
        raise AssertionError("the built-in aligner ran")

    monkeypatch.setattr(aligner, "align_words", refuse)
    row, other = demo["test"][1], demo["test"][0]
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"alignment": row["alignment"]}))
    wav, info = synth.denoise(row["audio"], row["text"], 0.6, 1.2, alignment=str(path), **OPTS)
    bounds = {round(s, 3) for _, s, _ in row["alignment"]} | {round(e, 3) for _, _, e in row["alignment"]}
    hop_s = 256 / 24000
    assert all(min(abs(t - b) for b in bounds) <= hop_s for t in info["span"])  # the given phone boundaries
    original = _at_24k(row["audio"])
    s0 = int(info["span"][0] * 24000)
    assert torch.equal(wav[:s0 - 120], original[:s0 - 120])
    listed, _ = synth.denoise(row["audio"], row["text"], 0.6, 1.2, alignment=row["alignment"], **OPTS)
    assert torch.equal(wav, listed)
    words = row["text"].rstrip(".?!").split()
    edited, info = synth.edit(row["audio"], row["text"], " ".join(words[:-1] + ["garden"]), alignment=path, **OPTS)
    assert info["changes"] and torch.equal(edited[:12000], original[:12000])
    spoken, _ = synth.tts(row["audio"], row["text"], other["text"], alignment=path, **OPTS)
    assert spoken.numel() > 0
    k = 3  # continuation: the alignment of the first k words says how many the recording holds
    end = row["words"][k - 1][2]
    start_wav = tmp_path / "start.wav"
    sf.write(start_wav, original[:int(end * 24000)].numpy(), 24000)
    head = [seg for seg in row["alignment"] if seg[2] <= end + 1e-6]
    head[-1] = (head[-1][0], head[-1][1], int(end * 24000) / 24000)
    _, info = synth.continue_(start_wav, row["text"], alignment=head, **OPTS)
    assert info["prompt_words"] == k
    with pytest.raises(VoiceflowError, match=rf"\d+ words aligned, but the text has only {k - 1}"):
        synth.continue_(start_wav, " ".join(words[:k - 1]), alignment=head, **OPTS)
    # refused: a phone the model never saw; fewer words than the transcript; not covering the audio
    foreign = [("xx_S" if ph.endswith("_S") or ph.endswith("_B") else ph, a, b) for ph, a, b in row["alignment"]]
    with pytest.raises(VoiceflowError, match=r"phone\(s\) xx_S not in"):
        synth.denoise(row["audio"], row["text"], 0.6, 1.2, alignment=foreign, **OPTS)
    with pytest.raises(VoiceflowError, match=r"a.json: \d+ words aligned, but the transcript has"):
        synth.denoise(row["audio"], other["text"], 0.6, 1.2, alignment=path, **OPTS)
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(row["alignment"][:-2]))
    with pytest.raises(VoiceflowError, match="cut.json: alignment does not cover the audio"):
        synth.edit(row["audio"], row["text"], "new words", alignment=cut, **OPTS)


def test_continuation_with_a_given_and_a_found_prefix(synth, demo, tmp_path):
    row = demo["test"][0]
    words = row["text"].rstrip(".?!").split()
    k = max(2, len(words) // 2)
    # the first k words of the recording, cut at the end of word k (its exact alignment)
    end = row["words"][k - 1][2]
    original = _at_24k(row["audio"])
    start_wav = tmp_path / "start.wav"
    sf.write(start_wav, original[:int(end * 24000) + 2400].numpy(), 24000)
    wav, info = synth.continue_(start_wav, row["text"], " ".join(words[:k]), **OPTS)
    assert info["prompt_words"] == k and wav.numel() > int(end * 24000)
    _, found = synth.continue_(start_wav, row["text"], **OPTS)
    assert abs(found["prompt_words"] - k) <= 1


def test_synth_batch_writes_a_self_describing_directory(synth, demo, tmp_path):
    a, b = demo["test"][0], demo["test"][1]
    shutil.copy(a["audio"], tmp_path / "prompt.wav")  # a path relative to the items file
    items = [{"id": "t", "task": "tts", "prompt_wav": "prompt.wav", "prompt_text": a["text"], "text": b["text"],
              "speaker": a["speaker"], "reference": b["audio"]},
             {"id": "e", "task": "edit", "wav": a["audio"], "text": a["text"], "new_text": a["text"] + " again"},
             {"id": "d", "task": "denoise", "wav": b["audio"], "text": b["text"], "start": 0.5, "end": 1.0},
             {"id": "c", "task": "continue", "wav": a["audio"], "text": a["text"] + " and then more"}]
    manifest = tmp_path / "items.jsonl"
    manifest.write_text("".join(json.dumps(i) + "\n" for i in items))
    out = synth.synth(manifest, tmp_path / "out", **OPTS)
    meta = [json.loads(line) for line in (out / "meta.jsonl").read_text().splitlines()]
    assert [m["id"] for m in meta] == ["t", "e", "d", "c"]
    assert {m["task"] for m in meta} == {"tts", "edit", "denoise", "continue"}
    assert meta[0]["prompt_wav"] == str((tmp_path / "prompt.wav").resolve())  # usable from any directory
    for m in meta:
        assert (out / f"{m['id']}.wav").is_file()
        assert m["nfe"] == 2 and m["seed"] == 0 and m["checkpoint"] and m["timings"]["audio_s"] > 0
    # a failing item: stop writes nothing, skip lists it
    items.append({"id": "bad", "task": "edit", "wav": str(tmp_path / "missing.wav"), "text": "a", "new_text": "b"})
    manifest.write_text("".join(json.dumps(i) + "\n" for i in items))
    from voiceflow.errors import VoiceflowError

    with pytest.raises(VoiceflowError, match="bad"):
        synth.synth(manifest, tmp_path / "out2", **OPTS)
    assert not (tmp_path / "out2").exists()
    out3 = synth.synth(manifest, tmp_path / "out3", on_error="skip", **OPTS)
    assert "bad" in (out3 / "failed.jsonl").read_text() and not (out3 / "bad.wav").exists()


# ---------------------------------------------------------------------- command line


def _cli(*args):
    return _run("-m", "voiceflow.bin.cli", *args, timeout=300)


def _one_line_error(result, *needles):
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def test_cli_edit_with_identical_text_copies_the_file(demo, tmp_path):
    row = demo["test"][0]
    out = tmp_path / "same.wav"
    # flite's 16 kHz recording: written at the model's 24 kHz like every output (as synth does)
    assert sf.info(row["audio"]).samplerate == 16000
    edited = _ok(_cli("edit", "--checkpoint", str(demo["exp"]), "--wav", row["audio"], "--text", row["text"],
                      "--new-text", row["text"], "--out", str(out), "--nfe", "2"))
    assert "the text is unchanged; the input is written at 24000 Hz" in edited.stdout
    written, rate = sf.read(out, dtype="float32")
    assert rate == 24000 and abs(torch.from_numpy(written) - _at_24k(row["audio"])).max() <= 1 / 32768
    # a 24 kHz mono recording is copied byte for byte; continue says the recording says it all
    at_24k = tmp_path / "in24.wav"
    sf.write(at_24k, _at_24k(row["audio"]).numpy(), 24000)
    continued = _ok(_cli("continue", "--checkpoint", str(demo["exp"]), "--wav", str(at_24k), "--text", row["text"],
                         "--prompt-text", row["text"], "--out", str(out), "--nfe", "2"))
    assert out.read_bytes() == at_24k.read_bytes()
    assert "the recording already says the whole text; the input is copied as it was" in continued.stdout
    # audio goes to .wav or .flac files; any other name is refused before the model loads
    _one_line_error(_cli("edit", "--checkpoint", str(demo["exp"]), "--wav", row["audio"], "--text", row["text"],
                         "--new-text", row["text"], "--out", str(tmp_path / "x.mp3")), "--out", "x.mp3: name a .wav")
    # synth counts what it wrote
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "same", "task": "edit", "wav": row["audio"], "text": row["text"],
                                 "new_text": row["text"]}) + "\n" + json.dumps(
        {"id": "gone", "task": "edit", "wav": str(tmp_path / "gone.wav"), "text": "a", "new_text": "b"}) + "\n")
    counted = _ok(_cli("synth", "--checkpoint", str(demo["exp"]), "--manifest", str(items), "--out-dir",
                       str(tmp_path / "run"), "--nfe", "2", "--on-error", "skip"))
    assert "1 of 2 items (1 failed:" in counted.stdout


def test_cli_bad_input(demo, tmp_path):
    exp, row = str(demo["exp"]), demo["test"][0]
    out = tmp_path / "o.wav"
    base = ["--checkpoint", exp, "--out", str(out), "--nfe", "2"]
    _one_line_error(_cli("tts", *base, "--prompt-wav", str(tmp_path / "nope.wav"), "--prompt-text", "hi",
                         "--text", "hello"), "nope.wav", "not found")
    _one_line_error(_cli("tts", *base, "--prompt-wav", row["audio"], "--prompt-text", row["text"], "--text", "  "),
                    "empty")
    _one_line_error(_cli("tts", *base, "--prompt-wav", row["audio"], "--prompt-text", row["text"],
                         "--text", "?! ... --"), "nothing to speak")
    short, silent = tmp_path / "short.wav", tmp_path / "silent.wav"
    sf.write(short, np.full(2400, 0.1, dtype=np.float32), 24000)
    sf.write(silent, np.zeros(48000, dtype=np.float32), 24000)
    _one_line_error(_cli("edit", *base, "--wav", str(short), "--text", "hello there", "--new-text", "hello"),
                    "short.wav", "too short")
    _one_line_error(_cli("denoise", *base, "--wav", str(silent), "--text", "hello there", "--start", "0.1",
                         "--end", "0.5"), "silent.wav", "silent")
    other = demo["test"][1]  # another sentence: not what the prompt says
    _one_line_error(_cli("tts", *base, "--prompt-wav", row["audio"], "--prompt-text", other["text"],
                         "--text", other["text"]), row["audio"], "match")
    bad = tmp_path / "bad.json"
    bad.write_text("[[1, 2]]")
    _one_line_error(_cli("denoise", *base, "--wav", row["audio"], "--text", row["text"], "--start", "0.1",
                         "--end", "0.5", "--alignment", str(bad)), "bad.json", "expected a list of [phone")
    _one_line_error(_cli("tts", *base, "--prompt-wav", row["audio"], "--prompt-text", row["text"],
                         "--text", "hello", "--prompt-alignment", str(tmp_path / "none.TextGrid")), "none.TextGrid")
    assert not out.exists() and not list(tmp_path.glob(".o.wav*"))


def test_cli_tts_with_bf16_weights(demo, tmp_path):
    """--dtype reaches the task commands: bf16 weights give a wav of the fp32 one's length (the
    duration model decides it) that differs from it only by rounding."""
    a, b = demo["test"][0], demo["test"][1]
    outs = {}
    for dtype in ("fp32", "bf16"):
        outs[dtype] = tmp_path / f"{dtype}.wav"
        _ok(_cli("tts", "--checkpoint", str(demo["exp"]), "--prompt-wav", a["audio"], "--prompt-text", a["text"],
                 "--text", b["text"], "--out", str(outs[dtype]), "--nfe", "2", "--dtype", dtype))
    full, half = (torch.from_numpy(sf.read(outs[d], dtype="float32")[0]) for d in ("fp32", "bf16"))
    assert full.shape == half.shape and not torch.equal(full, half)
    assert (full - half).norm() < 0.1 * full.norm()
