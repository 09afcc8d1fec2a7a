"""A talking face for a Pipecat voice bot: ``talkinghead[pipecat]``.

Put :class:`TalkingHeadVideo` after the TTS service and before the output
transport::

    video = await TalkingHeadVideo.create("portrait.jpg")
    pipeline = Pipeline([transport.input(), stt, context_aggregator.user(), llm, tts,
                         video, transport.output(), context_aggregator.assistant()])

It passes the TTS audio on unchanged and at once, feeds a copy (mono, at the
session's sample rate) to a :class:`talkinghead.live.LiveSession`, and pushes
one ``OutputImageRawFrame`` (RGB, the session's size) per video frame, in order
and paced to the wall clock: frame k, which shows audio time [k/fps, (k+1)/fps),
goes out when that audio plays. Between utterances idle frames (blinks,
breathing, mouth closed) keep coming at fps, so the face never freezes. An
``InterruptionFrame`` drops the speech not yet shown and closes the mouth; a
``TTSStoppedFrame`` (or the transport's ``BotStoppedSpeakingFrame``) ends the
utterance. Rendering runs on a worker thread, never on the event loop.

Pipecat is imported here only: ``import talkinghead`` never needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

try:
    from pipecat.audio.utils import create_stream_resampler
    from pipecat.frames.frames import (
        BotStoppedSpeakingFrame,
        CancelFrame,
        EndFrame,
        Frame,
        InterruptionFrame,
        OutputImageRawFrame,
        StartFrame,
        TTSAudioRawFrame,
        TTSStartedFrame,
        TTSStoppedFrame,
    )
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
except ImportError as exc:  # pragma: no cover - exercised only without pipecat
    raise ImportError(
        "talkinghead.pipecat needs Pipecat: pip install 'talkinghead[pipecat]' "
        "&& pip install --no-deps pipecat-ai==1.14.0 "
        f"(pipecat-ai goes in with --no-deps, see pyproject.toml) [{exc}]"
    ) from exc

from talkinghead.config import Options
from talkinghead.inputs import Source
from talkinghead.live import LOOKAHEAD_FRAMES, LiveFrame, LiveSession
from talkinghead.speech.prosody import LEAD_S, WINDOW_S

__all__ = ["TalkingHeadVideo"]

#: Audio rendered in one go while draining at the end of the pipeline.
_DRAIN_STEP_S = 1.0


class TalkingHeadVideo(FrameProcessor):
    """Pipecat processor: TTS audio in, the same audio plus a talking face's frames out.

    Frames taken: ``TTSAudioRawFrame`` (s16le at any sample rate, any number of
    channels; passed on unchanged), ``TTSStartedFrame``/``TTSStoppedFrame`` (an
    utterance's bounds), ``BotStoppedSpeakingFrame`` (ends an utterance that had
    no ``TTSStoppedFrame``), ``InterruptionFrame`` (the bot is cut off: the
    mouth closes within 80 ms), ``StartFrame``/``EndFrame``/``CancelFrame``.
    Everything else passes through untouched.

    Frames emitted: ``OutputImageRawFrame`` with ``format="RGB"``, ``size=(width,
    height)``, one per 1/fps seconds, in order; ``metadata["talkinghead_index"]``
    and ``metadata["talkinghead_time_s"]`` give the frame's index and the audio
    time it shows. Use a transport with ``video_out_enabled=True,
    video_out_is_live=True`` and this processor's ``width``, ``height`` and ``fps``.
    """

    def __init__(self, image: Source | None = None, *,
                 options: Options | None = None, session: LiveSession | None = None,
                 sample_rate_hz: int = 16_000, **kwargs: Any) -> None:
        """Analyse ``image`` (a path, bytes or a binary file) for a new live session.

        Analysing takes a second or two and blocks: inside a running event loop
        prefer ``await TalkingHeadVideo.create(...)``. Or pass a ready ``session``
        (then ``image``, ``options`` and ``sample_rate_hz`` are not used).
        ``kwargs`` go to Pipecat's ``FrameProcessor`` (e.g. ``name``).
        """
        super().__init__(**kwargs)
        if session is None:
            if image is None:
                raise ValueError("TalkingHeadVideo needs a portrait (image=...) or a session")
            session = LiveSession(image, options or Options(), sample_rate_hz=sample_rate_hz)
        self._session = session
        self._rate = int(session.sample_rate_hz)
        # Sound a frame waits for past its own end (as in LiveSession.flush).
        self._lookahead_s = LOOKAHEAD_FRAMES / session.fps + LEAD_S + WINDOW_S / 2
        # One thread runs every session call, so they never overlap and stay in order.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="talkinghead")
        self._lock = asyncio.Lock()
        # Audio not yet given to the session: ("pcm", float32 array), ("silence", seconds)
        # or ("flush", None), in timeline order; _queued_s is their total duration.
        self._feed: deque[tuple[str, Any]] = deque()
        self._queued_s = 0.0
        self._fed_s = session.audio_end_s  # session time up to which sound has been given
        self._speaking = False  # an utterance's audio came and it is not flushed yet
        self._t0: float | None = None  # event-loop time of session time 0
        self._clock_task: asyncio.Task | None = None
        self._clock_stop = asyncio.Event()
        self._resamplers: dict[int, Any] = {}

    @classmethod
    async def create(cls, image: Source, *,
                     options: Options | None = None, sample_rate_hz: int = 16_000,
                     **kwargs: Any) -> TalkingHeadVideo:
        """Like the constructor, but analyses the portrait on a thread (no blocked loop)."""
        session = await asyncio.to_thread(LiveSession, image, options or Options(),
                                          sample_rate_hz=sample_rate_hz)
        return cls(session=session, **kwargs)

    @property
    def fps(self) -> int:
        """Frames per second of the video."""
        return int(self._session.fps)

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return int(self._session.width)

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return int(self._session.height)

    @property
    def session(self) -> LiveSession:
        """The live session that renders the frames."""
        return self._session

    # -- Pipecat -------------------------------------------------------------------

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Handle one frame (Pipecat calls this in order for each frame)."""
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self._start_clock()
        elif isinstance(frame, TTSAudioRawFrame):
            await self.push_frame(frame, direction)  # the audio goes on at once, unchanged
            await self._queue_audio(frame)
        elif isinstance(frame, TTSStartedFrame):
            await self.push_frame(frame, direction)
        elif isinstance(frame, TTSStoppedFrame):
            await self._end_utterance()
            await self.push_frame(frame, direction)
        elif isinstance(frame, BotStoppedSpeakingFrame):
            # System frames overtake queued audio: end the utterance only once all of it is in.
            if self._speaking and not self._feed:
                await self._end_utterance()
            await self.push_frame(frame, direction)
        elif isinstance(frame, InterruptionFrame):
            await self._interrupt()
            await self.push_frame(frame, direction)
        elif isinstance(frame, EndFrame):
            await self._stop_clock()
            await self._end_utterance()
            await self._drain()
            await self.push_frame(frame, direction)
        elif isinstance(frame, CancelFrame):
            await self._stop_clock()
            self._clear_feed()
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        """Stop the frame clock and the render thread."""
        await super().cleanup()
        await self._stop_clock()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- Audio in ------------------------------------------------------------------

    async def _queue_audio(self, frame: TTSAudioRawFrame) -> None:
        samples = np.frombuffer(frame.audio, dtype="<i2")
        if frame.num_channels > 1:
            usable = len(samples) // frame.num_channels * frame.num_channels
            samples = samples[:usable].reshape(-1, frame.num_channels).mean(axis=1)
            samples = samples.astype("<i2")
        pcm = samples.tobytes()
        if frame.sample_rate != self._rate:
            resampler = self._resamplers.get(frame.sample_rate)
            if resampler is None:
                resampler = create_stream_resampler(clear_after_secs=None)
                self._resamplers[frame.sample_rate] = resampler
            pcm = await resampler.resample(pcm, frame.sample_rate, self._rate)
        self._speaking = True
        # Audio that comes after the session's timeline has fallen behind the wall
        # clock plays from now on, as the transport plays it: fill the gap with silence.
        gap_s = self._now_s() - (self._fed_s + self._queued_s)
        if gap_s > 1e-3 and self._t0 is not None:
            self._put(("silence", gap_s), gap_s)
        self._put_pcm(pcm)

    def _put_pcm(self, pcm: bytes) -> None:
        if pcm:
            audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
            self._put(("pcm", audio), len(audio) / self._rate)

    def _put(self, item: tuple[str, Any], duration_s: float) -> None:
        self._feed.append(item)
        self._queued_s += duration_s

    async def _end_utterance(self) -> None:
        for resampler in self._resamplers.values():
            self._put_pcm(await resampler.flush())
        if self._speaking:
            self._put(("flush", None), 0.0)
            self._speaking = False

    def _clear_feed(self) -> None:
        self._feed.clear()
        self._queued_s = 0.0
        self._speaking = False

    async def _interrupt(self) -> None:
        self._clear_feed()
        for resampler in self._resamplers.values():
            await resampler.reset()
        async with self._lock:
            # The session drops the sound of frames not yet returned: its time goes back.
            self._fed_s = await self._in_thread(self._interrupt_session)

    # -- Frames out ----------------------------------------------------------------

    def _now_s(self) -> float:
        if self._t0 is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._t0

    def _start_clock(self) -> None:
        if self._clock_task is None:
            self._clock_stop.clear()
            self._t0 = asyncio.get_running_loop().time() - self._fed_s
            self._clock_task = self.create_task(self._clock(), name="talkinghead-frames")

    async def _stop_clock(self) -> None:
        """Stop the clock between two steps, so no rendered frame is ever lost."""
        if self._clock_task is not None:
            task, self._clock_task = self._clock_task, None
            self._clock_stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=10.0)
            except TimeoutError:
                await self.cancel_task(task)

    async def _clock(self) -> None:
        """Feed the session in step with the wall clock and push what it renders."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.fps
        next_tick = loop.time()
        while not self._clock_stop.is_set():
            await self._step()
            next_tick += period
            delay = next_tick - loop.time()
            if delay < -5 * period:  # rendering fell behind: carry on from now, no burst
                next_tick = loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._clock_stop.wait(), timeout=max(delay, 0.0))

    async def _step(self, horizon_s: float | None = None) -> None:
        """Give the session the audio due by ``horizon_s`` and push the frames it renders.

        Without a horizon the session gets audio up to the wall clock plus its
        lookahead and a frame, so each frame is ready when its audio plays, and
        silence up to the wall clock when no audio is waiting (idle frames).
        """
        async with self._lock:
            now_s = self._now_s()
            paced = horizon_s is None
            if horizon_s is None:
                horizon_s = now_s + self._lookahead_s + 1.0 / self.fps
            ops: list[tuple[str, Any]] = []
            while self._feed and self._fed_s < horizon_s:
                kind, payload = self._feed[0]
                if kind == "flush":
                    self._feed.popleft()
                    ops.append((kind, None))
                    continue
                duration_s = len(payload) / self._rate if kind == "pcm" else payload
                take_s = min(duration_s, horizon_s - self._fed_s)
                if kind == "pcm":
                    n = min(len(payload), max(1, math.ceil(take_s * self._rate)))
                    ops.append((kind, payload[:n]))
                    rest, take_s = payload[n:], n / self._rate
                    done = len(rest) == 0
                else:
                    ops.append((kind, take_s))
                    rest = payload - take_s
                    done = rest <= 1e-6
                if done:
                    self._feed.popleft()
                else:
                    self._feed[0] = (kind, rest)
                self._fed_s += take_s
                self._queued_s = max(0.0, self._queued_s - take_s)
            if paced and not self._feed:
                ops.append(("keep_up", now_s))  # idle: silence keeps up with the clock
            frames, self._fed_s = await self._in_thread(self._apply, ops)
            for live_frame in frames:
                await self.push_frame(self._image_frame(live_frame))

    async def _drain(self) -> None:
        """Render everything queued, as fast as it goes (the pipeline is ending)."""
        while self._feed:
            await self._step(self._fed_s + _DRAIN_STEP_S)

    def _apply(self, ops: list[tuple[str, Any]]) -> tuple[list[LiveFrame], float]:
        """On the render thread: run the session calls, then render the frames ready.

        Returns the frames and the session's time (the end of the sound it has).
        """
        frames: list[LiveFrame] = []
        for kind, payload in ops:
            if kind == "pcm":
                self._session.push_audio(payload)
            elif kind == "silence":
                self._session.push_silence(payload)
            elif kind == "keep_up":
                self._session.keep_up(payload)
            else:
                frames.extend(self._session.flush())
        frames.extend(self._session.frames())
        return frames, self._session.audio_end_s

    def _interrupt_session(self) -> float:
        self._session.interrupt()
        return self._session.audio_end_s

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _image_frame(self, live_frame: LiveFrame) -> OutputImageRawFrame:
        rgb = np.ascontiguousarray(live_frame.rgb, dtype=np.uint8)
        height, width = rgb.shape[:2]
        frame = OutputImageRawFrame(image=rgb.tobytes(), size=(width, height), format="RGB")
        frame.metadata["talkinghead_index"] = live_frame.index
        frame.metadata["talkinghead_time_s"] = live_frame.time_s
        return frame
