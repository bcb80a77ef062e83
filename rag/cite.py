"""Citations as HTML: answers with the span highlighted, and the source view behind each citation.

What the web chat shows, without any web framework: every piece of document text is escaped, so a
document is always shown as text, never as markup.

>>> answer = rag.ask(index, "Who heads IOM's Counter-Trafficking Division?")
>>> reply = render_answer(answer)    # the chat turn: answer, highlighted sentence, [1] [2] ...
>>> c = answer.citations[0]
>>> view = render_source(index, c.source, c.start, c.end, c.answer_start, c.answer_end,
...                      version=c.file_sha256)

Each citation is a ``<button class="rag-cite">`` whose ``data-cite`` attribute holds JSON with the
document's key (``document_key``: no server path goes into the page), the cited file's
``version`` and the offsets that ``render_source`` takes; the page sends them back when it is
clicked. The source view marks the cited sentence with ``<mark id="cite-sentence">`` and the
answer inside it with ``<mark id="cite-answer">``, so the page can scroll to them; when the
document has changed since the answer it highlights nothing and says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import re
from pathlib import Path

from rag.answer import UNCERTAIN_BELOW, Answer, Citation

__all__ = [
    "document_key",
    "render_answer",
    "render_citations",
    "render_documents",
    "render_error",
    "render_source",
]

# A document up to this long is shown whole; a longer one as the cited passage in its context.
WHOLE_DOCUMENT_CHARS = 6000
CONTEXT_CHARS = 2000
SNIPPET_CHARS = 220
MAX_LISTED = 1000  # documents listed in the page; the filter and `rag info` reach the rest
SENTENCE_ID = "cite-sentence"
ANSWER_ID = "cite-answer"
# Besides the HTML specials: characters a client-side template engine could read as syntax.
_TEMPLATE_CHARS = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})


def render_answer(answer: Answer) -> str:
    """One chat turn as HTML: the question, then the short answer, the cited sentence with the
    answer highlighted, the confidence and the numbered citations; or, when nothing was found,
    a plain "not found" and the closest passages."""
    question = f'<div class="rag-question">{_escape(answer.question)}</div>'
    if answer.found:
        body = _render_found(answer)
    elif answer.citations:
        body = (
            '<p class="rag-not-found">The documents do not answer this question '
            f"(best confidence {answer.confidence:.2f}). The closest passages:</p>"
        )
    else:
        body = '<p class="rag-not-found">The documents do not answer this question.</p>'
    copy = (
        f'<button type="button" class="rag-copy" data-copy="{_escape(_plain_text(answer))}" '
        'title="Copy the answer and its citations">Copy</button>'
    )
    return (
        f'<div class="rag-turn">{question}<div class="rag-reply">{body}'
        f"{render_citations(answer.citations)}{copy}</div></div>"
    )


def _plain_text(answer: Answer) -> str:
    """A reply as plain text, to paste into a report: answer, quoted sentence, citations."""
    lines = [f"Q: {_one_line(answer.question)}"]
    if answer.found:
        label = "Uncertain answer" if answer.uncertain else "Answer"
        lines += [
            f"{label}: {_one_line(answer.text)} (confidence {answer.confidence:.2f})",
            f'"{_one_line(answer.sentence)}"',
        ]
    else:
        lines.append("The documents do not answer this question.")
    for c in answer.citations:
        where = c.location or (f"page {c.page}" if c.page else "")
        lines.append(f"[{c.n}] {c.title}{f', {where}' if where else ''} ({Path(c.source).name})")
    return "\n".join(lines)


def render_citations(citations: list[Citation], snippets: bool = True) -> str:
    """Numbered citation buttons, ``[n] Title, location · file`` (the location a page, slide,
    sheet row or section; the file name only, never its folder); with ``snippets`` each shows
    its sentence, but the one holding the answer (whose sentence the reply quotes above)."""
    if not citations:
        return ""
    items = []
    for citation in citations:
        where = citation.location or (f"page {citation.page}" if citation.page else "")
        page = f", {_escape(where)}" if where else ""
        snippet = ""
        if snippets and citation.answer_start is None:
            snippet = f'<span class="rag-snippet">{_escape(_snippet(citation))}</span>'
        items.append(
            f"<li>{_cite_button(citation, f'[{citation.n}]', 'rag-cite')}"
            f'<span class="rag-cite-title">{_escape(citation.title)}{page}</span>'
            f' <span class="rag-source-file">{_escape(Path(citation.source).name)}</span>'
            f"{snippet}</li>"
        )
    return f'<ol class="rag-citations">{"".join(items)}</ol>'


def document_key(source: str) -> str:
    """The name a page uses for an indexed document: stable, and reveals nothing of its path."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def render_documents(index, removable: bool = True) -> str:
    """The indexed documents as a table: title, file name, chunks, and a button to open each
    (``data-open``: its ``document_key``) and, when ``removable``, to remove it
    (``data-remove``)."""
    documents = index.documents
    if not documents:
        return '<p class="rag-empty">No documents yet: add files below.</p>'
    rows = []
    for document in documents[:MAX_LISTED]:
        key, name = document_key(document.source), _escape(Path(document.source).name)
        remove = (
            f'<button type="button" class="rag-doc-remove" data-remove="{key}" '
            f'data-name="{name}" aria-label="Remove {name}">Remove</button>'
        )
        rows.append(
            f'<tr data-doc="{key}"><td class="rag-doc-title">{_escape(document.title)}</td>'
            f'<td class="rag-source-file">{name}</td>'
            f"<td>{index.chunk_count(document.source):,}</td>"
            f'<td class="rag-doc-actions"><button type="button" class="rag-doc-open" '
            f'data-open="{key}" aria-label="Open {name}">Open</button>'
            f"{remove if removable else ''}</td></tr>"
        )
    more = ""
    if len(documents) > MAX_LISTED:
        more = (
            f'<p class="rag-source-note">and {len(documents) - MAX_LISTED:,} more documents '
            "(the document filter in Settings lists them all)</p>"
        )
    return (
        f'<table class="rag-doc-table"><caption>{len(documents):,} documents, '
        f"{index.chunk_count():,} chunks</caption><thead><tr><th>Title</th><th>File</th>"
        f'<th>Chunks</th><th><span class="rag-hidden">Actions</span></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def render_error(question: str, message: str) -> str:
    """A chat turn whose question could not be answered, with the reason; without a question
    (``""``), just the message."""
    asked = f'<div class="rag-question">{_escape(question)}</div>' if question else ""
    return (
        f'<div class="rag-turn">{asked}<div class="rag-reply">'
        f'<p class="rag-error">{_escape(message)}</p></div></div>'
    )


def render_source(
    index,
    source: str,
    start: int | None = None,
    end: int | None = None,
    answer_start: int | None = None,
    answer_end: int | None = None,
    version: str | None = None,
) -> str:
    """A document's text as HTML with the cited sentence and the answer span highlighted.

    ``source`` is looked up as an exact key among the indexed documents; nothing else is read, so
    a path sent by a browser can reach no other file. A long document is shown as the passage in
    its context (``CONTEXT_CHARS`` either side), with a note saying so.

    Args:
        start, end: the cited sentence (offsets into the document text), or None for no highlight.
        answer_start, answer_end: the answer span, inside the sentence, or None.
        version: the ``file_sha256`` of the document the citation was made from; when the
            indexed file has changed since, nothing is highlighted and a note says so (its
            offsets may fall on other words now).

    Raises:
        ValueError: ``source`` is not an indexed document, or the offsets do not fit its text.
    """
    document = index.document(source) if isinstance(source, str) else None
    if document is None:
        shown = repr(source) if len(repr(source)) <= 300 else repr(source)[:299] + "…"
        raise ValueError(
            f"{shown} is not a document in this index: open a citation or pick a document "
            "from the documents list"
        )
    text = document.text
    changed = bool(version) and version != document.file_sha256
    if changed:
        start = end = answer_start = answer_end = None
    sentence = _checked_span(start, end, 0, len(text), "sentence")
    answer = None
    if sentence is not None:
        answer = _checked_span(answer_start, answer_end, *sentence, "answer")
    low, high = _window(text, sentence)
    where = document.location_at(sentence[0]) if sentence else ""
    header = (
        f'<div class="rag-source-head"><strong>{_escape(document.title)}</strong>'
        f"{f' · {_escape(where)}' if where else ''}"
        f'<span class="rag-source-file">{_escape(Path(document.source).name)}</span>'
        '<button type="button" class="rag-back" data-back="chat">Back to the chat</button></div>'
    )
    note = ""
    if changed:
        note = (
            '<p class="rag-source-changed" role="alert">This document has changed since the '
            "answer that cites it: the cited words may no longer be where they were, so nothing "
            "is highlighted. Ask the question again to cite the current version.</p>"
        )
    elif (low, high) != (0, len(text)):
        note = (
            f'<p class="rag-source-note">A long document: showing the cited passage in its '
            f"context, characters {low:,}–{high:,} of {len(text):,}.</p>"
        )
    breaks = {
        start: document.location_at(start) or f"page {n}"
        for n, start in enumerate(document.page_starts, start=1)
        if low < start < high
    }
    body = _highlight(text, low, high, sentence, answer, breaks)
    return f'<div class="rag-source">{header}{note}<div class="rag-source-text">{body}</div></div>'


def _render_found(answer: Answer) -> str:
    cited = next((c for c in answer.citations if c.answer_start is not None), None)
    sentence = _escape(answer.sentence)
    reference = ""
    if cited is not None:
        sentence = _sentence_with_answer(cited) or sentence
        reference = " " + _cite_button(cited, f"[{cited.n}]", "rag-cite rag-cite-inline")
    label, css = "Answer:", "rag-short"
    if answer.uncertain:
        label, css = "Uncertain answer:", "rag-short rag-uncertain"
    reply = (
        f'<p class="{css}"><span class="rag-label">{label}</span> '
        f'<strong class="rag-answer-text">{_escape(_one_line(answer.text))}</strong> '
        f'<span class="rag-confidence">confidence {answer.confidence:.2f}</span></p>'
        f'<blockquote class="rag-quote">{sentence}{reference}</blockquote>'
    )
    if answer.uncertain:
        reply += _render_candidates(answer)
    return reply


def _render_candidates(answer: Answer) -> str:
    """The note that says why the answer is shown as uncertain, and the other candidates, each
    with a button that opens it highlighted in its source."""
    note = (
        f'<p class="rag-uncertain-note">Confidence below {UNCERTAIN_BELOW:.2f}: fewer than half '
        "of such answers are right. Check it in the source"
        f"{' or consider the other candidates' if answer.candidates else ''}.</p>"
    )
    if not answer.candidates:
        return note
    by_n = {c.n: c for c in answer.citations}
    items = []
    for candidate in answer.candidates:
        citation = dataclasses.replace(
            by_n[candidate.citation],
            start=candidate.start,
            end=candidate.end,
            answer_start=candidate.answer_start,
            answer_end=candidate.answer_end,
        )
        items.append(
            f'<li><span class="rag-candidate-text">{_escape(candidate.text)}</span> '
            f'<span class="rag-confidence">confidence {candidate.confidence:.2f}</span> '
            f"{_cite_button(citation, f'[{candidate.citation}]', 'rag-cite rag-cite-inline')}</li>"
        )
    return f'{note}<ul class="rag-candidates">{"".join(items)}</ul>'


def _sentence_with_answer(citation: Citation) -> str | None:
    """The cited sentence with the answer marked, from the passage the citation carries."""
    offset = citation.passage_start
    bounds = (citation.start, citation.answer_start, citation.answer_end, citation.end)
    if not offset <= bounds[0] <= bounds[1] <= bounds[2] <= bounds[3] <= citation.passage_end:
        return None
    before, span, after = (
        citation.text[a - offset : b - offset] for a, b in zip(bounds, bounds[1:], strict=False)
    )
    before = re.sub(r"\s+", " ", before).lstrip()
    after = re.sub(r"\s+", " ", after).rstrip()
    return (
        f'{_escape(before)}<mark class="rag-answer">{_escape(_one_line(span))}</mark>'
        f"{_escape(after)}"
    )


def _cite_button(citation: Citation, label: str, css_class: str) -> str:
    target = {
        "doc": document_key(citation.source),
        "version": citation.file_sha256,
        "start": citation.start,
        "end": citation.end,
        "answer_start": citation.answer_start,
        "answer_end": citation.answer_end,
    }
    return (
        f'<button type="button" class="{css_class}" data-n="{citation.n}" '
        f'data-cite="{_escape(json.dumps(target))}" '
        f'title="Open the source, scrolled to the cited sentence">{label}</button>'
    )


def _snippet(citation: Citation) -> str:
    offset = citation.passage_start
    if offset <= citation.start <= citation.end <= citation.passage_end:
        text = citation.text[citation.start - offset : citation.end - offset]
    else:
        text = citation.text
    text = _one_line(text)
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _checked_span(start, end, low: int, high: int, what: str) -> tuple[int, int] | None:
    """The span (None when both are None); ValueError unless low <= start <= end <= high."""
    if start is None and end is None:
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise ValueError(f"{what} offsets must be two integers, got {start!r} and {end!r}")
    if not low <= start <= end <= high:
        raise ValueError(
            f"{what} offsets {start}–{end} are outside {low}–{high}: the citation does not "
            "match the indexed document (re-ask the question)"
        )
    return start, end


def _window(text: str, sentence: tuple[int, int] | None) -> tuple[int, int]:
    """The part of the text to show: all of it, or the sentence with its context, cut at lines."""
    if len(text) <= WHOLE_DOCUMENT_CHARS:
        return 0, len(text)
    start, end = sentence or (0, 0)
    low, high = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    if low > 0:
        cut = text.rfind("\n", low, start)
        low = cut + 1 if cut >= 0 else low
    if high < len(text):
        cut = text.find("\n", end, high)
        high = cut if cut >= 0 else high
    return low, high


def _highlight(
    text: str,
    low: int,
    high: int,
    sentence: tuple[int, int] | None,
    answer: tuple[int, int] | None,
    breaks: dict[int, str],
) -> str:
    """Escaped ``text[low:high]`` with the answer's mark nested in the sentence's, and page breaks
    (pages, slides, sheets; ``breaks``: offset -> its name) shown (a mark a page break cuts
    through is closed before it and reopened after it)."""
    marks = [(kind, span) for kind, span in (("sentence", sentence), ("answer", answer)) if span]
    bounds = sorted({low, high, *breaks, *(x for _, span in marks for x in span)})
    ids = {"sentence": SENTENCE_ID, "answer": ANSWER_ID}
    parts, opened = ["…" if low > 0 else ""], []
    for i, position in enumerate(bounds):
        for kind, span in reversed(marks):
            if kind in opened and span[1] == position:
                parts.append("</mark>")
                opened.remove(kind)
        if position in breaks:
            page = f'<span class="rag-page-break">{_escape(breaks[position])}</span>'
            parts += ["</mark>" * len(opened), page, *(f'<mark class="rag-{k}">' for k in opened)]
        for kind, span in marks:
            if span[0] == position and kind in ids:
                parts.append(f'<mark class="rag-{kind}" id="{ids.pop(kind)}">')
                if span[1] == position:
                    parts.append("</mark>")
                else:
                    opened.append(kind)
        if i + 1 < len(bounds):
            parts.append(_escape(text[position : bounds[i + 1]]))
    parts.append("…" if high < len(text) else "")
    return "".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _escape(text: str) -> str:
    return html.escape(text, quote=True).translate(_TEMPLATE_CHARS)
