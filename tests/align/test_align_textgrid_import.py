"""`voiceflow align --textgrids`: MFA TextGrids imported into a manifest, found by stem or id."""

import json

import pytest

from tests.align.conftest import textgrid_text
from voiceflow.bin import align as align_cli


def _rows(tmp_path, n=3):
    rows = []
    for i in range(n):
        rows.append({"id": f"spk_{i}", "audio": str(tmp_path / "wavs" / f"spk_{i}.wav"), "speaker": "spk",
                     "text": "hello world", "duration": 1.5})
    manifest = tmp_path / "in.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest, rows


def _grid(path, xmax=1.5):
    tiers = {"words": [(0.0, 0.2, ""), (0.2, 0.7, "hello"), (0.7, 1.3, "world"), (1.3, xmax, "")],
             "phones": [(0.0, 0.2, ""), (0.2, 0.3, "HH"), (0.3, 0.45, "AH0"), (0.45, 0.55, "L"), (0.55, 0.7, "OW1"),
                        (0.7, 0.9, "W"), (0.9, 1.05, "ER1"), (1.05, 1.15, "L"), (1.15, 1.3, "D"), (1.3, xmax, "")]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textgrid_text(tiers, xmax))


def test_imports_textgrids_from_mfa_speaker_folders(tmp_path):
    manifest, rows = _rows(tmp_path)
    for r in rows:
        _grid(tmp_path / "mfa" / "spk" / f"{r['id']}.TextGrid")
    out = tmp_path / "out.jsonl"
    assert align_cli.main(["--manifest", str(manifest), "--out", str(out), "--textgrids", str(tmp_path / "mfa")]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [r["id"] for r in rows]
    first = got[0]
    assert first["alignment"][0] == ["sil", 0.0, 0.2] and first["alignment"][1][0] == "HH_B"
    assert ["sil", 0.7, 0.7] in first["alignment"]  # the ghost silence between the touching words
    assert first["alignment"][-1][2] == 1.5
    assert first["words"] == [["hello", 0.2, 0.7], ["world", 0.7, 1.3]]


def test_missing_textgrid_stops_or_is_skipped(tmp_path, capsys):
    manifest, rows = _rows(tmp_path)
    for r in rows[:2]:
        _grid(tmp_path / "mfa" / f"{r['id']}.TextGrid")
    out = tmp_path / "out.jsonl"
    with pytest.raises(SystemExit) as e:
        align_cli.main(["--manifest", str(manifest), "--out", str(out), "--textgrids", str(tmp_path / "mfa")])
    assert e.value.code == 1 and not out.exists()
    err = capsys.readouterr().err
    assert f"row spk_2: no TextGrid for it under {tmp_path / 'mfa'} (looked for spk_2.TextGrid" in err
    assert align_cli.main(["--manifest", str(manifest), "--out", str(out), "--textgrids", str(tmp_path / "mfa"),
                           "--on-error", "skip"]) == 0
    assert len(out.read_text().splitlines()) == 2


def test_textgrid_shorter_than_the_audio_is_an_error_of_that_row(tmp_path, capsys):
    manifest, rows = _rows(tmp_path, n=1)
    _grid(tmp_path / "mfa" / "spk_0.TextGrid", xmax=1.3)  # the manifest says 1.5 s
    with pytest.raises(SystemExit):
        align_cli.main(["--manifest", str(manifest), "--out", str(tmp_path / "o.jsonl"),
                        "--textgrids", str(tmp_path / "mfa")])
    assert "spk_0" in capsys.readouterr().err


def test_needs_g2p_or_textgrids(tmp_path, capsys):
    manifest, _ = _rows(tmp_path, n=1)
    with pytest.raises(SystemExit):
        align_cli.main(["--manifest", str(manifest), "--out", str(tmp_path / "o.jsonl")])
    assert "--g2p" in capsys.readouterr().err
