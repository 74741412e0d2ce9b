"""The Voicebox evaluation sets on LibriSpeech test-clean: the stored lists, and
`voiceflow evalset` on a mini test-clean (flite speech in LibriSpeech's on-disk layout)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voiceflow.data.evalsets import (continuation_targets, find_test_clean, list_problems, prompt_cut, read_pairs)
from voiceflow.errors import VoiceflowError

EVALSETS = Path(__file__).resolve().parents[2] / "recipes" / "shared" / "evalsets"
CROSS = EVALSETS / "librispeech_test_clean_4to10s_cross_sentence.tsv"
CONTINUATION = EVALSETS / "librispeech_test_clean_4to10s_continuation.tsv"
SOURCE_LINES = 1127  # F5-TTS data/librispeech_pc_test_clean_cross_sentence.lst

needs_flite = pytest.mark.skipif(shutil.which("flite") is None or shutil.which("t2p") is None,
                                 reason="needs Debian's flite (flite, t2p)")


# ----------------------------------------------------------------------------- stored lists
def test_stored_cross_sentence_list():
    lines = CROSS.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "prompt_id\tprompt_seconds\ttarget_id\ttarget_seconds"
    pairs = read_pairs(CROSS)
    assert len(pairs) == len(lines) - 1 == SOURCE_LINES
    assert list_problems(pairs, seconds=(4.0, 10.0)) == []
    assert len({p.target_id for p in pairs}) == SOURCE_LINES  # no target repeats
    assert len({p.prompt_id for p in pairs}) == 448
    assert len({p.target_id.split("-")[0] for p in pairs}) == 39
    seconds = defaultdict(set)  # one duration per utterance, wherever it appears
    for p in pairs:
        seconds[p.prompt_id].add(p.prompt_seconds)
        seconds[p.target_id].add(p.target_seconds)
    assert [u for u, s in seconds.items() if len(s) > 1] == []
    # first and last lines, and the odd durations, exactly as in the source
    assert lines[1] == "4992-41806-0009\t4.355\t4992-23283-0000\t6.645"
    assert lines[-1] == "8555-284447-0020\t4.09\t8555-284449-0020\t5.095"
    assert "672-122797-0032\t4\t672-122797-0023\t9.695063" in lines
    assert "1320-122617-0005\t4.4\t1320-122617-0010\t10" in lines


def test_stored_continuation_list_is_the_distinct_targets():
    lines = CONTINUATION.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id\tseconds"
    targets = continuation_targets(read_pairs(CROSS))
    assert [(p.target_id, p.target_seconds) for p in read_pairs(CONTINUATION)] == \
        [(p.target_id, p.target_seconds) for p in targets]
    assert len(lines) - 1 == len(targets)


def test_list_problems_name_the_lines(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("prompt_id\tprompt_seconds\ttarget_id\ttarget_seconds\n"
                   "61-70968-0012\t2.61\t61-70968-0003\t4.315\n"   # fine
                   "61-70968-12\t2.61\t61-70968-0003\t4.315\n"     # malformed id
                   "61-70968-0012\t2.61\t121-127105-0000\t9.875\n"  # another speaker
                   "61-70968-0003\t4.315\t61-70968-0003\t4.315\n"   # prompt is the target
                   "61-70968-0012\t2.61\t61-70968-0018\t2.405\n")   # target too short
    problems = list_problems(read_pairs(bad), seconds=(4.0, 10.0))
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    (tmp_path / "cols.tsv").write_text("id\tseconds\n61-70968-0003\n")
    with pytest.raises(VoiceflowError, match=r"cols.tsv:2: expected 2"):
        read_pairs(tmp_path / "cols.tsv")


def test_prompt_cut_stays_in_the_pause():
    words = [("a", 0.2, 1.0), ("b", 1.2, 2.4), ("c", 2.9, 3.5)]
    assert prompt_cut(words, 4.0, 3.0) == (2, pytest.approx(2.65))  # middle of the 2.4-2.9 pause
    assert prompt_cut(words, 4.0, 2.5) == (2, 2.5)                  # never past the limit
    assert prompt_cut(words, 4.0, 10.0) == (3, 4.0)                 # everything fits: the whole audio
    with pytest.raises(VoiceflowError, match="first word ends"):
        prompt_cut(words, 4.0, 0.5)


# ----------------------------------------------------------------------------- mini test-clean
# Three pairs of the stored list (lines 2-4) and the utterances they read, with their
# LibriSpeech-PC texts as LibriSpeech writes them (upper case, no punctuation).
PAIRS = [("4992-41806-0009", "4992-23283-0000"), ("4992-23283-0001", "4992-23283-0003"),
         ("4992-23283-0015", "4992-23283-0004")]
MISSING = ("4992-23283-0015", "4992-23283-0007")  # line 5 of the stored list; not in the mini corpus
TEXTS = {
    "4992-41806-0009": "EXCLAIMED BILL HARMON TO HIS WIFE AS THEY WENT THROUGH THE LIGHTED HALL",
    "4992-23283-0000": "BUT THE MORE FORGETFULNESS HAD THEN PREVAILED THE MORE POWERFUL WAS THE FORCE OF "
                       "REMEMBRANCE WHEN SHE AWOKE",
    "4992-23283-0001": "MISS MILNER'S HEALTH IS NOT GOOD",
    "4992-23283-0003": "SO THERE IS TO ME ADDED SANDFORD WITH A SARCASTIC SNEER",
    "4992-23283-0015": "IS SHE NOT AFRAID THAT I WILL THWART HER INCLINATIONS",
    "4992-23283-0004": "AND YET YOU MUST OWN HER BEHAVIOUR HAS WARRANTED THEM HAS IT NOT BEEN IN THIS "
                       "PARTICULAR INCOHERENT AND UNACCOUNTABLE",
}
SR = 16000


def _flite_words(text: str, wav: Path) -> list[tuple[str, float, float]]:
    """Speak ``text`` into ``wav``; flite's own word times (from its phone end times)."""
    from voiceflow.text.g2p import make_g2p

    out = subprocess.run(["flite", "-voice", "slt", "-psdur", "-t", text, "-o", str(wav)], capture_output=True,
                         text=True, check=True).stdout.split()
    phones, prev = [], 0.0
    for tok in out:
        name, _, end = tok.rpartition(":")
        if name != "pau":
            phones.append((prev, float(end)))
        prev = float(end)
    ph = make_g2p("flite").phonemize(text)  # flite's phones per word, as its synthesizer says them
    assert sum(map(len, ph.phones)) == len(phones), "flite's phones do not match t2p's"
    words, i = [], 0
    for word, wp in zip(ph.words, ph.phones):
        words.append((word, phones[i][0], phones[i + len(wp) - 1][1]))
        i += len(wp)
    return words


