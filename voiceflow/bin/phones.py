"""Build the phone inventory (one symbol per line, line 0 = padding) from aligned manifests.

Usage::

    python -m voiceflow.bin.phones --manifest data/train.jsonl --out data/phones.txt
"""

from __future__ import annotations

import argparse

from voiceflow.bin.common import entry_point
from voiceflow.data.manifest import load_manifest
from voiceflow.text import PhoneInventory


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voiceflow phones", description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", action="append", required=True, help="aligned manifest (repeatable)")
    parser.add_argument("--out", required=True, help="inventory file to write")
    args = parser.parse_args(argv)
    phone_lists = []
    for path in args.manifest:
        rows = load_manifest(path, require=("id", "alignment"))
        phone_lists.extend([seg[0] for seg in row["alignment"]] for row in rows)
    inventory = PhoneInventory.build(phone_lists)
    inventory.save(args.out)
    print(f"{args.out}: {len(inventory)} symbols (incl. padding) from {len(phone_lists)} utterances")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
