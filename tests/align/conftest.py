"""Fixtures for the alignment tests: TextGrids written by code, in Praat's long or short format."""

import pytest


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def textgrid_text(tiers: dict, xmax: float, short: bool = False) -> str:
    """A Praat TextGrid holding interval tiers ``{name: [(start, end, label), ...]}``."""
    if short:
        lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "0", str(xmax), "<exists>", str(len(tiers))]
        for name, intervals in tiers.items():
            lines += ['"IntervalTier"', _quote(name), "0", str(xmax), str(len(intervals))]
            for start, end, label in intervals:
                lines += [str(start), str(end), _quote(label)]
        return "\n".join(lines) + "\n"
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0 ",
        f"xmax = {xmax} ",
        "tiers? <exists> ",
        f"size = {len(tiers)} ",
        "item []: ",
    ]
    for t, (name, intervals) in enumerate(tiers.items(), 1):
        lines += [
            f"    item [{t}]:",
            '        class = "IntervalTier" ',
            f"        name = {_quote(name)} ",
            "        xmin = 0 ",
            f"        xmax = {xmax} ",
            f"        intervals: size = {len(intervals)} ",
        ]
        for i, (start, end, label) in enumerate(intervals, 1):
            lines += [
                f"        intervals [{i}]:",
                f"            xmin = {start} ",
                f"            xmax = {end} ",
                f"            text = {_quote(label)} ",
            ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_textgrid(tmp_path):
    """``write_textgrid(tiers, xmax, name="utt.TextGrid", short=False, encoding="utf-8") -> Path``."""

    def write(tiers, xmax, name="utt.TextGrid", short=False, encoding="utf-8"):
        path = tmp_path / name
        path.write_text(textgrid_text(tiers, xmax, short), encoding=encoding)
        return path

    return write
