"""A real browser draws a ring on the live demo served by Voila and gets rings back.

Needs Debian's chromium (`apt-get install chromium`) and the `playwright` Python package; the browser
is never downloaded (`executable_path`). Skipped with the reason when either is missing.
Saves a screenshot to artifacts/browser_demo.png.
"""

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from tiny_bundle import tiny_bundle_for_session  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
K = 6
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _requirements() -> str | None:
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; never `playwright install`)"
    try:
        import voila  # noqa: F401
    except ImportError:
        return "voila is not installed (pip install voila)"
    return None


def test_draw_a_ring_in_chromium(tmp_path_factory, tmp_path):
    reason = _requirements()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    from sbsr_lab.widgets.app import start_app

    tb = tiny_bundle_for_session(tmp_path_factory)
    ARTIFACTS.mkdir(exist_ok=True)
    with start_app(model=str(tb.bundle), data=str(tb.data), k=K, history=str(tmp_path / "h.sqlite"),
                   timeout_s=60) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
                                     args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(server.url, timeout=60_000)
            canvas = page.locator("canvas.sbsr-sketchpad").first
            canvas.wait_for(state="visible", timeout=60_000)
            page.wait_for_function("document.querySelector('.sbsr-status') && "
                                   "document.querySelector('.sbsr-status').innerText.includes('Draw something')",
                                   timeout=60_000)
            box = canvas.bounding_box()
            cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 0.33 * box["width"]
            page.mouse.move(cx + r, cy)
            page.mouse.down()
            for a in np.linspace(0, 2 * np.pi, 48)[1:]:
                page.mouse.move(cx + r * np.cos(a), cy + r * np.sin(a), steps=2)
                time.sleep(0.01)
            page.mouse.up()
            page.wait_for_function(f"document.querySelectorAll('.sbsr-result').length >= {K}", timeout=30_000)
            classes = page.eval_on_selector_all(".sbsr-result", "els => els.map(e => e.dataset.cls || e.dataset['class'])")
            status = page.inner_text(".sbsr-status")
            page.wait_for_timeout(2000)  # let plotly finish its transitions before the screenshot
            page.screenshot(path=str(ARTIFACTS / "browser_demo.png"), full_page=True)
        finally:
            browser.close()
    assert len(classes) == K, classes
    assert sum(c == "ring" for c in classes) > K / 2, (classes, status)
    assert "ring" in status
    assert server.process.poll() is not None  # Voila was stopped
