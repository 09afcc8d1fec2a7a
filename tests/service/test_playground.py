"""The playground end to end in headless Debian Chromium: upload, submit, wait, play."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PORTRAIT
from tests.service.conftest import KEY, ServerProcess, short_wav

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_upload_submit_and_play(browser: object, server: ServerProcess, tmp_path: Path) -> None:
    audio = tmp_path / "hello.wav"
    audio.write_bytes(short_wav(1.5))
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server.url}/")
        page.fill("#api-key", KEY)
        page.set_input_files("#image-file", str(EXAMPLE_PORTRAIT))
        page.set_input_files("#audio-file", str(audio))
        assert "base64 -w0 astronaut.png" in page.text_content("#curl")
        page.fill("#gestures", "0")
        page.dispatch_event("#gestures", "change")
        page.fill("#motion_intensity", "1.5")
        page.dispatch_event("#motion_intensity", "change")
        curl = page.text_content("#curl")
        assert '"gestures":0' in curl and '"motion_intensity":1.5' in curl, curl
        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        assert "Done" in page.text_content("#status")
        page.wait_for_function(
            "() => { const v = document.querySelector('#result');"
            " v.muted = true; v.play(); return v.readyState >= 2 && v.currentTime > 0.2; }",
            timeout=30_000, polling=200)
        duration = page.evaluate("document.querySelector('#result').duration")
        assert 1.3 < duration < 1.8
        assert page.get_attribute("#download", "href").startswith(server.url + "/files/")
    finally:
        page.close()
    assert errors == []


def test_wrong_key_shows_the_error(browser: object, server: ServerProcess) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        page.goto(f"{server.url}/")
        page.fill("#api-key", "nope")
        page.set_input_files("#image-file", str(EXAMPLE_PORTRAIT))
        page.set_input_files("#audio-file", files=[{"name": "a.wav", "mimeType": "audio/wav",
                                                     "buffer": short_wav(0.5)}])
        page.click("#submit")
        page.wait_for_selector("#status.error", timeout=30_000)
        assert "invalid API key" in page.text_content("#status")
    finally:
        page.close()


def test_docs_render_with_the_network_cut_off(browser: object, server: ServerProcess) -> None:
    """/docs draws the API reference from assets this server serves: nothing from a CDN."""
    page = browser.new_page()  # type: ignore[attr-defined]
    outside: list[str] = []

    def only_this_server(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(server.url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(url)
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", only_this_server)
    try:
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "talkinghead" in page.text_content(".swagger-ui .info .title")
        assert page.locator(".opblock").count() >= 4
    finally:
        page.close()
    assert outside == []
