"""Corpus preparation (voiceflow.data.corpora, voiceflow prepare) on mini corpora in each exact layout."""

import functools
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from minicorpora import make_libriheavy, make_librispeech, make_libritts, make_ljspeech, make_vctk
from voiceflow.bin.prepare import main
from voiceflow.data.corpora import CORPORA, prepare, vctk
from voiceflow.data.manifest import load_manifest, load_row_audio
from voiceflow.errors import VoiceflowError

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed (Debian package flite)")
REPO = Path(__file__).resolve().parents[2]

MAKERS = {  # name -> (generator, n_speakers, utts_per_speaker)
    "ljspeech": (make_ljspeech, 1, 10),
    "libritts_r": (make_libritts, 2, 3),
    "libritts": (functools.partial(make_libritts, folder="LibriTTS"), 2, 3),
    "vctk": (make_vctk, 4, 3),
    "libriheavy": (make_libriheavy, 2, 4),
    "librispeech": (make_librispeech, 2, 3),
}
AUDIO_FAULTS = ("corrupt_audio", "missing_audio", "empty_transcript")
FAULT_CASES = [(name, fault) for name in MAKERS if name != "libritts" for fault in AUDIO_FAULTS] + [
    ("ljspeech", "bad_line"), ("librispeech", "bad_line"), ("libriheavy", "bad_line"), ("libriheavy", "truncated_gz")]


def make(name, tmp_path, speech=False, faults=(), n_speakers=None, utts=None, **kw):
    fn, n_spk, n_utt = MAKERS[name]
    return fn(tmp_path / "corpus", n_speakers or n_spk, utts or n_utt, speech=speech, faults=faults, **kw)


def run(name, c, out, **kw):
    extra = {"cuts": c.cuts} if name == "libriheavy" else {}
    return prepare(name, c.root, out, progress=False, **extra, **kw)


def rows_of(out):
    rows = {}
    for split in ("train", "valid", "test"):
        if (out / f"{split}.jsonl").exists():
            rows.update((r["id"], r) for r in load_manifest(out / f"{split}.jsonl"))
    return rows


def skipped_lines(out):
    lines = (out / "skipped.tsv").read_text().splitlines()
    assert lines[0] == "path\tproblem"
    return lines[1:]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_every_corpus_prepares_what_was_written(name, tmp_path):
    c = make(name, tmp_path)
    result = run(name, c, tmp_path / "out")
    rows = rows_of(tmp_path / "out")
    assert set(rows) == {u["id"] for u in c.utts}
    for u in c.utts:
        row = rows[u["id"]]
        assert row["text"] == u["text"] and row["speaker"] == u["speaker"]
        assert row["duration"] == pytest.approx(u["duration"], abs=1e-6)
        assert os.path.isabs(row["audio"]) and Path(row["audio"]) == Path(u["audio"]).absolute()
        for key in ("text_original", "text_normalized", "offset", "cut_id", "subset", "chapter", "gender"):
            if key in u:
                assert row[key] == u[key], key
    splits = {s: [r for r in rows.values() if r["split"] == s] for s in ("train", "valid", "test")}
    for split, info in result.splits.items():
        assert info["utterances"] == len(splits[split])
        assert info["seconds"] == pytest.approx(sum(r["duration"] for r in splits[split]))
        assert info["speakers"] == len({r["speaker"] for r in splits[split]})
    if name in ("libritts_r", "libritts", "librispeech"):
        assert all(r["split"] == ("train" if r["subset"].startswith("train") else "test") for r in rows.values())
    if name == "libriheavy":
        assert all(r["split"] == ("train" if r["subset"] == "small" else "test") for r in rows.values())
    if name == "ljspeech":  # 10 clips: too few for 100 + 500, so 5 % and 10 % (at least 1)
        assert [len(splits[s]) for s in ("train", "valid", "test")] == [8, 1, 1]
    if name == "vctk":  # 4 speakers: 1 unseen test speaker; 2 valid utterances of each other one
        assert len({r["speaker"] for r in splits["test"]}) == 1 and len(splits["test"]) == 3
        assert len(splits["valid"]) == 6 and not {r["speaker"] for r in splits["test"]} & {
            r["speaker"] for r in splits["train"] + splits["valid"]}
        assert [line.split("\t")[0] for line in skipped_lines(tmp_path / "out")] == [c.faults["no_text_speaker"]["path"]]
    else:
        assert skipped_lines(tmp_path / "out") == []


def test_splits_are_the_same_on_every_run(tmp_path):
    c = make("ljspeech", tmp_path, utts=40)
    run("ljspeech", c, tmp_path / "a", valid_size=3, test_size=4)
    run("ljspeech", c, tmp_path / "b", valid_size=3, test_size=4)
    for split, n in (("train", 33), ("valid", 3), ("test", 4)):
        a, b = (tmp_path / d / f"{split}.jsonl" for d in "ab")
        assert a.read_text() == b.read_text() and len(a.read_text().splitlines()) == n


