"""The web chat (app.py) in real headless Chromium: ask, open a citation, upload, stay safe.

The browser tests drive Debian's chromium (``make browser`` installs it) through Playwright's
Python package and skip when /usr/bin/chromium is missing; the API test runs without a browser.
The app runs in this process on a free port, over a small index built with the session's embedder.
"""

import importlib.util
import json
import re
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

import rag
from rag.cite import document_key

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT / "data" / "counter-trafficking"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HEAD_OF_UNIT = "Who is the Head of Unit of INTPA G6?"
HOSTILE = (
    '# Harbour <img src=x onerror="window.__pwned = 5"> Report\n\n'
    "The harbour master of Port Elwin is Tomasz Wierzbicki.\n"
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">\n'
    'Her motto is " onmouseover="window.__pwned = 3" data-x=" and ${7*7} {{value}}.\n'
)
TIMEOUT_MS = 30_000
# gradio's queue still uses pandas options that pandas 3 deprecates; not this project's to fix.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium: run 'make browser' as root")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(embedder, tmp_path_factory):
    """The app over two sample documents and one full of markup; yields its address and index."""
    root = tmp_path_factory.mktemp("web")
    (root / "harbour.md").write_text(HOSTILE, encoding="utf-8")
    index = rag.Index(embedder, path=root / "index")
    samples = [SAMPLE_CORPUS / n for n in ("001_bb816ed8ced9d219.txt", "004_bedb749cf14d49f0.txt")]
    index.sync([*samples, root / "harbour.md"])
    spec = importlib.util.spec_from_file_location("app", PROJECT / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    demo, url = app.serve(index, port=_free_port())
    yield SimpleNamespace(url=url, index=index)
    demo.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url)
    yield page
    context.close()


def test_ask_open_citation_and_upload(page, tmp_path):
    _ask(page, HEAD_OF_UNIT)
    reply = page.locator("#rag-chat .rag-reply").last
    assert reply.locator(".rag-answer-text").inner_text() == "Francesco Luciani"
    assert reply.locator("mark.rag-answer").inner_text() == "Francesco Luciani"
    assert reply.locator("button.rag-cite").count() >= 1
    screenshot = tmp_path / "chat.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 10_000

    reply.locator("button.rag-cite").first.click()
    answer_mark = page.locator("#rag-source #cite-answer")
    answer_mark.wait_for()
    assert answer_mark.inner_text() == "Francesco Luciani"
    sentence = page.locator("#rag-source #cite-sentence").inner_text()
    assert sentence.startswith("- Francesco Luciani, Head of Unit")
    page.wait_for_function(_IN_VIEW, arg="#cite-answer")  # scrolled to the sentence
    original = page.get_by_role("button", name="Original file: 004_bedb749cf14d49f0.txt")
    with page.expect_download() as download:
        original.click()
    saved = download.value.path()
    assert Path(saved).read_bytes() == (SAMPLE_CORPUS / "004_bedb749cf14d49f0.txt").read_bytes()

    upload = tmp_path / "zebra.txt"
    upload.write_text(
        "The Zebra Project\nThe Zebra Project is led by Marta Kowalski, who founded it in 2019.\n"
    )
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01binary\x00" * 100)
    (tmp_path / "notes.xyz").write_text("Some notes.\n")
    page.get_by_text("Documents", exact=True).click()
    page.locator("#rag-upload input[type=file]").set_input_files(
        [upload, tmp_path / "blob.txt", tmp_path / "notes.xyz"]
    )
    status = page.locator("#rag-status textarea")
    page.wait_for_function(
        "() => document.querySelector('#rag-status textarea').value.includes('1 added (zebra.txt)')"
    )
    assert "Rejected blob.txt: binary content" in status.input_value()
    assert "Rejected notes.xyz: unsupported file type '.xyz'" in status.input_value()
    assert "Accepted types: .csv, .docx" in status.input_value()  # stays, unlike a toast
    assert "zebra.txt" in page.locator("#rag-documents").inner_text()
    _ask(page, "Who leads the Zebra Project?")
    reply = page.locator("#rag-chat .rag-reply").last
    assert reply.locator(".rag-answer-text").inner_text() == "Marta Kowalski"
    assert "The Zebra Project" in reply.locator(".rag-citations").inner_text()


