"""The demo recipe's offline corpus maker (recipes/demo/local/make_corpus.py) and its
sentence generator (recipes/demo/local/sentences.py).

The corpus test runs the real maker with Debian flite on a tiny size (2 voices x 3 train +
1 valid + 1 test) and checks the manifests against the wavs and against t2p; it is skipped
when flite is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "recipes" / "demo" / "local"
SCRIPT = LOCAL / "make_corpus.py"
VOICES = ["slt", "kal16"]          # a unit-selection voice and the diphone one
COUNTS = {"train": 3, "valid": 1, "test": 1}
SUFFIX = re.compile(r"^([a-z]+)_([BIES])$")
VOWELS = {"aa", "ae", "ah", "ao", "aw", "ax", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy",
          "uh", "uw"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_local_{name}", LOCAL / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sentences = _load("sentences")


def _flite_reason() -> str | None:
    if shutil.which("flite") is None or shutil.which("t2p") is None:
        return "Debian flite (flite, t2p) is not installed: apt-get install flite"
    have = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout.split()
    missing = [v for v in VOICES if v not in have]
    if missing:
        return f"flite voice(s) {missing} not installed"
    return None


needs_flite = pytest.mark.skipif(_flite_reason() is not None, reason=_flite_reason() or "")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=300)


def _args(out: Path) -> list[str]:
    return ["--out", str(out), "--train-per-voice", str(COUNTS["train"]),
            "--test-per-voice", str(COUNTS["test"]), "--valid-per-voice", str(COUNTS["valid"]),
            "--seed", "7", "--voices", ",".join(VOICES), "--jobs", "2"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    reason = _flite_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("demo_corpus")
    res = _run(*_args(out))
    assert res.returncode == 0, res.stderr
    manifests = {s: out / "manifests" / f"demo_{s}.jsonl" for s in COUNTS}
    rows = {s: [json.loads(line) for line in p.read_text().splitlines()]
            for s, p in manifests.items()}
    return out, manifests, rows, res


def _all(rows):
    return [r for split in rows.values() for r in split]


def _header_duration(path) -> float:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getnframes() / w.getframerate()


# -- the corpus ------------------------------------------------------------------------


@needs_flite
def test_manifests_rows_and_wavs(corpus):
    out, manifests, rows, _ = corpus
    for split, n in COUNTS.items():
        assert len(rows[split]) == n * len(VOICES)
        for v in VOICES:
            assert sum(r["speaker"] == v for r in rows[split]) == n
    for split, split_rows in rows.items():
        for r in split_rows:
            assert set(r) == {"id", "audio", "speaker", "text", "duration", "alignment", "words"}
            assert re.fullmatch(rf"{r['speaker']}_{split}_\d{{4}}", r["id"])
            audio = Path(r["audio"])
            assert audio.is_absolute() and audio == out.resolve() / "wavs" / r["speaker"] / f"{r['id']}.wav"
            assert audio.is_file()
    ids = [r["id"] for r in _all(rows)]
    assert len(ids) == len(set(ids))
    assert not list((out / "wavs").rglob("*.tmp*")), "temporary files left behind"
    assert not list((out / "manifests").glob(".*")), "temporary manifests left behind"


@needs_flite
def test_sentences_unique_and_test_held_out(corpus):
    _, _, rows, _ = corpus
    texts = [r["text"] for r in _all(rows)]
    assert len(texts) == len(set(texts))
    train = {r["text"] for r in rows["train"]}
    assert not train & {r["text"] for r in rows["test"]}
    assert not train & {r["text"] for r in rows["valid"]}
    for r in _all(rows):
        assert [w[0] for w in r["words"]] == sentences.words_of(r["text"])


@needs_flite
def test_alignment_contiguous_and_matches_audio(corpus):
    _, _, rows, _ = corpus
    for r in _all(rows):
        al = r["alignment"]
        dur = _header_duration(r["audio"])
        assert r["duration"] == pytest.approx(dur, abs=1e-9)
        assert al[0][1] == 0.0
        assert al[-1][2] == pytest.approx(dur, abs=1e-9), r["id"]
        for (_, _, e0), (_, s1, e1) in zip(al, al[1:]):
            assert s1 == e0 and e1 >= s1
        for w, s, e in r["words"]:
            assert 0.0 < s < e < dur
        assert al[0][0] == "sil" and al[-1][0] == "sil" and al[-1][2] > al[-1][1]


@needs_flite
def test_word_positions_and_ghost_silences(corpus):
    _, _, rows, _ = corpus
    n_ghosts = 0
    for r in _all(rows):
        al, words = r["alignment"], r["words"]
        # Split the alignment into word groups by suffix; keep what lies between them.
        groups, between, cur, gap = [], [[]], None, []
        for ph, s, e in al:
            if ph == "sil":
                assert cur is None, f"{r['id']}: silence inside a word"
                between[-1].append((s, e))
                continue
            m = SUFFIX.match(ph)
            assert m, f"{r['id']}: {ph!r} has no word-position suffix"
            base, pos = m.groups()
            if pos in "BS":
                assert cur is None, f"{r['id']}: {ph} starts a word inside a word"
                cur = []
            else:
                assert cur is not None and len(cur) >= 1, f"{r['id']}: {ph} outside a word"
            cur.append((base, s, e))
            if pos in "SE":
                assert (pos == "S") == (len(cur) == 1)
                groups.append(cur)
                between.append([])
                cur = None
        assert cur is None
        assert len(groups) == len(words), r["id"]
        for g, (word, ws, we) in zip(groups, words):
            assert g[0][1] == ws and g[-1][2] == we, (r["id"], word)
        # Between two words: a ghost exactly when they touch, a real pause otherwise.
        for i in range(1, len(words)):
            gap = between[i]
            if words[i - 1][2] == words[i][1]:
                assert gap == [(words[i][1], words[i][1])], (r["id"], words[i - 1:i + 1])
                n_ghosts += 1
            else:
                assert len(gap) == 1 and gap[0][1] > gap[0][0], (r["id"], gap)
        assert all(e > s for s, e in between[0] + between[-1])
    assert n_ghosts > 0


@needs_flite
def test_word_phones_agree_with_t2p(corpus):
    _, _, rows, _ = corpus
    for r in _all(rows):
        phones = [SUFFIX.match(p)[1] for p, _, _ in r["alignment"] if p != "sil"]
        want = 0
        for w, _, _ in r["words"]:
            res = subprocess.run(["t2p", w], capture_output=True, text=True)
            want += len([p for p in res.stdout.split() if p != "pau"])
        assert len(phones) == want


def _median_f0(rows) -> float:
    f0 = []
    for r in rows:
        with wave.open(r["audio"], "rb") as w:
            sr = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        for ph, s, e in r["alignment"]:
            if ph.split("_")[0] in VOWELS and e - s >= 0.05:
                c = int((s + e) / 2 * sr)
                seg = x[max(0, c - 320):c + 320]
                seg = seg - seg.mean()
                ac = np.correlate(seg, seg, "full")[len(seg) - 1:]
                lo, hi = sr // 400, sr // 60
                lag = lo + int(np.argmax(ac[lo:hi]))
                if ac[lag] > 0.3 * ac[0]:
                    f0.append(sr / lag)
    assert len(f0) >= 5
    return float(np.median(f0))


@needs_flite
def test_voices_are_distinct(corpus):
    _, _, rows, _ = corpus
    assert {r["speaker"] for r in _all(rows)} == set(VOICES)
    f0 = {v: _median_f0([r for r in _all(rows) if r["speaker"] == v]) for v in VOICES}
    # slt is a female voice (~175 Hz), kal16 a male one (~95 Hz): the right voice spoke.
    assert f0["slt"] > 1.4 * f0["kal16"], f0


@needs_flite
def test_second_run_does_nothing(corpus):
    out, manifests, _, _ = corpus
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in manifests.values()}
    wavs = sorted((out / "wavs").rglob("*.wav"))
    wav_times = [p.stat().st_mtime_ns for p in wavs]
    res = _run(*_args(out))
    assert res.returncode == 0, res.stderr
    assert "nothing to do" in res.stdout
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in manifests.values()} == before
    assert sorted((out / "wavs").rglob("*.wav")) == wavs
    assert [p.stat().st_mtime_ns for p in wavs] == wav_times
    # Asking for another corpus in the same place is an error, not a silent no-op.
    other = _args(out)
    other[other.index("--train-per-voice") + 1] = "5"
    res = _run(*other)
    assert res.returncode != 0 and res.stderr.startswith("error:") and "--force" in res.stderr
    assert res.stderr.strip().count("\n") == 0
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in manifests.values()} == before


@needs_flite
def test_missing_voice_is_one_line_error(tmp_path):
    res = _run("--out", str(tmp_path), "--voices", "slt,nosuchvoice", "--train-per-voice", "1")
    assert res.returncode != 0
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("error:")
    assert "nosuchvoice" in res.stderr
    assert not (tmp_path / "manifests").exists()


def test_missing_flite_is_one_line_error(tmp_path):
    res = _run("--out", str(tmp_path), "--flite", str(tmp_path / "no-flite"))
    assert res.returncode != 0
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("error:")
    assert "flite" in res.stderr


# -- the sentence generator ------------------------------------------------------------


def test_generator_is_deterministic():
    g1, g2 = sentences.SentenceGenerator("3:slt"), sentences.SentenceGenerator("3:slt")
    s1 = [g1.sentence() for _ in range(200)]
    assert s1 == [g2.sentence() for _ in range(200)]
    g3 = sentences.SentenceGenerator("3:rms")
    assert s1 != [g3.sentence() for _ in range(200)]
    assert sentences.SentenceGenerator(3).sentence() == sentences.SentenceGenerator(3).sentence()


def test_generator_unique_and_varied():
    gen = sentences.SentenceGenerator(0)
    raw = [gen.sentence() for _ in range(2000)]
    assert len(set(raw)) >= 0.99 * len(raw)          # the stream itself rarely repeats
    seen: set[str] = set(raw[:10])
    new = [gen.unique(seen) for _ in range(500)]
    assert len(set(new)) == 500 and not set(new) & set(raw[:10])
    assert seen >= set(new)
    assert any(s.endswith("?") for s in raw) and any(s.endswith(".") for s in raw)
    assert any("," in s for s in raw)
    used = {w.lower() for s in raw for w in sentences.words_of(s)}
    assert len(used) >= 500                           # a decent vocabulary in use


def test_generator_words_are_speakable():
    vocab = sentences.vocabulary()
    assert len(vocab) >= 500
    gen = sentences.SentenceGenerator(1)
    for _ in range(1000):
        s = gen.sentence()
        assert re.fullmatch(r"[A-Z][A-Za-z ,]*[a-z][.?]", s), s
        words = sentences.words_of(s)
        assert sentences.MIN_WORDS <= len(words) <= sentences.MAX_WORDS
        assert all(w.isalpha() and w.isascii() for w in words)
        assert {w.lower() for w in words} <= vocab
        assert " ," not in s and ",," not in s
    if shutil.which("t2p"):
        # flite can say every word of the vocabulary (one t2p call, words between commas).
        words = sorted(vocab)
        res = subprocess.run(["t2p", ", ".join(words)], capture_output=True, text=True)
        chunks = [c.split() for c in res.stdout.split("pau") if c.split()]
        assert len(chunks) == len(words)


def test_number_words():
    assert sentences.number_words(7) == ["seven"]
    assert sentences.number_words(13) == ["thirteen"]
    assert sentences.number_words(40) == ["forty"]
    assert sentences.number_words(342) == ["three", "hundred", "and", "forty", "two"]
    assert sentences.number_words(900) == ["nine", "hundred"]
