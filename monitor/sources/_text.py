"""Text helpers shared by the source kinds: bytes to str by declared charset, HTML to paragraphs.

Pure functions. Decoding never raises: undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
import re
from email.message import Message

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

_SPACE = re.compile(r"\s+")
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


def clean(text: str | None) -> str:
    """Collapse runs of whitespace (including non-breaking spaces) and strip the ends."""
    if not text:
        return ""
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


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
    tree = HTMLParser(f"<div id='__root'>{value}</div>")
    root = tree.css_first("#__root")
    return node_text(root) if root is not None else clean(value)


def html_to_parts(html: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split an HTML fragment into (paragraphs, captions).

    Block elements (p, li, headings, blockquote) are one paragraph each; `<figcaption>` text is a
    caption. Text outside any block is split on blank lines and `<br><br>`. Images' alt text is
    ignored (it describes the picture; it is not part of the report).
    """
    tree = HTMLParser(f"<div id='__root'>{html}</div>")
    root = tree.css_first("#__root")
    if root is None:  # selectolax always builds it; keep mypy and readers honest
        return (), ()
    for tag in _SKIP:
        for node in root.css(tag):
            node.decompose()
    captions = tuple(c for c in (node_text(n) for n in root.css("figcaption")) if c)
    for node in root.css("figcaption"):
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