def test_document_markup_is_shown_as_text_never_run(page):
    # Markup at the end: in front of the question it leaves the reader unsure (confidence 1e-5).
    question = 'Who is the harbour master of Port Elwin? <img src=x onerror="window.__pwned = 4">'
    _ask(page, question)
    reply = page.locator("#rag-chat .rag-reply").last
    assert reply.locator(".rag-answer-text").inner_text() == "Tomasz Wierzbicki"
    assert page.locator("#rag-chat .rag-question").last.inner_text() == question
    assert 'Harbour <img src=x onerror="window.__pwned = 5"> Report' in reply.inner_text()

    reply.locator("button.rag-cite").first.click()
    page.locator("#rag-source #cite-answer").wait_for()
    shown = page.locator("#rag-source .rag-source-text").inner_text()
    assert '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">' in shown
    assert 'Her motto is " onmouseover="window.__pwned = 3" data-x=" and ${7*7} {{value}}.' in shown
    page.get_by_text("Documents", exact=True).click()
    assert "<img src=x" in page.locator("#rag-documents").inner_text()
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#rag-chat img, #rag-source img, #rag-source script").count() == 0


def test_api_ask_returns_the_rag_ask_json_object(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server.url, verbose=False)
    try:
        answer = client.predict(HEAD_OF_UNIT, api_name="/ask")
        assert answer == rag.ask(server.index, HEAD_OF_UNIT).to_dict()
        assert answer["answer"] == "Francesco Luciani"
        assert len(client.predict(HEAD_OF_UNIT, 2, api_name="/ask")["citations"]) == 2
        with pytest.raises(AppError, match="the question is empty"):
            client.predict("  ", api_name="/ask")
        with pytest.raises(AppError, match="k from 1 to 50"):
            client.predict(HEAD_OF_UNIT, 0, api_name="/ask")
        # min_confidence and sources, with rag ask's checks.
        refused = client.predict(HEAD_OF_UNIT, 5, 0.99, api_name="/ask")
        assert refused == rag.ask(server.index, HEAD_OF_UNIT, min_confidence=0.99).to_dict()
        assert refused["found"] is False
        source = str(SAMPLE_CORPUS / "001_bb816ed8ced9d219.txt")
        only = client.predict(HEAD_OF_UNIT, 5, 0.06, [source], api_name="/ask")
        assert {c["source"] for c in only["citations"]} == {source}
        with pytest.raises(AppError, match="min_confidence"):
            client.predict(HEAD_OF_UNIT, 5, 2, api_name="/ask")
        with pytest.raises(AppError, match="no indexed document"):
            client.predict(HEAD_OF_UNIT, 5, 0.06, ["/nowhere.txt"], api_name="/ask")
    finally:
        client.close()


def test_phone_width_has_no_sideways_scrolling_and_examples_ask_in_one_click(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name=HEAD_OF_UNIT).click()
    page.locator("#rag-chat .rag-answer-text").wait_for()
    page.wait_for_function(_SETTLED)
    assert page.locator("#rag-chat .rag-answer-text").inner_text() == "Francesco Luciani"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


