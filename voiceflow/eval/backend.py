"""What every pluggable evaluation model shares: a spec string, a loader, and the fallback rule.

A backend spec is ``name`` or ``name:source`` (``transformers:openai/whisper-small``,
``wavlm:/models/wavlm-base-plus-sv``). A loader either returns a ready model or raises
:class:`Unavailable` with a short reason (package not installed, folder missing, hub
unreachable). :func:`load_with_fallback` tries the requested backend, and on
:class:`Unavailable` prints one line, ``eval: <spec> unavailable (<reason>); using
<fallback>``, and loads the offline fallback instead. When the fallback is unavailable too,
it raises :class:`Unavailable` naming both reasons.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

__all__ = ["Unavailable", "split_spec", "local_or_hub", "hub_error", "from_folder_or_hub", "load_with_fallback"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


class Unavailable(Exception):
    """A backend cannot be used here; the message is the short reason."""


def split_spec(spec: str) -> tuple[str, str]:
    """``"transformers:openai/whisper-small"`` -> ``("transformers", "openai/whisper-small")``."""
    name, _, source = spec.strip().partition(":")
    return name.strip().lower(), source.strip()


def local_or_hub(source: str) -> str:
    """A folder that exists, or a hub id ``owner/name``; anything else is Unavailable.

    An existing folder always wins. A path-looking source that does not exist (``/x``,
    ``./x``, ``~/x``, ``a/b/c``) is never sent to the hub.
    """
    if not source:
        raise Unavailable("no model folder or hub id given")
    path = Path(source).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise Unavailable(f"{source} is a file, not a model folder")
    if source.startswith((".", "/", "~")) or not _HUB_ID.match(source):
        raise Unavailable(f"no such folder {source}")
    return source


def hub_error(source: str, error: Exception) -> Unavailable:
    """One short reason for a failed ``from_pretrained`` (offline, missing files, bad config)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if len(text) > 160:
        text = text[:157] + "..."
    return Unavailable(f"cannot load {source}: {text}")


def _hub_reachable(timeout: float = 3.0) -> bool:
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def from_folder_or_hub(load: Callable[..., object], source: str):
    """``load(source, **kwargs)`` for a folder; for a hub id, the local cache first, then the hub.

    ``load`` calls the ``from_pretrained`` methods it needs with ``**kwargs``. Without a
    connection (or with ``HF_HUB_OFFLINE=1``) a hub id missing from the cache is Unavailable
    at once, instead of after the hub client's retries.
    """
    if Path(source).is_dir():
        try:
            return load(source)
        except Exception as e:  # missing files, an unknown architecture
            raise hub_error(source, e) from None
    try:
        return load(source, local_files_only=True)
    except Exception:
        pass
    if not _hub_reachable():
        raise Unavailable(f"{source} is not in the local Hugging Face cache and the hub is unreachable")
    try:
        return load(source)
    except Exception as e:
        raise hub_error(source, e) from None


def load_with_fallback(spec: str, loaders: dict[str, Callable[[str], object]], fallback: str,
                       notice: Callable[[str], object] | None = print):
    """Load ``spec`` through ``loaders[name](source)``; on Unavailable, notice and load ``fallback``.

    Raises:
        ValueError: the backend name is not one of ``loaders`` (the CLI reports it).
        Unavailable: neither the requested backend nor the fallback can be loaded.
    """
    name, source = split_spec(spec)
    if name not in loaders:
        raise ValueError(f"unknown backend {spec!r} (one of: {', '.join(loaders)})")
    try:
        return loaders[name](source)
    except Unavailable as e:
        if spec.strip().lower() == fallback:
            raise
        first = e
    fb_name, fb_source = split_spec(fallback)
    try:
        backend = loaders[fb_name](fb_source)
    except Unavailable as e:
        raise Unavailable(f"{spec} unavailable ({first}) and fallback {fallback} unavailable ({e})") from None
    if notice is not None:
        notice(f"eval: {spec} unavailable ({first}); using {fallback}")
    return backend
