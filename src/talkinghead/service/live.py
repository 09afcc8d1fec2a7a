"""``/api/v1/live``: a WebSocket that streams a talking portrait while audio streams in.

The contract (docs/LIVE.md): the client's first message is JSON ``{"type": "start",
"image": ..., "sample_rate": 16000, ...options}``; the server answers ``ready`` (or
``error`` and closes). Binary messages from the client are PCM s16le mono; binary
messages from the server are JPEG frames in order, frame k showing the session's
sound from k/fps to (k+1)/fps. When no sound comes, silence fills the timeline in
real time, so idle frames keep coming. Text messages ``flush``, ``interrupt`` and
``stop`` steer it.

One thread per session owns its ``LiveSession``: the event loop only queues
what arrives and sends what the thread made, so a slow render never stalls
other connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from talkinghead.config import Options
from talkinghead.errors import TalkingHeadError
from talkinghead.live import LiveSession
from talkinghead.service.core import Service
from talkinghead.service.errors import RequestError
from talkinghead.service.fetch import check_image_format
from talkinghead.service.schemas import LiveStart, motion_options, parse_request

log = logging.getLogger("talkinghead.service.live")

START_TIMEOUT_S = 15.0  # the start message must come this soon after connecting
JITTER_S = 0.25  # sound this late is waited for; later, silence fills the gap
MAX_AHEAD_S = 60.0  # sound may arrive this far ahead of the frames shown
JPEG_QUALITY = 85
FRAMES_PER_STEP = 3  # frames rendered between looks at the clock
# Close codes (RFC 6455 private range 4000-4999 for ours).
POLICY, TRY_LATER, BAD_KEY = 1008, 1013, 4401


@dataclass
class _Inbox:
    """What the event loop received for the session's thread."""

    audio: list[bytes] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[list[bytes], list[str]]:
        with self.lock:
            audio, commands = self.audio, self.commands
            self.audio, self.commands = [], []
        return audio, commands


class _Sessions:
    """Counts open live sessions against the cap."""

    def __init__(self, cap: int) -> None:
        self.cap, self.open = cap, 0

    def try_open(self) -> bool:
        if self.open >= self.cap:
            return False
        self.open += 1
        return True

    def close(self) -> None:
        self.open -= 1


class _HideKeys(logging.Filter):
    """Browsers pass the key in the query; uvicorn logs the path with its query."""

    pattern = re.compile(r"api_key=[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.pattern.sub("api_key=***", arg) if isinstance(arg, str)
                                else arg for arg in record.args)
        return True


