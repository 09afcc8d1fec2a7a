"""The playground's Character control in headless Debian Chromium: boxes dragged on a
picture the face finder cannot read, in the picture's own pixels, make it talk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import decode_video, voice_like, wav_bytes
from tests.service.conftest import KEY, ServerProcess
from tests.service.test_playground import CHROMIUM, CHROMIUM_ARGS

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package")

WIDTH, HEIGHT = 900, 600  # the picture's own size; the page shows it smaller
MOUTH = (360, 380, 180, 44)  # around the drawn line, in the picture's pixels
EYE = (300, 200, 80, 60)
FRAMES = "() => Number(document.querySelector('#live-canvas').dataset.frames || 0) > 5"
NATURAL_WIDTH = "() => document.querySelector('#character-image').naturalWidth"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def creature() -> np.ndarray:
    """A photo-like texture (no face a mesh or the drawn-face finder reads) with a mouth line
    and two dark eyes: without boxes the server refuses it."""
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(60, 200, (HEIGHT, WIDTH, 3)).astype(np.uint8),
                             (0, 0), 2)
    cv2.line(image, (380, 402), (520, 404), (40, 20, 30), 5)
    for x in (340, 560):
        cv2.circle(image, (x, 230), 14, (25, 20, 20), -1)
    return image


def _drag(page: Any, canvas: dict[str, float], box: tuple[int, int, int, int]) -> None:
    """Drag from the box's top-left corner to its bottom-right one, given in the picture's
    pixels, on the canvas shown at ``canvas`` (CSS pixels)."""
    scale = canvas["width"] / WIDTH
    x, y, w, h = box
    page.mouse.move(canvas["x"] + x * scale, canvas["y"] + y * scale)
    page.mouse.down()
    page.mouse.move(canvas["x"] + (x + w / 2) * scale, canvas["y"] + (y + h / 2) * scale, steps=4)
    page.mouse.move(canvas["x"] + (x + w) * scale, canvas["y"] + (y + h) * scale, steps=4)
    page.mouse.up()


def _shown(page: Any, name: str) -> list[int]:
    text = page.text_content(f"#character-{name}")
    return [int(v) for v in text.split(",")]


def test_boxes_dragged_on_the_picture_make_it_talk(
        browser: Any, server: ServerProcess, tmp_path: Path) -> None:
    picture = tmp_path / "creature.png"
    cv2.imwrite(str(picture), creature()[:, :, ::-1])
    audio = tmp_path / "voice.wav"
    audio.write_bytes(wav_bytes(np.concatenate([voice_like(1.2), np.zeros(4000, np.float32)])))
    page = browser.new_page(viewport={"width": 1000, "height": 1300})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "favicon" not in m.location.get("url", "") else None)
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data))
            if r.method == "POST" and "/api/v3/" in r.url else None)
    starts: list[dict[str, Any]] = []
    try:
        page.goto(f"{server.url}/")
        page.fill("#api-key", KEY)
        assert not page.is_visible("#character-card")  # off: the page as it always was
        page.set_input_files("#image-file", str(picture))
        page.set_input_files("#audio-file", str(audio))
        assert '"mouth"' not in page.text_content("#curl")
        page.check("#character-toggle")
        page.wait_for_function(f"{NATURAL_WIDTH} === {WIDTH}")
        canvas = page.locator("#character-canvas").bounding_box()
        assert canvas is not None and 400 < canvas["width"] < WIDTH - 100  # shown smaller
        assert abs(canvas["width"] / canvas["height"] - WIDTH / HEIGHT) < 0.01

        _drag(page, canvas, MOUTH)
        assert page.get_attribute(".character-mode[data-box=eye1]", "aria-pressed") == "true"
        _drag(page, canvas, EYE)
        mouth, eye = _shown(page, "mouth"), _shown(page, "eye1")
        tolerance = 1.5 * WIDTH / canvas["width"]  # one CSS pixel each way, in the picture's
        assert np.abs(np.array(mouth) - MOUTH).max() <= tolerance, mouth
        assert np.abs(np.array(eye) - EYE).max() <= tolerance, eye
        assert page.text_content("#character-eye2") == "—"
        assert f'"mouth":[{",".join(map(str, mouth))}]' in page.text_content("#curl")
        page.screenshot(path="/tmp/character_ui.png", full_page=True)

        page.uncheck("#character-toggle")  # off again: nothing is sent ...
        assert '"mouth"' not in page.text_content("#curl")
        page.check("#character-toggle")  # ... and the boxes are kept for when it is on
        assert _shown(page, "mouth") == mouth

        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        assert "Done" in page.text_content("#status"), page.text_content("#status")
        url = page.get_attribute("#download", "href")

        # The Live tab shares the portrait and its boxes: Start sends them too.
        page.on("websocket", lambda ws: ws.on("framesent", lambda data: starts.append(
            json.loads(data)) if isinstance(data, str) and '"start"' in data else None))
        page.click("#tab-live")
        assert page.is_visible("#character-canvas")
        page.check("#live-play")
        page.set_input_files("#live-file", str(audio))
        page.click("#live-start")
        page.wait_for_function(FRAMES, timeout=30_000)  # the server took the boxes
        page.click("#live-stop")
        page.wait_for_selector("#live-start:not([disabled])", timeout=30_000)
    finally:
        page.close()
    assert problems == []
    assert len(bodies) == 1
    assert bodies[0]["mouth"] == mouth and bodies[0]["eyes"] == [eye]
    assert len(starts) == 1 and starts[0]["mouth"] == mouth and starts[0]["eyes"] == [eye]

    out = tmp_path / "creature.mp4"
    out.write_bytes(httpx.get(url, timeout=30).content)
    video = decode_video(out)
    assert (video.width, video.height) in ((512, 341), (512, 342))
    scale = 512 / WIDTH
    x0, x1 = int(MOUTH[0] * scale), int((MOUTH[0] + MOUTH[2]) * scale)
    y0, y1 = int(MOUTH[1] * scale), int((MOUTH[1] + 2 * MOUTH[3]) * scale)
    last = video.frames[-1].astype(int)
    mouth_change = [np.abs(f[y0:y1, x0:x1] - last[y0:y1, x0:x1]).mean() for f in video.frames]
    assert max(mouth_change) > 10  # the marked mouth opens while the voice sounds
    corner = (slice(0, 80), slice(0, 120))  # far from the boxes: only the codec's noise
    assert max(np.abs(f[corner].astype(int) - video.frames[0][corner]).mean()
               for f in video.frames) < 0.5
