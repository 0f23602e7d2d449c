"""The fast reading of plain `<p>` bodies agrees with the HTML parser's, and the parser path still
finds what the fast one leaves to it (captions, scripts, inline markup)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.sources import _text

# Character references as publishers write them, well-formed or not: named with and without the
# semicolon, numeric in the windows-1252 range, NUL, surrogates, out of range, and bare ampersands.
_REFS = st.sampled_from(
    [
        "&amp;",
        "&amp",
        "&ampx",
        "&lt;",
        "&gt;",
        "&quot;",
        "&#x27;",
        "&#39;",
        "&nbsp;",
        "&notit;",
        "&notin;",
        "&copy",
        "&#128;",
        "&#x80;",
        "&#0;",
        "&#xD800;",
        "&#x110000;",
        "&#;",
        "&#x;",
        "&",
        "& ",
        "&unknown;",
        "&eacute;",
        "&NotEqualTilde;",
    ]
)
_CHARS = st.characters(blacklist_characters="<\x00", blacklist_categories=("Cs",))
_TEXT = st.lists(st.one_of(st.text(_CHARS, max_size=12), _REFS), max_size=8).map("".join)
_GAP = st.text(st.sampled_from(" \t\r\n\f"), max_size=3)


@st.composite
def plain_bodies(draw: st.DrawFn) -> str:
    paragraphs = draw(st.lists(_TEXT, min_size=1, max_size=5))
    tag = draw(st.sampled_from(["p", "P"]))
    gaps = [draw(_GAP) for _ in range(len(paragraphs) + 1)]
    body = gaps[0]
    for paragraph, gap in zip(paragraphs, gaps[1:], strict=True):
        body += f"<{tag}>{paragraph}</{tag}>{gap}"
    return body


@settings(max_examples=400, deadline=None)
@given(plain_bodies())
@example("<p>Today&#x27;s talks &amp; &quot;further steps&quot;</p>\n<p>Second</p>")
@example("<p> \xa0 </p><p>&nbsp;</p><p>a\r\nb</p>")
@example("<p>x &notit; y &ampx &#128; &#0; &#xD800;</p>")
def test_plain_paragraphs_read_as_the_parser_reads_them(body: str) -> None:
    assert _text._PLAIN_PARAGRAPHS.fullmatch(body)
    assert _text.html_to_parts(body) == _text.parsed_parts(body)


def test_bodies_with_markup_go_to_the_parser() -> None:
    for body in (
        "<p>a <b>b</b></p>",
        "<p class='lead'>a</p>",
        "text <p>a</p>",
        "<p>a</p><br>",
        "<p>a\x00b</p>",
        "<p>a</p><p>b",
    ):
        assert not _text._PLAIN_PARAGRAPHS.fullmatch(body), body
    assert _text.html_to_parts("<p>a <b>b</b>.</p><p>c</p>") == (("a b.", "c"), ())


def test_captions_scripts_and_styles_are_still_found_when_present() -> None:
    body = (
        "<FIGURE><img src='a.jpg' alt='x'><FIGCAPTION>Photo: <i>AP</i></FIGCAPTION></FIGURE>"
        "<p>Talks resumed.</p><SCRIPT>track()</SCRIPT><style>p{}</style>"
        "<svg><text>logo</text></svg><p>More <button>Share</button>later.</p>"
    )
    assert _text.html_to_parts(body) == (("Talks resumed.", "More later."), ("Photo: AP",))


def test_no_figcaption_means_no_captions() -> None:
    assert _text.html_to_parts("<figure><img src='a.jpg'></figure><p>a</p>") == (("a",), ())


def test_inline_text_reads_markup_and_references() -> None:
    assert _text.inline_text("Talks &amp; <b>ceasefire</b>") == "Talks & ceasefire"
    assert _text.inline_text("<body class=x>a <b>b</b>") == "a b"
    # Fragments that break out of the wrapping element read as they always did.
    assert _text.inline_text("</div>Broken <i>close</i>") == ""
    # A frameset detaches the body: the fragment's own text is kept as it came.
    assert _text.inline_text("<frameset>x &amp;") == "<frameset>x &amp;"


def test_clean_collapses_exactly_the_whitespace_a_regex_would() -> None:
    import re
    import sys

    space = re.compile(r"\s+")
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        text = f"{char}a{char}{char}b {char}"
        assert _text.clean(text) == space.sub(" ", text).strip(), hex(code)