def add_live_route(app: FastAPI, service: Service) -> None:
    """Register the WebSocket route on ``app``."""
    sessions = _Sessions(service.settings.live_sessions)
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HideKeys) for f in logger.filters):
            logger.addFilter(_HideKeys())

    @app.websocket("/api/v1/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):  # the client left: nothing to tell
            await _serve(websocket, service, sessions)


async def _serve(websocket: WebSocket, service: Service, sessions: _Sessions) -> None:
    settings = service.settings
    key = websocket.query_params.get("api_key")
    authorization = websocket.headers.get("authorization") or (f"Bearer {key}" if key else None)
    client = websocket.client.host if websocket.client else "unknown"
    try:
        owner = service.owner(authorization, client)
    except TalkingHeadError as exc:
        await _fail(websocket, exc.message, BAD_KEY if exc.http_status == 401 else TRY_LATER)
        return
    if not settings.live_sessions:
        await _fail(websocket, "live mode is off on this server", POLICY)
        return
    if not sessions.try_open():
        await _fail(websocket, f"the server is at its limit of {settings.live_sessions} live "
                    "sessions; try again later", TRY_LATER)
        return
    try:
        session = await _start(websocket, service, owner)
        if session is None:
            return
        await _stream(websocket, session, settings.live_max_s, settings.live_idle_s)
    finally:
        sessions.close()


async def _start(websocket: WebSocket, service: Service, owner: str) -> LiveSession | None:
    """Read and check the start message; answer ready, or error and close."""
    try:
        message = await asyncio.wait_for(websocket.receive(), START_TIMEOUT_S)
    except TimeoutError:
        await _fail(websocket, f"no start message within {START_TIMEOUT_S:g} s", POLICY)
        return None
    if message["type"] == "websocket.disconnect":
        return None
    try:
        if message.get("text") is None:
            raise RequestError("the first message must be text JSON: "
                               '{"type": "start", "image": ..., "sample_rate": 16000}')
        start = parse_request(LiveStart, _json(message["text"]))
        options = Options.from_dict(motion_options(start))
        image = await run_in_threadpool(service.load_input, start.image, field="image",
                                        max_bytes=service.settings.max_image_bytes,
                                        owner=owner)
        check_image_format(image)
        session = await run_in_threadpool(LiveSession, image, options,
                                          sample_rate_hz=start.sample_rate)
    except TalkingHeadError as exc:
        await _fail(websocket, exc.message, POLICY, code=exc.code)
        return None
    await websocket.send_json({"type": "ready", "fps": session.fps, "width": session.width,
                               "height": session.height, "sample_rate": start.sample_rate,
                               "seed": options.seed})
    return session


async def _stream(websocket: WebSocket, session: LiveSession, max_s: float,
                  idle_s: float) -> None:
    """Receive sound and commands, send frames, until stop, a limit or disconnect."""
    inbox = _Inbox()
    done = asyncio.Event()
    last_message = time.monotonic()
    reason: list[tuple[int, str]] = []

    async def receive() -> None:
        nonlocal last_message
        while not done.is_set():
            message = await websocket.receive()
            last_message = time.monotonic()
            if message["type"] == "websocket.disconnect":
                done.set()
                return
            if message.get("bytes") is not None:
                with inbox.lock:
                    inbox.audio.append(message["bytes"])
                continue
            command = _command(message.get("text") or "")
            if command is None:
                await websocket.send_json({"type": "error", "message": (
                    'text messages are {"type": "flush"}, {"type": "interrupt"} or '
                    '{"type": "stop"}')})
                continue
            with inbox.lock:
                inbox.commands.append(command)

    receiver = asyncio.create_task(receive())
    renderer = _Renderer(session)
    # One thread per session, always the same: its allocations stay in one malloc arena.
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live")
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    try:
        while not done.is_set() and not receiver.done():
            now = time.monotonic()
            if now - started > max_s:
                reason.append((POLICY, f"the session reached its limit of {max_s:g} s"))
                break
            if now - last_message > idle_s:
                reason.append((POLICY, f"no message for {idle_s:g} s"))
                break
            audio, commands = inbox.take()
            try:
                out = await loop.run_in_executor(thread, renderer.step, audio, commands,
                                                 now - started)
            except TalkingHeadError as exc:
                reason.append((POLICY, exc.message))
                break
            except Exception:
                log.exception("live session failed")
                reason.append((1011, "internal error; the server's log has the details"))
                break
            for event in out.events:
                await websocket.send_json(event)
            for jpeg in out.frames:
                await websocket.send_bytes(jpeg)
            if out.stopped:
                reason.append((1000, "stopped"))
                break
            if not out.frames:  # nothing due: wait a little for sound or the clock
                await asyncio.sleep(0.01)
    finally:
        done.set()
        receiver.cancel()
        thread.shutdown(wait=False)
    if reason:
        code, text = reason[0]
        if code != 1000:
            await websocket.send_json({"type": "error", "message": text})
        await websocket.close(code, text[:123])


@dataclass
class _Step:
    frames: list[bytes]
    events: list[dict[str, Any]]
    stopped: bool = False


class _Renderer:
    """The session's thread side: push what arrived, keep up with the clock, render."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.padded = False  # silence was added since the last sound
        self.bytes_in = 0
        self.lag_warned_at = -10.0

    def step(self, audio: list[bytes], commands: list[str], clock_s: float) -> _Step:
        session, events = self.session, []
        for chunk in audio:
            if self.padded:
                events.append({"type": "audio_at", "time_s": round(session.audio_end_s, 4),
                               "byte": self.bytes_in})
                self.padded = False
            session.push_audio(chunk)
            self.bytes_in += len(chunk)
        frames = []
        for command in commands:
            if command == "interrupt":
                session.interrupt()
            else:  # flush or stop: show everything received
                frames += session.flush()
                self.padded = True
                if command == "stop":
                    events.append({"type": "end", "frames": session.next_frame})
                    return _Step([_jpeg(f.rgb) for f in frames], events, stopped=True)
        ahead_s = session.audio_end_s - session.next_frame / session.fps
        if ahead_s > MAX_AHEAD_S:
            raise RequestError(f"audio arrives more than {MAX_AHEAD_S:g} s ahead of the frames; "
                               "send it closer to real time")
        if session.keep_up(clock_s - JITTER_S) > 0:
            self.padded = True
        frames += session.frames(max_frames=FRAMES_PER_STEP)
        behind_s = clock_s - JITTER_S - session.next_frame / session.fps
        if behind_s > 0.5 and clock_s - self.lag_warned_at > 1.0:
            events.append({"type": "lagging", "behind_s": round(behind_s, 2)})
            self.lag_warned_at = clock_s
        return _Step([_jpeg(f.rgb) for f in frames], events)


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    return data.tobytes()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise RequestError("the start message is not valid JSON") from None


def _command(text: str) -> str | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if kind in ("flush", "interrupt", "stop") else None


async def _fail(websocket: WebSocket, message: str, close_code: int, *,
                code: str | None = None) -> None:
    """Send an error event and close with the same reason (cut to the protocol's 123 bytes)."""
    event: dict[str, Any] = {"type": "error", "message": message}
    if code:
        event["code"] = code
    await websocket.send_json(event)
    reason = message.encode()[:123].decode(errors="ignore")
    await websocket.close(close_code, reason)
