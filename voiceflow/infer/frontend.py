"""Text and recordings in the phone set of a trained model: G2P, prompt alignment, checks.

The model's config says how its training data spelled phones (``text.g2p``); inference
spells new text the same way and aligns users' recordings with the built-in aligner, or
takes the user's own alignment (an MFA TextGrid or the contract's JSON list, in the model's
phone set; any language the model was trained on)::

    front = TextFrontEnd(cfg.text, inventory)
    words, phones = front.phonemize("Hello there.")          # normalised words, untagged phones
    rec = front.recording("prompt.wav", "The prompt's transcript.", sample_rate=24000)
    rec = front.recording("prompt.wav", "The prompt's transcript.", 24000, alignment="prompt.TextGrid")
    rec.wav, rec.alignment, rec.words
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from voiceflow.audio import load_audio
from voiceflow.config import TextConfig
from voiceflow.errors import VoiceflowError
from voiceflow.text import PAD, SIL, SPN, PhoneInventory, strip_word_position, tag_word

MIN_SECONDS = 0.3     # shorter recordings hold too little context to continue a voice
SILENCE_PEAK = 1e-3   # a recording whose peak stays below this (-60 dBFS) is silence


def _spelling(symbol: str) -> str:
    """How a G2P writes phones: espeak in IPA, cmudict in upper-case ARPAbet, flite in
    lower-case letters."""
    base = strip_word_position(symbol)
    if any(ord(c) > 127 for c in base):
        return "IPA"
    return "upper-case" if any(c.isupper() for c in base) else "lower-case"


@dataclass
class Recording:
    """A user's recording at the model's rate with its transcript aligned to phones."""

    path: str
    wav: torch.Tensor  # (samples,) at the model's sample rate
    words: list[str]   # normalised transcript words
    alignment: list    # [(tagged phone, start_s, end_s)], the alignment contract


class TextFrontEnd:
    def __init__(self, cfg: TextConfig, inventory: PhoneInventory, source: str = "the model"):
        from voiceflow.text.g2p import make_g2p

        self.cfg, self.inventory, self.source = cfg, inventory, source
        self.g2p = make_g2p(cfg.g2p, language=cfg.language)

    def phonemize(self, text: str, what: str = "text") -> tuple[list[str], list[list[str]]]:
        """Normalised words and their untagged phones; errors name ``what`` and the problem."""
        if not text or not text.strip():
            raise VoiceflowError(f"{what} is empty")
        try:
            result = self.g2p.phonemize(text)
        except VoiceflowError as e:
            raise VoiceflowError(f"{what}: {e}") from None
        for word, phones in zip(result.words, result.phones):
            for phone in tag_word(list(phones)):
                if phone not in self.inventory:
                    raise VoiceflowError(f"{what}: word {word!r} needs phone {phone!r}, which {self.source} "
                                         f"never saw in training (not in its phones.txt){self._g2p_hint(phone)}")
        return list(result.words), [list(p) for p in result.phones]

    def _g2p_hint(self, phone: str) -> str:
        """When the missing phone is written unlike every phone of phones.txt (IPA, upper-case
        ARPAbet, lower-case letters), the model's phones come from another G2P than
        ``text.g2p`` (e.g. a config written before the key existed, read as espeak)."""
        styles = {_spelling(s) for s in self.inventory.symbols if s not in (PAD, SIL, SPN)}
        if _spelling(phone) in styles:
            return ""
        return (f"; its phones are spelled unlike this {_spelling(phone)} phone of text.g2p={self.cfg.g2p}: set "
                f"text.g2p in the experiment's config.yaml to the G2P its corpus was phonemized with")

    def load(self, path: str | Path, sample_rate: int) -> torch.Tensor:
        """The recording at ``sample_rate``, checked long enough and not silent."""
        wav = load_audio(path, sample_rate)
        seconds = wav.numel() / sample_rate
        if seconds < MIN_SECONDS:
            raise VoiceflowError(f"{path}: audio too short ({seconds:.2f} s; at least {MIN_SECONDS} s needed)")
        if float(wav.abs().max()) < SILENCE_PEAK:
            raise VoiceflowError(f"{path}: audio is silent (peak below -60 dBFS)")
        return wav

    def recording(self, path: str | Path, text: str, sample_rate: int,
                  alignment: str | Path | list | None = None) -> Recording:
        """Load ``path`` and align it to ``text`` (errors name the file).

        ``alignment``: the recording's own alignment (a TextGrid or JSON file, or the list)
        instead of the built-in aligner; it must cover the audio, use phones the model knows
        and hold as many words as ``text``.
        """
        wav = self.load(path, sample_rate)
        words, phones = self.phonemize(text, what=f"{path}: transcript")
        if alignment is None:
            from voiceflow.align.aligner import align_words

            result = align_words(wav, sample_rate, list(zip(words, phones)), self.g2p.to_arpabet, name=str(path))
            return Recording(str(path), wav, words, result.alignment)
        return Recording(str(path), wav, words, self.given_alignment(alignment, wav.numel() / sample_rate, words))

    def given_alignment(self, alignment: str | Path | list, duration: float, words: list[str]) -> list:
        """A user's alignment of a recording of ``duration`` s saying ``words``, checked."""
        from voiceflow.align import count_words, load_alignment

        segments, name = load_alignment(alignment, duration)
        unknown = sorted({ph for ph, _, _ in segments if ph not in self.inventory})
        if unknown:
            raise VoiceflowError(f"{name}: phone(s) {', '.join(unknown)} not in {self.source}'s phones.txt "
                                 "(the alignment must use the phone set the model was trained on)")
        n = count_words(segments)
        if n != len(words):
            raise VoiceflowError(f"{name}: {n} words aligned, but the transcript has {len(words)}")
        return segments
