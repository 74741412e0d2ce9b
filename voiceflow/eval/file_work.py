"""The CPU-bound per-file work of an evaluation, spread over worker processes.

Two measurements dominate a CPU evaluation and use no torch model: PocketSphinx transcripts
(WER/CER) and pYIN F0 tracks (the ``f0`` metric; librosa's Viterbi over 862 pitch/voicing
states costs about a second per 3 s recording). On the demo's 48 items with
``wer,cer,sim_o,mcd,f0,mos`` they took 200 of 245 s in one process. :func:`file_results`
computes them for every file of an evaluation in ``jobs`` processes before the per-item
scoring, which then reads them instead of computing them; everything else (speaker and MOS
models, mel-cepstra, DTW) stays in the calling process, which may hold a GPU.

Workers are spawned (not forked: the caller holds torch's threads and maybe CUDA), run torch
with one thread, and load each file themselves, so only paths travel to them and only texts
and F0 tracks come back. The results are those of the serial code: the same functions on
the same samples (PocketSphinx's feature state is reset per utterance,
:class:`voiceflow.eval.asr.PocketsphinxASR`).

Usage::

    results = file_results([("asr", Path("a.wav")), ("f0", Path("a.wav"))], jobs=4)
    results[("asr", Path("a.wav"))]   # the transcript;  results[("f0", ...)]: (frames,) Hz, NaN unvoiced
    texts = transcribe_files(load_asr("pocketsphinx"), ["a.wav", "b.wav"], jobs=2)
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterable

from voiceflow.errors import VoiceflowError

__all__ = ["KINDS", "file_results", "transcribe_files"]

KINDS = ("asr", "f0")
Task = tuple[str, Path]

_asr = None  # one PocketSphinx decoder per worker process


def _start_worker() -> None:
    import torch

    torch.set_num_threads(1)  # the processes share the cores


def _run(task: Task):
    global _asr
    from voiceflow.audio import load_audio

    kind, path = task
    if kind == "asr":
        from voiceflow.eval.asr import PocketsphinxASR

        if _asr is None:
            _asr = PocketsphinxASR()
        return _asr.transcribe(load_audio(path, _asr.sample_rate))
    from voiceflow.eval.signal import SAMPLE_RATE, f0_track

    return f0_track(load_audio(path, SAMPLE_RATE))


def file_results(tasks: Iterable[Task], jobs: int, on_result: Callable[[], object] | None = None) -> dict:
    """``{(kind, path): result}`` for each distinct task: ``("asr", wav)`` -> PocketSphinx's text
    of the wav at 16 kHz, ``("f0", wav)`` -> :func:`voiceflow.eval.signal.f0_track` of it at
    24 kHz. ``jobs`` processes (``1``: this one); ``on_result`` is called once per finished task."""
    todo = list(dict.fromkeys(tasks))
    unknown = sorted({kind for kind, _ in todo} - set(KINDS))
    if unknown:
        raise ValueError(f"unknown file task kind(s) {unknown}; expected {KINDS}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    results = {}
    pool = None
    if jobs == 1 or len(todo) < 2:
        outputs = map(_run, todo)
    else:
        # an executor, not multiprocessing.Pool: a worker that dies (say, a script without a
        # ``if __name__ == "__main__":`` guard, re-run by the spawned child) is an error, not a hang
        pool = ProcessPoolExecutor(min(jobs, len(todo)), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker)
        outputs = pool.map(_run, todo)
    try:
        for task, result in zip(todo, outputs):
            results[task] = result
            if on_result is not None:
                on_result()
    except BrokenProcessPool:
        kind, path = todo[len(results)]
        raise VoiceflowError(f"a worker process died while computing {kind} of {path} (out of memory? "
                             "a script that starts workers needs an `if __name__ == \"__main__\":` guard)") from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return results


def transcribe_files(asr, paths: list, jobs: int = 1) -> list[str]:
    """Transcripts of the wav files ``paths``, in order: PocketSphinx in ``jobs`` workers; any
    other backend (a transformers model may hold a GPU), or ``jobs`` 1, in this process."""
    from voiceflow.audio import load_audio
    from voiceflow.eval.asr import PocketsphinxASR

    if jobs > 1 and isinstance(asr, PocketsphinxASR):
        done = file_results([("asr", Path(p)) for p in paths], jobs)
        return [done[("asr", Path(p))] for p in paths]
    return [asr.transcribe(load_audio(p, asr.sample_rate)) for p in paths]
