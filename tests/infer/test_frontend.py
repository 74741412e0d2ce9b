"""The inference front end spells text with the model's G2P and refuses phones the model
never saw; when the phones are written unlike every phone of phones.txt, the error says that
the model was trained with another G2P than its config's text.g2p."""

import pytest

from voiceflow.config import TextConfig
from voiceflow.errors import VoiceflowError
from voiceflow.infer.frontend import TextFrontEnd
from voiceflow.text import PhoneInventory, tag_word

HELLO_THERE_CMUDICT = [["HH", "AH0", "L", "OW1"], ["DH", "EH1", "R"]]
HELLO_THERE_FLITE = [["hh", "ax", "l", "ow"], ["dh", "eh", "r"]]


def inventory(words):
    return PhoneInventory(["<pad>", "sil", "spn"] + sorted({p for w in words for p in tag_word(w)}), "phones.txt")


def test_known_phones_pass():
    front = TextFrontEnd(TextConfig(g2p="cmudict"), inventory(HELLO_THERE_CMUDICT))
    words, phones = front.phonemize("Hello, there.")
    assert words == ["hello", "there"] and phones == HELLO_THERE_CMUDICT


def test_a_missing_phone_of_the_same_spelling_has_no_g2p_hint():
    front = TextFrontEnd(TextConfig(g2p="cmudict"), inventory(HELLO_THERE_CMUDICT[:1]))
    with pytest.raises(VoiceflowError) as e:
        front.phonemize("hello there")
    assert "word 'there' needs phone 'DH_B'" in str(e.value) and "text.g2p" not in str(e.value)


@pytest.mark.parametrize("g2p, other", [("cmudict", HELLO_THERE_FLITE), ("flite", HELLO_THERE_CMUDICT)])
def test_phones_of_another_g2p_name_the_config_key(g2p, other):
    front = TextFrontEnd(TextConfig(g2p=g2p), inventory(other))
    with pytest.raises(VoiceflowError, match=f"spelled unlike this .* phone of text.g2p={g2p}: set text.g2p"):
        front.phonemize("hello there")
