"""Validation before scoring (missing counterparts, wrong rate, stereo, unreadable files: each a
clear one-line error, never a silent skip) and the CLI end to end on two tiny systems."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from eval_audio import SENTENCES, tone, write
from voiceflow.bin.evaluate import main as eval_main
from voiceflow.errors import VoiceflowError
from voiceflow.eval import evaluate

IDS = ("a", "b", "c")


def make_system(root: Path, name: str, ids=IDS, shift: float = 1.0, meta: bool = True, sr: int = 24000) -> Path:
    """<id>.wav tones (+ meta.jsonl with text and prompt) for a system."""
    d = root / name
    rows = []
    for k, item_id in enumerate(ids):
        write(d / f"{item_id}.wav", tone(150.0 * shift + 20 * k, 0.5, sr), sr)
        rows.append({"id": item_id, "text": f"item {item_id}", "prompt": str(root / "ref" / f"{item_id}.wav")})
    if meta:
        (d / "meta.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


def make_refs(root: Path, ids=IDS) -> Path:
    for k, item_id in enumerate(ids):
        write(root / "ref" / f"{item_id}.wav", tone(150.0 + 20 * k, 0.5))
    return root / "ref"


def run_eval(tmp_path, systems, **kw):
    kw.setdefault("metrics", ["mcd"])
    kw.setdefault("reference", tmp_path / "ref")
    lines = []
    report = evaluate(systems, tmp_path / "out", notice=lines.append, progress=False, **kw)
    return report, lines


def test_missing_counterpart_is_an_error_naming_the_ids(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    b = make_system(tmp_path, "B", ids=("a",))
    with pytest.raises(VoiceflowError) as e:
        run_eval(tmp_path, {"A": a, "B": b})
    assert str(e.value) == ("missing counterparts between systems: B lacks 2 of 3 items (b, c) "
                            "(pass --allow-missing to evaluate the 1 items all systems have)")
    assert not (tmp_path / "out").exists()
    report, lines = run_eval(tmp_path, {"A": a, "B": b}, allow_missing=True)
    assert lines == ["eval: --allow-missing: evaluating the 1 items all systems have; left out 2: b, c"]
    assert report["excluded_items"] == ["b", "c"] and report["systems"]["B"]["n_items"] == 1


def test_meta_and_wavs_must_match(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    (a / "c.wav").unlink()
    with pytest.raises(VoiceflowError, match=r"A: meta.jsonl lists 1 item\(s\) with no wav \(c\)$"):
        run_eval(tmp_path, {"A": a})


def test_wrong_sample_rate_is_an_error_unless_resample(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    b = make_system(tmp_path, "B")
    write(b / "b.wav", tone(170.0, 0.5, 16000), 16000)
    with pytest.raises(VoiceflowError) as e:
        run_eval(tmp_path, {"A": a, "B": b})
    assert str(e.value) == (f"{b / 'b.wav'}: sample rate 16000 Hz, expected 24000 Hz like the other generated "
                            "and reference files (pass --resample to resample)")
    report, _ = run_eval(tmp_path, {"A": a, "B": b}, resample=True)
    assert report["systems"]["B"]["metrics"]["mcd"]["n"] == 3


def test_stereo_file_is_an_error(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    x = tone(150.0, 0.5)
    write(tmp_path / "ref" / "a.wav", np.stack([x, x], axis=1))
    with pytest.raises(VoiceflowError) as e:
        run_eval(tmp_path, {"A": a})
    assert str(e.value) == f"{tmp_path / 'ref' / 'a.wav'}: 2 channels, expected mono (pass --resample to downmix)"


def test_unreadable_and_missing_files(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    (a / "b.wav").write_bytes(b"RIFF\x00\x00\x00\x00not a wav at all")
    with pytest.raises(VoiceflowError, match=r"^.*A/b\.wav: cannot read audio \(.+\)$"):
        run_eval(tmp_path, {"A": a})
    a2 = make_system(tmp_path, "A2")
    (tmp_path / "ref" / "c.wav").unlink()
    with pytest.raises(VoiceflowError) as e:
        run_eval(tmp_path, {"A2": a2})
    assert str(e.value) == f"{tmp_path / 'ref'}: no reference wav for 1 of 3 items (c)"
    with pytest.raises(VoiceflowError) as e:
        run_eval(tmp_path, {"A2": a2}, reference=None, metrics=["sim_o"])
    assert str(e.value) == f"prompt of item c not found: {tmp_path / 'ref' / 'c.wav'}"


def test_metric_inputs_are_checked(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A", meta=False)
    with pytest.raises(VoiceflowError) as e:
        run_eval(tmp_path, {"A": a}, metrics=["wer"])
    assert str(e.value) == ("wer needs a text for every item; 3 of 3 have none "
                            "(a, b, c; give --texts or meta.jsonl texts)")
    with pytest.raises(VoiceflowError, match=r"unknown metric\(s\) bleu"):
        run_eval(tmp_path, {"A": a}, metrics=["bleu"])
    # by default, metrics without inputs are skipped with one line each, never silently
    from voiceflow.eval.items import Item
    from voiceflow.eval.runner import _choose_metrics

    lines = []
    items = [Item("a", reference=tmp_path / "ref" / "a.wav")]
    assert _choose_metrics(None, items, lines.append) == ["mcd", "f0", "mos"]
    assert lines == ["eval: skipping wer, cer (no texts: give --texts or meta.jsonl texts)",
                     "eval: skipping sim_o, sim_r (no prompts: give --prompt DIR or meta.jsonl prompts)"]


def test_a_default_metric_without_its_model_is_skipped_with_one_line(tmp_path, monkeypatch):
    import voiceflow.eval.mos as mos
    from voiceflow.eval.backend import Unavailable

    def unavailable(*args, **kwargs):
        raise Unavailable("distillmos not installed (distillmos); pip install distillmos==0.9.1")

    monkeypatch.setattr(mos, "load_mos", unavailable)
    make_refs(tmp_path)
    a = make_system(tmp_path, "A", meta=False)
    report, lines = run_eval(tmp_path, {"A": a}, metrics=None)
    assert report["metrics"] == ["mcd", "f0"]
    assert lines[-1] == "eval: skipping mos (distillmos not installed (distillmos); pip install distillmos==0.9.1)"
    with pytest.raises(VoiceflowError, match=r"^cannot compute mos: distillmos not installed"):
        run_eval(tmp_path, {"A": a}, metrics=["mos"])


def test_cli_end_to_end_on_two_systems(tmp_path, tiny_ctc, capsys):
    from voiceflow.bin.cli import main as cli_main

    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    b = make_system(tmp_path, "B", shift=1.06)
    out = tmp_path / "eval"
    code = cli_main(["eval", "--system", f"A={a}", "--system", f"B={b}", "--reference", str(tmp_path / "ref"),
                     "--metrics", "wer,cer,mcd,f0", "--asr", f"transformers:{tiny_ctc}", "--out", str(out),
                     "--bootstrap", "200", "--device", "cpu"])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "| system | n | WER % | CER % | MCD dB | F0 RMSE cents | VDE % |" in stdout
    report = json.loads((out / "metrics.json").read_text())
    assert set(report["systems"]) == {"A", "B"} and report["backends"] == {"asr": f"transformers:{tiny_ctc}"}
    ma, mb = report["systems"]["A"]["metrics"], report["systems"]["B"]["metrics"]
    assert ma["mcd"]["value"] == pytest.approx(0.0, abs=1e-6) and mb["mcd"]["value"] > 0.1
    assert ma["f0_rmse_cents"]["value"] < 10 and 60 < mb["f0_rmse_cents"]["value"] < 140
    for m in (ma, mb):
        assert m["wer"]["n"] == 3 and m["wer"]["ci_low"] <= m["wer"]["value"] <= m["wer"]["ci_high"]
    with open(out / "items.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["system"], r["id"]) for r in rows] == [(s, i) for s in "AB" for i in IDS]
    assert {"text", "hypothesis", "wer", "cer", "mcd", "f0_rmse_cents", "vde"} <= set(rows[0])
    assert rows[0]["text"] == "item a"


def test_cli_error_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        eval_main(["--system", f"A={tmp_path / 'nowhere'}", "--out", str(tmp_path / "o")])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'nowhere'}: system directory not found (system A)"]


def test_texts_file_and_meta_text_conflicts(tmp_path):
    from voiceflow.eval.items import build_items, discover_system, read_texts

    make_refs(tmp_path)
    a = discover_system("A", make_system(tmp_path, "A"))
    b_dir = make_system(tmp_path, "B")
    rows = [json.loads(line) for line in (b_dir / "meta.jsonl").read_text().splitlines()]
    rows[1]["text"] = "something else"
    rows[2]["prompt"] = "../ref/c.wav"   # relative to the meta.jsonl's folder
    (b_dir / "meta.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    b = discover_system("B", b_dir)
    with pytest.raises(VoiceflowError) as e:
        build_items([a, b], notice=None)
    assert str(e.value) == ("item b: meta.jsonl text differs between systems ('item b' vs 'something else' in B; "
                            "give --texts to choose)")
    tsv = tmp_path / "texts.tsv"
    tsv.write_text("a\tHello there\nb\tGood bye\nc\tThird one\n")
    items, excluded = build_items([b], texts=read_texts(tsv), notice=None)
    assert [i.text for i in items] == ["Hello there", "Good bye", "Third one"] and excluded == []
    assert items[2].prompt == b_dir / "../ref/c.wav" and items[2].prompt.is_file()
    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n')
    with pytest.raises(VoiceflowError, match=r"texts.jsonl:2: duplicate id a$"):
        read_texts(jsonl)
    tsv.write_text("a\tone\ttwo\n")
    with pytest.raises(VoiceflowError, match=r"texts.tsv:1: expected 'id<TAB>text', got 3 field\(s\)$"):
        read_texts(tsv)


def test_meta_prompt_of_synth_items():
    """voiceflow synth's meta rows name the prompt as prompt_wav (tts) or wav (continue)."""
    from voiceflow.eval.items import meta_prompt

    assert meta_prompt({"prompt": "a.wav"}) == "a.wav"
    assert meta_prompt({"task": "tts", "prompt_wav": "p.wav", "wav": "x.wav"}) == "p.wav"
    assert meta_prompt({"task": "continue", "wav": "begin.wav"}) == "begin.wav"
    assert meta_prompt({"task": "edit", "wav": "in.wav"}) is None