@pytest.fixture(scope="module")
def libri(tmp_path_factory):
    """(root holding LibriSpeech/test-clean, {utt: flite word times}, tiny list of 3 pairs + a missing one)."""
    if shutil.which("flite") is None or shutil.which("t2p") is None:
        pytest.skip("needs Debian's flite (flite, t2p)")
    root = tmp_path_factory.mktemp("librispeech")
    test_clean = root / "LibriSpeech" / "test-clean"
    stored = {(p.prompt_id, p.target_id): p for p in read_pairs(CROSS)}
    listed = {}
    for pid, tid in PAIRS + [MISSING]:
        p = stored[(pid, tid)]  # the pairs are those of the stored list
        listed.update({pid: p.prompt_seconds, tid: p.target_seconds})
    words, trans = {}, defaultdict(list)
    for uid, text in TEXTS.items():
        spk, chapter, _ = uid.split("-")
        folder = test_clean / spk / chapter
        folder.mkdir(parents=True, exist_ok=True)
        words[uid] = _flite_words(text.lower(), root / f"{uid}.wav")
        audio, sr = soundfile.read(root / f"{uid}.wav", dtype="float32")
        assert sr == SR and len(audio) < round(listed[uid] * SR)
        audio = np.pad(audio, (0, round(listed[uid] * SR) - len(audio)))  # the listed duration
        soundfile.write(folder / f"{uid}.flac", audio, SR, subtype="PCM_16")
        trans[folder / f"{spk}-{chapter}.trans.txt"].append(f"{uid} {text}")
    for path, lines in trans.items():
        path.write_text("\n".join(sorted(lines)) + "\n")
    lst = root / "pairs.tsv"
    lst.write_text("prompt_id\tprompt_seconds\ttarget_id\ttarget_seconds\n" + "".join(
        f"{pid}\t{listed[pid]:g}\t{tid}\t{listed[tid]:g}\n" for pid, tid in PAIRS))
    with_missing = root / "with_missing.tsv"
    pid, tid = MISSING
    with_missing.write_text(lst.read_text() + f"{pid}\t{listed[pid]:g}\t{tid}\t{listed[tid]:g}\n")
    return root, words, lst, with_missing


def _run(argv: list[str]) -> int:
    from voiceflow.bin.evalset import main

    return main(argv)


