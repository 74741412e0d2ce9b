"""Build a self-contained listening-test page from directories of wavs.

::

    from voiceflow.listen.build import build_test
    from voiceflow.listen.sources import parse_system

    key = build_test("mos", [parse_system("A=exp/a/nfe32"), parse_system("B=exp/b/nfe32")],
                     "web/mos1", attention_checks=2)
    # web/mos1/index.html, web/mos1/audio/<opaque>.wav; the key in web/mos1.key.json

Inputs. A system is a directory of ``.wav`` (or ``.flac``) files, one per item, named by
item id (a generated directory with ``meta.jsonl`` or any plain directory). Items are
matched by file stem across the systems, the reference and the anchor. Every file is
checked before anything is written: unreadable or empty files, files with more than one
channel and files whose sample rate is not the test's rate (``sample_rate``, by default
the rate of the first file of the first source) are errors naming each file. An item that
some source lacks is an error too, unless ``allow_missing``: then such items are dropped
and listed through ``log`` - never silently.

The tests (every trial has its rating controls disabled until each of its sounds has been
played to the end, i.e. its media ``ended`` event fired; there is no seek bar):

========  ==========================================================================
mos       one sample per trial (item x system); naturalness 1-5
smos      the item's speaker reference (``--reference``) then one sample; similarity 1-5
cmos      the reference (``--reference``) and one system, as A and B; B relative to A,
          -3..3. Which side the reference is on is balanced within each listener
ab        two systems as A and B (every pair of systems); choice A, B or no preference.
          Which system is A is balanced within each listener
mushra    the explicit reference, then a hidden copy of it, the anchor and every system
          in an order shuffled per trial and listener; each rated 0-100. The anchor is
          ``--anchor NAME=DIR`` or the reference low-passed at 3.5 kHz (ITU-R BS.1534-3)
========  ==========================================================================

Balance (CMOS, A/B): the builder lists the two sides of each trial so that, within every
comparison (a system against the reference, or one pair of systems), consecutive trials
form "flip groups" of two with opposite sides; each listener flips whole groups at random
(seeded by the listener id). So every listener hears the reference (or system A) first in
half of each comparison's trials (exactly, for an even count), and across listeners each
single trial is shown both ways equally often on average. The page knows only the
groups, never which stimulus is the reference.

Attention checks (``attention_checks`` K, default 2): a trial that plays one speech item of
the test with 2-5 short 1 kHz beeps mixed in at random places, and asks how many beeps
were heard (answers 0 to "7 or more"). It cannot be passed without listening to the audio
(the count is only in the key; every attention stimulus of a test has the same minimum
length whatever the count, so the file size does not tell), and guessing passes one check
with probability of about 1/8, K checks with about 8^-K. The page places attention trials
at random positions, never first.

Outputs. ``OUT/index.html`` (HTML, CSS, script and the trial list in one file; no network
requests other than the optional POST of the results) and ``OUT/audio/<id>.wav``. Every
stimulus is re-encoded as 16-bit PCM mono at the test's rate, which drops metadata chunks
and format differences that could tell the systems apart. Ids are HMAC-SHA256 digests of
(role, system, item) under a secret random salt: stable when the page is rebuilt next to
its key (the salt is kept in the key), unguessable without it. No system name or input
path reaches the page. The key is written beside the page folder, ``OUT.key.json``, so
the folder can be uploaded as it is.

Results file (``RESULT_FORMAT``), one per listener, downloaded from the page and, with
``post_url``, also POSTed there as JSON::

    {"format": "voiceflow-listening-result/1", "test_id": str, "test": str, "listener": str,
     "started": ISO time, "finished": ISO time, "user_agent": str,
     "trials": [{"trial": id, "attention": bool, "position": 0-based order shown,
                 "stimuli": [every stimulus of the trial in the order shown; SMOS and MUSHRA:
                             the (unrated) explicit reference first],
                 "plays": {stimulus id: times started},
                 "ratings": {id: 1-5 (mos, smos: the sample) | 0-100 (mushra: every rated
                             stimulus, hidden reference and anchor included)},
                 "cmos": -3..3, score of the second shown stimulus relative to the first,
                 "choice": id or null for no preference (ab),
                 "answer": number of beeps given (attention trials, which have no rating)}]}

Key file (``KEY_FORMAT``)::

    {"format": "voiceflow-listening-key/1", "test_id", "test", "systems": [names],
     "stimuli": {id: {"system": name | "reference" | "anchor" | "attention", "item": stem,
                      "role": "test" | "reference" | "hidden_reference" | "anchor" | "attention",
                      "source": input file or null, "generated": how, when generated}},
     "trials": {id: {"item": stem, "attention": bool, "expected": beeps (attention only),
                     "systems": [names compared], "stimuli": [ids as listed in the page]}},
     ... plus the build's settings (salt, seed, sample_rate, items, skipped_items, sources)}
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, read_json, write_json
from voiceflow.listen import KEY_FORMAT, RESULT_FORMAT, TESTS
from voiceflow.listen.page import check_post_url, render_page
from voiceflow.listen.sources import Source, check_sources, read_texts, scan_source
from voiceflow.listen.sounds import ANCHOR_CUTOFF_HZ, BEEP_COUNTS, beep_stimulus, lowpass_anchor

PAGE_FORMAT = "voiceflow-listening-page/1"
RESERVED_NAMES = ("reference", "anchor", "attention")

DEFAULT_INSTRUCTIONS = {
    "mos": "You will hear short recordings of speech, one per page. Rate how natural each one "
           "sounds, from 1 (bad: clearly machine-like) to 5 (excellent: completely natural).",
    "smos": "Each page plays a reference recording and a sample. Rate how similar the voice of "
            "the sample is to the voice of the reference, from 1 (not at all) to 5 (extremely), "
            "ignoring what is said and the recording quality.",
    "cmos": "Each page plays two recordings of the same sentence, A and B. Say how much better "
            "or worse B sounds than A, from -3 (B much worse) to +3 (B much better).",
    "ab": "Each page plays two recordings of the same sentence, A and B. Choose the one that "
          "sounds better, or no preference if you cannot tell them apart.",
    "mushra": "Each page plays a reference and several samples of the same sentence, one of "
              "which is the reference itself. Rate every sample against the reference from 0 "
              "(bad) to 100 (excellent); rate a sample you find identical to the reference 100.",
}
ATTENTION_NOTE = ("Some pages are attention checks: they play a recording with a few beeps "
                  "and ask how many beeps you heard.")


@dataclass
class _Stimulus:
    id: str
    system: str
    item: str
    role: str
    source: Path | None = None
    generated: str | None = None
    make: Callable[[], np.ndarray] | None = None


@dataclass
class _Trial:
    id: str
    item: str
    stimuli: list[str]
    systems: list[str]
    reference: str | None = None
    text: str | None = None
    attention: bool = False
    expected: int | None = None
    flip_group: int | None = None


def _opaque(salt: bytes, *parts: str, n: int = 16) -> str:
    return hmac.new(salt, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()[:n]


def _read_mono(path: Path) -> np.ndarray:
    data, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    if not np.isfinite(data).all():
        raise VoiceflowError(f"{path}: audio contains NaN or infinite samples")
    return data[:, 0]


def _balance(groups: dict[tuple, list[_Trial]], rng: random.Random) -> None:
    """List the two sides of paired trials alternately and put them in flip groups of two."""
    numbers = list(range(sum((len(t) + 1) // 2 for t in groups.values())))
    rng.shuffle(numbers)
    for key in sorted(groups):
        trials = groups[key]
        rng.shuffle(trials)
        for i, trial in enumerate(trials):
            if i % 2:
                trial.stimuli.reverse()
        for i in range(0, len(trials), 2):
            number = numbers.pop()
            for trial in trials[i:i + 2]:
                trial.flip_group = number


def design(test: str, items: list[str], systems: list[Source], reference: Source | None,
           anchor: Source | None, sample_rate: int, salt: bytes, seed: int, attention_checks: int,
           texts: dict[str, str] | None) -> tuple[dict[str, _Stimulus], list[_Trial]]:
    """The stimuli and trials of a test (before any per-listener randomisation)."""
    rng = random.Random(f"{seed}:design")
    stimuli: dict[str, _Stimulus] = {}

    def stimulus(role, system, item, source=None, generated=None, make=None) -> str:
        sid = _opaque(salt, "stimulus", role, system, item)
        if sid in stimuli and (stimuli[sid].role, stimuli[sid].system, stimuli[sid].item) != (role, system, item):
            raise RuntimeError("stimulus id collision; rebuild with a new salt")
        stimuli.setdefault(sid, _Stimulus(sid, system, item, role, source, generated, make))
        return sid

    def test_stimulus(s: Source, item: str) -> str:
        return stimulus("test", s.name, item, s.files[item])

    trials: list[_Trial] = []
    groups: dict[tuple, list[_Trial]] = {}
    for item in items:
        text = texts.get(item) if texts else None
        tid = lambda *names: _opaque(salt, "trial", test, item, *names, n=12)  # noqa: E731
        if test == "mos":
            trials += [_Trial(tid(s.name), item, [test_stimulus(s, item)], [s.name], text=text) for s in systems]
        elif test == "smos":
            ref = stimulus("reference", "reference", item, reference.files[item])
            trials += [_Trial(tid(s.name), item, [test_stimulus(s, item)], [s.name], ref, text) for s in systems]
        elif test == "cmos":
            ref = stimulus("reference", "reference", item, reference.files[item])
            for s in systems:
                trial = _Trial(tid(s.name), item, [ref, test_stimulus(s, item)], [s.name], text=text)
                trials.append(trial)
                groups.setdefault((s.name,), []).append(trial)
        elif test == "ab":
            for a, b in itertools.combinations(systems, 2):
                trial = _Trial(tid(a.name, b.name), item, [test_stimulus(a, item), test_stimulus(b, item)],
                               [a.name, b.name], text=text)
                trials.append(trial)
                groups.setdefault((a.name, b.name), []).append(trial)
        elif test == "mushra":
            path = reference.files[item]
            ref = stimulus("reference", "reference", item, path)
            hidden = stimulus("hidden_reference", "reference", item, path)
            if anchor is not None:
                anc = stimulus("anchor", anchor.name, item, anchor.files[item])
            else:
                anc = stimulus("anchor", "anchor", item, generated=f"reference low-passed at {ANCHOR_CUTOFF_HZ:g} Hz",
                               make=lambda path=path: lowpass_anchor(_read_mono(path), sample_rate))
            rated = sorted([hidden, anc] + [test_stimulus(s, item) for s in systems])
            trials.append(_Trial(tid(), item, rated, [s.name for s in systems], ref, text))
        else:
            raise VoiceflowError(f"unknown test {test!r} (one of: {', '.join(TESTS)})")
    _balance(groups, rng)

    carriers = [reference] if reference is not None else systems
    order = rng.sample(items, len(items))
    for k in range(attention_checks):
        item = order[k % len(order)]
        carrier = carriers[rng.randrange(len(carriers))]
        count = rng.choice(BEEP_COUNTS)
        beeps = np.random.default_rng([seed, k, 7])
        make = (lambda path=carrier.files[item], count=count, beeps=beeps:
                beep_stimulus(_read_mono(path), sample_rate, count, beeps)[0])
        sid = stimulus("attention", "attention", f"{k}:{item}", generated=f"{count} beeps over {carrier.label}",
                       make=make)
        stimuli[sid].item = item
        trials.append(_Trial(_opaque(salt, "trial", "attention", str(k), n=12), item, [sid], [],
                             attention=True, expected=count))
    return stimuli, trials


def _salt_for(key_path: Path, test: str) -> bytes:
    """The salt of an existing key (so a rebuild keeps its ids), else a new random one. A
    key of another kind of test is never replaced: results collected with it would lose it."""
    if key_path.exists():
        old = read_json(key_path)
        if isinstance(old, dict) and old.get("format") == KEY_FORMAT and isinstance(old.get("salt"), str):
            if old.get("test") != test:
                raise VoiceflowError(f"{key_path}: the key of a {old.get('test')} test, which a {test} page would "
                                     "replace (results collected with it need it): choose another --out")
            return bytes.fromhex(old["salt"])
        raise VoiceflowError(f"{key_path}: exists but is not a listening-test key; move it away first")
    return secrets.token_bytes(16)


def _check_out(out: Path, sources: list[Source]) -> None:
    resolved = out.resolve()
    for source in sources:
        d = source.dir.resolve()
        if resolved == d or resolved in d.parents or d in resolved.parents:
            raise VoiceflowError(f"--out {out}: must not be or contain or lie inside an input ({source.label})")
    if out.exists():
        index = out / "index.html"
        is_page = index.is_file() and PAGE_FORMAT in index.read_text(encoding="utf-8", errors="replace")[:400]
        if not out.is_dir() or not is_page:
            raise VoiceflowError(f"--out {out}: exists and is not a listening-test page folder; "
                                 "choose a new folder (it is replaced on a rebuild)")


def build_test(test: str, systems: list[tuple[str, str | Path]], out: str | Path, *,
               reference: str | Path | None = None, anchor: tuple[str, str | Path] | None = None,
               title: str = "Listening test", instructions: str | None = None, items: int | None = None,
               seed: int = 0, attention_checks: int = 2, post_url: str | None = None, texts: bool = False,
               allow_missing: bool = False, sample_rate: int | None = None,
               log: Callable[[str], None] = print) -> dict:
    """Build the page folder ``out`` and the key ``out.key.json``; returns the key.

    Args:
        test: one of ``TESTS``.
        systems: ``(name, directory)`` pairs, in the order the key lists them.
        out: the page folder (replaced if it is an earlier page; the key goes beside it).
        reference: the reference directory (required by smos, cmos and mushra; others refuse it).
        anchor: MUSHRA only: ``(name, directory)``; default the 3.5 kHz low-passed reference.
        title, instructions: shown on the page as text (instructions default per test).
        items: use a random subset of this many items (seeded by ``seed``).
        attention_checks: number of beep-count attention trials.
        post_url: where the page also POSTs each listener's results (http or https).
        texts: show each item's text from the inputs' ``meta.jsonl``.
        allow_missing: drop (and list) items that some input lacks instead of failing.
        sample_rate: the test's rate; default the rate of the first file of the first input.
    """
    if test not in TESTS:
        raise VoiceflowError(f"unknown test {test!r} (one of: {', '.join(TESTS)})")
    needs_reference = test in ("smos", "cmos", "mushra")
    if needs_reference and reference is None:
        raise VoiceflowError(f"{_article(test)} {test} test needs --reference DIR")
    if not needs_reference and reference is not None:
        raise VoiceflowError(f"a {test} test takes no --reference (give it as --system NAME=DIR to rate it)")
    if anchor is not None and test != "mushra":
        raise VoiceflowError("--anchor is for mushra tests only")
    minimum = 2 if test == "ab" else 1
    if len(systems) < minimum:
        raise VoiceflowError(f"{_article(test)} {test} test needs at least {minimum} --system NAME=DIR")
    names = [name for name, _ in systems] + ([anchor[0]] if anchor else [])
    for name in names:
        if name.lower() in RESERVED_NAMES:
            raise VoiceflowError(f"system name {name!r} is reserved ({', '.join(RESERVED_NAMES)}); choose another")
    if len(set(names)) != len(names):
        raise VoiceflowError(f"system names must be distinct, got {', '.join(names)}")
    if items is not None and items < 1:
        raise VoiceflowError(f"--items must be at least 1, got {items}")
    if attention_checks < 0:
        raise VoiceflowError(f"--attention-checks must be >= 0, got {attention_checks}")
    if post_url:
        check_post_url(post_url)

    test_sources = [scan_source(name, d, "test") for name, d in systems]
    ref_source = scan_source("reference", reference, "reference") if reference is not None else None
    anchor_source = scan_source(anchor[0], anchor[1], "anchor") if anchor is not None else None
    sources = ([ref_source] if ref_source else []) + test_sources + ([anchor_source] if anchor_source else [])
    out = Path(out)
    _check_out(out, sources)
    key_path = out.with_name(out.name + ".key.json")
    all_items, rate, skipped = check_sources(sources, sample_rate, allow_missing, log)
    if test == "mushra" and anchor is None and ANCHOR_CUTOFF_HZ >= rate / 2:
        raise VoiceflowError(f"the {rate} Hz test rate is too low for the 3.5 kHz low-pass anchor; give --anchor")
    chosen = all_items
    if items is not None and items < len(all_items):
        chosen = sorted(random.Random(f"{seed}:items").sample(all_items, items))
    item_texts = read_texts(sources, chosen) if texts else None

    salt = _salt_for(key_path, test)
    stimuli, trials = design(test, chosen, test_sources, ref_source, anchor_source, rate, salt, seed,
                             attention_checks, item_texts)
    trials.sort(key=lambda t: t.id)
    test_id = _opaque(salt, "test", test, *[t.id for t in trials], n=12)
    if instructions is None:
        instructions = DEFAULT_INSTRUCTIONS[test] + (" " + ATTENTION_NOTE if attention_checks else "")
    config = {
        "format": PAGE_FORMAT, "result_format": RESULT_FORMAT, "test_id": test_id, "test": test, "title": title,
        "instructions": instructions, "consent": None, "post_url": post_url or None, "audio": "audio/",
        "trials": [{"id": t.id, "attention": t.attention, "stimuli": t.stimuli, "reference": t.reference,
                    "text": t.text, "flip_group": t.flip_group} for t in trials],
    }
    key = {
        "format": KEY_FORMAT, "test_id": test_id, "test": test, "systems": [s.name for s in test_sources],
        "stimuli": {s.id: {"system": s.system, "item": s.item, "role": s.role,
                           "source": str(s.source) if s.source else None,
                           **({"generated": s.generated} if s.generated else {})}
                    for s in sorted(stimuli.values(), key=lambda s: s.id)},
        "trials": {t.id: {"item": t.item, "attention": t.attention,
                          **({"expected": t.expected} if t.attention else {}),
                          "systems": t.systems, "stimuli": ([t.reference] if t.reference else []) + t.stimuli}
                   for t in trials},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "page": str(out), "sample_rate": rate, "seed": seed, "salt": salt.hex(), "title": title,
        "post_url": post_url or None, "items": chosen, "skipped_items": skipped,
        "sources": {s.name if s.role == "test" else s.role: str(s.dir) for s in sources},
        "attention": {"design": "count the 1 kHz beeps mixed into a speech item", "checks": attention_checks},
    }

    with atomic_path(out, is_dir=True) as tmp:
        (tmp / "audio").mkdir()
        for s in stimuli.values():
            wav = s.make() if s.make is not None else _read_mono(s.source)
            peak = float(np.abs(wav).max()) if wav.size else 0.0
            if peak > 1.0:
                log(f"warning: {s.source}: peak {peak:.2f} > 1.0, clipped in the page's 16-bit copy")
            soundfile.write(str(tmp / "audio" / f"{s.id}.wav"), np.clip(wav, -1.0, 1.0), rate,
                            subtype="PCM_16", format="WAV")
        (tmp / "index.html").write_text(render_page(config), encoding="utf-8")
        write_json(key_path, key)
    n_attention = sum(t.attention for t in trials)
    log(f"wrote {out}/index.html: {test} test, {len(chosen)} items, {len(trials) - n_attention} trials "
        f"+ {n_attention} attention checks, {len(stimuli)} sounds at {rate} Hz")
    log(f"wrote {key_path} (the key: keep it out of the page folder)")
    return key


def _article(test: str) -> str:
    """'an' before the tests said with a vowel sound ("an AB test", "an MOS test")."""
    return "an" if test.lower() in ("ab", "mos", "smos") else "a"
