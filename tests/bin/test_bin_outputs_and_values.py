"""Outputs that cannot be written and option or item values that make no sense are refused
before any work is done (the checkpoint given here does not even exist), in one line."""

import json

import pytest

from test_bin_errors import assert_one_line_error, run
from voiceflow.bin.common import entry_point
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, check_output_path

NOWHERE = "/nonexistent/checkpoint"


def infill(tmp_path, *extra, out=None):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"")  # never read: the options are refused first
    return run("voiceflow.bin.infill", "--checkpoint", NOWHERE, "--wav", str(wav), "--alignment", "a.json",
               "--start", "0.1", "--end", "0.5", "--out", str(out or tmp_path / "o.wav"), *extra)


@pytest.mark.parametrize("extra,needle", [
    (("--nfe", "0"), "--nfe 0: must be a positive integer"),
    (("--nfe", "7", "--solver", "midpoint"), "--nfe 7: must be a positive even number"),
    (("--solver", "stochastic_euler"), "--solver stochastic_euler needs --noise-scale > 0"),
    (("--guidance", "-1"), "--guidance -1.0: must be >= 0"),
])
def test_sampling_values_are_checked_first(tmp_path, extra, needle):
    assert_one_line_error(infill(tmp_path, *extra), needle)


def test_an_output_file_that_is_a_directory_or_under_a_file(tmp_path):
    (tmp_path / "d").mkdir()
    assert_one_line_error(infill(tmp_path, out=tmp_path / "d"), f"{tmp_path / 'd'}: is a directory")
    (tmp_path / "f").write_text("x")
    assert_one_line_error(infill(tmp_path, out=tmp_path / "f" / "o.wav"), "is not a directory")


def test_synth_never_replaces_a_directory_that_is_not_its_output(tmp_path):
    items = tmp_path / "items.jsonl"
    items.write_text("")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = run("voiceflow.bin.synth", "--checkpoint", NOWHERE, "--manifest", str(items), "--out-dir", str(mine))
    assert_one_line_error(result, f"{mine}: exists and is not an output directory (no meta.jsonl)")
    assert (mine / "notes.txt").read_text() == "keep me"
    result = run("voiceflow.bin.generate", "--checkpoint", NOWHERE, "--manifest", str(items), "--out-root",
                 str(mine / "notes.txt"))
    assert_one_line_error(result, "notes.txt: exists and is not a directory")


def test_atomic_directories_replace_only_their_own_kind(tmp_path):
    out = tmp_path / "run"
    for attempt in range(2):  # an empty or missing directory, then a previous output: replaced
        with atomic_path(out, is_dir=True, replaces="meta.jsonl") as tmp:
            (tmp / "meta.jsonl").write_text(f"{attempt}\n")
    assert (out / "meta.jsonl").read_text() == "1\n"
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.wav").write_text("")
    with pytest.raises(VoiceflowError, match="not an output directory"):
        with atomic_path(other, is_dir=True, replaces="meta.jsonl"):
            pass
    assert (other / "x.wav").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["other", "run"]
    assert check_output_path(tmp_path / "new" / "deeper.wav") == tmp_path / "new" / "deeper.wav"


def test_atomic_outputs_get_the_permissions_of_the_umask(tmp_path):
    """mkstemp / mkdtemp make private names (0600 / 0700); the outputs renamed from them are
    readable by others as any file written under the umask is (shared data directories)."""
    import os

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "m.jsonl") as tmp:
            tmp.write_text("{}\n")
        with atomic_path(tmp_path / "d", is_dir=True) as tmp:
            (tmp / "x").write_text("")
    finally:
        os.umask(old)
    assert (tmp_path / "m.jsonl").stat().st_mode & 0o777 == 0o644 & ~old
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755 & ~old


def test_entry_point_reports_an_os_error_about_a_path_in_one_line(capsys):
    @entry_point
    def main(argv=None):
        raise PermissionError(13, "Permission denied", "/root/x.wav")

    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 1
    assert capsys.readouterr().err == "error: /root/x.wav: Permission denied\n"


@pytest.mark.parametrize("change,needle", [
    ({"start": "abc"}, "'start' must be a number, got 'abc'"),
    ({"seed": "x"}, "'seed' must be an integer, got 'x'"),
    ({"text": 123}, "'text' must be a non-empty string, got 123"),
    ({"wav": "missing.wav"}, "wav"),
])
def test_synth_items_are_checked_for_types_and_files_before_the_model_loads(tmp_path, change, needle):
    wav = tmp_path / "in.wav"
    wav.write_bytes(b"RIFF")
    good = {"id": "a", "task": "denoise", "wav": "in.wav", "text": "hello there", "start": 0.1, "end": 0.4}
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", **change}) + "\n")
    result = run("voiceflow.bin.synth", "--checkpoint", NOWHERE, "--manifest", str(items), "--out-dir",
                 str(tmp_path / "out"))
    assert_one_line_error(result, "items.jsonl: item 2 (b)", needle)
    if "wav" in change:
        assert "missing.wav: file not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_keep_prompt_must_be_a_boolean(tmp_path):
    wav = tmp_path / "p.wav"
    wav.write_bytes(b"RIFF")
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "a", "task": "tts", "prompt_wav": "p.wav", "prompt_text": "hi",
                                 "text": "hello", "keep_prompt": "no"}) + "\n")
    result = run("voiceflow.bin.synth", "--checkpoint", NOWHERE, "--manifest", str(items), "--out-dir",
                 str(tmp_path / "out"))
    assert_one_line_error(result, "'keep_prompt' must be true or false, got 'no'")