# The chat has its new turn and gradio has faded it back in (no "pending" state left).
_SETTLED = """() => {
  const box = document.querySelector('#rag-chat .html-container') || document.body;
  return !box.classList.contains('pending') && getComputedStyle(box).opacity === '1';
}"""
_IN_VIEW = """(selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def _ask(page, question: str) -> None:
    turns = page.locator("#rag-chat .rag-turn").count()
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-question textarea").press("Enter")
    page.locator("#rag-chat .rag-turn").nth(turns).locator(".rag-reply").wait_for()
    page.wait_for_function(_SETTLED)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_uploaded_slides_and_scans_are_answered_with_their_location(page, format_files):
    """A slide deck and a scanned PDF uploaded in the chat: each answer's citation names its
    slide, or its page "read by OCR", and so does the source view."""
    folder, _ = format_files
    files = [folder / "hotline-briefing.pptx"]
    from rag._ocr import languages

    ocr = "eng" in languages()
    if ocr:
        files.append(folder / "scanned-letter.pdf")
    page.get_by_text("Documents", exact=True).click()
    page.locator("#rag-upload input[type=file]").set_input_files(files)
    page.wait_for_function(
        "() => document.querySelector('#rag-status textarea').value.includes('hotline-briefing')"
        " && document.querySelector('#rag-status textarea').value.includes('added')"
    )
    _ask(page, "How many calls did the Sofia hotline receive in March?")
    reply = page.locator("#rag-chat .rag-reply").last
    assert reply.locator(".rag-answer-text").inner_text() == "5,300"
    assert "Hotline briefing, slide 3" in reply.locator(".rag-citations").inner_text()
    if not ocr:
        pytest.skip("the scanned half: install Tesseract (apt-get install tesseract-ocr)")
    _ask(page, "How many referrals did the border crossing at Ruse record in 2020?")
    reply = page.locator("#rag-chat .rag-reply").last
    assert reply.locator(".rag-answer-text").inner_text() == "93"
    assert "page 1, read by OCR" in reply.locator(".rag-citations").inner_text()
    reply.locator("button.rag-cite").first.click()
    page.locator("#rag-source #cite-answer").wait_for()
    assert "page 1, read by OCR" in page.locator("#rag-source .rag-source-head").inner_text()


def test_each_new_reply_is_scrolled_into_view(page):
    """Five questions: after each, the new turn's top is inside the chat box's visible part."""
    questions = [*EXAMPLE_QUESTIONS, HEAD_OF_UNIT, "Who is the Head of Unit of INTPA G6? (again)"]
    for question in questions[:5]:
        _ask(page, question)
        inside = page.evaluate(_LAST_TURN_IN_VIEW)
        assert inside, f"the reply to {question!r} is out of view"


def test_another_tab_lists_uploaded_documents(browser, server, page, format_files):
    folder, _ = format_files
    page.get_by_text("Documents", exact=True).click()
    page.locator("#rag-upload input[type=file]").set_input_files([folder / "budget.ods"])
    page.wait_for_function(
        "() => document.querySelector('#rag-status textarea').value.includes('budget.ods')"
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        later = context.new_page()
        later.set_default_timeout(TIMEOUT_MS)
        later.goto(server.url)
        later.get_by_text("Documents", exact=True).click()
        later.wait_for_function(
            "() => document.querySelector('#rag-documents').innerText.includes('budget.ods')"
        )
        later.get_by_text("Settings", exact=True).click()
        choose = later.get_by_label("Only these documents")
        choose.click()
        choose.press_sequentially("budget")
        later.get_by_role("option", name="(budget.ods)").wait_for()
    finally:
        context.close()


EXAMPLE_QUESTIONS = [
    "Who heads IOM's Counter-Trafficking Division?",
    "Who is the Head of Unit of INTPA G6?",
    "What is the EU doing about trafficking?",
]
# The last turn's top lies within the visible part of its scrolling box (or of the window).
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


def _app_module():
    spec = importlib.util.spec_from_file_location("app_for_auth", PROJECT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serving_beyond_this_computer_needs_sign_in(tmp_path, capsys):
    app = _app_module()
    argv = ["--host", "0.0.0.0", "--index", str(tmp_path / "index"), "--docs", str(tmp_path)]
    assert app.main(argv) == 1
    err = capsys.readouterr().err
    assert "--auth-file" in err and "--no-auth" in err
    assert not (tmp_path / "index").exists()  # refused before anything was built


def test_auth_file_holds_salted_hashes(tmp_path):
    app = _app_module()
    line = f"ana:{app.hash_password('correct horse', iterations=1000)}"
    assert "correct horse" not in line
    (tmp_path / "users").write_text(f"# who may sign in\n{line}\n")
    allowed = app.load_auth_file(tmp_path / "users")
    assert allowed("ana", "correct horse")
    assert not allowed("ana", "wrong") and not allowed("bob", "correct horse")
    (tmp_path / "bad").write_text("ana:plaintext\n")
    with pytest.raises(ValueError, match="line 1"):
        app.load_auth_file(tmp_path / "bad")


def test_read_only_server_signs_in_and_has_no_way_to_add_documents(embedder, tmp_path):
    from gradio_client import Client

    app = _app_module()
    index = rag.Index(embedder)
    index.sync([SAMPLE_CORPUS / "004_bedb749cf14d49f0.txt"])
    (tmp_path / "users").write_text(f"ana:{app.hash_password('s3cret', iterations=1000)}\n")
    demo, url = app.serve(
        index,
        port=_free_port(),
        auth=app.load_auth_file(tmp_path / "users"),
        read_only=True,
    )
    try:
        with pytest.raises(Exception):  # noqa: B017 - refused at connection, however it is put
            Client(url, verbose=False)
        client = Client(url, auth=("ana", "s3cret"), verbose=False)
        try:
            assert client.predict(HEAD_OF_UNIT, api_name="/ask")["answer"] == "Francesco Luciani"
            config = client.config
            assert not any(
                c.get("props", {}).get("elem_id") == "rag-upload" for c in config["components"]
            )
            names = json.dumps(config.get("dependencies", []))
            assert not {"add_files", "add_folder", "remove"} & set(re.findall(r'"(\w+)"', names))
        finally:
            client.close()
    finally:
        demo.close()


def test_questions_asked_in_quick_succession_are_all_answered_in_order(page):
    start = page.locator("#rag-chat .rag-turn").count()
    first, second = (page.get_by_role("button", name=q) for q in EXAMPLE_QUESTIONS[:2])
    first.click()
    second.click()  # while the first is being answered
    box = page.locator("#rag-question textarea")
    typed = ("Who is the Head of Unit of INTPA G6? (typed)", "What is the EU doing? (typed)")
    for question in typed:
        box.fill(question)
        box.press("Enter")  # the box empties at once (as a person sees before typing on)
        page.wait_for_function(_BOX_EMPTY)
    last = page.locator("#rag-chat .rag-turn").nth(start + 3).locator(".rag-reply")
    last.wait_for(timeout=2 * TIMEOUT_MS)  # four answers in a row on a loaded machine
    page.wait_for_function(_SETTLED)
    asked = page.locator("#rag-chat .rag-question").all_inner_texts()[start:]
    assert asked == [
        *EXAMPLE_QUESTIONS[:2],
        "Who is the Head of Unit of INTPA G6? (typed)",
        "What is the EU doing? (typed)",
    ]


_BOX_EMPTY = "() => document.querySelector('#rag-question textarea').value === ''"


def test_a_reply_never_wipes_what_is_being_typed(page):
    start = page.locator("#rag-chat .rag-turn").count()
    box = page.locator("#rag-question textarea")
    box.fill(HEAD_OF_UNIT)
    box.press("Enter")
    page.wait_for_function(_BOX_EMPTY)  # taken from the box at once, before the answer comes
    box.press_sequentially("Who is the hotline manager")  # typed while the answer comes
    page.locator("#rag-chat .rag-turn").nth(start).locator(".rag-reply").wait_for()
    page.wait_for_function(_SETTLED)
    assert box.input_value() == "Who is the hotline manager"


def _upload(page, files: list[Path], expect: str) -> None:
    """Upload through the drop zone and wait until the status names ``expect``."""
    page.locator("#rag-upload input[type=file]").set_input_files(files)
    page.wait_for_function(
        "(expect) => document.querySelector('#rag-status textarea').value.includes(expect)",
        arg=expect,
    )


def _open_panel(page, name: str) -> None:
    """Open an accordion ("Settings", "Documents", "Earlier questions") unless it is open."""
    header = page.locator("button.label-wrap", has_text=name)
    if "open" not in (header.get_attribute("class") or "").split():
        header.click()


def test_a_document_is_opened_and_removed_and_every_tab_follows(browser, server, page, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = context.new_page()  # opened before the upload: it must catch up unreloaded
        other.set_default_timeout(TIMEOUT_MS)
        other.goto(server.url)
        _open_panel(other, "Documents")
        kestrel = tmp_path / "kestrel.txt"
        kestrel.write_text("Kestrel Station\nKestrel Station opened in Ruse in May 2021.\n")
        _open_panel(page, "Documents")
        _upload(page, [kestrel], "1 added (kestrel.txt)")
        listed = "(name) => document.querySelector('#rag-documents').innerText.includes(name)"
        other.wait_for_function(listed, arg="kestrel.txt")

        row = page.locator("#rag-documents tr", has_text="kestrel.txt")
        row.get_by_role("button", name="Open kestrel.txt").click()
        head = page.locator("#rag-source .rag-source-head")
        head.filter(has_text="kestrel.txt").wait_for()
        assert "Kestrel Station opened in Ruse" in page.locator("#rag-source").inner_text()

        page.once("dialog", lambda dialog: dialog.dismiss())
        row.get_by_role("button", name="Remove kestrel.txt").click()
        page.wait_for_timeout(500)
        assert row.count() == 1  # not confirmed: nothing removed
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Remove kestrel.txt").click()
        _wait_status(page, "Removed kestrel.txt from the index (its uploaded copy is deleted)")
        assert row.count() == 0
        assert not (server.index.path / "uploads" / "kestrel.txt").exists()
        assert all(not d.source.endswith("kestrel.txt") for d in server.index.documents)
        other.wait_for_function(f"(name) => !({listed})(name)", arg="kestrel.txt")
        _open_panel(other, "Settings")
        choose = other.get_by_label("Only these documents")
        choose.click()
        choose.press_sequentially("Kestrel")
        assert other.get_by_role("option", name="(kestrel.txt)").count() == 0
    finally:
        context.close()


def _wait_status(page, expect: str) -> None:
    page.wait_for_function(
        "(expect) => document.querySelector('#rag-status textarea').value.includes(expect)",
        arg=expect,
    )


def test_a_citation_of_a_changed_document_says_so_instead_of_highlighting(page, tmp_path):
    osprey = tmp_path / "osprey.txt"
    osprey.write_text("Osprey Shelter\nThe Osprey Shelter in Varna is run by Lena Fischer.\n")
    _open_panel(page, "Documents")
    _upload(page, [osprey], "osprey.txt")
    _ask(page, "Who runs the Osprey Shelter?")
    old_reply = page.locator("#rag-chat .rag-reply").last
    assert old_reply.locator(".rag-answer-text").inner_text() == "Lena Fischer"

    osprey.write_text(
        "Osprey Shelter\nOpening hours: weekdays from nine to five, by appointment.\n"
        "Since 2024 the Osprey Shelter in Varna is run by Jonas Berg.\n"
    )
    _upload(page, [osprey], "1 updated (osprey.txt)")
    old_reply.locator("button.rag-cite").first.click()
    page.locator("#rag-source .rag-source-changed").wait_for()
    assert page.locator("#rag-source mark").count() == 0
    assert "Jonas Berg" in page.locator("#rag-source .rag-source-text").inner_text()

    _ask(page, "Who runs the Osprey Shelter?")
    new_reply = page.locator("#rag-chat .rag-reply").last
    assert new_reply.locator(".rag-answer-text").inner_text() == "Jonas Berg"
    new_reply.locator("button.rag-cite").first.click()
    page.locator("#rag-source #cite-answer").filter(has_text="Jonas Berg").wait_for()
    assert page.locator("#rag-source .rag-source-changed").count() == 0


# The progress bar's width and whether the status box is in the window, sampled in the page.
_UPLOAD_STATE = """() => {
  const status = document.querySelector('#rag-status');
  const bar = status.querySelector('.progress-bar');
  const box = status.getBoundingClientRect();
  return {bar: bar ? bar.getBoundingClientRect().width : 0,
          visible: box.top >= 0 && box.top < window.innerHeight,
          done: status.querySelector('textarea').value.includes('Indexed')};
}"""


def test_an_upload_shows_a_moving_progress_bar_in_view(page, tmp_path):
    report = tmp_path / "district-reports.txt"
    lines = [
        f"District {i} reported {i * 7 + 3} referrals of trafficking victims to shelter "
        f"number {i % 41} in the year {1990 + i % 33}, of whom {i % 17} were children."
        for i in range(2400)
    ]
    report.write_text("District Reports\n" + "\n".join(lines) + "\n")
    _open_panel(page, "Documents")
    page.locator("#rag-upload").scroll_into_view_if_needed()
    page.locator("#rag-upload input[type=file]").set_input_files([report])
    widths, visible = set(), []
    for _ in range(1200):  # 120 s at most
        state = page.evaluate(_UPLOAD_STATE)
        if state["done"]:
            break
        widths.add(round(state["bar"]))
        visible.append(state["visible"])
        page.wait_for_timeout(100)
    assert state["done"], "the upload did not finish in 120 s"
    assert len(widths - {0}) >= 2, f"the bar never moved: widths {sorted(widths)}"
    assert all(visible), "the status box left the window while the drop zone was in view"
    status = page.locator("#rag-status textarea").input_value()
    assert "1 added (district-reports.txt)" in status


def test_every_text_meets_4_5_to_1_in_both_themes_and_controls_show_focus(browser, server):
    """Every visible text, against the colour actually behind it, after answers found, uncertain
    and not found, the source view and every panel open."""
    contrast = (Path(__file__).parent / "contrast.js").read_text()
    for theme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url + ("?__theme=dark" if theme == "dark" else ""))
            _ask(page, HEAD_OF_UNIT)
            page.locator("#rag-chat button.rag-cite").first.click()
            page.locator("#rag-source #cite-answer").wait_for()
            _ask(page, "What is the boiling point of mercury?")
            _open_panel(page, "Settings")
            page.locator("#rag-threshold input[type=range]").fill("0")
            _ask(page, "What did the modules cover?")
            last = page.locator("#rag-chat .rag-reply").last.inner_text()
            assert page.locator("#rag-chat .rag-uncertain").count() >= 1, last
            for name in ("Documents", "Earlier questions"):
                _open_panel(page, name)
            page.wait_for_timeout(300)
            checked, failing = page.evaluate(contrast)
            assert checked > 60, f"{theme}: only {checked} texts checked"
            assert failing == [], f"{theme}: texts under 4.5:1: {failing}"

            for control in ("#rag-k input[type=range]", "#rag-only input"):
                page.locator(control).focus()
                ring = page.locator(control).evaluate(
                    "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
                )
                assert ring[0] != "none" and float(ring[1].removesuffix("px")) >= 2, control
        finally:
            context.close()


def test_copy_clear_and_earlier_questions_after_a_reload(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.url)
        _ask(page, HEAD_OF_UNIT)
        reply = page.locator("#rag-chat .rag-reply").last
        reply.get_by_role("button", name="Copy").click()
        reply.get_by_role("button", name="Copied").wait_for()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied.startswith(f"Q: {HEAD_OF_UNIT}\nAnswer: Francesco Luciani (confidence")
        assert "[1] " in copied

        page.get_by_role("button", name="Clear conversation").click()
        page.wait_for_function("() => !document.querySelector('#rag-chat .rag-turn')")

        page.reload()
        _open_panel(page, "Earlier questions")
        earlier = page.locator("#rag-history button.rag-history-ask")
        assert earlier.all_inner_texts() == [HEAD_OF_UNIT]
        assert page.locator("#rag-chat .rag-turn").count() == 0
        earlier.first.click()
        page.locator("#rag-chat .rag-answer-text").wait_for()
        assert page.locator("#rag-chat .rag-answer-text").inner_text() == "Francesco Luciani"
        page.get_by_role("button", name="Forget these questions").click()
        assert earlier.count() == 0
    finally:
        context.close()


def test_source_view_keeps_its_title_and_leads_back_and_phone_targets_are_44_px(page, server):
    _ask(page, "Who heads IOM's Counter-Trafficking Division?")
    buttons = page.locator("#rag-chat .rag-reply").last.locator("button[data-cite]")
    for i in range(buttons.count()):  # each citation, whichever document it opens
        target = json.loads(buttons.nth(i).get_attribute("data-cite"))
        source = next(d for d in server.index.documents if document_key(d.source) == target["doc"])
        sentence = " ".join(source.text[target["start"] : target["end"]].split())
        buttons.nth(i).evaluate("button => button.click()")  # as a person: no scrolling first
        page.wait_for_function(_SENTENCE_SHOWN, arg=sentence)
        page.wait_for_timeout(200)
        assert page.evaluate(_MARK_IN_SOURCE_BOX), f"citation {i + 1}: sentence out of view"
        assert page.evaluate(_HEAD_IN_SOURCE_BOX), "the title scrolled out of the source view"
        assert page.evaluate("() => window.scrollY") == 0  # the window stays where it was
    page.get_by_role("button", name="Back to the chat").click()
    page.wait_for_function("() => document.activeElement.closest('#rag-question') !== null")

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    sizes = page.locator("#rag-chat button.rag-cite").evaluate_all(
        "all => all.map(b => [b.getBoundingClientRect().width, b.getBoundingClientRect().height])"
    )
    assert sizes and all(w >= 44 and h >= 44 for w, h in sizes), sizes
    badges = page.locator("#rag-chat .rag-confidence").evaluate_all(
        "all => all.map(b => b.getClientRects().length)"
    )
    assert badges and set(badges) == {1}  # the badge never wraps onto two lines

    page_text = page.content() + page.evaluate("() => JSON.stringify(window.gradio_config)")
    for folder in (SAMPLE_CORPUS, server.index.path.parent):
        assert str(folder) not in page_text, f"{folder} is in the page"


_SENTENCE_SHOWN = """(sentence) => {
  const mark = document.querySelector('#rag-source #cite-sentence');
  return mark && mark.innerText.split(/\\s+/).filter(Boolean).join(' ') === sentence;
}"""
_MARK_IN_SOURCE_BOX = """() => {
  const mark = document.querySelector('#rag-source #cite-sentence').getBoundingClientRect();
  let box = document.querySelector('#rag-source .rag-source');
  while (box && !(box.scrollHeight > box.clientHeight + 1)) box = box.parentElement;
  const view = box ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
  return mark.top >= Math.max(0, view.top) && mark.top < Math.min(view.bottom, innerHeight);
}"""
_HEAD_IN_SOURCE_BOX = """() => {
  const head = document.querySelector('#rag-source .rag-source-head').getBoundingClientRect();
  let box = document.querySelector('#rag-source .rag-source');
  while (box && !(box.scrollHeight > box.clientHeight + 1)) box = box.parentElement;
  const view = box ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
  return head.top >= view.top - 1 && head.bottom <= view.bottom + 1 && head.top >= 0;
}"""
