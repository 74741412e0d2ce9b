"""The built-in aligner (voiceflow.align.aligner) and `voiceflow align`, on flite speech made here.

Fixtures are synthesized by code (flite -psdur gives each phone's exact end time); the
tests skip when flite / t2p are missing (CI installs Debian's flite).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from voiceflow.align.aligner import align_words
from voiceflow.align.alignment import validate_alignment
from voiceflow.audio.io import load_audio
from voiceflow.errors import VoiceflowError
from voiceflow.text.phones import SIL, tag_word

FLITE = shutil.which("flite")
T2P = shutil.which("t2p")
needs_flite = pytest.mark.skipif(FLITE is None or T2P is None, reason="flite/t2p not installed (Debian package flite)")

SENTENCES = {
    "a": "The quick brown fox jumps over the lazy dog.",
    "b": "Please call Stella, and ask her to bring these things.",
}


def flite_to_arpabet(phone: str) -> list[str]:
    return ["AH"] if phone == "ax" else [phone.upper()]


def t2p_words(text: str) -> list[tuple[str, list[str]]]:
    words = re.findall(r"[A-Za-z']+", text)
    out = []
    for w in words:
        res = subprocess.run([T2P, w], capture_output=True, text=True, check=True)
        out.append((w, [re.sub(r"\d", "", p) for p in res.stdout.split() if p != "pau"]))
    return out


def synthesize(text: str, wav: Path, voice: str = "rms") -> tuple[list[tuple[str, float, float]], float]:
    """flite speech and its exact phones ``(phone, start, end)`` (pau -> sil), and the duration."""
    res = subprocess.run([FLITE, "-voice", voice, "-psdur", "-t", text, "-o", str(wav)],
                         capture_output=True, text=True, check=True)
    segs, prev = [], 0.0
    for tok in res.stdout.split():
        ph, _, t = tok.rpartition(":")
        ph = SIL if ph == "pau" else ph
        if ph == SIL and segs and segs[-1][0] == SIL:
            segs[-1] = (SIL, segs[-1][1], float(t))
        else:
            segs.append((ph, prev, float(t)))
        prev = float(t)
    duration = load_audio(wav, 16000).numel() / 16000
    return segs, duration


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if FLITE is None or T2P is None:
        pytest.skip("flite/t2p not installed (Debian package flite)")
    d = tmp_path_factory.mktemp("flite")
    items = {}
    for key, text in SENTENCES.items():
        wav = d / f"{key}.wav"
        truth, duration = synthesize(text, wav)
        words = t2p_words(text)
        speech = [s for s in truth if s[0] != SIL]
        if [p for _, ph in words for p in ph] != [p for p, _, _ in speech]:
            pytest.skip(f"t2p and flite disagree on {text!r}")
        items[key] = {"text": text, "wav": wav, "truth": truth, "duration": duration, "words": words}
    return items


@pytest.fixture(scope="module")
def aligned(corpus):
    out = {}
    for key, item in corpus.items():
        wav = load_audio(item["wav"], 22050)  # not 16 kHz: the aligner resamples
        out[key] = align_words(wav, 22050, item["words"], flite_to_arpabet, name=key)
    return out


@needs_flite
def test_contract_and_phone_sequence(corpus, aligned):
    for key, item in corpus.items():
        res = aligned[key]
        # Resampled to 22.05 kHz: the duration there is within one sample of the 16 kHz file's.
        validate_alignment(res.alignment, item["duration"], tolerance=1e-4, name=key)
        assert res.alignment[0][1] == 0.0 and res.alignment[-1][2] == pytest.approx(item["duration"], abs=1e-4)
        speech = [p for p, _, _ in res.alignment if p != SIL]
        assert speech == [t for _, ph in item["words"] for t in tag_word(ph)]
        assert res.alignment[0][0] == SIL  # flite starts every utterance with a pause
        assert res.score < 3.0


@needs_flite
def test_boundary_error_against_flite(corpus, aligned):
    errors = []
    for key, item in corpus.items():
        hyp = [(s, e) for p, s, e in aligned[key].alignment if p != SIL]
        ref = [(s, e) for p, s, e in item["truth"] if p != SIL]
        errors += [abs(h[1] - r[1]) for h, r in zip(hyp, ref)]
        errors.append(abs(hyp[0][0] - ref[0][0]))
    mean = sum(errors) / len(errors)
    assert mean <= 0.020, f"mean boundary error {1000 * mean:.1f} ms"


@needs_flite
def test_word_times(corpus, aligned):
    for key, item in corpus.items():
        res = aligned[key]
        assert [w for w, _, _ in res.words] == [w for w, _ in item["words"]]
        for (w, s, e), (w2, s2, _) in zip(res.words, res.words[1:]):
            assert 0 <= s < e <= s2, (w, s, e, w2, s2)
        ref = [(s, e) for p, s, e in item["truth"] if p != SIL]
        n0 = len(item["words"][0][1])
        assert abs(res.words[0][1] - ref[0][0]) < 0.05
        assert abs(res.words[0][2] - ref[n0 - 1][1]) < 0.05
        assert abs(res.words[-1][2] - ref[-1][1]) < 0.05


@needs_flite
def test_caller_phone_mapping_to_several(corpus):
    # A caller phone that maps to two pocketsphinx phones ("ch" as T + SH) comes back as one.
    item = corpus["b"]
    words = [(w, ["ch_x" if p == "ch" else p for p in ph]) for w, ph in item["words"]]
    to_arpa = lambda p: ["T", "SH"] if p == "ch_x" else flite_to_arpabet(p)  # noqa: E731
    res = align_words(load_audio(item["wav"], 16000), 16000, words, to_arpa, name="b")
    assert [p for p, _, _ in res.alignment if p != SIL] == [t for _, ph in words for t in tag_word(ph)]


@needs_flite
def test_mismatched_transcript_is_an_error(corpus):
    item = corpus["a"]
    wav = load_audio(item["wav"], 16000)
    with pytest.raises(VoiceflowError, match=r"^a: .*(does not match|does not fit|failed)"):
        align_words(wav, 16000, corpus["b"]["words"], flite_to_arpabet, name="a")


def test_silent_short_and_empty_are_errors():
    words = [("hi", ["hh", "ay"])]
    with pytest.raises(VoiceflowError, match=r"^quiet: audio is silent"):
        align_words(torch.zeros(16000), 16000, words, flite_to_arpabet, name="quiet")
    with pytest.raises(VoiceflowError, match=r"^short: audio is too short"):
        align_words(0.1 * torch.randn(1600), 16000, words, flite_to_arpabet, name="short")
    with pytest.raises(VoiceflowError, match=r"^empty: no words"):
        align_words(0.1 * torch.randn(16000), 16000, [], flite_to_arpabet, name="empty")
    with pytest.raises(VoiceflowError, match=r"^bad: phone 'q'"):
        align_words(0.1 * torch.randn(16000), 16000, [("x", ["q"])], lambda p: ["Q"], name="bad")


# -- the CLI -------------------------------------------------------------------------------


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voiceflow.bin.align", *args],
                          capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


@needs_flite
def test_cli_end_to_end(corpus, tmp_path):
    pytest.importorskip("voiceflow.text.g2p")
    manifest = tmp_path / "in.jsonl"
    rows = [{"id": k, "audio": str(v["wav"]), "text": v["text"], "speaker": "rms", "extra": 7}
            for k, v in corpus.items()]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    res = _run_cli("--manifest", str(manifest), "--out", str(out), "--g2p", "flite")
    assert res.returncode == 0, res.stderr
    assert "aligned 2, skipped 0" in res.stdout
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in got] == ["a", "b"] and all(r["extra"] == 7 for r in got)
    for r in got:
        validate_alignment([tuple(x) for x in r["alignment"]], corpus[r["id"]]["duration"], name=r["id"])
        assert len(r["words"]) == len(corpus[r["id"]]["words"])

    # Row b gets row a's text: stop (default) writes nothing; skip keeps row a.
    bad = tmp_path / "bad.jsonl"
    rows[1]["text"] = rows[0]["text"]
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out2 = tmp_path / "out2.jsonl"
    res = _run_cli("--manifest", str(bad), "--out", str(out2), "--g2p", "flite")
    assert res.returncode == 1
    assert re.search(rf"^error: {re.escape(str(bad))}: row b: ", res.stderr, re.M), res.stderr
    assert not out2.exists() and not list(tmp_path.glob(".out2*"))
    res = _run_cli("--manifest", str(bad), "--out", str(out2), "--g2p", "flite", "--on-error", "skip", "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert "row b" in res.stderr and "aligned 1, skipped 1 (listed in" in res.stdout
    assert [json.loads(line)["id"] for line in out2.read_text().splitlines()] == ["a"]
    listed = (tmp_path / "out2.jsonl.skipped.tsv").read_text().splitlines()
    assert len(listed) == 1 and listed[0].startswith("b\t")
    # a rerun that skips nothing removes the stale list
    res = _run_cli("--manifest", str(manifest), "--out", str(out2), "--g2p", "flite", "--on-error", "skip")
    assert res.returncode == 0 and not (tmp_path / "out2.jsonl.skipped.tsv").exists()

