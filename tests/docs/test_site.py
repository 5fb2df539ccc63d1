"""The documentation site: its generated pages are the code's, it builds with --strict, and a browser opens it.

The browser test drives Debian's Chromium (`apt-get install chromium`, as .ci/run does) through Playwright:
a family page of the built site and a run's report.html must load every image and log no console error.
`CNNZOO_SCREENSHOTS=docs/screenshots` keeps its screenshots (the README's and the site's pictures).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_generated_pages_are_what_the_code_generates_now():
    proc = subprocess.run([sys.executable, "tools/docs_pages.py", "--check"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_page_is_in_the_navigation():
    import yaml

    nav = (REPO / "mkdocs.yml").read_text()
    yaml.safe_load(nav.replace("!", ""))  # the file is YAML
    pages = {
        p.relative_to(REPO / "docs").as_posix()
        for p in (REPO / "docs").rglob("*.md")
        if "results" not in p.parts and "screenshots" not in p.parts
    }
    pages |= {
        p.relative_to(REPO / "docs").with_suffix(".md").as_posix() for p in (REPO / "docs" / "tutorials").glob("*.py")
    }
    missing = sorted(page for page in pages if page not in nav)
    assert not missing, f"pages missing from mkdocs.yml's nav: {missing}"


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """`mkdocs build --strict` into a scratch folder: a warning (a broken link, a missing image) fails it."""
    pytest.importorskip("mkdocs")
    if shutil.which("dot") is None:
        pytest.fail("the site's diagrams need Graphviz's dot: apt-get install graphviz")
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return site


@pytest.mark.slow
def test_site_builds_strict_with_every_family_page_and_its_diagrams(built_site):
    for family in ("alexnet", "vgg", "nin", "googlenet", "resnet"):
        page = (built_site / "families" / f"{family}.html").read_text()
        diagrams = [line for line in page.split('src="')[1:] if line.startswith("../diagrams/")]
        assert diagrams, family
        for src in diagrams:
            assert (built_site / "families" / src.split('"')[0]).resolve().is_file()
    assert "11,181,642" in (built_site / "tutorials" / "resnet18_from_the_table.html").read_text()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(built_site):
    """The built site served on the loopback address, as a reader's browser would fetch it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(built_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _open(url: str, screenshot: Path, full_page: bool = False) -> dict:
    """Open a page in headless Chromium: console errors, failed requests, broken images; a screenshot."""
    playwright = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.fail("the browser test needs Chromium: apt-get install chromium")
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(url)
            page.wait_for_load_state("networkidle")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.currentSrc.slice(0, 80), i.complete && i.naturalWidth > 0])"
            )
            title = page.title()
            page.screenshot(path=str(screenshot), full_page=full_page)
        finally:
            browser.close()
    return {"problems": problems, "images": images, "title": title}


def _screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CNNZOO_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
def test_a_model_page_opens_in_a_browser_with_every_image(site_url, tmp_path):
    shot = _screenshot_dir(tmp_path) / "model_page.png"
    seen = _open(f"{site_url}/families/resnet.html#diagrams", shot)  # the screenshot shows its pictures
    assert seen["problems"] == []
    assert len(seen["images"]) >= 10 and all(ok for _, ok in seen["images"]), seen["images"]
    assert seen["title"].startswith("ResNet")
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_a_run_report_opens_offline_with_every_image(digits_run, tmp_path):
    from cnnzoo.visual.report_html import run_report

    report = run_report(digits_run, tmp_path / "report.html", worst=4)
    shot = _screenshot_dir(tmp_path) / "run_report.png"
    seen = _open(report.as_uri(), shot)  # a file, no server: the report carries all it shows
    assert seen["problems"] == []
    assert len(seen["images"]) >= 2 and all(ok for _, ok in seen["images"]), seen["images"]
    assert shot.stat().st_size > 10_000
