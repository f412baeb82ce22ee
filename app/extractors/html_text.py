"""Visible text of an HTML page, with the stdlib html.parser.

Script, style, head (and its title), noscript, template and svg content is
dropped. Block elements become paragraph breaks so the chunker can split the
page where a reader sees breaks; inline whitespace collapses as browsers do.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tr", "ul",
    }
)
_LINE = frozenset({"br", "td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BREAKS = re.compile(r" *\n[\n ]*")


class _VisibleText(HTMLParser):
    """Collects text outside hidden elements, marking block boundaries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "body":
            # A page that never closed <head> still shows its body.
            self.hidden = 0
        elif tag in _HIDDEN:
            self.hidden += 1
        self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(_SPACES.sub(" ", data.replace("\n", " ")))

    def _break(self, tag: str) -> None:
        if tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag in _LINE:
            self.parts.append("\n")


def visible_text(html: str) -> str:
    """The text a browser would show for this HTML, paragraphs separated by blank lines."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    text = _SPACES.sub(" ", "".join(parser.parts))
    # Keep one blank line between blocks, one newline for line breaks.
    text = _BREAKS.sub(lambda m: "\n\n" if m.group().count("\n") > 1 else "\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()