def test_jobs_give_the_serial_results_from_worker_processes(tmp_path, speech, monkeypatch):
    """--jobs 2: PocketSphinx transcripts and F0 tracks come from spawned workers (the calling
    process's own ones are made to fail) and every per-item value equals the one-process run."""
    import shutil

    from voiceflow.eval import asr, signal

    for voice, name in (("slt", "ref"), ("slt", "A"), ("rms", "B")):
        for (v, item_id), wav in speech.items():
            if v == voice:
                (tmp_path / name).mkdir(exist_ok=True)
                shutil.copy(wav, tmp_path / name / f"{item_id}.wav")
    texts = tmp_path / "texts.tsv"
    texts.write_text("".join(f"{k}\t{t}\n" for k, t in SENTENCES.items()))
    systems = {"A": tmp_path / "A", "B": tmp_path / "B"}
    kw = dict(reference=tmp_path / "ref", texts=texts, metrics=["wer", "cer", "mcd", "f0"], notice=None,
              progress=False, n_boot=100)
    serial = evaluate(systems, tmp_path / "serial", **kw)

    def not_here(*args, **kwargs):
        raise AssertionError("computed in the calling process")

    monkeypatch.setattr(signal, "f0_track", not_here)
    monkeypatch.setattr(asr.PocketsphinxASR, "transcribe", not_here)
    parallel = evaluate(systems, tmp_path / "parallel", jobs=2, **kw)
    assert parallel["systems"] == serial["systems"]
    assert (tmp_path / "parallel" / "items.csv").read_text() == (tmp_path / "serial" / "items.csv").read_text()
    b = serial["systems"]["B"]["metrics"]
    assert serial["systems"]["A"]["metrics"]["mcd"]["value"] == 0 and b["mcd"]["value"] > 1
    assert b["f0_rmse_cents"]["n"] == 3 and b["wer"]["n"] == 3
    with pytest.raises(VoiceflowError, match=r"^--jobs must be at least 1, got 0$"):
        evaluate(systems, tmp_path / "bad", jobs=0, **kw)


