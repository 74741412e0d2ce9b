"""The Voicebox evaluation sets on LibriSpeech test-clean: cross-sentence prompts and continuation.

Voicebox (Le et al., 2023, sec. 5.2) evaluates zero-shot TTS on the LibriSpeech test-clean
utterances of 4 to 10 s in two ways:

- **cross**: the target's text, spoken in the voice of a 3 s sample of *another* utterance
  of the same speaker (item task ``tts``);
- **continuation**: the first 3 s of the target itself are the prompt; the model says the
  rest of the text (item task ``continue``).

The (prompt, target) pairs are stored in the repository, so that results compare with
published ones: ``recipes/shared/evalsets/librispeech_test_clean_4to10s_cross_sentence.tsv``
(the 1127 pairs of E2 TTS / F5-TTS; see the README there) and the continuation list of its
distinct targets. Transcripts and audio come from the user's LibriSpeech copy::

    from voiceflow.data.evalsets import read_pairs, list_problems, make_evalset

    pairs = read_pairs("recipes/shared/evalsets/librispeech_test_clean_4to10s_cross_sentence.tsv")
    list_problems(pairs, seconds=(4.0, 10.0))     # [] for the stored list
    make_evalset(LIST, "/data/LibriSpeech", "cross", "exp/testsets/ls_cross", prompt_seconds=3.0,
                 g2p="espeak")                     # -> {"items": 1127, "skipped": 0, ...}

The output directory holds ``items.jsonl`` (a ``voiceflow synth`` manifest), ``prompts/``
(the prompt cuts, 16 kHz wavs) and, when items were skipped, ``skipped.jsonl``; it is built
under a temporary name and renamed when complete.

Cutting a prompt: the utterance is force-aligned to its own transcript with the built-in
aligner (:func:`voiceflow.align.aligner.align_words`, the chosen G2P's phones, unknown words
as ``spn``; the mismatch check is off, the transcript being the corpus's own). The prompt
keeps the longest run of leading words that ends within ``prompt_seconds`` and stops in the
pause after its last word (the middle of the pause, at most ``prompt_seconds``; where the
next word follows without a pause, at the word boundary). ``prompt_text`` is those words.
``prompt_seconds`` 0 keeps the whole prompt utterance (the F5-TTS setting; cross only).

Texts: LibriSpeech transcripts are upper case without punctuation. They are lower-cased
before anything else reads them: :func:`voiceflow.text.normalize.normalize_text` takes
all-capital text for shouting and would spell listed acronyms ("US" -> "u s").
"""

from __future__ import annotations

import multiprocessing
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from voiceflow.errors import VoiceflowError

__all__ = ["Pair", "read_pairs", "list_problems", "continuation_targets", "find_test_clean", "locate",
           "prompt_cut", "select_pairs", "make_evalset", "TASKS", "SAMPLE_RATE"]

TASKS = ("cross", "continuation")
SAMPLE_RATE = 16000  # LibriSpeech's rate; the prompt cuts keep it
UTT_ID = re.compile(r"\d+-\d+-\d{4}")
CROSS_HEADER = ("prompt_id", "prompt_seconds", "target_id", "target_seconds")
CONTINUATION_HEADER = ("id", "seconds")
DEFAULT_PROMPT_SECONDS = 3.0
DURATION_TOLERANCE_S = 0.01  # the lists' durations come from the audio (samples / 16000)


@dataclass(frozen=True)
class Pair:
    """One line of a list; a continuation list has no prompt (``prompt_id`` None)."""

    line: int
    prompt_id: str | None
    prompt_seconds: float | None
    target_id: str
    target_seconds: float