def test_vctk_test_speakers_alternate_genders_and_are_fixed():
    speakers = [f"p{225 + i}" for i in range(40)]
    info = {s: {"gender": "F" if i % 3 else "M"} for i, s in enumerate(speakers)}
    picked = vctk.test_speakers(speakers, info, 8)
    assert len(picked) == 8 and sorted(info[s]["gender"] for s in picked) == ["F"] * 4 + ["M"] * 4
    assert vctk.test_speakers(list(reversed(speakers)), info, 8) == picked
    assert len(vctk.test_speakers(speakers[:6], info, 8)) == 1


def test_vctk_mic2_and_unknown_mic(tmp_path):
    c = make("vctk", tmp_path, no_text_speaker=False)
    run("vctk", c, tmp_path / "out", mic="mic2")
    rows = rows_of(tmp_path / "out")
    assert {r["audio"] for r in rows.values()} == {u["audio_mic2"] for u in c.utts}
    assert all(r["mic"] == "mic2" for r in rows.values())
    with pytest.raises(VoiceflowError, match="unknown VCTK microphone 'mic3'"):
        run("vctk", c, tmp_path / "bad", mic="mic3")
    for u in c.utts:  # like p280 in the release: a speaker without mic2 files
        if u["speaker"] == "p226":
            os.unlink(u["audio_mic2"])
    result = run("vctk", c, tmp_path / "p280", mic="mic2")  # on_error="stop": a known hole never stops
    [line] = skipped_lines(tmp_path / "p280")
    assert "no mic2 recordings of speaker p226 (3 transcripts left out)" in line
    assert result.report.skipped_utterances == 3 and len(rows_of(tmp_path / "p280")) == len(c.utts) - 3


def test_libriheavy_rows_read_their_segment_of_the_recording(tmp_path):
    c = make("libriheavy", tmp_path, source_prefix="")  # sources relative to the LibriLight root
    run("libriheavy", c, tmp_path / "out", check_audio=True)
    manifest = tmp_path / "out" / "train.jsonl"
    for row in load_manifest(manifest):
        whole, sr = soundfile.read(row["audio"], dtype="float32")
        start, n = round(row["offset"] * sr), round(row["duration"] * sr)
        segment = load_row_audio(row, manifest, 16000).numpy()
        assert len(segment) == n and np.array_equal(segment, whole[start:start + n])
        assert np.abs(segment).max() > 0.1  # the tone, not the silence between cuts
    assert len({r["audio"] for r in load_manifest(manifest)}) < len(load_manifest(manifest))  # cuts share files


def test_libriheavy_missing_recording_is_reported_once_with_its_cut_count(tmp_path):
    c = make("libriheavy", tmp_path, faults=("missing_audio",))
    result = run("libriheavy", c, tmp_path / "out", on_error="skip")
    [line] = skipped_lines(tmp_path / "out")
    assert line.startswith(c.faults["missing_audio"]["path"] + "\trecording not found") and "(2 utterances)" in line
    assert result.report.skipped_utterances == 2 and set(rows_of(tmp_path / "out")) == {u["id"] for u in c.expected()}


def test_libriheavy_check_audio_catches_a_segment_past_the_end(tmp_path):
    c = make("libriheavy", tmp_path, subsets=("small",))
    path = c.cuts / "libriheavy_cuts_small.jsonl.gz"
    cuts = [json.loads(line) for line in gzip.open(path, "rt")]
    del cuts[0]["recording"]["duration"]  # only the header can tell now
    cuts[0]["supervisions"][0]["duration"] = cuts[0]["duration"] = 99.0
    with gzip.open(path, "wt") as f:
        f.write("".join(json.dumps(cut) + "\n" for cut in cuts))
    assert len(run("libriheavy", c, tmp_path / "a").splits) == 1  # without --check-audio: kept
    with pytest.raises(VoiceflowError, match=r"jsonl.gz:1: cut .*_0: segment ends at 99.\d+ s, after the end of"):
        run("libriheavy", c, tmp_path / "b", check_audio=True)


@pytest.mark.parametrize("name,fault", FAULT_CASES)
def test_faults_are_named_and_skipped_or_stop_the_run(name, fault, tmp_path):
    c = make(name, tmp_path, faults=(fault,))
    path = c.faults[fault]["path"]
    check = {"check_audio": True} if name == "libriheavy" else {}
    run(name, c, tmp_path / "skip", on_error="skip", **check)
    assert any(line.startswith(path) for line in skipped_lines(tmp_path / "skip")), path
    rows = rows_of(tmp_path / "skip")
    assert {u["id"] for u in c.expected()} <= set(rows) <= {u["id"] for u in c.utts}
    if fault != "truncated_gz":
        assert set(rows) == {u["id"] for u in c.expected()}
    if name == "vctk" and fault == "missing_audio":  # a known hole of the release: never stops
        run(name, c, tmp_path / "stop", **check)
        assert any(line.startswith(path) for line in skipped_lines(tmp_path / "stop"))
        return
    with pytest.raises(VoiceflowError) as e:
        run(name, c, tmp_path / "stop", on_error="stop", **check)
    assert str(e.value).startswith(path) and "\n" not in str(e.value)
    assert not (tmp_path / "stop").exists() or os.listdir(tmp_path / "stop") == []


