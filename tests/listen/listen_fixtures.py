"""Tiny listening-test inputs made by code (wav folders; key and result files for the analysis),
and a strict check of a results file against its key."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile

from voiceflow.listen import KEY_FORMAT, RESULT_FORMAT

# an item whose file name is markup, and system names/paths that would give the game away
MARKUP_STEM = "<img src=x onerror=alert(1)>"
MARKUP_TEXT = "</script><script>alert('text')</script> & <b>bold</b> \u2028 line"
REVEALING = {"A": "groundtruth_SECRETNAME", "B": "ours_v2_SECRETNAME"}


def write_wav(path: Path, seconds: float = 0.3, rate: int = 16000, channels: int = 1,
              freq: float = 440.0, title: str | None = None) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    wav = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.stack([wav] * channels, axis=1) if channels > 1 else wav
    path.parent.mkdir(parents=True, exist_ok=True)
    with soundfile.SoundFile(str(path), "w", rate, channels, subtype="PCM_16", format="WAV") as f:
        if title:
            f.title = title
        f.write(data)
    return path


def make_dir(root: Path, name: str, stems: list[str], rate: int = 16000, freq: float = 440.0,
             texts: dict[str, str] | None = None, seconds: float = 0.3) -> Path:
    """A generated-style directory: one wav per stem (+ meta.jsonl with texts)."""
    d = root / name
    for i, stem in enumerate(stems):
        write_wav(d / f"{stem}.wav", seconds, rate, freq=freq * (1 + 0.1 * i), title=f"made by {name}")
    if texts is not None:
        with open(d / "meta.jsonl", "w", encoding="utf-8") as f:
            for stem in stems:
                f.write(json.dumps({"id": stem, "text": texts.get(stem, f"text of {stem}"), "nfe": 32}) + "\n")
    return d


def make_inputs(root: Path, n_items: int = 3, n_systems: int = 2, markup: bool = True,
                texts: bool = True, seconds: float = 0.3) -> dict:
    """Systems (with revealing names and directories), a reference and texts for a test."""
    stems = [f"utt{i:02d}" for i in range(n_items - 1)] + [MARKUP_STEM if markup else f"utt{n_items - 1:02d}"]
    item_texts = {s: f"Sentence number {i}." for i, s in enumerate(stems)}
    item_texts[stems[-1]] = MARKUP_TEXT
    systems = []
    for k, label in enumerate("ABCD"[:n_systems]):
        name = REVEALING.get(label, f"sys{label}_SECRETNAME")
        d = make_dir(root, f"{name}_dir", stems, freq=300.0 + 100 * k, texts=item_texts if texts else None,
                     seconds=seconds)
        systems.append((name, d))
    reference = make_dir(root, "reference_SECRETDIR", stems, freq=250.0, texts=item_texts if texts else None,
                         seconds=seconds)
    return {"stems": stems, "texts": item_texts, "systems": systems, "reference": reference}


def page_config(page: Path) -> dict:
    html = (page / "index.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="config">(.*?)</script>', html, re.S).group(1)
    return json.loads(block)


def check_result(result: dict, key: dict) -> None:
    """Assert that ``result`` follows the results format and covers every trial of ``key`` once."""
    assert result["format"] == RESULT_FORMAT
    assert result["test_id"] == key["test_id"] and result["test"] == key["test"]
    for field in ("listener", "user_agent"):
        assert isinstance(result[field], str) and result[field]
    started = datetime.fromisoformat(result["started"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(result["finished"].replace("Z", "+00:00"))
    assert started <= finished
    trials = result["trials"]
    assert sorted(t["trial"] for t in trials) == sorted(key["trials"])          # each exactly once
    assert sorted(t["position"] for t in trials) == list(range(len(trials)))
    test, stimuli = key["test"], key["stimuli"]
    for t in trials:
        spec = key["trials"][t["trial"]]
        assert t["attention"] is spec["attention"]
        assert sorted(t["stimuli"]) == sorted(spec["stimuli"]) and len(set(t["stimuli"])) == len(t["stimuli"])
        assert set(t["plays"]) == set(t["stimuli"]) and all(v >= 1 for v in t["plays"].values())
        if t["attention"]:
            assert isinstance(t["answer"], int) and "ratings" not in t
            continue
        rated = [s for s in t["stimuli"] if stimuli[s]["role"] != "reference"]
        if test in ("mos", "smos"):
            assert list(t["ratings"]) == rated and len(rated) == 1
            assert all(isinstance(v, int) and 1 <= v <= 5 for v in t["ratings"].values())
        elif test == "mushra":
            assert sorted(t["ratings"]) == sorted(rated)
            assert {stimuli[s]["role"] for s in rated} >= {"hidden_reference", "anchor", "test"}
            assert all(isinstance(v, int) and 0 <= v <= 100 for v in t["ratings"].values())
        elif test == "cmos":
            assert len(t["stimuli"]) == 2 and isinstance(t["cmos"], int) and -3 <= t["cmos"] <= 3
        elif test == "ab":
            assert len(t["stimuli"]) == 2 and (t["choice"] is None or t["choice"] in t["stimuli"])


# ----------------------------------------------------------------------------- key and result files

def write(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def key_file(tmp_path, test, systems, stimuli, trials, test_id="t1"):
    stim = {sid: {"system": s, "item": item, "role": role} for sid, (s, item, role) in stimuli.items()}
    return write(tmp_path / "page" / f"{test_id}.key.json",
                 {"format": KEY_FORMAT, "test_id": test_id, "test": test, "systems": systems,
                  "stimuli": stim, "trials": trials})


def result(test, listener, trials, test_id="t1"):
    return {"format": RESULT_FORMAT, "test_id": test_id, "test": test, "listener": listener,
            "started": "2026-01-01T09:00:00Z", "finished": "2026-01-01T09:10:00Z", "user_agent": "pytest",
            "trials": [{"position": n, "attention": False, "plays": {}, **t} for n, t in enumerate(trials)]}


def by_system(analysis):
    return {row["system"]: row for row in analysis["systems"]}
