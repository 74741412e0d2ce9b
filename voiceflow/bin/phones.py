"""Build the phone inventory (one symbol per line, line 0 = padding) from aligned manifests.

Usage::

    python -m voiceflow.bin.phones --manifest data/train.jsonl --out data/phones.txt
    python -m voiceflow.bin.phones --manifest data/manifests/aligned/train.d --manifest data/dev.jsonl \\
        --out data/phones.txt

``--manifest`` is repeatable; a directory stands for its ``*.jsonl`` files in sorted name order
(the pieces of a large manifest). The manifests are read one line at a time, so their size is
not limited by memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from voiceflow.bin.common import command_parser, entry_point
from voiceflow.data.manifest import iter_manifest, manifest_files
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory


def phone_lists(manifests: Sequence[Path], counter: list[int]) -> Iterator[list[str]]:
    """The phone labels of every row's alignment, row by row; ``counter[0]`` counts the rows."""
    for path in manifests:
        for n, row in iter_manifest(path, require=("id", "alignment")):
            alignment = row["alignment"]
            if not isinstance(alignment, list) or not all(
                    isinstance(seg, list) and len(seg) == 3 and isinstance(seg[0], str) for seg in alignment):
                raise VoiceflowError(f"{path}:{n}: alignment of {row['id']!r} is not a list of [phone, start, end]")
            counter[0] += 1
            yield [seg[0] for seg in alignment]


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("voiceflow phones", __doc__)
    parser.add_argument("--manifest", action="append", required=True,
                        help="aligned manifest, or a directory of *.jsonl pieces (repeatable)")
    parser.add_argument("--out", required=True, help="inventory file to write")
    args = parser.parse_args(argv)
    rows = [0]
    inventory = PhoneInventory.build(phone_lists(manifest_files(args.manifest), rows))
    inventory.save(args.out)
    print(f"{args.out}: {len(inventory)} symbols (incl. padding) from {rows[0]} utterances")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
