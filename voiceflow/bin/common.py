"""Shared wiring of the entry points: one-line errors and non-zero exits for bad input."""

from __future__ import annotations

import argparse
import functools
import re
import sys

from voiceflow.errors import VoiceflowError


def entry_point(main):
    """Wrap ``main(argv)``: a VoiceflowError, or an OSError about a named file (a path that
    cannot be read or written), prints ``error: ...`` on stderr and exits 1."""

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        try:
            return main(argv) or 0
        except VoiceflowError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(1) from None
        except OSError as e:  # a path the user gave that cannot be read or written
            if e.filename is None:
                raise
            target = f"{e.filename} -> {e.filename2}" if e.filename2 else f"{e.filename}"
            print(f"error: {target}: {e.strerror or e}", file=sys.stderr)
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    return wrapper


def plain_text(doc: str) -> str:
    """A docstring as a terminal shows it: reStructuredText roles (``:mod:`x```), inline
    literals and the ``::`` of literal blocks become plain text."""
    text = re.sub(r":[a-z]+:`([^`]*)`", r"\1", doc)
    text = text.replace("``", "")
    return re.sub(r"(\w)::$", r"\1:", text, flags=re.M)


def command_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """The parser of an entry point: its docstring's first line as the description and the
    rest (the usage examples and notes) after the options, in plain text."""
    first, _, rest = doc.strip().partition("\n")
    return argparse.ArgumentParser(prog=prog, description=plain_text(first),
                                   epilog=plain_text(rest).strip() or None, formatter_class=_HelpFormatter)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The docstring's layout kept; an option's default value shown after its help (not for
    flags, unset options, or help that already says its default)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default is None or default is argparse.SUPPRESS or isinstance(default, bool) or "default" in text
                or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"
