"""A new user's afternoon in the web chat, in Debian's Chromium: what got lost, stale or wrong.

Serves ``app.py`` (in this process) over a fresh index of the sample corpus in a temporary
folder, then, in one browser tab: asks 10 questions (two of them in quick succession), uploads
three files (a Word report, a slide deck, a spreadsheet), opens a second tab, opens and removes
one document, asks again about the uploads, and clicks every citation. Counts:

- lost questions: asked but missing from the transcript, or out of order;
- stale lists: a tab whose documents list or filter does not match the index within 10 s;
- wrong highlights: a citation whose highlighted text is not the cited sentence (or answer);
- texts under 4.5:1 contrast, light and dark theme (tests/contrast.js);
- replies not scrolled into view;
- ask → reply seconds (Enter pressed to the reply shown, timed in the page), median and max.

    .venv/bin/python eval/bench_chat.py [--out FOLDER] [--json]

Screenshots go to ``--out`` (default: a temporary folder, printed).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "eval"))

import format_files  # noqa: E402

import rag  # noqa: E402
from rag.cite import document_key  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTIONS = [
    "Who heads IOM's Counter-Trafficking Division?",
    "In which city is the European-wide counter-trafficking conference hosted by IOM taking place?",
    "Into how many languages was the guide translated?",
    "Who is the Head of Unit of INTPA G6?",
    "When will the panel discussion take place?",
    "Who is the press contact at IOM Islamabad?",
    "How much money has the United States contributed to IOM for anti-trafficking activities?",
    "What is the boiling point of mercury?",
]
QUICK = [  # asked in quick succession: an example click, then a typed question at once
    "Who is the Head of Unit of INTPA G6?",
    "In which Chinese city was the two-day workshop on assisting trafficking victims held?",
]
UPLOADS = ["annual-report.docx", "hotline-briefing.pptx", "assistance-figures.xlsx"]
AFTER = [
    "How many survivors did the shelter in Chisinau host in 2019?",
    "How many calls did the Sofia hotline receive in March?",
]
REMOVED = "002_cc9de66847b7999a.txt"
_LAST_TURN_IN_VIEW = """() => {
  const turns = document.querySelectorAll('#rag-chat .rag-turn');
  const last = turns[turns.length - 1];
  let box = last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 1 &&
                  ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  const top = last.getBoundingClientRect().top;
  const view = box ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
  return top >= view.top - 1 && top < Math.min(view.bottom, window.innerHeight);
}"""
_SETTLED = """() => {
  const box = document.querySelector('#rag-chat .html-container') || document.body;
  return !box.classList.contains('pending') && getComputedStyle(box).opacity === '1';
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the screenshots")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-chat-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        root = Path(tmp)
        os.environ["RAG_CACHE_DIR"] = str(root / "cache")
        corpus = PROJECT / "data" / "counter-trafficking"  # removal leaves the files alone
        format_files.write_all(root / "formats")
        index = rag.Index.build([corpus], path=root / "index")
        demo, url = _app().serve(index, port=_free_port())
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                figures = _afternoon(browser, url, index, root / "formats", out)
                browser.close()
        finally:
            demo.close()
    figures["screenshots"] = str(out)
    print(json.dumps(figures, indent=2) if args.json else _table(figures))
    return 0


def _afternoon(browser, url: str, index: rag.Index, formats: Path, out: Path) -> dict:
    figures = {"lost_questions": 0, "stale_lists": 0, "wrong_highlights": 0, "not_in_view": 0}
    page = _tab(browser, url)
    asked, seconds = [], []
    for question in QUESTIONS:
        seconds.append(_ask(page, question))
        asked.append(question)
        figures["not_in_view"] += not page.evaluate(_LAST_TURN_IN_VIEW)
    page.screenshot(path=str(out / "1-questions.png"))
    # Two in quick succession: an example button, then a typed question before it is answered.
    page.get_by_role("button", name=QUICK[0], exact=True).click()
    box = page.locator("#rag-question textarea")
    box.fill(QUICK[1])
    box.press("Enter")
    asked += QUICK
    _wait_turns(page, len(asked))
    figures["not_in_view"] += not page.evaluate(_LAST_TURN_IN_VIEW)

    _panel(page, "Documents")
    page.locator("#rag-upload input[type=file]").set_input_files([formats / f for f in UPLOADS])
    page.wait_for_function(
        "() => document.querySelector('#rag-status textarea').value.includes('3 added')",
        timeout=120_000,
    )
    page.screenshot(path=str(out / "2-uploaded.png"), full_page=True)
    other = _tab(browser, url)
    _panel(other, "Documents")
    _panel(other, "Settings")
    figures["stale_lists"] += not _lists_match(other, index)

    row = page.locator("#rag-documents tr", has_text=REMOVED)
    row.get_by_role("button", name=f"Open {REMOVED}").click()
    page.locator("#rag-source .rag-source-head").filter(has_text=REMOVED).wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Remove {REMOVED}").click()
    page.wait_for_function(
        "(name) => document.querySelector('#rag-status textarea').value"
        ".includes('Removed ' + name)",
        arg=REMOVED,
    )
    for tab in (page, other):
        figures["stale_lists"] += not _lists_match(tab, index)

    for question in AFTER:
        seconds.append(_ask(page, question))
        asked.append(question)
        figures["not_in_view"] += not page.evaluate(_LAST_TURN_IN_VIEW)
    shown = page.locator("#rag-chat .rag-question").all_inner_texts()
    figures["questions_asked"] = len(asked)
    figures["lost_questions"] = sum(
        1 for i, q in enumerate(asked) if i >= len(shown) or shown[i] != q
    )
    figures["citations_clicked"], figures["wrong_highlights"], figures["changed_notes"] = (
        _click_every_citation(page, index)
    )
    page.screenshot(path=str(out / "3-source.png"))
    figures["ask_to_reply_s"] = {
        "median": round(statistics.median(seconds), 3),
        "max": round(max(seconds), 3),
        "n": len(seconds),
    }
    figures["under_4_5_to_1"] = {"light": _contrast(page)}
    dark = _tab(browser, url + "?__theme=dark")
    _ask(dark, QUESTIONS[0])
    dark.locator("#rag-chat button.rag-cite").first.click()
    dark.locator("#rag-source #cite-answer").wait_for()
    for name in ("Settings", "Documents", "Earlier questions"):
        _panel(dark, name)
    figures["under_4_5_to_1"]["dark"] = _contrast(dark)
    dark.screenshot(path=str(out / "4-dark.png"), full_page=True)
    return figures


def _tab(browser, url: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    return page


def _ask(page, question: str) -> float:
    """Ask by typing and Enter; the seconds from the key press to the reply in the page, timed in
    the page (Playwright's own polling would add up to a few hundred ms)."""
    turns = page.locator("#rag-chat .rag-turn").count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    page.evaluate(_TIME_NEXT_TURN, turns)
    box.press("Enter")
    page.locator("#rag-chat .rag-turn").nth(turns).locator(".rag-reply").wait_for()
    page.wait_for_function("() => window.__ragReplyMs !== undefined")
    took = page.evaluate("() => window.__ragReplyMs") / 1000
    page.wait_for_function(_SETTLED)
    return took


# Times, in the page, from the next Enter in the question box to the reply of turn ``turns``.
_TIME_NEXT_TURN = """(turns) => {
  delete window.__ragReplyMs;
  const box = document.querySelector('#rag-question textarea');
  const chat = document.querySelector('#rag-chat');
  box.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    const pressed = performance.now();
    const seen = new MutationObserver(() => {
      const turn = chat.querySelectorAll('.rag-turn')[turns];
      if (turn && turn.querySelector('.rag-reply')) {
        window.__ragReplyMs = performance.now() - pressed;
        seen.disconnect();
      }
    });
    seen.observe(chat, {subtree: true, childList: true});
  }, {once: true, capture: true});
}"""


def _wait_turns(page, count: int) -> None:
    page.locator("#rag-chat .rag-turn").nth(count - 1).locator(".rag-reply").wait_for()
    page.wait_for_function(_SETTLED)


def _panel(page, name: str) -> None:
    header = page.locator("button.label-wrap", has_text=name)
    if "open" not in (header.get_attribute("class") or "").split():
        header.click()


def _lists_match(page, index: rag.Index, within_s: float = 10.0) -> bool:
    """Whether the tab's documents list and its filter's options name exactly the indexed
    documents (within ``within_s``: an open tab catches up by itself)."""
    keys = sorted(document_key(d.source) for d in index.documents)
    names = sorted(f"({Path(d.source).name})" for d in index.documents)
    for name in ("Documents", "Settings"):
        _panel(page, name)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        listed = page.locator("#rag-documents [data-open]").evaluate_all(
            "all => all.map(b => b.dataset.open)"
        )
        page.locator("#rag-only input").click()
        with contextlib.suppress(Exception):  # no options shown: compared as none
            page.get_by_role("option").first.wait_for(timeout=2000)
        offered = page.get_by_role("option").all_inner_texts()
        page.keyboard.press("Escape")
        page.locator("#rag-only input").blur()
        offered = sorted(o.strip()[o.strip().rfind("(") :] for o in offered)
        if sorted(listed) == keys and offered == names:
            return True
        page.wait_for_timeout(250)
    print(f"  stale: listed {len(listed)} of {len(keys)}, offered {offered}", file=sys.stderr)
    return False


def _click_every_citation(page, index: rag.Index) -> tuple[int, int, int]:
    """Click each citation button in the chat; (clicked, wrong highlights, "changed" notes).
    A highlight is right when the marked sentence (and answer) are the cited offsets' text."""
    buttons = page.locator("#rag-chat button[data-cite]")
    clicked = wrong = changed = 0
    for i in range(buttons.count()):
        button = buttons.nth(i)
        target = json.loads(button.get_attribute("data-cite"))
        document = next(
            (d for d in index.documents if document_key(d.source) == target["doc"]), None
        )
        page.evaluate("() => { document.querySelector('#rag-source').dataset.seen = ''; }")
        button.click()
        clicked += 1
        if document is None:  # removed since: the view must say it cannot be opened
            page.locator("#rag-source .rag-error").wait_for()
            continue
        sentence = " ".join(document.text[target["start"] : target["end"]].split())
        answer = None
        if target.get("answer_start") is not None:
            answer = " ".join(document.text[target["answer_start"] : target["answer_end"]].split())
        try:
            page.wait_for_function(_HIGHLIGHTED, arg=[sentence, answer], timeout=10_000)
        except Exception:  # noqa: BLE001 - any failure to show it is a wrong highlight
            wrong += 1
        changed += page.locator("#rag-source .rag-source-changed").count()
    return clicked, wrong, changed


_HIGHLIGHTED = """([sentence, answer]) => {
  const text = (selector) => {
    const mark = document.querySelector('#rag-source ' + selector);
    return mark ? mark.innerText.split(/\\s+/).filter(Boolean).join(' ') : null;
  };
  return text('#cite-sentence') === sentence
    && (answer === null || text('#cite-answer') === answer);
}"""


def _contrast(page) -> int:
    checked, failing = page.evaluate((PROJECT / "tests" / "contrast.js").read_text("utf-8"))
    for item in failing:
        print(f"  under 4.5:1: {item}", file=sys.stderr)
    return len(failing) if checked else -1


def _table(figures: dict) -> str:
    ask = figures["ask_to_reply_s"]
    return "\n".join(
        [
            f"questions asked              {figures['questions_asked']}",
            f"lost questions               {figures['lost_questions']}",
            f"stale lists                  {figures['stale_lists']}",
            f"citations clicked            {figures['citations_clicked']}",
            f"wrong highlights             {figures['wrong_highlights']}",
            f"replies not scrolled in view {figures['not_in_view']}",
            f"texts under 4.5:1            light {figures['under_4_5_to_1']['light']}, "
            f"dark {figures['under_4_5_to_1']['dark']}",
            f"ask -> reply                 median {ask['median']} s, max {ask['max']} s "
            f"({ask['n']} questions)",
            f"screenshots                  {figures['screenshots']}",
        ]
    )


def _app():
    spec = importlib.util.spec_from_file_location("app", PROJECT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
