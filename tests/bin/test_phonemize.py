"""`voiceflow phonemize`: the text stage of the corpus recipes."""

import json

import pytest

from voiceflow.bin import phonemize


def _manifest(tmp_path, texts):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": f"u{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def test_normalises_and_counts_phones(tmp_path):
    manifest = _manifest(tmp_path, ["I have 3 dogs.", "Dr. Smith paid $5."])
    out = tmp_path / "out.jsonl"
    assert phonemize.main(["--manifest", str(manifest), "--out", str(out), "--g2p", "cmudict"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert "three" in rows[0]["text_normalized"].lower() and "dollars" in rows[1]["text_normalized"].lower()
    assert rows[0]["n_phones"] >= 10 and rows[0]["text"] == "I have 3 dogs."


def test_unknown_word_stops_skips_or_becomes_spn(tmp_path, capsys):
    manifest = _manifest(tmp_path, ["hello world", "hello qxzvwk", ""])
    out = tmp_path / "out.jsonl"
    with pytest.raises(SystemExit) as e:
        phonemize.main(["--manifest", str(manifest), "--out", str(out), "--g2p", "cmudict"])
    assert e.value.code == 1 and not out.exists()
    assert "row u1" in capsys.readouterr().err
    assert phonemize.main(["--manifest", str(manifest), "--out", str(out), "--g2p", "cmudict",
                           "--on-error", "skip"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["u0"]
    err = capsys.readouterr().err
    assert "row u1" in err and "row u2: empty transcript" in err
    listed = (tmp_path / "out.jsonl.skipped.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in listed] == ["u1", "u2"] and "empty transcript" in listed[1]
    assert phonemize.main(["--manifest", str(manifest), "--out", str(out), "--g2p", "cmudict",
                           "--on-error", "skip", "--unknown", "spn"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["u0", "u1"]
    assert "1 distinct unknown word(s) [qxzvwk (1)]" in capsys.readouterr().out
