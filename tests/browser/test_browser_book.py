"""The course website in a real browser: a notebook page and an API page, served by a local http.server,
open without a console error and without asking anything of the internet (every other host is blocked).

Needs Debian's chromium and the playwright package (never `playwright install`), and the book extra."""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"]


def _chromium() -> str | None:
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not _chromium():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    sys.path.insert(0, str(ROOT / "tests"))
    from test_book import build_book

    tmp = tmp_path_factory.mktemp("book")
    build_book(tmp / "site", tmp / "src")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=_chromium(), args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, url: str):
    """Open ``url`` with every request to another host aborted; returns (page, errors, outside requests)."""
    page = browser.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

    def route(r):
        if urlsplit(r.request.url).hostname in ("127.0.0.1", None) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="networkidle")
    return page, errors, outside


def test_a_notebook_page_opens_offline(browser, site):
    page, errors, outside = _open(browser, f"{site}/notebooks/05_gpu_retrieval_evaluation.html")
    assert "GPU retrieval evaluation" in page.title()
    assert page.get_by_text("What you will learn").first.is_visible()
    assert page.locator("pre, .highlight").count() > 5                       # the code cells
    assert page.locator("nav a[href$='api/index.html']").count() >= 1        # the site's navigation
    assert errors == [] and outside == [], (errors, outside)
    page.close()


def test_the_api_page_opens_offline_and_search_finds_a_loss(browser, site):
    page, errors, outside = _open(browser, f"{site}/api/losses.html")
    assert page.locator("h2, h3").filter(has_text="AMSoftmaxLoss").count() >= 1
    page.keyboard.press("/")                                                  # material's search shortcut
    page.locator("input.md-search__input").type("GuidanceLoss", delay=30)     # key by key, as a person types
    page.wait_for_selector(".md-search-result__item", timeout=20_000)
    assert errors == [] and outside == [], (errors, outside)
    page.close()
