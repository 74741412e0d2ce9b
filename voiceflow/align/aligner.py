"""The built-in forced aligner: pocketsphinx's shipped en-us acoustic model, the caller's phones.

Given a waveform and its transcript's words with their (untagged) phones in any phone set,
:func:`align_words` returns the alignment contract of :mod:`voiceflow.align.alignment`
(tagged phones, ``sil``, ghost silences, 0 to the audio's duration) and word times::

    from voiceflow.align.aligner import align_words
    from voiceflow.audio.io import load_audio

    wav = load_audio("a.wav", 16000)
    words = [("hello", ["hh", "ax", "l", "ow"]), ("world", ["w", "er", "l", "d"])]
    res = align_words(wav, 16000, words, to_arpabet=lambda p: ["AH" if p == "ax" else p.upper()],
                      name="a")
    res.alignment   # [("sil", 0.0, 0.21), ("hh_B", 0.21, 0.27), ..., ("sil", 1.03, 1.25)]
    res.words       # [("hello", 0.21, 0.6), ("world", 0.6, 1.03)]
    res.score       # mismatch gap per frame (nats); above MISMATCH_THRESHOLD -> VoiceflowError

How it works (pocketsphinx 5.1 API):

1. Each word becomes a pseudo-word of the decoder's dictionary whose pronunciation is the
   word's own phones mapped by ``to_arpabet`` (``_vf_HH_AH_L_OW``; shared by utterances).
2. ``Decoder.set_align_text`` builds a linear grammar of those pseudo-words; pocketsphinx's
   FSG search inserts optional fillers (``<sil>``) between words, so pauses are found.
   A first decoding pass gives the word segmentation.
3. ``Decoder.set_alignment`` + a second pass gives the HMM state alignment; we read
   words -> phones from ``get_alignment()``. A caller phone that maps to several
   pocketsphinx phones spans from the start of the first to the end of the last.
4. Frame ``f`` of pocketsphinx's front end covers samples ``[f * shift, f * shift + wlen)``
   (wlen 25.6 ms), so the boundary between frames ``f - 1`` and ``f`` sits at the midpoint
   of their centres: ``f * shift + wlen / 2 - shift / 2``; that is the time we report.
5. Transcript check: pocketsphinx normalises every frame's acoustic scores by the frame's
   best Gaussian score, so an unconstrained phone-loop decode (the allphone search with
   ``en-us-phone.lm.bin``) scores 0.00 per frame on every demo utterance (measured), and the
   forced alignment's acoustic score per frame, negated, *is* the gap to the phone loop:
   about 1 for a matching transcript and 4 or more for a wrong one (``MISMATCH_THRESHOLD``).
   A wrong transcript often cannot be aligned at all, which is an error too.

pocketsphinx settings: ``bestpath`` off (its lattice rescoring can end the last word on a
frame that does not exist, and the state alignment then fails: "phone has impossible
duration"; seen on 4 of 60 demo utterances), ``cmn batch`` (per-utterance cepstral mean, so
a reused decoder gives the same answer whatever it aligned before).

One decoder per process and per frame rate is kept and reused (a lock serialises its use
within a process); aligning a 3 s utterance takes about 0.1-0.2 s on one core.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from voiceflow.align.alignment import Segment, add_word_positions, validate_alignment
from voiceflow.errors import VoiceflowError
from voiceflow.text.phones import SIL

__all__ = [
    "AlignResult",
    "align_words",
    "PS_PHONES",
    "MISMATCH_THRESHOLD",
    "MISMATCH_THRESHOLDS",
    "MIN_DURATION_S",
    "SILENT_PEAK",
    "DEFAULT_FRAME_RATE",
    "DEFAULT_SILPROB",
]

PS_SAMPLE_RATE = 16000  # the en-us model's feat.params / the decoder's default samprate
# The CI phones of pocketsphinx's en-us model (model/en-us/en-us/mdef), silence excluded.
PS_PHONES = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
    "UH UW V W Y Z ZH".split()
) | {"+SPN+"}  # +SPN+: the model's "speech noise" filler phone, for an unknown word (spn)
# Probability of an optional silence (pocketsphinx "silprob"; its default 0.005 lets a
# word-initial stop absorb the leading pause). tools/aligner_error.py, fr100, mean boundary
# error: 12.2 ms at 0.005, 11.5 ms at 0.1, 11.1 ms at 1.0 (docs/aligner.md).
DEFAULT_SILPROB = 1.0
MIN_DURATION_S = 0.2  # shorter audio cannot hold a word and its silences reliably
SILENT_PEAK = 10 ** (-60 / 20)  # -60 dBFS: a peak below this is no speech
# Frames per second of the front end. The model was trained at 100; 200 halves the 3-state
# minimum phone duration (30 -> 15 ms). tools/aligner_error.py (docs/aligner.md): mean
# boundary error 12.2 ms at 100, 10.7 ms at 200, but 200 separates matched from mismatched
# transcripts far less (margin 0.6 vs 2.7 nats/frame) and is twice as slow: 100.
DEFAULT_FRAME_RATE = 100
# Mismatch score (nats per frame, see AlignResult.score) above which the transcript is taken
# not to match the audio, per frame rate. tools/aligner_error.py (docs/aligner.md):
#   fr100 (silprob 1): demo corpus (60 utt.) matched 0.68 .. 1.48, another sentence's text 3.61 .. 7.27
#          (32 of 60 not alignable at all); LibriVox (5 clips) matched 1.10 .. 1.52,
#          mismatched 6.08 .. 6.33 (3 of 5 not alignable)
#   fr200 (silprob 0.005): demo matched 0.77 .. 1.76, mismatched 2.38 .. 5.93; LibriVox
#          matched 1.07 .. 1.75
MISMATCH_THRESHOLDS = {100: 3.0, 200: 2.1}
MISMATCH_THRESHOLD = MISMATCH_THRESHOLDS[100]
_WLEN_S = 0.025625  # pocketsphinx's default analysis window (Decoder config "wlen")
_SENSCR_SHIFT = 10  # pocketsphinx keeps senone scores right-shifted by 10 bits (SENSCR_SHIFT)


@dataclass
class AlignResult:
    """What :func:`align_words` found.

    Attributes:
        alignment: the alignment contract: ``(phone, start_s, end_s)`` with word-position
            suffixes, ``sil`` pauses and zero-length ghost silences, contiguous from 0 to
            the audio's duration exactly.
        words: ``(word, start_s, end_s)`` of each input word, in input order.
        score: mismatch score in nats per frame: minus the forced alignment's acoustic
            log-likelihood per frame relative to each frame's best Gaussian (which is what
            an unconstrained phone loop scores). About 1 for a matching transcript; 4 or
            more when the transcript does not match the audio.
    """

    alignment: list[Segment]
    words: list[Segment]
    score: float


class _Aligner:
    """One pocketsphinx decoder (lazily made) with its dictionary of pseudo-words."""

    def __init__(self, frame_rate: int, silprob: float) -> None:
        import pocketsphinx

        self.frame_rate = frame_rate
        self.lock = threading.Lock()
        config = pocketsphinx.Config(lm=None, loglevel="FATAL", frate=frame_rate, bestpath=False, cmn="batch",
                                     silprob=silprob)
        self.decoder = pocketsphinx.Decoder(config)
        self.ln_base = self.decoder.get_logmath().log_to_ln(1)  # log base 1.0001 -> nats

    def ensure_words(self, prons: Sequence[tuple[str, ...]]) -> list[str]:
        """Dictionary names of pseudo-words for these pronunciations (adding the new ones)."""
        names = ["_vf_" + "_".join(p) for p in prons]
        new = [(n, p) for n, p in dict(zip(names, prons)).items() if self.decoder.lookup_word(n) is None]
        for k, (n, p) in enumerate(new):
            self.decoder.add_word(n, " ".join(p), k == len(new) - 1)
        return names

    def decode(self, pcm: bytes) -> None:
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()


_ALIGNERS: dict[tuple[int, float], _Aligner] = {}
_ALIGNERS_LOCK = threading.Lock()


def _aligner(frame_rate: int, silprob: float) -> _Aligner:
    with _ALIGNERS_LOCK:
        key = (frame_rate, silprob)
        if key not in _ALIGNERS:
            _ALIGNERS[key] = _Aligner(frame_rate, silprob)
        return _ALIGNERS[key]


def _to_pcm16(wav: torch.Tensor, sample_rate: int, name: str) -> tuple[bytes, float]:
    """Mono 16 kHz int16 bytes for pocketsphinx, and the input's duration in seconds."""
    wav = torch.as_tensor(wav).detach().float().cpu()
    if wav.dim() == 2 and 1 in wav.shape:
        wav = wav.reshape(-1)
    if wav.dim() != 1:
        raise VoiceflowError(f"{name}: expected a 1-D waveform, got shape {tuple(wav.shape)}")
    duration = wav.numel() / sample_rate
    if duration < MIN_DURATION_S:
        raise VoiceflowError(f"{name}: audio is too short to align ({duration:.3f} s < {MIN_DURATION_S} s)")
    if not torch.isfinite(wav).all():
        raise VoiceflowError(f"{name}: audio holds NaN or infinite samples")
    peak = float(wav.abs().max())
    if peak < SILENT_PEAK:
        raise VoiceflowError(f"{name}: audio is silent (peak {peak:.2g} < -60 dBFS); nothing to align")
    if sample_rate != PS_SAMPLE_RATE:
        import torchaudio.functional as AF

        wav = AF.resample(wav, sample_rate, PS_SAMPLE_RATE)
    pcm = (wav.clamp(-1.0, 1.0) * 32767.0).round().to(torch.int16).numpy()
    return np.ascontiguousarray(pcm).tobytes(), duration


