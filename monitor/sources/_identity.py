"""Stable post identity, the same for every source kind (see docs/sources.md, "Post identity").

Tracking parameters (`utm_*`, `fbclid`, `gclid`, `at_*`, `ns_*`, `ocid`, `cmpid`) are dropped from
any id or URL first: they change from poll to poll and say nothing about which post it is.

1. The publisher's id (RSS guid, Atom id, JSON-LD @id, JSON Feed id, the html kind's `id` selector),
   verbatim, except that an id of the form `<page URL>#<fragment>` or `#<fragment>` becomes just
   `<fragment>`, where `<page URL>` is the page's own (canonical) address: so ids survive a page
   being fetched as `?page=2` or under a new query string.
2. Else the post's URL, reduced the same way.
3. Else `sha256:` + the first 32 hex digits of SHA-256 over `title`, a newline and the published
   time as the publisher wrote it. Such an id changes if the publisher edits the title, so an
   edited title then reads as a withdrawal and a new post; that is the best a page without ids allows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import unquote_plus, urldefrag, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "at_", "ns_")
_TRACKING_NAMES = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "ocid", "cmpid", "mc_cid", "mc_eid"}
)


def without_tracking(url: str) -> str:
    """`url` without tracking query parameters; anything that is not an http(s) URL is returned as is."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.query:
        return url
    pairs = parts.query.split("&")
    kept = [p for p in pairs if not _is_tracking(unquote_plus(p.split("=", 1)[0]).lower())]
    if len(kept) == len(pairs):
        return url  # untouched, byte for byte
    return urlunsplit(parts._replace(query="&".join(kept)))


def _is_tracking(name: str) -> bool:
    return name in _TRACKING_NAMES or name.startswith(_TRACKING_PREFIXES)


def _key(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(url)
    return (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query)


def reduce_to_fragment(value: str, home_urls: Iterable[str]) -> str:
    """`value` without the page's own address when it is `<page URL>#frag` or `#frag`."""
    if value.startswith("#") and len(value) > 1:
        return value[1:]
    base, fragment = urldefrag(value)
    if not fragment or "://" not in base:
        return value
    key = _key(base)
    for home in home_urls:
        if home and _key(urldefrag(home)[0]) == key:
            return fragment
    return value


def derived_id(title: str, published_raw: str) -> str:
    """The documented fallback id: `sha256:` and 32 hex digits of SHA-256(title + "\\n" + published)."""
    digest = hashlib.sha256(f"{title}\n{published_raw}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def stable_id(
    publisher_id: object,
    url: str,
    *,
    title: str,
    published_raw: str,
    home_urls: Iterable[str],
) -> str:
    """The post's stable id by the rules in this module's docstring."""
    homes = tuple(without_tracking(h) for h in home_urls)
    # An id is a string (JSON Feed 1.0 allowed numbers); objects and booleans are ignored.
    if isinstance(publisher_id, bool) or not isinstance(publisher_id, str | int):
        publisher_id = None
    if publisher_id is not None and str(publisher_id).strip():
        return reduce_to_fragment(without_tracking(str(publisher_id).strip()), homes)
    if url.strip():
        return reduce_to_fragment(without_tracking(url.strip()), homes)
    return derived_id(title, published_raw)
