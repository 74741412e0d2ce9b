"""Mini corpora in the exact on-disk layouts of the corpora voiceflow prepares (tests, smoke runs).

    from minicorpora import make_ljspeech, make_libritts, make_vctk, make_libriheavy, make_librispeech

    c = make_vctk(tmp_path, n_speakers=4, utts_per_speaker=3, speech=False, faults=("corrupt_audio",))
    c                 # tmp_path / "VCTK-Corpus-0.92", a pathlib.Path: what `voiceflow prepare --root` takes
    c.root            # the same as a plain Path
    c.utts            # one dict per utterance written: id, speaker, text, duration, audio, ...
                      # (and "fault": KIND on the utterances a fault hit)
    c.faults          # {"corrupt_audio": {"id": ..., "path": FILE A PREPARATION NAMES}, ...}
    c.expected()      # the utterances a preparation keeps (those no fault hit)

Every generator takes ``(root, n_speakers, utts_per_speaker, *, speech=True, faults=())``,
writes the corpus folder under ``root`` and returns it as a :class:`MiniCorpus` (a
pathlib.Path with the attributes above):

  make_ljspeech(root, 1, 10)      root/LJSpeech-1.1: metadata.csv (ID|raw|normalized), wavs/ 22 050 Hz
  make_libritts(root, 2, 3)       root/LibriTTS_R (``folder="LibriTTS"`` for LibriTTS): speakers
                                  alternate between train-clean-100 and test-clean; .wav 24 kHz,
                                  .normalized.txt, .original.txt, .trans.tsv, .book.tsv
  make_vctk(root, 4, 3)           root/VCTK-Corpus-0.92: txt/, wav48_silence_trimmed/ flac 48 kHz
                                  mic1 + mic2, speaker-info.txt; plus p315 with recordings but no
                                  transcripts (``no_text_speaker=True``), as in the release
  make_libriheavy(root, 2, 4)     root/librilight/{small,large}/<spk>/<book>/*.flac 16 kHz holding
                                  ``cuts_per_recording`` cuts each, and
                                  root/libriheavy/libriheavy_cuts_{small,test_clean}.jsonl.gz;
                                  c.root is the LibriLight audio root, c.cuts the cuts folder
  make_librispeech(root, 2, 3)    root/LibriSpeech/test-clean/<spk>/<chapter>/*.flac 16 kHz + trans.txt

Audio: ``speech=True`` synthesizes each sentence with Debian's flite (voices slt, rms, awb,
kal16, one per speaker in turn; 16 kHz, resampled to the corpus's rate by
voiceflow.audio.load_audio) so the built-in aligner can align it; ``speech=False`` writes
short tones (fast, no flite needed).

Faults (each hits a different utterance, counted back from the last one written):
  corrupt_audio     the audio file is overwritten with garbage bytes
  missing_audio     the audio file is deleted (its transcript stays)
  empty_transcript  the transcript is empty
  bad_line          a malformed line is added to metadata.csv / a trans.txt / a cut manifest
                    (LJSpeech, LibriSpeech, LibriHeavy)
  truncated_gz      LibriHeavy: the last cut manifest's gzip stream is cut short (its cuts
                    count as hit: how many survive depends on the compression)
LibriHeavy's audio faults hit a recording, so every cut of it.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

VOICES = ("slt", "rms", "awb", "kal16")
FAULTS = ("corrupt_audio", "missing_audio", "empty_transcript", "bad_line", "truncated_gz")
GARBAGE = b"\x00\x13this is not an audio file\xff" * 16
SENTENCES = [  # (as printed, as spoken): short, simple, a few with numbers to normalise
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("Please call Stella soon.", "Please call Stella soon."),
    ("It is 5 miles to town.", "It is five miles to town."),
    ("The sun is warm today.", "The sun is warm today."),
    ("Open the green door.", "Open the green door."),
    ("We had 2 cups of tea.", "We had two cups of tea."),
    ("My dog likes long walks.", "My dog likes long walks."),
    ("She read a good book.", "She read a good book."),
    ("The rain fell all night.", "The rain fell all night."),
    ("He plays the old piano.", "He plays the old piano."),
    ("Bring me 3 red apples.", "Bring me three red apples."),
    ("The bird sang at dawn.", "The bird sang at dawn."),
    ("Our boat is very small.", "Our boat is very small."),
    ("They walked to the park.", "They walked to the park."),
    ("A cold wind blew in.", "A cold wind blew in."),
    ("The bell rang twice.", "The bell rang twice."),
]


class MiniCorpus(type(Path())):
    """The corpus root (a pathlib.Path) carrying what was written: ``utts``, ``faults``, ``cuts``."""

    utts: list[dict]
    faults: dict[str, dict]
    cuts: Path | None  # LibriHeavy: the folder of the cut manifests

    @property
    def root(self) -> Path:
        return Path(self)

    def expected(self) -> list[dict]:
        """The utterances a preparation keeps: those no fault hit."""
        return [u for u in self.utts if not u.get("fault")]


def corpus(root: Path, utts: list[dict], faults: dict[str, dict], cuts: Path | None = None) -> MiniCorpus:
    c = MiniCorpus(root)
    c.utts, c.faults, c.cuts = utts, faults, cuts
    return c


def sentence(k: int) -> tuple[str, str]:
    return SENTENCES[k % len(SENTENCES)]


def upper_words(text: str) -> str:
    """LibriSpeech-style transcript: upper case, no punctuation."""
    return " ".join(re.sub(r"[^A-Z' ]", " ", text.upper()).split())


@functools.lru_cache(maxsize=512)
def flite_speech(text: str, voice: str, sample_rate: int) -> np.ndarray:
    """``text`` spoken by flite's ``voice``, as float32 at ``sample_rate``."""
    from voiceflow.audio import load_audio

    if shutil.which("flite") is None:
        raise RuntimeError("flite is not installed (Debian package flite); use speech=False")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "speech.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True, capture_output=True)
        return load_audio(out, sample_rate).numpy()


