"""Render the listening-test page: ``page.html`` with the test's data filled in, escaped.

Nothing from the user's inputs is written into the page as markup:

* the test (trials, texts, title, instructions, post URL) goes into one
  ``<script type="application/json">`` block by :func:`script_json`, which escapes ``<``,
  ``>``, ``&``, U+2028 and U+2029 as JSON ``\\uXXXX`` escapes, so no input can close the
  block or start a comment; the page's script puts every text on screen with
  ``textContent``, never ``innerHTML``;
* the title also goes into ``<title>`` through :func:`html.escape`.

The page carries a Content-Security-Policy: only its own inline script and style run (by
their SHA-256 hashes, so an injected script would not run even if escaping failed), audio
comes from the page's own folder, and the network is closed except to the origin of
``--post-url`` when one is given.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from urllib.parse import urlsplit

from voiceflow.errors import VoiceflowError

_SLOTS = re.compile(r"__(TITLE|CSP|CONFIG)__")
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def script_json(obj) -> str:
    """JSON text that is safe inside ``<script type="application/json">`` (and as JS)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # '<', '>' and '&' only occur inside JSON strings, where \\uXXXX means the same character
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def check_post_url(url: str) -> str:
    """The origin (``scheme://host[:port]``) of a results URL; a bad URL is a VoiceflowError."""
    parts = urlsplit(url)
    bad = set(" \t\r\n\"'<>;,\\`") & set(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or bad:
        raise VoiceflowError(f"--post-url {url!r}: expected an http:// or https:// URL without spaces, "
                             "quotes, ';' or ',' (and no user:password@)")
    return f"{parts.scheme}://{parts.netloc}"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def template() -> str:
    return resources.files("voiceflow.listen").joinpath("page.html").read_text(encoding="utf-8")


def render_page(config: dict) -> str:
    """The complete ``index.html`` for a page ``config`` (see :func:`voiceflow.listen.build.build_test`)."""
    page = template()
    script = _SCRIPT.search(page).group(1)
    style = _STYLE.search(page).group(1)
    connect = check_post_url(config["post_url"]) if config.get("post_url") else "'none'"
    csp = (f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
           f"media-src 'self'; connect-src {connect}; img-src 'none'; base-uri 'none'; form-action 'none'")
    values = {"TITLE": html.escape(config["title"]), "CSP": html.escape(csp), "CONFIG": script_json(config)}
    # one pass, so a title that contains "__CONFIG__" stays text
    return _SLOTS.sub(lambda m: values[m.group(1)], page)
