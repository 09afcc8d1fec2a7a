"""``/api/v1/live`` against a real server on 127.0.0.1, with a client that follows only
the contract in docs/LIVE.md."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import EXAMPLE_SPEECH
from tests.service.conftest import KEY, PORTRAIT, LocalHTTP, ServerProcess, b64

IDLE_S = 3


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("live") / "data"
    proc = ServerProcess(data, workers=1, env={
        "TALKINGHEAD_LIVE_SESSIONS": "4", "TALKINGHEAD_LIVE_IDLE_S": str(IDLE_S),
        "TALKINGHEAD_AUTH_FAILURES_PER_MIN": "1000"}).start()
    yield proc
    proc.stop()


def _url(server: ServerProcess, key: str | None = KEY) -> str:
    query = f"?api_key={key}" if key else ""
    return f"ws://127.0.0.1:{server.port}/api/v1/live{query}"


def _start(ws: ClientConnection, **fields: Any) -> dict[str, Any]:
    ws.send(json.dumps({"type": "start", "image": b64(PORTRAIT), **fields}))
    return json.loads(ws.recv(timeout=30))


def _closed_with(ws: ClientConnection) -> tuple[int | None, str]:
    with pytest.raises(ConnectionClosed):
        while True:
            ws.recv(timeout=10)
    return ws.close_code, ws.close_reason or ""


def _speech_pcm(seconds: float) -> bytes:
    from talkinghead.inputs import load_audio

    mono = load_audio(EXAMPLE_SPEECH).mono(16_000)[: int(seconds * 16_000)]
    return (np.clip(mono, -1, 1) * 32767).astype("<i2").tobytes()


def test_streamed_speech_gives_a_frame_per_40_ms_a_moving_mouth_and_idle_frames(
        live_server: ServerProcess) -> None:
    pcm = _speech_pcm(6.0)
    with connect(_url(live_server), max_size=None) as ws:
        ready = _start(ws, sample_rate=16_000, seed=2)
        assert ready == {"type": "ready", "fps": 25, "width": 512, "height": 512,
                         "sample_rate": 16_000, "seed": 2}
        started = time.monotonic()

        def send_in_real_time() -> None:  # 20 ms chunks, on the clock
            for i in range(0, len(pcm), 640):
                time.sleep(max(0.0, started + i / 32_000 - time.monotonic()))
                ws.send(pcm[i:i + 640])

        sender = threading.Thread(target=send_in_real_time)
        sender.start()
        frames: list[tuple[float, bytes]] = []
        events: list[dict[str, Any]] = []
        while time.monotonic() - started < 6.0 + 2.5:  # the speech, then 2.5 s of nothing
            message = ws.recv(timeout=5)
            if isinstance(message, bytes):
                frames.append((time.monotonic() - started, message))
            else:
                events.append(json.loads(message))
        sender.join()
        ws.send(json.dumps({"type": "stop"}))
        rest = []
        with pytest.raises(ConnectionClosed):
            while True:
                message = ws.recv(timeout=10)
                (rest.append(message) if isinstance(message, bytes)
                 else events.append(json.loads(message)))
        assert ws.close_code == 1000
    total = len(frames) + len(rest)
    assert events[-1] == {"type": "end", "frames": total}
    # A frame for every 40 ms of the session, speech and idle alike.
    assert total >= (6.0 + 2.5 - 0.5) * 25
    # Frame k shows the session's time k/25 however late it arrived (a busy machine).
    images = [cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
              for jpeg in [jpeg for _, jpeg in frames] + rest]
    assert all(image.shape == (512, 512, 3) for image in images)
    speaking = _mouth_opening(images[10:140:2])  # 0.4 .. 5.6 s
    idle = _mouth_opening(images[170::4])  # from 6.8 s on
    assert speaking.max() > 0.05 and np.ptp(speaking) > 0.04  # the mouth moves ...
    assert idle.max() < 0.03  # ... and rests, lips together
    # Idle frames keep coming in real time after the speech.
    late = [t for t, _ in frames if t > 6.5]
    assert len(late) >= 30 and np.diff(late).max() < 1.0


def _mouth_opening(images: list[np.ndarray]) -> np.ndarray:
    """Gap between the lips per frame, as a share of face height (face mesh)."""
    from talkinghead.analysis import landmarks as lm
    from talkinghead.analysis.face import find_face

    openings = []
    for image in images:
        points = find_face(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).xy
        gap = np.linalg.norm(points[lm.INNER_LOWER_LIP[2:-2]] - points[lm.INNER_UPPER_LIP[2:-2]],
                             axis=1).mean()
        openings.append(gap / np.linalg.norm(points[lm.FOREHEAD] - points[lm.CHIN]))
    return np.array(openings)


def test_a_key_is_needed_by_header_or_query(live_server: ServerProcess) -> None:
    with connect(_url(live_server, "wrong-key")) as ws:
        event = json.loads(ws.recv(timeout=10))
        assert event["type"] == "error" and "API key" in event["message"]
        code, reason = _closed_with(ws)
        assert code == 4401 and "API key" in reason
    with connect(_url(live_server, None)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "error"
        assert _closed_with(ws)[0] == 4401
    with connect(_url(live_server, None), additional_headers={
            "Authorization": f"Bearer {KEY}"}) as ws:
        assert _start(ws)["type"] == "ready"


@pytest.mark.parametrize(("first", "wanted"), [
    ("not json", "not valid JSON"),
    (b"\x00\x01", "first message must be text JSON"),
    (json.dumps({"type": "start"}), "'image' is required"),
    (json.dumps({"type": "start", "image": b64(PORTRAIT), "sample_rate": 12_345}),
     "sample_rate must be one of"),
    (json.dumps({"type": "start", "image": b64(PORTRAIT), "fps": 99}), "fps must be"),
    (json.dumps({"type": "start", "image": b64(PORTRAIT), "colour": "red"}),
     "unknown field 'colour'"),
    (json.dumps({"type": "start", "image": b64(b"not an image at all")}), "image"),
    (json.dumps({"type": "start", "image": "http://127.0.0.1:9/x.png"}), "loopback"),
])
def test_a_bad_start_gets_an_error_and_a_close(live_server: ServerProcess, first: str | bytes,
                                               wanted: str) -> None:
    with connect(_url(live_server)) as ws:
        ws.send(first)
        event = json.loads(ws.recv(timeout=30))
        assert event["type"] == "error" and wanted in event["message"], event
        code, reason = _closed_with(ws)
        assert code == 1008 and reason


def test_an_image_url_is_fetched_under_the_url_rules(tmp_path: Path,
                                                     local_http: LocalHTTP) -> None:
    proc = ServerProcess(tmp_path / "data", workers=1, env={
        "TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32"}).start()
    try:
        with connect(_url(proc)) as ws:
            ws.send(json.dumps({"type": "start", "image": f"{local_http.url}/portrait.png"}))
            assert json.loads(ws.recv(timeout=30))["type"] == "ready"
    finally:
        proc.stop()


def test_past_the_session_cap_a_client_is_told_to_come_back(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", workers=1,
                         env={"TALKINGHEAD_LIVE_SESSIONS": "1"}).start()
    try:
        with connect(_url(proc)) as first:
            assert _start(first)["type"] == "ready"
            with connect(_url(proc)) as second:
                event = json.loads(second.recv(timeout=10))
                assert "limit of 1 live sessions" in event["message"]
                assert _closed_with(second)[0] == 1013
        # The slot is free again as soon as the server sees the first one leave.
        deadline = time.monotonic() + 5
        while True:
            with connect(_url(proc)) as third:
                try:
                    answer = _start(third)
                except ConnectionClosed:  # refused before the start was sent
                    answer = {"type": "closed"}
            if answer["type"] == "ready" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert answer["type"] == "ready", answer
    finally:
        proc.stop()


def test_a_silent_client_gets_idle_frames_then_an_idle_close(live_server: ServerProcess) -> None:
    with connect(_url(live_server)) as ws:
        assert _start(ws)["type"] == "ready"
        started = time.monotonic()
        frames = 0
        with pytest.raises(ConnectionClosed):
            while True:
                message = ws.recv(timeout=10)
                if isinstance(message, bytes):
                    frames += 1
                else:
                    assert "no message for 3 s" in json.loads(message)["message"]
        assert ws.close_code == 1008
        elapsed = time.monotonic() - started
    assert IDLE_S - 0.5 < elapsed < IDLE_S + 3
    assert frames >= (IDLE_S - 0.5) * 25  # idle frames came the whole time
