"""HTML to readable text: block elements become line breaks, scripts and page chrome are dropped."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

_DROP = "script, style, noscript, template, svg, nav, header, footer, aside, form, iframe"
_BLOCKS = frozenset(
    "p div section article main h1 h2 h3 h4 h5 h6 li ul ol tr table blockquote pre br hr dt dd dl "
    "figure figcaption caption title body html td th address".split()
)


def extract_html(markup: str) -> tuple[str, str]:
    """Return (text, title) of an HTML page; the title from <title> or the first <h1>."""
    tree = LexborHTMLParser(markup)
    title = ""
    for selector in ("h1", "title"):
        node = tree.css_first(selector)
        if node is not None and node.text(strip=True):
            title = " ".join(node.text().split())
            break
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.body or tree.root
    text = re.sub(r"[ \t\f\v]+", " ", _text_of(root) if root is not None else "")
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, title


def _text_of(root) -> str:
    """The text under ``root``, block elements on lines of their own.

    Walked with an explicit stack, not recursion: a page of 20,000 nested elements is as easy as
    a flat one.
    """
    parts: list[str] = []
    stack = [(root.iter(include_text=True), "")]
    while stack:
        children, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parts.append(closing)
        elif child.tag == "-text":
            parts.append(child.text_content or "")
        else:
            block = child.tag in _BLOCKS
            parts.append("\n" if block else "")
            stack.append((child.iter(include_text=True), "\n" if block else ""))
    return "".join(parts)