def _pronunciations(
    words: Sequence[tuple[str, Sequence[str]]], to_arpabet: Callable[[str], list[str]], name: str
) -> list[tuple[tuple[str, ...], list[int]]]:
    """Per word: its pocketsphinx phones and, per caller phone, how many of them it maps to."""
    out = []
    for word, phones in words:
        if not phones:
            raise VoiceflowError(f"{name}: word {word!r} has no phones")
        ps: list[str] = []
        counts: list[int] = []
        for phone in phones:
            mapped = [m.upper() for m in to_arpabet(phone)]
            bad = [m for m in mapped if m not in PS_PHONES]
            if not mapped or bad:
                raise VoiceflowError(
                    f"{name}: phone {phone!r} of word {word!r} maps to {mapped!r}, not to pocketsphinx "
                    "en-us phones (ARPAbet without stress)"
                )
            ps += mapped
            counts.append(len(mapped))
        out.append((tuple(ps), counts))
    return out


def align_words(
    wav: torch.Tensor,
    sample_rate: int,
    words: Sequence[tuple[str, Sequence[str]]],
    to_arpabet: Callable[[str], list[str]],
    name: str = "audio",
    frame_rate: int = DEFAULT_FRAME_RATE,
    check_mismatch: bool = True,
    silprob: float = DEFAULT_SILPROB,
) -> AlignResult:
    """Force-align ``words`` to ``wav``; see the module docstring.

    Args:
        wav: ``(samples,)`` float waveform in [-1, 1].
        sample_rate: its rate (resampled to 16 kHz internally).
        words: the transcript's words in order, each with its untagged phones in the
            caller's phone set.
        to_arpabet: maps one caller phone to one or more pocketsphinx phones (ARPAbet,
            upper case, no stress).
        name: names the utterance in error messages.
        frame_rate: pocketsphinx frames per second (100, the default, or 200).
        check_mismatch: raise when the transcript does not match the audio.
        silprob: pocketsphinx's probability of an optional silence between words.

    Returns:
        :class:`AlignResult`; its alignment uses the caller's phones, tagged.

    Raises:
        VoiceflowError (one line naming ``name``): too-short or silent audio, no words, a
        word without phones or an unmappable phone, alignment failure, transcript mismatch.
    """
    if not words:
        raise VoiceflowError(f"{name}: no words to align (empty transcript)")
    pcm, duration = _to_pcm16(wav, sample_rate, name)
    prons = _pronunciations(words, to_arpabet, name)
    al = _aligner(frame_rate, silprob)
    with al.lock:
        dec = al.decoder
        names = al.ensure_words([p for p, _ in prons])
        # Pass 1: word segmentation through the linear grammar with optional silences.
        try:
            dec.set_align_text(" ".join(names))
        except RuntimeError as e:
            raise VoiceflowError(f"{name}: pocketsphinx rejected the transcript ({e})") from None
        try:
            al.decode(pcm)
        except RuntimeError as e:
            raise VoiceflowError(f"{name}: forced alignment failed in pocketsphinx ({e})") from None
        if dec.hyp() is None:
            raise VoiceflowError(
                f"{name}: forced alignment failed ({len(words)} words, {sum(len(p) for p, _ in prons)} phones "
                f"in {duration:.2f} s of audio): the transcript does not fit the audio"
            )
        # Pass 2: state alignment of that segmentation.
        try:
            dec.set_alignment()
            al.decode(pcm)
        except RuntimeError as e:
            raise VoiceflowError(f"{name}: forced alignment failed in pocketsphinx's state alignment ({e})") from None
        alignment = dec.get_alignment()
        if alignment is None:
            raise VoiceflowError(f"{name}: forced alignment failed (no phone alignment from pocketsphinx)")
        frames = dec.n_frames()
        ps_words = [(w.name, [(p.name, p.start, p.duration) for p in w], w.score) for w in alignment]
    align_score = sum(s for _, _, s in ps_words)
    gap = -align_score * (1 << _SENSCR_SHIFT) * al.ln_base / max(frames, 1)
    result = _assemble(ps_words, words, prons, names, frame_rate, duration, name, gap)
    threshold = MISMATCH_THRESHOLDS.get(frame_rate, MISMATCH_THRESHOLD)
    if check_mismatch and gap > threshold:
        raise VoiceflowError(
            f"{name}: the transcript does not match the audio (mismatch score {gap:.2f} nats/frame "
            f"> {threshold})"
        )
    return result