# ----------------------------------------------------------------------------- the lists
def read_pairs(path: str | Path) -> list[Pair]:
    """The pairs of a cross-sentence list (4 columns) or the targets of a continuation list (2)."""
    path = Path(path)
    if not path.is_file():
        raise VoiceflowError(f"{path}: list not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    header = tuple(lines[0].strip().split("\t")) if lines else ()
    if header not in (CROSS_HEADER, CONTINUATION_HEADER):
        raise VoiceflowError(f"{path}:1: header must be {' '.join(CROSS_HEADER)} or {' '.join(CONTINUATION_HEADER)} "
                             "(tab-separated)")
    pairs = []
    for n, text in enumerate(lines[1:], 2):
        if not text.strip():
            continue
        cols = text.rstrip().split("\t")
        if len(cols) != len(header):
            raise VoiceflowError(f"{path}:{n}: expected {len(header)} tab-separated columns, got {len(cols)}")
        try:
            seconds = [float(c) for c in cols[1::2]]
        except ValueError:
            raise VoiceflowError(f"{path}:{n}: a duration is not a number: {text!r}") from None
        if len(cols) == 4:
            pairs.append(Pair(n, cols[0], seconds[0], cols[2], seconds[1]))
        else:
            pairs.append(Pair(n, None, None, cols[0], seconds[0]))
    if not pairs:
        raise VoiceflowError(f"{path}: the list is empty")
    return pairs


def list_problems(pairs: list[Pair], seconds: tuple[float, float] | None = None) -> list[str]:
    """What is wrong with a list (line numbers first): ids not ``<speaker>-<chapter>-<nnnn>``,
    a prompt of another speaker or equal to its target, a target outside ``seconds``."""
    problems = []
    for p in pairs:
        ids = [p.target_id] if p.prompt_id is None else [p.prompt_id, p.target_id]
        bad = [i for i in ids if not UTT_ID.fullmatch(i)]
        if bad:
            problems.append(f"line {p.line}: malformed utterance id {bad[0]!r}")
            continue
        if p.prompt_id is not None and p.prompt_id == p.target_id:
            problems.append(f"line {p.line}: the prompt is the target ({p.target_id})")
        elif p.prompt_id is not None and p.prompt_id.split("-")[0] != p.target_id.split("-")[0]:
            problems.append(f"line {p.line}: prompt {p.prompt_id} and target {p.target_id} are other speakers")
        if seconds and not seconds[0] <= p.target_seconds <= seconds[1]:
            problems.append(f"line {p.line}: target {p.target_id} lasts {p.target_seconds:g} s, "
                            f"outside {seconds[0]:g}-{seconds[1]:g} s")
    return problems


def continuation_targets(pairs: list[Pair]) -> list[Pair]:
    """The distinct targets in list order, without prompts (the continuation set)."""
    seen: set[str] = set()
    out = []
    for p in pairs:
        if p.target_id not in seen:
            seen.add(p.target_id)
            out.append(Pair(p.line, None, None, p.target_id, p.target_seconds))
    return out


# ----------------------------------------------------------------------------- the corpus
def find_test_clean(root: str | Path) -> Path:
    """``root/LibriSpeech/test-clean``, ``root/test-clean`` or ``root`` itself."""
    root = Path(root)
    for cand in (root / "LibriSpeech" / "test-clean", root / "test-clean", root):
        if cand.is_dir() and (cand.name == "test-clean" or next(cand.glob("*/*/*.trans.txt"), None)):
            return cand
    raise VoiceflowError(f"{root}: no LibriSpeech test-clean here (expected {root}/LibriSpeech/test-clean, "
                         f"{root}/test-clean or test-clean itself)")


def locate(test_clean: Path, utt_ids: list[str]) -> tuple[dict[str, tuple[Path, str]], dict[str, str]]:
    """``({id: (flac, transcript)}, {id: why it is missing})`` for utterance ids."""
    found: dict[str, tuple[Path, str]] = {}
    missing: dict[str, str] = {}
    chapters: dict[tuple[str, str], dict[str, str] | None] = {}
    for uid in dict.fromkeys(utt_ids):
        spk, chapter, _ = uid.split("-")
        trans = test_clean / spk / chapter / f"{spk}-{chapter}.trans.txt"
        if (spk, chapter) not in chapters:
            chapters[(spk, chapter)] = _read_trans(trans) if trans.is_file() else None
        texts = chapters[(spk, chapter)]
        flac = test_clean / spk / chapter / f"{uid}.flac"
        if not flac.is_file():
            missing[uid] = f"no audio file {flac}"
        elif texts is None:
            missing[uid] = f"no transcript file {trans}"
        elif uid not in texts:
            missing[uid] = f"no line for it in {trans}"
        else:
            found[uid] = (flac.resolve(), texts[uid])
    return found, missing


def _read_trans(path: Path) -> dict[str, str]:
    texts = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        uid, _, text = line.strip().partition(" ")
        if uid and not text.strip():
            raise VoiceflowError(f"{path}:{n}: utterance {uid} has no transcript")
        if uid:
            texts[uid] = text.strip()
    return texts


# ----------------------------------------------------------------------------- prompt cuts
def prompt_cut(words: list[tuple[str, float, float]], duration: float, max_seconds: float) -> tuple[int, float]:
    """``(k, seconds)``: the first ``k`` words end within ``max_seconds``; the cut lies in
    the pause after word ``k`` (its middle, at most ``max_seconds``)."""
    k = 0
    while k < len(words) and words[k][2] <= max_seconds + 1e-9:
        k += 1
    if k == 0:
        raise VoiceflowError(f"its first word ends at {words[0][2]:.2f} s, after {max_seconds:g} s")
    end = duration if k == len(words) else (words[k - 1][2] + words[k][1]) / 2
    return k, min(end, max_seconds)


_G2P = None  # per process: (name, G2P)


def _g2p(name: str):
    global _G2P
    if _G2P is None or _G2P[0] != name:
        from voiceflow.text.g2p import make_g2p

        _G2P = (name, make_g2p(name))
    return _G2P[1]


def cut_utterance(job: tuple) -> tuple[str, str | None, float | None, str | None]:
    """Worker: align one utterance, write its prompt cut; ``(id, prompt_text, seconds, problem)``."""
    uid, flac, text, max_seconds, g2p_name, out_wav, leave_rest = job
    from voiceflow.align.aligner import align_words
    from voiceflow.audio import load_audio, save_wav

    try:
        g2p = _g2p(g2p_name)
        ph = g2p.phonemize(text, on_unknown="spn")
        wav = load_audio(flac, SAMPLE_RATE)
        res = align_words(wav, SAMPLE_RATE, list(zip(ph.words, ph.phones)), g2p.to_arpabet, name=uid,
                          check_mismatch=False)
        k, cut = prompt_cut(res.words, wav.numel() / SAMPLE_RATE, max_seconds)
        if leave_rest and k == len(ph.words):
            raise VoiceflowError(f"all its {k} words end within {max_seconds:g} s: nothing left to continue")
        samples = int(round(cut * SAMPLE_RATE))
        save_wav(out_wav, wav[:samples], SAMPLE_RATE)
    except VoiceflowError as e:
        problem = str(e)
        return uid, None, None, problem[len(uid) + 2:] if problem.startswith(f"{uid}: ") else problem
    return uid, " ".join(ph.words[:k]), round(samples / SAMPLE_RATE, 4), None


def _run(jobs: list[tuple], n_jobs: int) -> Iterator[tuple]:
    if n_jobs == 1 or len(jobs) < 2:
        yield from map(cut_utterance, jobs)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    with ctx.Pool(min(n_jobs, len(jobs))) as pool:
        yield from pool.imap(cut_utterance, jobs, chunksize=1)


# ----------------------------------------------------------------------------- the set
def select_pairs(list_path: str | Path, task: str, max_items: int = 0) -> list[Pair]:
    """The checked pairs of a list for ``task`` (continuation: its distinct targets), the first ``max_items``."""
    pairs = read_pairs(list_path)
    problems = list_problems(pairs)
    if problems:
        more = f" (and {len(problems) - 1} more)" if problems[1:] else ""
        raise VoiceflowError(f"{list_path}: {problems[0]}{more}")
    if task == "cross" and pairs[0].prompt_id is None:
        raise VoiceflowError(f"{list_path}: a continuation list has no prompts; give the cross-sentence list")
    if task == "continuation":
        pairs = continuation_targets(pairs)
    return pairs[:max_items] if max_items else pairs


def make_evalset(list_path: str | Path, librispeech: str | Path, task: str, out_dir: str | Path,
                 prompt_seconds: float = DEFAULT_PROMPT_SECONDS, g2p: str = "espeak", max_items: int = 0,
                 jobs: int = 1, on_error: str = "stop", notice: Callable[[str], None] | None = None) -> dict:
    """Write ``out_dir`` (items.jsonl, prompts/, skipped.jsonl) for ``task``; returns a summary.

    A listed utterance that is missing, or whose prompt cannot be cut, stops the run with
    a VoiceflowError naming it (nothing is written), or with ``on_error="skip"`` its items
    are left out, reported through ``notice`` and listed in ``skipped.jsonl``.
    """
    from voiceflow.audio import audio_duration
    from voiceflow.fileio import atomic_path, write_jsonl

    say = notice or (lambda line: print(line, file=sys.stderr))
    if task not in TASKS:
        raise VoiceflowError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    if on_error not in ("stop", "skip"):
        raise VoiceflowError(f"on_error must be stop or skip, not {on_error!r}")
    if prompt_seconds < 0 or max_items < 0 or jobs < 1:
        raise VoiceflowError("--prompt-seconds and --max-items must be >= 0, --jobs >= 1")
    if task == "continuation" and prompt_seconds == 0:
        say(f"note: continuation needs a cut prompt; --prompt-seconds 0 means {DEFAULT_PROMPT_SECONDS:g} s there")
        prompt_seconds = DEFAULT_PROMPT_SECONDS
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "items.jsonl").is_file():
        raise VoiceflowError(f"{out_dir}: exists and is not an evaluation-set directory (no items.jsonl); "
                             "choose another --out-dir")
    pairs = select_pairs(list_path, task, max_items)
    test_clean = find_test_clean(librispeech)

    def sources(p: Pair) -> list[str]:  # the utterances an item reads; the first gives the prompt
        return [p.prompt_id, p.target_id] if task == "cross" else [p.target_id]

    found, missing = locate(test_clean, [u for p in pairs for u in sources(p)])
    seconds = {u: audio_duration(flac) for u, (flac, _) in found.items()}
    listed = {p.target_id: p.target_seconds for p in pairs}
    if task == "cross":
        listed.update({p.prompt_id: p.prompt_seconds for p in pairs})
    off = [u for u in seconds if abs(seconds[u] - listed[u]) > DURATION_TOLERANCE_S]
    if off:
        say(f"note: {len(off)} utterance(s) last otherwise than the list says (first: {off[0]}, {seconds[off[0]]:.3f} s, "
            f"listed {listed[off[0]]:g} s): is {test_clean} the LibriSpeech test-clean the list was made from?")
    skipped: list[dict] = []

    def fail(p: Pair, uid: str, problem: str) -> None:
        message = f"{list_path}:{p.line}: {uid}: {problem}"
        if on_error == "stop":
            raise VoiceflowError(message)
        say(f"skipped: {message}")
        skipped.append({"line": p.line, "prompt": p.prompt_id, "target": p.target_id, "utterance": uid,
                        "problem": problem})

    kept = []
    also = f" ({len(missing)} listed utterances are missing)" if len(missing) > 1 and on_error == "stop" else ""
    for p in pairs:
        gone = [u for u in sources(p) if u in missing]
        if gone:
            fail(p, gone[0], missing[gone[0]] + also)
        else:
            kept.append(p)
    # Continuation cuts every target; a cross prompt no longer than the limit is used whole.
    to_cut = [sources(p)[0] for p in kept
              if task == "continuation" or (prompt_seconds and seconds[p.prompt_id] > prompt_seconds)]
    with atomic_path(out_dir, is_dir=True) as tmp:
        jobs_list = [(u, str(found[u][0]), found[u][1].lower(), prompt_seconds, g2p,
                      str(tmp / "prompts" / f"{u}.wav"), task == "continuation") for u in dict.fromkeys(to_cut)]
        if jobs_list:
            _g2p(g2p)  # a missing backend fails here, once
        cuts = {uid: (problem or (text, secs)) for uid, text, secs, problem in _run(jobs_list, jobs)}
        rows: list[dict] = []
        counts: Counter = Counter()
        for p in kept:
            cut = cuts.get(sources(p)[0])
            if isinstance(cut, str):
                fail(p, sources(p)[0], f"cannot cut a prompt: {cut}")
            else:
                rows.append(_item(p, task, found, cut, counts))
        if not rows:
            raise VoiceflowError(f"{list_path}: no item could be made ({len(skipped)} skipped)")
        write_jsonl(tmp / "items.jsonl", rows)
        if skipped:
            write_jsonl(tmp / "skipped.jsonl", skipped)
    return {"task": task, "items": len(rows), "skipped": len(skipped),
            "prompts_cut": sum(not isinstance(c, str) for c in cuts.values()), "duration_notes": len(off),
            "out_dir": str(out_dir)}


def _item(p: Pair, task: str, found: dict, cut: tuple[str, float] | None, counts: Counter) -> dict:
    """One ``voiceflow synth`` item; cut prompts are relative to items.jsonl, corpus files absolute."""
    target_flac, target_text = found[p.target_id]
    speaker = p.target_id.split("-")[0]
    if task == "continuation":
        return {"id": f"{p.target_id}_cont", "task": "continue", "wav": f"prompts/{p.target_id}.wav",
                "prompt_text": cut[0], "text": target_text.lower(), "reference": str(target_flac), "speaker": speaker}
    counts[p.target_id] += 1
    n = counts[p.target_id]
    prompt_wav, prompt_text = ((f"prompts/{p.prompt_id}.wav", cut[0]) if cut else
                               (str(found[p.prompt_id][0]), found[p.prompt_id][1].lower()))
    return {"id": p.target_id if n == 1 else f"{p.target_id}_{n}", "task": "tts", "prompt_wav": prompt_wav,
            "prompt_text": prompt_text, "text": target_text.lower(), "reference": str(target_flac),
            "speaker": speaker}