def _check_cut(wav: Path, flac: Path, prompt_text: str, words: list[tuple[str, float, float]]) -> None:
    """At most 3 s, the start of the utterance, ending in the pause after its last word."""
    cut, sr = soundfile.read(wav, dtype="float32")
    full, _ = soundfile.read(flac, dtype="float32")
    assert sr == SR and 0 < len(cut) <= 3.0 * SR
    np.testing.assert_allclose(cut, full[:len(cut)], atol=1.5 / 32768)
    k = len(prompt_text.split())
    assert prompt_text.split() == [w for w, _, _ in words[:k]]
    tol = 0.04  # the aligner's boundaries are within about 12 ms of flite's (docs/aligner.md)
    assert len(cut) / sr >= words[k - 1][2] - tol, "the cut drops the end of the last word"
    if k < len(words):
        assert len(cut) / sr <= words[k][1] + tol, "the cut holds the start of the next word"


@needs_flite
def test_cross_items(libri, tmp_path, capsys):
    root, words, lst, _ = libri
    out = tmp_path / "cross"
    assert _run(["--list", str(lst), "--librispeech", str(root), "--task", "cross", "--out-dir", str(out),
                 "--prompt-seconds", "3", "--g2p", "flite"]) == 0
    assert "note:" not in capsys.readouterr().err  # the durations are the listed ones
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [t for _, t in PAIRS]
    test_clean = root / "LibriSpeech" / "test-clean"
    for (pid, tid), row in zip(PAIRS, rows):
        spk, chapter, _ = tid.split("-")
        assert row["task"] == "tts" and row["speaker"] == spk
        assert row["text"] == TEXTS[tid].lower()
        assert Path(row["reference"]) == (test_clean / spk / chapter / f"{tid}.flac").resolve()
        prompt_flac = test_clean / spk / pid.split("-")[1] / f"{pid}.flac"
        if pid == "4992-23283-0001":  # 2.71 s, under the limit: used whole
            assert Path(row["prompt_wav"]) == prompt_flac.resolve()
            assert row["prompt_text"] == TEXTS[pid].lower()
        else:
            assert row["prompt_wav"] == f"prompts/{pid}.wav"
            _check_cut(out / row["prompt_wav"], prompt_flac, row["prompt_text"], words[pid])
            assert len(row["prompt_text"].split()) < len(words[pid])
    from voiceflow.infer.batch import check_items

    check_items(rows, out / "items.jsonl")  # a valid `voiceflow synth` manifest


@needs_flite
def test_continuation_items(libri, tmp_path):
    root, words, lst, _ = libri
    out = tmp_path / "continuation"
    assert _run(["--list", str(lst), "--librispeech", str(root / "LibriSpeech"), "--task", "continuation",
                 "--out-dir", str(out), "--g2p", "flite", "--jobs", "2"]) == 0
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"{t}_cont" for _, t in PAIRS]
    for (_, tid), row in zip(PAIRS, rows):
        spk, chapter, _ = tid.split("-")
        flac = root / "LibriSpeech" / "test-clean" / spk / chapter / f"{tid}.flac"
        assert row["task"] == "continue" and row["wav"] == f"prompts/{tid}.wav"
        assert row["text"] == TEXTS[tid].lower() and Path(row["reference"]) == flac.resolve()
        _check_cut(out / row["wav"], flac, row["prompt_text"], words[tid])
        assert row["text"].split()[:len(row["prompt_text"].split())] == row["prompt_text"].split()
    from voiceflow.infer.batch import check_items

    check_items(rows, out / "items.jsonl")


@needs_flite
def test_missing_utterance_stops_or_is_skipped(libri, tmp_path, capsys):
    root, _, _, with_missing = libri
    test_clean = root / "LibriSpeech" / "test-clean"
    out = tmp_path / "stop"
    args = ["--list", str(with_missing), "--librispeech", str(test_clean), "--task", "cross",
            "--prompt-seconds", "0"]
    with pytest.raises(SystemExit) as e:
        _run(args + ["--out-dir", str(out)])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert f"with_missing.tsv:5: {MISSING[1]}: no audio file" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing written

    out = tmp_path / "skip"
    assert _run(args + ["--out-dir", str(out), "--on-error", "skip"]) == 0
    assert MISSING[1] in capsys.readouterr().err
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [t for _, t in PAIRS]
    assert all(Path(r["prompt_wav"]).suffix == ".flac" for r in rows)  # --prompt-seconds 0: whole prompts
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert [(s["line"], s["target"], s["utterance"]) for s in skipped] == [(5, MISSING[1], MISSING[1])]


@needs_flite
def test_finds_test_clean_in_any_of_its_folders(libri):
    root = libri[0]
    test_clean = root / "LibriSpeech" / "test-clean"
    assert find_test_clean(root) == find_test_clean(root / "LibriSpeech") == find_test_clean(test_clean) == test_clean
    with pytest.raises(VoiceflowError, match="no LibriSpeech test-clean"):
        find_test_clean(test_clean / "4992")
