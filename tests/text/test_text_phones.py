"""voiceflow.text.phones: the phone inventory file and word-position suffixes."""

import pytest

from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory, strip_word_position, tag_word


def test_build_orders_pad_sil_spn_then_sorted():
    inv = PhoneInventory.build([["sil", "HH_B", "AY1_E"], ["spn"], ["AA1_S", "HH_B", "sil"]])
    assert inv.symbols == ["<pad>", "sil", "spn", "AA1_S", "AY1_E", "HH_B"]
    assert len(inv) == 6
    assert inv.pad_id == 0 and inv.id("<pad>") == 0
    assert inv.id("sil") == 1 and inv.id("spn") == 2
    assert inv.ids(["HH_B", "AY1_E", "sil"]) == [5, 4, 1]
    assert inv.symbol(3) == "AA1_S"
    assert "HH_B" in inv and "XX" not in inv


def test_build_always_has_sil_and_spn():
    assert PhoneInventory.build([]).symbols == ["<pad>", "sil", "spn"]


def test_save_load_round_trip(tmp_path):
    inv = PhoneInventory.build([["b_B", "a_E"], ["ɪ_S"]])
    path = tmp_path / "data" / "tokens.txt"
    inv.save(path)
    assert path.read_text(encoding="utf-8") == "<pad>\nsil\nspn\na_E\nb_B\nɪ_S\n"
    assert [p.name for p in path.parent.iterdir()] == ["tokens.txt"]
    loaded = PhoneInventory.load(path)
    assert loaded == inv
    assert loaded.id("ɪ_S") == 5


def test_symbols_is_a_copy():
    inv = PhoneInventory.build([["a_S"]])
    inv.symbols.append("zzz")
    assert len(inv) == 4


def test_load_ignores_trailing_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_bytes(b"<pad>\r\nsil\r\nspn\r\nx_S\r\n\r\n")
    assert PhoneInventory.load(path).symbols == ["<pad>", "sil", "spn", "x_S"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("<pad>\nsil\nspn\nAA\nsil\n", "duplicate symbol 'sil' .lines 2 and 5."),
        ("sil\n<pad>\nspn\n", "first symbol must be <pad>"),
        ("", "first symbol must be <pad>"),
        ("<pad>\nsil\nAA\n", "missing required symbol 'spn'"),
        ("<pad>\nsil\n\nspn\n", "line 3: empty symbol"),
        ("<pad>\nsil\nspn\nA A\n", "line 4: symbol 'A A' contains whitespace"),
    ],
)
def test_load_errors_name_the_file(tmp_path, text, message):
    path = tmp_path / "tokens.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VoiceflowError, match=message) as info:
        PhoneInventory.load(path)
    assert str(info.value).startswith(str(path))


def test_load_missing_file(tmp_path):
    with pytest.raises(VoiceflowError, match="nope.txt: phone inventory not found"):
        PhoneInventory.load(tmp_path / "nope.txt")


def test_unknown_symbol_and_bad_id():
    inv = PhoneInventory.build([["a_S"]])
    with pytest.raises(VoiceflowError, match="unknown phone 'ZH_B'"):
        inv.id("ZH_B")
    with pytest.raises(VoiceflowError, match="unknown phone 'q'"):
        inv.ids(["a_S", "q"])
    with pytest.raises(VoiceflowError, match="out of range"):
        inv.symbol(4)
    with pytest.raises(VoiceflowError, match="out of range"):
        inv.symbol(-1)


def test_tag_word_and_strip():
    assert tag_word(["HH", "AH0", "L", "OW1"]) == ["HH_B", "AH0_I", "L_I", "OW1_E"]
    assert tag_word(["K", "AE1"]) == ["K_B", "AE1_E"]
    assert tag_word(["AY1"]) == ["AY1_S"]
    assert tag_word(["spn"]) == ["spn"]
    assert tag_word([]) == []
    assert [strip_word_position(p) for p in ["HH_B", "AH0_I", "OW1_E", "AY1_S", "sil", "spn", "_S"]] == [
        "HH", "AH0", "OW1", "AY1", "sil", "spn", "_S",
    ]