def tone(k: int, speaker: int, sample_rate: int) -> np.ndarray:
    """A short tone (0.4-0.7 s) whose pitch tells the speaker and the utterance apart."""
    seconds = 0.4 + 0.05 * (k % 7)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (0.3 * np.sin(2 * np.pi * (150 + 60 * speaker + 11 * (k % 5)) * t)).astype(np.float32)


def make_audio(text: str, k: int, speaker: int, sample_rate: int, speech: bool) -> np.ndarray:
    return flite_speech(text, VOICES[speaker % len(VOICES)], sample_rate) if speech else tone(k, speaker, sample_rate)


def write_audio(path: Path, data: np.ndarray, sample_rate: int) -> float:
    """Write 16-bit wav/flac (by the suffix); return the duration in seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "FLAC" if path.suffix == ".flac" else "WAV"
    soundfile.write(path, np.clip(data, -1, 1), sample_rate, subtype="PCM_16", format=fmt)
    return len(data) / sample_rate


def _check_faults(faults, allowed: set[str], n_utts: int) -> tuple[str, ...]:
    faults = tuple(faults)
    bad = [f for f in faults if f not in allowed]
    if bad:
        raise ValueError(f"fault(s) {bad} not supported here (choose from {sorted(allowed)})")
    if n_utts <= len(faults):
        raise ValueError(f"{len(faults)} faults need more than {n_utts} utterances")
    return faults


def _utt_faults(utts: list[dict], faults: tuple[str, ...]) -> dict[str, dict]:
    """Per-utterance faults -> the utterance each hits (the last ones, one each); marks it."""
    kinds = [f for f in faults if f in ("corrupt_audio", "missing_audio", "empty_transcript")]
    targets = {}
    for i, kind in enumerate(kinds):
        u = utts[-(i + 1)]
        u["fault"] = kind
        targets[kind] = u
    return targets


def _damage_audio(kind: str, path: Path) -> None:
    if kind == "corrupt_audio":
        path.write_bytes(GARBAGE)
    elif kind == "missing_audio":
        path.unlink()


def make_ljspeech(root, n_speakers: int = 1, utts_per_speaker: int = 10, *, speech: bool = True,
                  faults=()) -> MiniCorpus:
    """LJSpeech-1.1/ with ``utts_per_speaker`` clips of the one speaker (``n_speakers`` must be 1)."""
    if n_speakers != 1:
        raise ValueError("LJSpeech has one speaker")
    faults = _check_faults(faults, {"corrupt_audio", "missing_audio", "empty_transcript", "bad_line"},
                           utts_per_speaker)
    base = Path(root) / "LJSpeech-1.1"
    utts, lines = [], []
    for k in range(utts_per_speaker):
        uid = f"LJ001-{k + 1:04d}"
        raw, norm = sentence(k)
        path = base / "wavs" / f"{uid}.wav"
        duration = write_audio(path, make_audio(norm, k, 0, 22050, speech), 22050)
        utts.append({"id": uid, "speaker": "LJ", "text": norm, "text_original": raw, "duration": duration,
                     "audio": str(path)})
        lines.append(f"{uid}|{raw}|{norm}")
    done = {}
    for kind, u in _utt_faults(utts, faults).items():
        _damage_audio(kind, Path(u["audio"]))
        if kind == "empty_transcript":
            lines[utts.index(u)] = f"{u['id']}||"
        done[kind] = {"id": u["id"], "path": u["audio"] if kind != "empty_transcript" else str(base / "metadata.csv")}
    if "bad_line" in faults:
        lines.insert(1, "a line without any separators")
        done["bad_line"] = {"path": str(base / "metadata.csv"), "line": 2}
    (base / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus(base, utts, done)


def make_libritts(root, n_speakers: int = 2, utts_per_speaker: int = 3, *, speech: bool = True, faults=(),
                  folder: str = "LibriTTS_R", subsets=("train-clean-100", "test-clean")) -> MiniCorpus:
    """<folder>/<subset>/<spk>/<chapter>/ (speaker i in subsets[i % len(subsets)]), 24 kHz wavs."""
    faults = _check_faults(faults, {"corrupt_audio", "missing_audio", "empty_transcript"},
                           n_speakers * utts_per_speaker)
    base = Path(root) / folder
    utts = []
    for i in range(n_speakers):
        spk, chapter, subset = str(100 + i), str(1000 + i), subsets[i % len(subsets)]
        d = base / subset / spk / chapter
        trans = []
        for u in range(utts_per_speaker):
            k = i * utts_per_speaker + u
            uid = f"{spk}_{chapter}_{u // 2:06d}_{u % 2:06d}"
            raw, norm = sentence(k)
            duration = write_audio(d / f"{uid}.wav", make_audio(norm, k, i, 24000, speech), 24000)
            (d / f"{uid}.normalized.txt").write_text(norm, encoding="utf-8")
            (d / f"{uid}.original.txt").write_text(raw, encoding="utf-8")
            trans.append(f"{uid}\t{raw}\t{norm}")
            utts.append({"id": uid, "speaker": spk, "text": norm, "text_original": raw, "duration": duration,
                         "audio": str(d / f"{uid}.wav"), "subset": subset, "chapter": chapter})
        (d / f"{spk}_{chapter}.trans.tsv").write_text("\n".join(trans) + "\n", encoding="utf-8")
        (d / f"{spk}_{chapter}.book.tsv").write_text(f"{spk}_{chapter}\tA Book\n", encoding="utf-8")
    done = {}
    for kind, u in _utt_faults(utts, faults).items():
        _damage_audio(kind, Path(u["audio"]))
        path = Path(u["audio"]).with_suffix(".normalized.txt") if kind == "empty_transcript" else Path(u["audio"])
        if kind == "empty_transcript":
            path.write_text("", encoding="utf-8")
        done[kind] = {"id": u["id"], "path": str(path)}
    return corpus(base, utts, done)


def make_vctk(root, n_speakers: int = 4, utts_per_speaker: int = 3, *, speech: bool = True, faults=(),
              no_text_speaker: bool = True) -> MiniCorpus:
    """VCTK-Corpus-0.92/ with speakers p225.. (F, M alternately), mic1 and mic2 flac at 48 kHz.

    ``no_text_speaker`` adds p315 with two recordings and no transcripts (c.faults["no_text_speaker"]).
    A ``missing_audio`` fault deletes a mic1 file only (mic2 stays).
    """
    faults = _check_faults(faults, {"corrupt_audio", "missing_audio", "empty_transcript"},
                           n_speakers * utts_per_speaker)
    base = Path(root) / "VCTK-Corpus-0.92"
    info = ["ID  AGE  GENDER  ACCENTS  REGION COMMENTS "]
    utts = []

    def record(spk: str, i: int, n: int, with_text: bool) -> None:
        for u in range(n):
            k = i * utts_per_speaker + u
            uid = f"{spk}_{u + 1:03d}"
            _, norm = sentence(k)
            data = make_audio(norm, k, i, 48000, speech)
            mic1 = base / "wav48_silence_trimmed" / spk / f"{uid}_mic1.flac"
            duration = write_audio(mic1, data, 48000)
            write_audio(mic1.with_name(f"{uid}_mic2.flac"), 0.7 * data, 48000)
            if with_text:
                (base / "txt" / spk).mkdir(parents=True, exist_ok=True)
                (base / "txt" / spk / f"{uid}.txt").write_text(norm + "\n", encoding="utf-8")
                utts.append({"id": uid, "speaker": spk, "text": norm, "duration": duration, "audio": str(mic1),
                             "audio_mic2": str(mic1.with_name(f"{uid}_mic2.flac")),
                             "gender": "F" if i % 2 == 0 else "M"})

    for i in range(n_speakers):
        spk = f"p{225 + i}"
        info.append(f"{spk}  {20 + i}  {'F' if i % 2 == 0 else 'M'}    English    Southern  England")
        record(spk, i, utts_per_speaker, True)
    done = {}
    if no_text_speaker:
        info.append("p315  23  M    American    Connecticut")
        record("p315", n_speakers, 2, False)
        done["no_text_speaker"] = {"speaker": "p315", "path": str(base / "txt" / "p315")}
    (base / "speaker-info.txt").write_text("\n".join(info) + "\n", encoding="utf-8")
    for kind, u in _utt_faults(utts, faults).items():
        _damage_audio(kind, Path(u["audio"]))
        path = base / "txt" / u["speaker"] / f"{u['id']}.txt" if kind == "empty_transcript" else Path(u["audio"])
        if kind == "empty_transcript":
            path.write_text("\n", encoding="utf-8")
        done[kind] = {"id": u["id"], "path": str(path)}
    return corpus(base, utts, done)


def make_librispeech(root, n_speakers: int = 2, utts_per_speaker: int = 3, *, speech: bool = True, faults=(),
                     subsets=("test-clean",)) -> MiniCorpus:
    """LibriSpeech/<subset>/<spk>/<chapter>/ with 16 kHz flac and <spk>-<chapter>.trans.txt."""
    faults = _check_faults(faults, {"corrupt_audio", "missing_audio", "empty_transcript", "bad_line"},
                           n_speakers * utts_per_speaker)
    base = Path(root) / "LibriSpeech"
    utts, trans = [], {}
    for i in range(n_speakers):
        spk, chapter, subset = str(1089 + i), str(134686 + i), subsets[i % len(subsets)]
        d = base / subset / spk / chapter
        lines = trans[d / f"{spk}-{chapter}.trans.txt"] = []
        for u in range(utts_per_speaker):
            k = i * utts_per_speaker + u
            uid = f"{spk}-{chapter}-{u:04d}"
            text = upper_words(sentence(k)[1])
            duration = write_audio(d / f"{uid}.flac", make_audio(sentence(k)[1], k, i, 16000, speech), 16000)
            lines.append(f"{uid} {text}")
            utts.append({"id": uid, "speaker": spk, "text": text, "duration": duration,
                         "audio": str(d / f"{uid}.flac"), "subset": subset, "chapter": chapter})
    done = {}
    for kind, u in _utt_faults(utts, faults).items():
        _damage_audio(kind, Path(u["audio"]))
        path = Path(u["audio"]).parent / f"{u['speaker']}-{u['chapter']}.trans.txt"
        if kind == "empty_transcript":
            lines = trans[path]
            lines[[line.split(" ")[0] for line in lines].index(u["id"])] = u["id"]
        done[kind] = {"id": u["id"], "path": str(path if kind == "empty_transcript" else u["audio"])}
    if "bad_line" in faults:
        path, lines = next(iter(trans.items()))
        lines.insert(1, "this is not an utterance line")
        done["bad_line"] = {"path": str(path), "line": 2}
    for path, lines in trans.items():
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus(base, utts, done)


def make_libriheavy(root, n_speakers: int = 2, utts_per_speaker: int = 4, *, speech: bool = True, faults=(),
                    cuts_per_recording: int = 2, subsets=("small", "test_clean"),
                    source_prefix: str = "download/librilight/") -> MiniCorpus:
    """LibriLight recordings under root/librilight and LibriHeavy cut manifests under root/libriheavy.

    Speaker i's cuts go to ``subsets[i % len(subsets)]``; small/medium/large cuts point into
    that LibriLight part, dev/test cuts into large/. Each recording holds
    ``cuts_per_recording`` utterances separated by silence; a cut is its utterance plus 0.1 s
    either side. Sources are written as ``source_prefix + <part>/<spk>/<book>/<file>.flac``.
    """
    faults = _check_faults(faults, set(FAULTS), n_speakers * utts_per_speaker)
    sr, pad = 16000, 1600
    audio_root, cuts_dir = Path(root) / "librilight", Path(root) / "libriheavy"
    utts, recordings, cuts = [], [], {s: [] for s in subsets}
    for i in range(n_speakers):
        spk, subset = str(100 + i), subsets[i % len(subsets)]
        part = subset if subset in ("small", "medium", "large") else "large"
        book = f"book_{spk}_librivox_64kb_mp3"
        for r, first in enumerate(range(0, utts_per_speaker, cuts_per_recording)):
            rec_id = f"{part}/{spk}/{book}/{r:02d}_book_{spk}_64kb"
            path = audio_root / f"{rec_id}.flac"
            pieces, position, rec_utts = [np.zeros(8000, np.float32)], 8000, []
            for u in range(first, min(first + cuts_per_recording, utts_per_speaker)):
                k = i * utts_per_speaker + u
                raw, norm = sentence(k)
                data = make_audio(norm, k, i, sr, speech)
                start, n = position - pad, len(data) + 2 * pad
                pieces += [data, np.zeros(6400, np.float32)]
                position += len(data) + 6400
                cut_id = f"{rec_id}_{u - first}"
                rec_utts.append({"id": cut_id.replace("/", "_"), "cut_id": cut_id, "speaker": spk, "text": raw,
                                 "text_normalized": upper_words(norm), "offset": round(start / sr, 6),
                                 "duration": round(n / sr, 6), "audio": str(path), "subset": subset})
            signal = np.concatenate(pieces)
            write_audio(path, signal, sr)
            recording = {"id": rec_id, "sources": [{"type": "file", "channels": [0],
                                                    "source": f"{source_prefix}{rec_id}.flac"}],
                         "sampling_rate": sr, "num_samples": len(signal), "duration": len(signal) / sr,
                         "channel_ids": [0]}
            for j, u in enumerate(rec_utts):
                previous = rec_utts[j - 1]["text"] if j else ""
                sup = {"id": u["cut_id"], "recording_id": rec_id, "start": 0, "duration": u["duration"],
                       "channel": 0, "language": "English", "speaker": spk,
                       "custom": {"texts": [u["text"], u["text_normalized"]],
                                  "pre_texts": [previous, upper_words(previous)], "begin_byte": 100 * j,
                                  "end_byte": 100 * j + len(u["text"])}}
                cuts[subset].append({"id": u["cut_id"], "start": u["offset"], "duration": u["duration"],
                                     "channel": 0, "supervisions": [sup], "recording": recording,
                                     "custom": {"text_path": f"download/librilight_text/output_text_{part}_cleaned/"
                                                             f"{book}/text.txt"}, "type": "MonoCut"})
            recordings.append((path, rec_utts))
            utts += rec_utts
    done = _libriheavy_faults(faults, utts, recordings, cuts)
    if "empty_transcript" in done:
        done["empty_transcript"]["path"] = str(cuts_dir / f"libriheavy_cuts_{done['empty_transcript']['subset']}.jsonl.gz")
    lines = {s: [json.dumps(c) for c in cs] for s, cs in cuts.items()}
    if "bad_line" in faults:
        lines[subsets[0]].insert(1, '{"id": "not json')
        done["bad_line"] = {"path": str(cuts_dir / f"libriheavy_cuts_{subsets[0]}.jsonl.gz"), "line": 2}
    cuts_dir.mkdir(parents=True, exist_ok=True)
    for subset, subset_lines in lines.items():
        with gzip.open(cuts_dir / f"libriheavy_cuts_{subset}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in subset_lines))
    if "truncated_gz" in faults:
        path = cuts_dir / f"libriheavy_cuts_{subsets[-1]}.jsonl.gz"
        path.write_bytes(path.read_bytes()[:-40])
        for u in utts:
            if u["subset"] == subsets[-1]:
                u.setdefault("fault", "truncated_gz")
        done["truncated_gz"] = {"path": str(path)}
    return corpus(audio_root, utts, done, cuts=cuts_dir)


def _libriheavy_faults(faults, utts, recordings, cuts) -> dict[str, dict]:
    """Audio faults hit the last recordings (all their cuts), empty_transcript the last free cut."""
    done = {}
    free = list(recordings)
    for kind in ("corrupt_audio", "missing_audio"):
        if kind in faults:
            path, rec_utts = free.pop()
            _damage_audio(kind, path)
            for u in rec_utts:
                u["fault"] = kind
            done[kind] = {"path": str(path), "ids": [u["id"] for u in rec_utts]}
    if "empty_transcript" in faults:
        u = next(u for u in reversed(utts) if not u.get("fault"))
        u["fault"] = "empty_transcript"
        cut = next(c for c in cuts[u["subset"]] if c["id"] == u["cut_id"])
        cut["supervisions"][0]["custom"]["texts"] = ["", ""]
        done["empty_transcript"] = {"id": u["id"], "cut_id": u["cut_id"], "subset": u["subset"]}
    return done
