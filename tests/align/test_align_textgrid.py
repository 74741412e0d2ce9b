"""voiceflow.align.textgrid: Praat TextGrids, long and short text formats, UTF-8 and UTF-16."""

import pytest

from voiceflow.align import IntervalTier, read_textgrid, read_textgrid_tiers
from voiceflow.errors import VoiceflowError

TIERS = {
    "words": [(0, 0.25, ""), (0.25, 0.6, "hello"), (0.6, 1.0, "")],
    "phones": [(0, 0.25, ""), (0.25, 0.4, "HH"), (0.4, 0.6, "OW1"), (0.6, 1.0, "")],
}


@pytest.mark.parametrize("short", [False, True], ids=["long", "short"])
def test_reads_both_formats(write_textgrid, short):
    path = write_textgrid(TIERS, 1.0, short=short)
    assert read_textgrid(path) == {
        "words": [(0.0, 0.25, ""), (0.25, 0.6, "hello"), (0.6, 1.0, "")],
        "phones": [(0.0, 0.25, ""), (0.25, 0.4, "HH"), (0.4, 0.6, "OW1"), (0.6, 1.0, "")],
    }


def test_tier_extents(tmp_path):
    path = tmp_path / "sparse.TextGrid"
    path.write_text('"ooTextFile" "TextGrid" 0 3 <exists> 1 "IntervalTier" "words" 0.5 3 1 1 2 "x"')
    assert read_textgrid_tiers(path) == {"words": IntervalTier(0.5, 3.0, [(1.0, 2.0, "x")])}
    assert read_textgrid(path) == {"words": [(1.0, 2.0, "x")]}


def test_utf16_with_bom_quotes_and_non_ascii(write_textgrid):
    tiers = {"words": [(0, 0.5, 'say "ça"'), (0.5, 1.25, "naïve [x] ! not a comment")]}
    path = write_textgrid(tiers, 1.25, encoding="utf-16")  # Python writes a BOM
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert read_textgrid(path) == {"words": [(0.0, 0.5, 'say "ça"'), (0.5, 1.25, "naïve [x] ! not a comment")]}


def test_utf8_bom_and_crlf(write_textgrid, tmp_path):
    path = write_textgrid(TIERS, 1.0)
    text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_textgrid(path)["phones"][1] == (0.25, 0.4, "HH")


def test_point_tiers_are_skipped_and_comments_ignored(tmp_path):
    path = tmp_path / "mixed.TextGrid"
    path.write_text(
        "\n".join(
            [
                'File type = "ooTextFile"',
                'Object class = "TextGrid"',
                "0 2.5 <exists> 2   ! two tiers",
                '"TextTier" "events" 0 2.5 2',
                '1.0 "click"',
                '2.0 "pop"',
                '"IntervalTier" "phones" 0 2.5 2',
                '0 1.5e0 "a"',
                '1.5 2.5 "b"',
            ]
        )
    )
    assert read_textgrid(path) == {"phones": [(0.0, 1.5, "a"), (1.5, 2.5, "b")]}


def test_no_tiers(tmp_path):
    path = tmp_path / "empty.TextGrid"
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n1\n<absent>\n')
    assert read_textgrid(path) == {}


def test_missing_file(tmp_path):
    with pytest.raises(VoiceflowError, match="nope.TextGrid: TextGrid not found"):
        read_textgrid(tmp_path / "nope.TextGrid")


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"json": true}', 'not a TextGrid .no File type = "ooTextFile" header'),
        ("", "not a TextGrid"),
        ('File type = "ooTextFile"\nObject class = "Sound"\n', "not a TextGrid .object class is 'Sound'"),
        (b'File type = "ooBinaryFile"\x00\x01', "binary TextGrids are not supported"),
        (b"\xff\xfe\x00\xd8", "not UTF-8 or UTF-16"),
        (b"\xc3\x28 garbage", "not UTF-8 or UTF-16"),
    ],
)
def test_not_a_textgrid(tmp_path, content, message):
    path = tmp_path / "bad.TextGrid"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(VoiceflowError, match=message) as info:
        read_textgrid(path)
    assert str(info.value).startswith(str(path))


def test_malformed_truncated(write_textgrid):
    path = write_textgrid(TIERS, 1.0)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-6]) + "\n")  # the phones tier promises 4 intervals, holds 2.5
    with pytest.raises(VoiceflowError, match=r"utt.TextGrid: malformed TextGrid \(ends early \(expected .*phones"):
        read_textgrid(path)


def test_malformed_wrong_value_names_the_line(write_textgrid):
    path = write_textgrid(TIERS, 1.0)
    text = path.read_text().replace("xmax = 0.4 ", 'xmax = "oops" ', 1)
    path.write_text(text)
    line = next(n for n, l in enumerate(text.splitlines(), 1) if '"oops"' in l)
    with pytest.raises(VoiceflowError, match=rf'malformed TextGrid \(expected the xmax of interval 2 .* at line {line}, found "oops"\)'):
        read_textgrid(path)


def test_malformed_unterminated_string_and_unknown_class(tmp_path):
    path = tmp_path / "u.TextGrid"
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n0 1 <exists> 1\n"IntervalTier" "words 0 1 1\n')
    with pytest.raises(VoiceflowError, match="malformed TextGrid .unterminated string at line 4"):
        read_textgrid(path)
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n0 1 <exists> 1\n"Tier" "w" 0 1 0\n')
    with pytest.raises(VoiceflowError, match="unknown tier class 'Tier'"):
        read_textgrid(path)


def test_duplicate_tier_names(tmp_path):
    path = tmp_path / "dup.TextGrid"
    path.write_text('"ooTextFile" "TextGrid" 0 1 <exists> 2 "IntervalTier" "a" 0 1 0 "IntervalTier" "a" 0 1 0')
    with pytest.raises(VoiceflowError, match="two interval tiers are named 'a'"):
        read_textgrid(path)
