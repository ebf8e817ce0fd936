"""One check for every user-given redirect target (``next``): same site, path only."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit, urlunsplit


def _clean(target: str) -> str:
    """Drop control characters (browsers skip tabs and newlines in URLs); read ``\\`` as ``/``."""
    text = "".join(ch for ch in target if unicodedata.category(ch) != "Cc")
    return text.strip().replace("\\", "/")


def safe_next(target: object, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default``.

    What a browser would read as another host (``//x``, ``/\\x``, ``/%09/x``, ``https://x``) or
    as a script (``javascript:``) is refused; what is left is a path with its query and fragment.
    """
    if not isinstance(target, str) or not target:
        return default
    text = _clean(target)
    if text.startswith("//"):  # also ``///x``: a browser reads any number of slashes as a host
        return default
    try:
        parts = urlsplit(text)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    if parts.path.startswith("//"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))
