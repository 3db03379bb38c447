"""The reviewer page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

One scripted session against a real ``mechcode review`` subprocess: log in with the token URL,
code units with the keyboard, undo, watch the model version change after a background
retrain, check that a passage with ``<script>`` / ``<img onerror>`` renders as inert text,
use the codebook overlay and code a free span in the paper view. Screenshots are checked
for content (and kept in $MECHCODE_SCREENSHOTS when set).
"""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from _web_review import TOKEN, XSS, make_review, start_cli_server, stop_server
from mechcode.store.review import Review

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def need_browser():
    if CHROMIUM.exists():
        return
    msg = "Debian chromium missing: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg)
    pytest.skip(msg)


def distinct_colours(png: bytes) -> int:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return len(img.getcolors(maxcolors=1 << 24) or ())


def keep(path: Path) -> None:
    target = os.environ.get("MECHCODE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def shoot(page, tmp_path: Path, name: str) -> bytes:
    path = tmp_path / name
    png = page.screenshot(path=str(path), full_page=True)
    keep(path)
    assert distinct_colours(png) > 200, f"{name} looks blank"
    return png


@pytest.fixture
def server(tmp_path):
    need_browser()
    rv, seed = make_review(tmp_path / "data", n_docs=2, extra=XSS)
    proc, base = start_cli_server(rv.path, "--retrain-every", "3", "--backend", "sparse", "--seed-data", str(seed),
                                  "--reviewer", "rita", "--zeroshot-encoder", "tfidf")
    yield rv, base
    stop_server(proc)


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.problems = []  # type: ignore[attr-defined]
        pg.on("console", lambda m: m.type == "error" and pg.problems.append(m.text))
        pg.on("pageerror", lambda e: pg.problems.append(str(e)))
        pg.on("dialog", lambda d: (pg.problems.append("dialog: " + d.message), d.dismiss()))
        yield pg
        browser.close()


def current_unit(page) -> int:
    return int(page.get_attribute("#unit-card", "data-unit"))


def press_and_wait(page, key: str) -> int:
    """Press ``key`` (a decision) and wait for the next unit; returns the new unit id."""
    before = current_unit(page)
    page.keyboard.press(key)
    page.wait_for_selector(f"#unit-card:not([data-unit='{before}'])", timeout=30_000)
    return current_unit(page)


def test_reviewer_session_in_the_browser(server, page, tmp_path):
    rv, base = server
    page.goto(f"{base}/?token={TOKEN}")
    assert page.url == base + "/"  # the token left the URL
    page.wait_for_selector("#passage mark.unit", timeout=120_000)
    first = current_unit(page)

    # the XSS payload (second sentence of paper 1) is in this paragraph: shown as text, never run
    assert "<script>window.__xss = 1</script>" in page.text_content("#passage")
    assert page.evaluate("window.__xss") is None
    assert page.locator("#passage img, #passage script").count() == 0
    assert page.evaluate("document.scripts.length") == 8

    second = press_and_wait(page, "a")  # accept
    assert "<img src=x onerror" in page.text_content("#passage mark.unit")
    page.keyboard.press("2")  # toggle "Building trust"
    page.keyboard.press("o")  # outcome
    page.keyboard.press("+")
    assert "selected" in page.get_attribute("#roles [data-value='outcome']", "class")
    third = press_and_wait(page, "Enter")  # save the corrected codes
    fourth = press_and_wait(page, "x")  # reject -> 3 labelling decisions: a retrain starts
    press_and_wait(page, "s")  # skip
    page.keyboard.press("u")  # undo the skip: the skipped unit comes back
    page.wait_for_selector(f"#unit-card[data-unit='{fourth}']", timeout=30_000)
    assert page.evaluate("window.__xss") is None

    events = [e for e in Review.open(rv.path).decisions() if e["reviewer"] == "rita"]
    assert [(e["unit_id"], e["action"]) for e in events][:4] == [
        (first, "accept"), (second, "correct"), (third, "reject"), (fourth, "skip")]
    assert events[4]["action"] == "undo" and events[4]["undoes"] == events[3]["id"]
    assert "building-trust" in events[1]["mechanisms"] or events[1]["mechanisms"] != events[1]["suggested"]
    assert events[1]["role"] == "outcome" and events[1]["polarity"] == "+"
    assert events[0]["model_version"].startswith("sparse")

    # the background retrain lands and the page shows the new model version
    # (selector waits: the page's CSP forbids the eval that wait_for_function needs)
    page.wait_for_selector("#model-version:text-matches('^sparse-')", timeout=180_000)
    page.wait_for_selector("#retrain-info:has-text('Last retrain')", timeout=30_000)
    assert "Labelled" in page.text_content("#statusbar")
    shoot(page, tmp_path, "queue.png")

    page.keyboard.press("?")
    assert page.is_visible("#codebook")
    assert "distribute decision making" in page.text_content("#codebook")
    page.keyboard.press("Escape")
    assert not page.is_visible("#codebook")

    check_paper_view(page, rv, tmp_path)
    assert page.evaluate("window.__xss") is None
    assert not page.problems, page.problems


def check_paper_view(page, rv, tmp_path: Path) -> None:
    """Papers list -> paper 1 in reading order, coded sentences coloured, code a free span."""
    page.keyboard.press("p")
    page.wait_for_selector("#papers-body tr button.link")
    assert page.locator("#papers-body tr").count() == 2
    page.locator("#papers-body tr button.link").first.click()
    page.wait_for_selector("#paper-text span.coded")
    assert page.locator("#paper-text span.coded").count() >= 2
    assert "<img src=x onerror" in page.text_content("#paper-text")
    assert page.locator("#paper-text img, #paper-text script").count() == 0
    # select part of the second paragraph (crossing a sentence boundary) with the DOM selection API
    selected = page.evaluate("""() => {
        const p = document.querySelectorAll('#paper-text p[data-start]')[1];
        const text = p.firstChild.firstChild;
        const range = document.createRange();
        range.setStart(text, 4);
        range.setEnd(text, Math.min(text.length, 90));
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        document.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        return sel.toString();
    }""")
    page.wait_for_selector("#span-panel .sel")
    assert page.text_content("#span-panel .sel") == selected
    page.check("#span-panel input[value='learning']")
    page.select_option("#span-panel select >> nth=0", "context")
    page.click("#span-panel button.primary")
    page.wait_for_selector(".toast.good >> text=Span coded")
    spans = [u for u in Review.open(rv.path).units() if u["kind"] == "span"]
    assert len(spans) == 1 and spans[0]["text"] == selected
    code = Review.open(rv.path).current_codes("rita")[spans[0]["id"]]
    assert code["mechanisms"] == ["learning"] and code["role"] == "context"
    shoot(page, tmp_path, "paper.png")
