"""Every corpus recipe end to end on a mini-corpus in that corpus's own layout (smoke configs).

Each run goes from an existing copy of the corpus (stage 0 accepts it instead of
downloading) through manifests, text, the built-in aligner, shards, the audio model, the
duration model, vocos training, test-set generation and metrics, a few steps each, and
fills a RESULTS.md. LibriTTS-R and LibriHeavy also build the Voicebox LibriSpeech sets
from a mini LibriSpeech test-clean and a two-pair list in the stored list's format.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.data.minicorpora import make_libriheavy, make_librispeech, make_libritts, make_ljspeech, make_vctk

ROOT = Path(__file__).resolve().parents[2]
needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="Debian flite is not installed")


def _smoke(recipe: str, tmp: Path, corpus_root: Path, *extra: str) -> list[str]:
    return ["bash", str(ROOT / "recipes" / recipe / "run.sh"), "--corpus-root", str(corpus_root),
            "--data", str(tmp / "data"), "--exp", str(tmp / "exp"), "--download", str(tmp / "downloads"),
            "--audio-config", "conf/smoke.yaml", "--dur-config", "conf/duration_smoke.yaml",
            "--vocoder-config", "conf/vocoder_smoke.yaml", "--nj", "1", "--test-items", "2", "--nfe", "2",
            "--metrics", "wer,sim_o", "--results", str(tmp / "RESULTS.md"), *extra]


def _run(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def _check_run(tmp: Path, sets: list[str]) -> None:
    data, exp = tmp / "data", tmp / "exp"
    aligned = data / "manifests" / "aligned"
    for files in (sorted((aligned / "train.d").glob("piece-*.jsonl")), [aligned / "valid.jsonl"],
                  [aligned / "test.jsonl"]):
        rows = [json.loads(x) for f in files for x in f.read_text().splitlines()]
        assert rows and all(r["alignment"] and r["alignment"][-1][2] == pytest.approx(r["duration"], abs=0.02)
                            for r in rows)
    index = json.loads((data / "shards" / "train" / "index.json").read_text())
    assert index["shards"] and not list((data / "shards" / "train").glob("*.npy.*"))
    assert (data / "stats.json").is_file() and (data / "phones.txt").is_file()
    for model in ("audio", "audio/duration", "vocoder"):
        assert list((exp / model / "checkpoints").glob("step-*")), model
    assert (exp / "vocoder" / "vocos" / "config.yaml").is_file()
    for name in sets:
        metrics = json.loads((exp / "eval" / name / "metrics.json").read_text())
        system = metrics["systems"]["voiceflow"]
        assert system["n_items"] >= 1 and 0 <= system["metrics"]["wer"]["value"]
        assert -1 <= system["metrics"]["sim_o"]["value"] <= 1
    report = json.loads((exp / "eval" / "heldout_infill" / "report.json").read_text())
    assert report["items"] >= 1 and report["masked_l1_trained"] > 0
    results = (tmp / "RESULTS.md").read_text()
    assert "Held-out infilling" in results and "Zero-shot TTS of held-out" in results


@pytest.mark.slow
@needs_flite
def test_ljspeech_recipe(tmp_path):
    corpus = make_ljspeech(tmp_path / "corpus", 1, 12)
    _run(_smoke("ljspeech", tmp_path, corpus, "--prepare-opts", "--valid-size 1 --test-size 3",
                "--piece-rows", "3"))
    _check_run(tmp_path, ["heldout"])
    # the 8 training clips went through stages 2-4 in pieces (random samples of 3 rows on average)
    raw = sorted((tmp_path / "data/manifests/raw/train.d").glob("piece-*.jsonl"))
    ids = [json.loads(x)["id"] for f in raw for x in f.read_text().splitlines()]
    assert len(raw) >= 2 and sorted(ids) == sorted(json.loads(x)["id"] for x in
                                                   (tmp_path / "data/manifests/raw/train.jsonl").read_text().splitlines())
    assert json.loads((tmp_path / "data/shards/train/index.json").read_text())["shards"]
    # idempotent: a rerun of the data stages does nothing
    again = _run(_smoke("ljspeech", tmp_path, corpus, "--stop-stage", "4"))
    assert "stage 1" not in again.stdout and "stage 4" not in again.stdout
    # a --corpus-root that is not a copy of the corpus is an error, never a download
    wrong = subprocess.run(_smoke("ljspeech", tmp_path / "other", tmp_path / "nowhere", "--stop-stage", "1"),
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1 and "not a copy of ljspeech" in wrong.stderr
    assert not (tmp_path / "other" / "downloads").exists()
    # a redone stage 2 with other options redoes every piece (stale ones were kept)
    data = tmp_path / "data"
    texts = sorted((data / "manifests/text/train.d").glob("piece-*.jsonl"))
    before = {f.name: f.stat().st_mtime_ns for f in texts}
    (data / ".done.text").unlink()
    _run(_smoke("ljspeech", tmp_path, corpus, "--stage", "2", "--stop-stage", "2", "--on-error", "skip",
                "--piece-rows", "3"))
    assert (data / "manifests/text/train.d/.options").read_text() == "g2p=flite on_error=skip\n"
    assert all(f.stat().st_mtime_ns > before[f.name] for f in texts)
    # new manifests: the training split is dealt into pieces again (no test clip stays in training)
    for stage in ("manifests", "text"):
        (data / f".done.{stage}").unlink()
    _run(_smoke("ljspeech", tmp_path, corpus, "--stage", "1", "--stop-stage", "2",
                "--prepare-opts", "--valid-size 1 --test-size 5", "--piece-rows", "3"))
    train_ids = sorted(json.loads(x)["id"] for x in (data / "manifests/raw/train.jsonl").read_text().splitlines())
    for stage in ("raw", "text"):
        pieces = sorted((data / "manifests" / stage / "train.d").glob("piece-*.jsonl"))
        assert sorted(json.loads(x)["id"] for f in pieces for x in f.read_text().splitlines()) == train_ids, stage
    # stage 9 writes the table under exp/ unless --results names another file
    cmd = _smoke("ljspeech", tmp_path, corpus, "--stage", "9", "--stop-stage", "9")
    i = cmd.index("--results")
    _run(cmd[:i] + cmd[i + 2:])
    assert "Held-out infilling" in (tmp_path / "exp" / "RESULTS.md").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--stage", "abc"], "--stage abc: expected an integer"),
    (["--stop-stage", "0", "stray"], "unexpected argument 'stray'"),
    (["--corpus", "vctk"], "unknown option --corpus"),
    (["--here", "/tmp"], "unknown option --here"),
    (["--audio-config", "conf/nope.yaml"], "error: conf/nope.yaml"),
])
def test_recipe_options_are_checked(tmp_path, extra, message):
    out = subprocess.run(_smoke("ljspeech", tmp_path, tmp_path / "nowhere", *extra), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@pytest.mark.slow
@needs_flite
def test_vctk_recipe_skips_a_corrupt_file_when_asked(tmp_path):
    corpus = make_vctk(tmp_path / "corpus", 4, 4, faults=("corrupt_audio",))
    bad = corpus.faults["corrupt_audio"]
    # stop (the default): stage 1 fails naming the file, and writes no manifest
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    stopped = subprocess.run(_smoke("vctk", tmp_path, corpus, "--stop-stage", "1"), capture_output=True,
                             text=True, env=env, timeout=300)
    assert stopped.returncode != 0 and Path(bad["path"]).name in stopped.stderr
    assert not (tmp_path / "data" / "manifests" / "raw" / "train.jsonl").exists()
    _run(_smoke("vctk", tmp_path, corpus, "--on-error", "skip", "--prepare-opts", "--valid-size 1"))
    skipped = (tmp_path / "data" / "manifests" / "raw" / "skipped.tsv").read_text()
    assert Path(bad["path"]).name in skipped
    _check_run(tmp_path, ["heldout"])


def _mini_librispeech(tmp: Path) -> tuple[Path, Path]:
    """A mini LibriSpeech test-clean and a two-pair list in the stored list's format."""
    ls = make_librispeech(tmp / "ls", 1, 3)
    utts = ls.utts
    lines = ["prompt_id\tprompt_seconds\ttarget_id\ttarget_seconds"]
    for prompt, target in ((utts[0], utts[1]), (utts[2], utts[1])):
        lines.append(f"{prompt['id']}\t{prompt['duration']:.3f}\t{target['id']}\t{target['duration']:.3f}")
    (tmp / "list.tsv").write_text("\n".join(lines) + "\n")
    return tmp / "ls", tmp / "list.tsv"


