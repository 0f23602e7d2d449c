"""Text helpers shared by the source kinds: bytes to str by declared charset, HTML to paragraphs.

Pure functions. Decoding never raises: undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from email.message import Message
from html import unescape

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n")
# Plain-text fields (articleBody, titles) may hold "<" and "&" literally; read them as HTML only
# when they carry a real HTML tag or a character reference.
_LOOKS_HTML = re.compile(
    r"</?(?:p|br|div|span|a|b|i|u|em|strong|small|sup|sub|ul|ol|li|dl|dt|dd|figure|figcaption|img"
    r"|h[1-6]|blockquote|q|cite|section|article|header|footer|table|tr|td|th|pre|code|hr)\b[^>]*>"
    r"|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});",
    re.IGNORECASE,
)

# Elements whose text is one paragraph each; figcaption is a caption, not a paragraph.
_BLOCKS = frozenset(
    {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dd", "dt"}
)
_SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "button"})
# The parser makes these elements only from tags written in the source, so a fragment without
# any such tag (most post bodies) needs no tree search for them: one regex scan replaces eight
# CSS queries (a third of the cost of `html_to_parts` on a typical body).
_SKIP_TAG = re.compile(r"<(?:script|style|noscript|template|iframe|svg|button)\b", re.IGNORECASE)
_FIGCAPTION_TAG = re.compile(r"<figcaption\b", re.IGNORECASE)
# The commonest post body: plain paragraphs, `<p>text</p>` one after another (text with character
# references but no tag, no NUL, which the HTML parser drops). Its paragraphs are read with two
# regexes and `html.unescape` (the HTML5 character-reference rules, as the parser's), about 20x
# faster than building a document; tests check both readings agree on generated bodies.
_PLAIN_PARAGRAPHS = re.compile(r"[ \t\r\n\f]*(?:<p>[^<\x00]*</p>[ \t\r\n\f]*)+", re.IGNORECASE)
_PLAIN_PARAGRAPH = re.compile(r"<p>([^<\x00]*)</p>", re.IGNORECASE)


def clean(text: str | None) -> str:
    """Collapse runs of whitespace (including non-breaking spaces) and strip the ends."""
    if not text:
        return ""
    # str.split() breaks on exactly the characters `\s` matches (U+00A0 among them): the same
    # result as substituting runs of `\s+` and stripping, checked code point by code point in
    # the tests, at a fifth of the cost (this runs for every paragraph of every post).
    return " ".join(text.split())


def content_type_charset(content_type: str | None) -> str | None:
    """The `charset` parameter of a Content-Type header, or None."""
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    charset = msg.get_param("charset")
    return charset if isinstance(charset, str) else None


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset the document declares: Content-Type, then BOM, XML declaration or <meta>."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    charset = content_type_charset(content_type)
    if charset:
        return charset
    head = body[:2048]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def decode(body: bytes, content_type: str | None) -> str:
    """Decode a document by its declared charset (UTF-8 when none or unknown); never raises."""
    charset = declared_charset(body, content_type) or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    text = body.decode(charset, errors="replace")
    return text.removeprefix("\ufeff")


_BREAKS = _BLOCKS | {
    "br",
    "div",
    "section",
    "article",
    "figure",
    "ul",
    "ol",
    "dl",
    "tr",
    "td",
    "th",
}


def _gather(node: Node) -> str:
    """The raw text under `node`: inline elements joined as they are, blocks and <br> as spaces."""
    parts: list[str] = []

    def walk(current: Node) -> None:
        child = current.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                parts.append(child.text_content or "")
            elif tag in _BREAKS:
                parts.append(" ")
                walk(child)
                parts.append(" ")
            elif tag not in _SKIP and tag != "-comment":
                walk(child)
            child = child.next

    if node.tag == "-text":
        return node.text_content or ""
    walk(node)
    return "".join(parts)


def node_text(node: Node) -> str:
    """The visible text of an element, whitespace collapsed, entities decoded.

    Inline elements join without a space (`<b>13:00</b>.` reads "13:00."); block elements and
    `<br>` separate words.
    """
    return clean(_gather(node))


def inline_text(value: str | None) -> str:
    """A one-line field (a title, a name) as plain text: tags removed, entities decoded."""
    if not value:
        return ""
    if not _LOOKS_HTML.search(value):
        return clean(value)
    root = _fragment_root(value)
    return node_text(root) if root is not None else clean(value)


def _fragment_root(html: str) -> Node | None:
    """An HTML fragment parsed inside a `<div id="__root">`: that div, holding the fragment.

    The div opens the document's body, so it is the body's first child: reaching it that way
    avoids a CSS query, whose selector engine costs more to set up than parsing a post body.
    """
    tree = HTMLParser(f"<div id='__root'>{html}</div>")
    body = tree.body
    root = body.child if body is not None and body.parent is not None else None
    if root is None or root.tag != "div" or root.attributes.get("id") != "__root":
        # A fragment that unsettles the document (a <frameset> detaches the body): search.
        root = tree.css_first("#__root")
    return root


Parts = tuple[tuple[str, ...], tuple[str, ...]]

# While a page is parsed under `reusing()`: (the bodies read on the previous parse of the same
# page and their parts, the bodies read now). None otherwise: every body is read.
_REUSE: ContextVar[tuple[Mapping[str, Parts], dict[str, Parts]] | None] = ContextVar(
    "parley_text_reuse", default=None
)


@contextmanager
def reusing(previous: Mapping[str, Parts]) -> Iterator[dict[str, Parts]]:
    """Within the block, `html_to_parts` of a body found in `previous` (exactly the same string)
    returns its parts from there instead of reading it again; yields the bodies read in the block
    with their parts, the `previous` of the next parse of the same page.

    `html_to_parts` is a pure function of its string, so a reused result is the result.
    """
    seen: dict[str, Parts] = {}
    token = _REUSE.set((previous, seen))
    try:
        yield seen
    finally:
        _REUSE.reset(token)


def html_to_parts(html: str) -> Parts:
    """Split an HTML fragment into (paragraphs, captions).

    Block elements (p, li, headings, blockquote) are one paragraph each; `<figcaption>` text is a
    caption. Text outside any block is split on blank lines and `<br><br>`. Images' alt text is
    ignored (it describes the picture; it is not part of the report).
    """
    reuse = _REUSE.get()
    if reuse is None:
        return _read_parts(html)
    previous, seen = reuse
    parts = previous.get(html)
    if parts is None:
        parts = _read_parts(html)
    seen[html] = parts
    return parts


def _read_parts(html: str) -> Parts:
    if _PLAIN_PARAGRAPHS.fullmatch(html):
        return plain_paragraphs(html), ()
    return parsed_parts(html)


def parsed_parts(html: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`html_to_parts` through the HTML parser, whatever the fragment holds."""
    root = _fragment_root(html)
    if root is None:  # selectolax always builds it; keep mypy and readers honest
        return (), ()
    if _SKIP_TAG.search(html):
        for tag in _SKIP:
            for node in root.css(tag):
                node.decompose()
    captions: tuple[str, ...] = ()
    if _FIGCAPTION_TAG.search(html):
        figcaptions = root.css("figcaption")
        captions = tuple(c for c in (node_text(n) for n in figcaptions) if c)
        for node in figcaptions:
            node.decompose()
    paragraphs: list[str] = []
    loose: list[str] = []

    def flush() -> None:
        joined = "".join(loose)
        loose.clear()
        paragraphs.extend(p for p in (clean(x) for x in _BLANK_LINES.split(joined)) if p)

    def walk(node: Node) -> None:
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                loose.append(child.text_content or "")
            elif tag == "br":
                loose.append("\n")
            elif tag in _BLOCKS:
                flush()
                text = node_text(child)
                if text:
                    paragraphs.append(text)
            elif tag in (
                "div",
                "section",
                "article",
                "figure",
                "ul",
                "ol",
                "dl",
                "header",
                "footer",
            ):
                flush()
                walk(child)
                flush()
            elif tag != "-comment":
                loose.append(_gather(child))
            child = child.next

    walk(root)
    flush()
    return tuple(paragraphs), captions


def plain_paragraphs(html: str) -> tuple[str, ...]:
    """The paragraphs of a body made only of `<p>text</p>` (see `_PLAIN_PARAGRAPHS`), no parser."""
    return tuple(p for p in (clean(unescape(t)) for t in _PLAIN_PARAGRAPH.findall(html)) if p)


def text_to_paragraphs(text: str) -> tuple[str, ...]:
    """Split plain text into paragraphs on blank lines (a single newline joins lines)."""
    if "\n\n" not in text.replace("\r\n", "\n") and "\n" in text:
        pieces = text.splitlines()
    else:
        pieces = _BLANK_LINES.split(text.replace("\r\n", "\n"))
    return tuple(p for p in (clean(x) for x in pieces) if p)


def looks_like_html(value: str) -> bool:
    """True when a field carries a real HTML tag or character reference (then it is read as HTML)."""
    return bool(_LOOKS_HTML.search(value))


def body_to_parts(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paragraphs and captions of a body that may be HTML or plain text."""
    if _LOOKS_HTML.search(value):
        return html_to_parts(value)
    return text_to_paragraphs(value), ()
