"""The eval's worker processes: bad arguments, and a dying worker is an error, never a hang."""

import subprocess
import sys
import textwrap

import pytest

from eval_audio import tone, write
from voiceflow.eval.file_work import file_results


def test_arguments_are_checked(tmp_path):
    wav = write(tmp_path / "a.wav", tone(180.0, 0.3))
    with pytest.raises(ValueError, match=r"unknown file task kind\(s\) \['mos'\]"):
        file_results([("mos", wav)], jobs=1)
    with pytest.raises(ValueError, match="jobs must be >= 1, got 0"):
        file_results([("f0", wav)], jobs=0)
    track = file_results([("f0", wav), ("f0", wav)], jobs=1)[("f0", wav)]  # repeated tasks run once
    assert track.shape == (0.3 * 24000 // 256 + 1,)


def test_a_worker_that_dies_is_a_one_line_error(tmp_path):
    """A script without a __main__ guard makes each spawned worker re-run it and die:
    multiprocessing.Pool would respawn them forever; here the caller gets an error naming the file."""
    wavs = [write(tmp_path / f"{k}.wav", tone(150.0 + 10 * k, 0.3)) for k in range(2)]
    script = tmp_path / "no_guard.py"
    script.write_text(textwrap.dedent(f"""
        from voiceflow.errors import VoiceflowError
        from voiceflow.eval.file_work import file_results
        try:
            file_results([("f0", {str(wavs[0])!r}), ("f0", {str(wavs[1])!r})], jobs=2)
        except VoiceflowError as e:
            print("error:", e)
            raise SystemExit(1)
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "a worker process died while computing f0 of" in lines[0]
    assert 'needs an `if __name__ == "__main__":` guard' in lines[0]