def test_the_text_of_synth_items_is_what_their_wav_says():
    """An edit's wav says its new text; a tts wav kept with its prompt says the prompt first."""
    from voiceflow.eval.items import spoken_text

    assert spoken_text({"task": "edit", "text": "old words", "new_text": "new words"}) == "new words"
    assert spoken_text({"task": "tts", "prompt_text": "Hello there.", "text": "Bye.", "keep_prompt": True}) == \
        "Hello there. Bye."
    assert spoken_text({"task": "tts", "prompt_text": "Hello there.", "text": "Bye."}) == "Bye."
    assert spoken_text({"task": "continue", "text": "The whole text."}) == "The whole text."
    assert spoken_text({"text": "generated infill"}) == "generated infill" and spoken_text({}) is None



def test_options_and_outputs_checked_before_scoring_and_silence_is_undefined(tmp_path):
    make_refs(tmp_path)
    a = make_system(tmp_path, "A")
    with pytest.raises(VoiceflowError, match="--bootstrap must be at least 1, got 0"):
        run_eval(tmp_path, {"A": a}, n_boot=0)
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(VoiceflowError, match="taken: exists and is not a directory"):
        evaluate({"A": a}, tmp_path / "taken", reference=tmp_path / "ref", metrics=["mcd"], progress=False)
    # a silent wav: no speaker similarity (NaN, counted undefined), said in one line
    write(a / "b.wav", np.zeros(12000, dtype=np.float32))
    from voiceflow.eval.runner import _Scorer
    from voiceflow.eval.items import Item

    class Speaker:
        sample_rate = 16000

        def embed(self, wav):
            raise AssertionError("silence is not embedded")

    row = _Scorer(["sim_o"], {"speaker": Speaker()}, {}).score(Item("b", prompt=tmp_path / "ref" / "b.wav"), a / "b.wav")
    assert row["silent"] and row["sim_o"] != row["sim_o"]
    report, lines = run_eval(tmp_path, {"A": a})
    assert any("1 file(s) are digital silence" in line for line in lines)


def test_systems_are_read_as_the_listening_pages_read_them(tmp_path):
    """eval takes .wav and .flac files and ignores hidden ones, like listen build."""
    import soundfile

    make_refs(tmp_path)
    a = make_system(tmp_path, "A", meta=False)
    (a / "c.wav").rename(a / "c.tmp")
    soundfile.write(a / "c.flac", soundfile.read(a / "c.tmp")[0], 24000)
    (a / "c.tmp").unlink()
    write(a / "._c.wav", tone(100.0, 0.5))  # macOS metadata file
    report, _ = run_eval(tmp_path, {"A": a})
    assert report["systems"]["A"]["n_items"] == 3
