"""recipes/shared/local/split_manifest.py: pieces that are a deterministic partition of the rows."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("split_manifest", ROOT / "recipes/shared/local/split_manifest.py")
split_manifest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(split_manifest)


def _manifest(tmp_path, n=50):
    rows = [{"id": f"book{i // 10}_{i:03d}", "audio": f"wavs/{i}.wav" if i % 2 else f"/abs/{i}.wav", "text": "é"}
            for i in range(n)]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, rows


def _read(out):
    return {f.name: [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines()]
            for f in sorted(out.glob("piece-*.jsonl"))}


def test_pieces_partition_the_rows_and_mix_the_books(tmp_path):
    manifest, rows = _manifest(tmp_path)
    counts = split_manifest.split(manifest, tmp_path / "d", rows_per_piece=10, seed=0)
    pieces = _read(tmp_path / "d")
    assert len(counts) == 5 and sum(counts) == 50 and len(pieces) == sum(1 for c in counts if c)
    got = sorted(r["id"] for p in pieces.values() for r in p)
    assert got == sorted(r["id"] for r in rows)
    # consecutive rows (one "book") are spread over several pieces
    assert len({name for name, p in pieces.items() for r in p if r["id"].startswith("book0_")}) >= 2
    for p in pieces.values():
        for r in p:
            assert Path(r["audio"]).is_absolute() and r["text"] == "é"
            if not r["audio"].startswith("/abs/"):
                assert r["audio"] == str((tmp_path / "wavs").resolve() / Path(r["audio"]).name)
    # deterministic for a seed, different for another
    split_manifest.split(manifest, tmp_path / "again", rows_per_piece=10, seed=0)
    assert _read(tmp_path / "again") == pieces
    split_manifest.split(manifest, tmp_path / "other", rows_per_piece=10, seed=1)
    assert _read(tmp_path / "other") != pieces


def test_bad_line_is_an_error_naming_it_and_writes_nothing(tmp_path):
    manifest, _ = _manifest(tmp_path, n=3)
    manifest.write_text(manifest.read_text() + "not json\n")
    from voiceflow.errors import VoiceflowError

    with pytest.raises(VoiceflowError, match=r"train.jsonl:4: not a JSON object with an id"):
        split_manifest.split(manifest, tmp_path / "d", rows_per_piece=2, seed=0)
    assert not (tmp_path / "d").exists() and not list(tmp_path.glob(".d.*"))
