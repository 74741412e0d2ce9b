"""Shared wiring of the entry points: one-line errors and non-zero exits for bad input."""

from __future__ import annotations

import functools
import sys

from voiceflow.errors import VoiceflowError


def entry_point(main):
    """Wrap ``main(argv)``: a VoiceflowError prints ``error: ...`` on stderr and exits 1."""

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        try:
            return main(argv) or 0
        except VoiceflowError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    return wrapper
