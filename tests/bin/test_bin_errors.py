"""Bad input on the command line: one clear line naming the file, exit 1, nothing half-written."""

import json
import os
import subprocess
import sys
from pathlib import Path

from synthetic_corpus import make_corpus

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def assert_one_line_error(result, *needles):
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def test_features_stage_stops_on_a_missing_or_corrupt_file(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=6)
    rows = [json.loads(line) for line in (c["root"] / "all.jsonl").read_text().splitlines()]
    rows[2]["audio"] = str(tmp_path / "nowhere.wav")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    result = run("voiceflow.bin.features", "--manifest", str(manifest), "--out-manifest", str(out),
                 "--feats-dir", str(tmp_path / "f"), "--jobs", "1", "--force")
    assert_one_line_error(result, "nowhere.wav", "not found")
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))
    (tmp_path / "nowhere.wav").write_bytes(b"RIFF\x00\x00\x00\x00garbage")
    result = run("voiceflow.bin.features", "--manifest", str(manifest), "--out-manifest", str(out),
                 "--feats-dir", str(tmp_path / "f"), "--jobs", "1", "--force")
    assert_one_line_error(result, "nowhere.wav")
    # the user may choose to skip bad utterances instead
    result = run("voiceflow.bin.features", "--manifest", str(manifest), "--out-manifest", str(out),
                 "--feats-dir", str(tmp_path / "f"), "--jobs", "1", "--force", "--on-error", "skip")
    assert result.returncode == 0 and len(out.read_text().splitlines()) == 5


def test_alignment_that_does_not_cover_the_audio(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=3)
    row = c["rows"][0]
    row["alignment"] = row["alignment"][:-2]  # the last phone and silence are missing
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps(row) + "\n")
    result = run("voiceflow.bin.features", "--manifest", str(manifest), "--out-manifest", str(tmp_path / "o.jsonl"),
                 "--feats-dir", str(tmp_path / "f"), "--jobs", "1")
    assert_one_line_error(result, "does not cover the audio")


def test_textgrid_that_does_not_cover_the_audio_at_inference(tmp_path):
    c = make_corpus(tmp_path / "c", n_utts=3)
    row = c["rows"][0]
    tg = tmp_path / "short.TextGrid"
    tg.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n0.05\n<exists>\n2\n'
                  '"IntervalTier"\n"words"\n0\n0.05\n1\n0\n0.05\n"hi"\n'
                  '"IntervalTier"\n"phones"\n0\n0.05\n1\n0\n0.05\n"HH"\n')
    result = run("voiceflow.bin.infill", "--checkpoint", str(tmp_path), "--wav", row["audio"], "--alignment", str(tg),
                 "--start", "0.0", "--end", "0.04", "--out", str(tmp_path / "o.wav"))
    assert_one_line_error(result, "does not cover the audio")
    assert not (tmp_path / "o.wav").exists()


def test_empty_manifest_and_unknown_config_key(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = run("voiceflow.bin.phones", "--manifest", str(empty), "--out", str(tmp_path / "p.txt"))
    assert_one_line_error(result, "empty.jsonl", "empty")
    assert not (tmp_path / "p.txt").exists()
    conf = tmp_path / "c.yaml"
    conf.write_text("model:\n  depht: 3\n")
    result = run("voiceflow.bin.train", "--config", str(conf))
    assert_one_line_error(result, "unknown config key: model.depht")
    result = run("voiceflow.bin.train", "--config", str(ROOT / "recipes/demo/conf/smoke.yaml"), "train.lr=fast")
    assert_one_line_error(result, "train.lr")


def test_generate_without_a_checkpoint(tmp_path):
    result = run("voiceflow.bin.generate", "--checkpoint", str(tmp_path / "nothing"), "--manifest", "x.jsonl",
                 "--out-root", str(tmp_path / "o"))
    assert_one_line_error(result, "no checkpoint found")
