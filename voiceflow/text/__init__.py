"""Text: normalisation, G2P and the phone inventory (one symbol per line, id 0 = padding)."""

from voiceflow.text.g2p import ARPABET, G2P, G2P_BACKENDS, Phonemized, make_g2p
from voiceflow.text.normalize import normalize_text, words_of
from voiceflow.text.phones import (
    PAD,
    SIL,
    SPN,
    WORD_POSITIONS,
    PhoneInventory,
    strip_word_position,
    tag_word,
)

__all__ = ["PAD", "SIL", "SPN", "WORD_POSITIONS", "PhoneInventory", "tag_word", "strip_word_position",
           "normalize_text", "words_of", "G2P", "G2P_BACKENDS", "Phonemized", "make_g2p", "ARPABET"]