def test_parallel_header_reads_give_the_same_manifests(tmp_path):
    c = make("libritts_r", tmp_path, faults=("corrupt_audio",))
    run("libritts_r", c, tmp_path / "one", on_error="skip")
    run("libritts_r", c, tmp_path / "two", on_error="skip", jobs=2)
    for name in ("train.jsonl", "test.jsonl", "skipped.tsv"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()


def test_subsets_are_chosen_spelt_either_way_and_checked(tmp_path):
    c = make("libritts_r", tmp_path)
    run("libritts_r", c, tmp_path / "out")
    assert (tmp_path / "out" / "train.jsonl").exists()
    result = run("libritts_r", c, tmp_path / "out", subsets=["test_clean"])
    assert list(result.splits) == ["test"] and sorted(os.listdir(tmp_path / "out")) == ["skipped.tsv", "test.jsonl"]
    with pytest.raises(VoiceflowError, match="unknown LibriTTS-R subset 'test-dirty'"):
        run("libritts_r", c, tmp_path / "x", subsets=["test-dirty"])
    with pytest.raises(VoiceflowError, match="LibriTTS-R subset dev-clean not found"):
        run("libritts_r", c, tmp_path / "x", subsets=["dev-clean"])


def test_user_errors_are_one_line(tmp_path):
    c = make("libriheavy", tmp_path)
    with pytest.raises(VoiceflowError, match="not an LJSpeech copy"):
        prepare("ljspeech", tmp_path, tmp_path / "out")
    with pytest.raises(VoiceflowError, match="--mic: not an option of ljspeech"):
        prepare("ljspeech", tmp_path, tmp_path / "out", mic="mic1")
    with pytest.raises(VoiceflowError, match="no libriheavy_cuts_.*give --cuts DIR"):
        prepare("libriheavy", c.root, tmp_path / "out")
    with pytest.raises(VoiceflowError, match="unknown corpus 'timit'"):
        prepare("timit", tmp_path, tmp_path / "out")
    assert sorted(CORPORA) == ["libriheavy", "librispeech", "libritts", "libritts_r", "ljspeech", "vctk"]
    empty = tmp_path / "lj"
    (empty / "wavs").mkdir(parents=True)
    (empty / "metadata.csv").write_text("\n")
    with pytest.raises(VoiceflowError, match=r"lj/metadata.csv: empty \(no ID\|raw text"):
        prepare("ljspeech", empty, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_cli_summary_skip_and_stop(tmp_path, capsys):
    c = make("ljspeech", tmp_path, faults=("corrupt_audio",))
    out = tmp_path / "out"
    assert main(["--corpus", "ljspeech", "--root", str(c.root.parent), "--out-dir", str(out),
                 "--on-error", "skip"]) == 0
    text = capsys.readouterr()
    assert "skipped 1 utterances" in text.out and "train" in text.out
    assert f"skipped: {c.faults['corrupt_audio']['path']}: cannot read audio header" in text.err
    with pytest.raises(SystemExit) as e:
        main(["--corpus", "ljspeech", "--root", str(c), "--out-dir", str(tmp_path / "stop")])
    assert e.value.code == 1 and not (tmp_path / "stop").exists()
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: {c.faults['corrupt_audio']['path']}")


def test_module_runs_as_a_command(tmp_path):
    c = make("librispeech", tmp_path)
    cmd = [sys.executable, "-m", "voiceflow.bin.prepare", "--corpus", "librispeech", "--root", str(c),
           "--out-dir", str(tmp_path / "out"), "--subsets", "test-clean"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(load_manifest(tmp_path / "out" / "test.jsonl")) == 6
    assert done.stdout.splitlines()[-2].split() == ["test", "6", "0.00", "2"]


@needs_flite
@pytest.mark.parametrize("name", ["ljspeech", "libritts_r", "vctk", "libriheavy", "librispeech"])
def test_flite_speech_corpora_prepare_with_speech_audio(name, tmp_path):
    c = make(name, tmp_path, speech=True, n_speakers=None if name in ("ljspeech", "vctk") else 2,
             utts=3 if name == "ljspeech" else 2)
    run(name, c, tmp_path / "out")
    rows = rows_of(tmp_path / "out")
    assert set(rows) == {u["id"] for u in c.utts}
    for row in rows.values():
        split = tmp_path / "out" / f"{row['split']}.jsonl"
        wav = load_row_audio(row, split, 16000)
        assert 0.5 < row["duration"] < 5.0 and float(wav.abs().max()) > 0.05