def _assemble(ps_words, words, prons, names, frame_rate: int, duration: float, name: str, gap: float) -> AlignResult:
    """pocketsphinx's words/phones (frames) to the caller's phones (seconds) and the contract."""
    shift = 1.0 / frame_rate
    offset = _WLEN_S / 2 - shift / 2  # boundary between frames f-1 and f: f * shift + offset

    def at(frame: int) -> float:
        return 0.0 if frame <= 0 else min(frame * shift + offset, duration)

    phones: list[Segment] = []
    word_times: list[Segment] = []
    k = 0  # index of the next input word
    for ps_name, ps_phones, _ in ps_words:
        if k < len(words) and ps_name == names[k]:
            if len(ps_phones) != len(prons[k][0]):
                raise VoiceflowError(f"{name}: pocketsphinx aligned {ps_name} with other phones than given")
            i = 0
            for phone, count in zip(words[k][1], prons[k][1]):
                first, last = ps_phones[i], ps_phones[i + count - 1]
                phones.append((phone, at(first[1]), at(last[1] + last[2])))
                i += count
            word_times.append((words[k][0], phones[-len(words[k][1])][1], phones[-1][2]))
            k += 1
        else:  # <s>, </s>, <sil>, [NOISE]...: fillers are pauses
            for _, start, length in ps_phones:
                phones.append((SIL, at(start), at(start + length)))
    if k != len(words):
        raise VoiceflowError(f"{name}: forced alignment failed (aligned {k} of {len(words)} words)")
    if not phones:
        raise VoiceflowError(f"{name}: forced alignment failed (no phones)")
    # Contiguous from 0 to the duration: the last entry (or a new silence) takes the tail.
    # pocketsphinx's last frame ends up to one window before the audio does; when the
    # speech runs to the end, the last word's last phone takes the tail.
    if phones[-1][0] != SIL:
        word_times[-1] = (word_times[-1][0], word_times[-1][1], duration)
    phones[-1] = (phones[-1][0], phones[-1][1], duration)
    tagged = add_word_positions(word_times, phones)
    validate_alignment(tagged, duration, tolerance=1e-6, name=name)
    return AlignResult(alignment=tagged, words=word_times, score=gap)
