"""Phone sets -> the stressless ARPAbet of pocketsphinx's en-us model (used by the built-in aligner).

    ARPABET               # the 39 phones
    ESPEAK_IPA["aɪ"]      # ("AY",)   IPA as espeak-ng 1.52 emits it
    FLITE["ax"]           # ("AH",)   flite's lowercase phones
"""

from __future__ import annotations

__all__ = ["ARPABET", "ARPA_SIL", "ARPA_SPN", "ESPEAK_IPA", "FLITE"]

#: The 39 stressless ARPAbet phones of pocketsphinx's en-us acoustic model.
ARPABET = frozenset("""
AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V
W Y Z ZH
""".split())
ARPA_SIL = "SIL"
ARPA_SPN = "+SPN+"  # pocketsphinx en-us noisedict: "[SPEECH] +SPN+"


def _arpa(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v.split()) for k, v in table.items()}


# IPA as espeak-ng 1.52 en-us emits it (every phone found by phonemizing all ~134k words
# of cmudict, stress removed), plus en-gb/en vowels, -> ARPAbet. Choices: flap "ɾ" and
# glottal stop "ʔ" -> T (CMUdict, whose transcriptions trained pocketsphinx's model, spells
# flapped "water", "button" with T); "ᵻ" (reduced i) -> IH; "ɐ", "ə" -> AH; syllabic
# consonants and "əl" -> AH + consonant (CMUdict's "AH0 L"); "x" -> K (CMUdict "loch" is
# L AA1 K); "ɬ" -> L; nasal vowels -> vowel + N; palatalised consonants -> consonant + Y.
ESPEAK_IPA = _arpa({
    # consonants
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G", "g": "G", "f": "F", "v": "V",
    "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M",
    "n": "N", "ŋ": "NG", "l": "L", "ɹ": "R", "r": "R", "w": "W", "j": "Y", "tʃ": "CH",
    "dʒ": "JH", "ɾ": "T", "ʔ": "T", "x": "K", "ɬ": "L", "ç": "HH", "ɣ": "G", "ʍ": "W",
    "ts": "T S", "nʲ": "N Y", "ɡʲ": "G Y", "kʲ": "K Y", "lʲ": "L Y", "ɲ": "N Y",
    "n̩": "AH N", "m̩": "AH M", "l̩": "AH L", "əl": "AH L", "əm": "AH M", "ən": "AH N",
    # monophthongs
    "iː": "IY", "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EY", "ɛ": "EH", "ɛː": "EH",
    "æ": "AE", "a": "AE", "aː": "AA", "ɑː": "AA", "ɑ": "AA", "ɒ": "AA", "ɔː": "AO",
    "ɔ": "AO", "o": "OW", "oː": "OW", "ʊ": "UH", "uː": "UW", "u": "UW", "ʌ": "AH",
    "ɐ": "AH", "ə": "AH", "ɚ": "ER", "ɝ": "ER", "ɜː": "ER", "ɜ": "ER", "y": "UW",
    "yː": "UW", "ø": "ER", "øː": "ER", "œ": "ER",
    # diphthongs
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY",
    "iə": "IY AH", "ɪə": "IH AH", "eə": "EH", "ʊə": "UH AH", "aɪə": "AY AH",
    "aʊə": "AW AH", "aɪɚ": "AY ER", "aʊɚ": "AW ER",
    # r-coloured vowels (en-us)
    "ɑːɹ": "AA R", "ɔːɹ": "AO R", "oːɹ": "AO R", "ɛɹ": "EH R", "ʊɹ": "UH R",
    "ɪɹ": "IH R", "iɹ": "IY R", "ɜːɹ": "ER",
    # nasal vowels (French loans)
    "ɑ̃": "AA N", "ɔ̃": "AO N", "æ̃": "AE N", "ɛ̃": "EH N", "œ̃": "ER N",
})

# flite's US English phone set: the 39 ARPAbet phones in lowercase plus the reduced and
# syllabic phones of the CMU/TIMIT tradition. t2p on ~1500 random cmudict words emits only
# the 39 and "ax" (and "pau", dropped); the others are mapped in case a lexicon entry has them.
FLITE = {p.lower(): (p,) for p in ARPABET}
FLITE.update(_arpa({"ax": "AH", "axr": "ER", "el": "AH L", "em": "AH M", "en": "AH N",
                     "dx": "T", "nx": "N", "hv": "HH"}))