@pytest.mark.slow
@needs_flite
def test_libritts_r_recipe_with_the_voicebox_sets(tmp_path):
    corpus = make_libritts(tmp_path / "corpus", 3, 4, subsets=("train-clean-100", "dev-clean", "test-clean"))
    ls_root, pairs = _mini_librispeech(tmp_path)
    _run(_smoke("libritts_r", tmp_path, corpus, "--librispeech-root", str(ls_root), "--eval-list", str(pairs),
                "--prompt-seconds", "1.0", "--subsets", "train-clean-100,dev-clean,test-clean"))
    _check_run(tmp_path, ["heldout", "librispeech_cross", "librispeech_continuation"])
    items = [json.loads(x) for x in (tmp_path / "exp/testsets/librispeech_cross/items.jsonl").read_text().splitlines()]
    assert len(items) == 2 and all(i["task"] == "tts" for i in items)
    assert "LibriSpeech test-clean 4-10 s, continuation" in (tmp_path / "RESULTS.md").read_text()


@pytest.mark.slow
@needs_flite
def test_libriheavy_recipe_reads_cuts_of_long_recordings(tmp_path):
    corpus = make_libriheavy(tmp_path / "corpus", 3, 4, subsets=("small", "dev", "test_clean"))
    ls_root, pairs = _mini_librispeech(tmp_path)
    _run(_smoke("libriheavy", tmp_path, corpus, "--cuts", str(corpus.cuts), "--librispeech-root", str(ls_root),
                "--eval-list", str(pairs), "--prompt-seconds", "1.0", "--subsets", "small,dev,test_clean"))
    _check_run(tmp_path, ["heldout", "librispeech_cross", "librispeech_continuation"])
    train = [json.loads(x) for f in sorted((tmp_path / "data/manifests/aligned/train.d").glob("piece-*.jsonl"))
             for x in f.read_text().splitlines()]
    assert all("offset" in r for r in train) and len({r["audio"] for r in train}) < len(train)
