"""Live mode: a portrait that talks while its audio is still arriving.

The offline recipe (analyse -> motion -> render) runs incrementally:

- each frame's sound is measured once, as soon as it and 40 ms after it have
  arrived (``speech.prosody.measure_frames``), and phones are recognised as
  the sound streams in (``speech.phonemes.PhoneStream``);
- the motion of the current segment (up to ``SEGMENT_S`` of recent sound) is
  re-planned with the offline motion model whenever frames are due, so a live
  and an offline render of the same audio move alike. Frame k is shown once
  the sound up to ``LOOKAHEAD_FRAMES`` frames past it has arrived (80 ms at
  25 fps): that is all the mouth's smoothing looks ahead;
- a re-plan never jumps: where it disagrees with what was already shown, the
  difference eases out over ``SETTLE_S`` (longer for big turns; the mouth and
  eyelids excepted, whose curves only depend on nearby sound);
- the segment's random choices are drawn in time order (see motion.head), so
  more sound only adds choices at the end; a long session rolls over to a new
  segment in a pause, keeping memory and work per frame flat.

Time only moves with sound: a caller that wants frames while nobody speaks
(a live stream) pushes silence to keep up with the clock (``keep_up``).
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from talkinghead.analysis.character import CharacterRig
from talkinghead.config import Options
from talkinghead.errors import InputError
from talkinghead.inputs import Source, load_portrait
from talkinghead.motion import PARAMETERS, build_motion
from talkinghead.motion.visemes import MOUTH_PARAMETERS
from talkinghead.pipeline import character_hints, fit_to_size, prepare_rig
from talkinghead.render.character import render_character_frame
from talkinghead.render.frames import render_frame
from talkinghead.speech.phonemes import PhoneStream
from talkinghead.speech.prosody import (
    LEAD_S,
    SILENCE_DBFS,
    WINDOW_S,
    FrameMeasures,
    loudness_levels,
    measure_frames,
    speech_track,
)

RATE_HZ = 16_000  # everything inside runs at this rate
LOOKAHEAD_FRAMES = 2  # a frame waits for this many frames of sound after it
SEGMENT_S = 20.0  # re-planning covers at most about this much sound ...
MAX_SEGMENT_S = 40.0  # ... and never more, pause or not
CONTEXT_S = 4.0  # a new segment keeps this much of the old one to plan from
LEVEL_HISTORY_S = 60.0  # loudness is scaled by the levels of this much recent sound
SETTLE_S = 0.3  # a re-plan's disagreement with the frames shown fades over this long,
SETTLE_PER_DEG_S = 0.02  # and for angles this much longer per degree
SAMPLE_RATES_HZ = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
#: Curves that follow only the nearby sound (mouth) or must not be blended (a
#: half-done blink): they take each re-plan as it is.
_UNBLENDED = (*MOUTH_PARAMETERS, "blink")


@dataclass(frozen=True)
class LiveFrame:
    """One video frame: it shows the sound from ``time_s`` to ``time_s + 1/fps``."""

    index: int
    time_s: float
    rgb: np.ndarray  # (height, width, 3) uint8


class LiveSession:
    """A portrait, analysed once, animated by sound pushed in any chunk size.

    ``push_audio`` takes PCM s16le mono bytes (or float32 samples) at
    ``sample_rate_hz``; ``frames()`` returns the frames ready so far, in order.
    ``flush()`` ends an utterance, ``interrupt()`` drops sound not yet shown.
    """

    def __init__(self, image: Source, options: Options | None = None, *,
                 sample_rate_hz: int = RATE_HZ) -> None:
        if sample_rate_hz not in SAMPLE_RATES_HZ:
            raise InputError(f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES_HZ))}"
                             f" Hz, got {sample_rate_hz!r}")
        self.options = options or Options()
        self.fps = self.options.fps
        self.sample_rate_hz = sample_rate_hz
        portrait = load_portrait(image)
        rgb = fit_to_size(portrait.rgb, self.options.long_side_px)
        self.height, self.width = rgb.shape[:2]
        mouth, eyes = character_hints(self.options, rgb.shape[1] / portrait.rgb.shape[1])
        self.rig = prepare_rig(rgb, name=portrait.name, mouth=mouth, eyes=eyes)
        self._render = (render_character_frame if isinstance(self.rig, CharacterRig)
                        else render_frame)
        self._resampler = (None if sample_rate_hz == RATE_HZ else
                           av.AudioResampler(format="flt", layout="mono", rate=RATE_HZ))
        self._phones = PhoneStream()
        self._odd_byte = b""  # half a sample left over from the last chunk
        self._segment_frame = 0  # the segment's first frame ...
        self._segment_sample = 0  # ... and the session sample it starts at
        self._audio = np.zeros(0, np.float32)  # the segment's sound at RATE_HZ
        self._measures = _no_measures()  # per frame of the segment, as far as measured
        self._levels = np.zeros(0, np.float32)  # recent frame levels, dBFS
        self._next_frame = 0
        # The last plan (motion rows from its first frame), and the fading
        # difference between it and what was shown: offset at offset_frame.
        self._plan = np.zeros((0, len(PARAMETERS)), np.float32)
        self._plan_frame = 0
        self._offset = np.zeros(len(PARAMETERS))
        self._offset_frame = 0
        self._settle_frames = np.ones(len(PARAMETERS))
        self._blended = np.array([name not in _UNBLENDED for name in PARAMETERS])
        # Angles settle like the motion model's own turns: longer for bigger ones.
        self._settle_per_unit_frames = np.array(
            [SETTLE_PER_DEG_S * self.fps if name.endswith("_deg") else 0.0 for name in PARAMETERS])

    # -- sound in ----------------------------------------------------------------

    @property
    def audio_end_s(self) -> float:
        """How much sound (and silence) the session has received, in seconds."""
        return (self._segment_sample + len(self._audio)) / RATE_HZ

    @property
    def next_frame(self) -> int:
        """The index of the next frame ``frames()`` will return."""
        return self._next_frame

    def push_audio(self, pcm: bytes | np.ndarray) -> None:
        """Append sound: PCM s16le mono bytes, or float32 samples in -1..1."""
        if isinstance(pcm, bytes | bytearray | memoryview):
            data = self._odd_byte + bytes(pcm)  # a chunk may split a sample
            whole = len(data) - len(data) % 2
            self._odd_byte = data[whole:]
            samples = np.frombuffer(data[:whole], "<i2").astype(np.float32) / 32768.0
        else:
            samples = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if self._resampler is not None and len(samples):
            samples = self._resample(samples)
        self._append(samples)

    def push_silence(self, duration_s: float) -> None:
        """Advance time with silence: idle frames blink, breathe and keep the mouth shut."""
        self._append(np.zeros(max(0, int(round(duration_s * RATE_HZ))), np.float32))

    def keep_up(self, clock_s: float) -> float:
        """Pad with silence so the sound reaches ``clock_s``; returns the silence added."""
        gap_s = clock_s - self.audio_end_s
        if gap_s > 0:
            self.push_silence(gap_s)
        return max(gap_s, 0.0)

    def interrupt(self) -> None:
        """Forget sound whose frames were not returned yet: the mouth closes at once."""
        cut = int(round(self._next_frame * RATE_HZ / self.fps)) - self._segment_sample
        self._audio = self._audio[:max(cut, 0)]
        self._odd_byte = b""
        self._measures = self._measures[: self._next_frame - self._segment_frame]
        self._phones.restart(self.audio_end_s, keep_from_s=self._segment_sample / RATE_HZ)

    def flush(self) -> list[LiveFrame]:
        """End an utterance: silence fills the lookahead, and every frame of the sound
        received so far is returned."""
        last = int(np.ceil(self.audio_end_s * self.fps))  # frames that hold sound
        wanted_s = (last + LOOKAHEAD_FRAMES) / self.fps + LEAD_S + WINDOW_S / 2
        self.keep_up(wanted_s)
        frames = self.frames()
        self._phones.restart(self.audio_end_s, keep_from_s=self._segment_sample / RATE_HZ)
        return frames

    # -- frames out --------------------------------------------------------------

    def ready_frames(self) -> int:
        """How many frames ``frames()`` would return now."""
        measured = self._segment_frame + len(self._measures.loudness_db)
        return max(0, measured - LOOKAHEAD_FRAMES - self._next_frame)

    def frames(self, max_frames: int | None = None) -> list[LiveFrame]:
        """Render the frames whose sound has arrived (at most ``max_frames``), in order."""
        first = self._next_frame
        return [LiveFrame(first + i, (first + i) / self.fps,
                          self._render(self.rig,  # type: ignore[arg-type]
                                       dict(zip(PARAMETERS, row.tolist(), strict=True))))
                for i, row in enumerate(self.motion(max_frames))]

    def motion(self, max_frames: int | None = None) -> np.ndarray:
        """The motion rows (see motion.PARAMETERS) of the frames ``frames()`` would
        render, without rendering them."""
        count = self.ready_frames()
        if max_frames is not None:
            count = min(count, max_frames)
        if count <= 0:
            return np.zeros((0, len(PARAMETERS)), np.float32)
        rows = self._motion(self._next_frame, count)
        self._next_frame += count
        return rows

    # -- inside --------------------------------------------------------------------

    def _resample(self, samples: np.ndarray) -> np.ndarray:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.sample_rate_hz
        assert self._resampler is not None
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)

    def _append(self, samples: np.ndarray) -> None:
        if not len(samples):
            return
        self._audio = np.concatenate([self._audio, samples])
        self._phones.push(samples)
        self._measure_new_frames()
        self._roll_segment_if_long()

    def _measure_new_frames(self) -> None:
        """Measure every frame whose window has fully arrived."""
        start_s = self._segment_sample / RATE_HZ
        reach_s = self.audio_end_s - LEAD_S - WINDOW_S / 2  # last frame start measurable
        total = int(np.floor(reach_s * self.fps + 1e-9)) + 1 if reach_s >= 0 else 0
        first = self._segment_frame + len(self._measures.loudness_db)
        if total <= first:
            return
        # Only the sound near the new frames is looked at.
        tail = max(0, int((first / self.fps - start_s) * RATE_HZ) - 2 * int(WINDOW_S * RATE_HZ))
        new = measure_frames(self._audio[tail:], RATE_HZ, self.fps, first, total - first,
                             start_s=start_s + tail / RATE_HZ)
        self._measures = FrameMeasures.concat([self._measures, new])
        keep = int(LEVEL_HISTORY_S * self.fps)
        self._levels = np.concatenate([self._levels, new.loudness_db])[-keep:]

    def _roll_segment_if_long(self) -> None:
        """Start a new segment in a pause once this one is long (always past the maximum)."""
        length_s = len(self._audio) / RATE_HZ
        if length_s < SEGMENT_S:
            return
        recent = self._measures.loudness_db[-int(0.5 * self.fps):]
        quiet = len(recent) and float(recent.max()) < self._levels_db()[1] - 30.0
        if not quiet and length_s < MAX_SEGMENT_S:
            return
        new_first = max(self._segment_frame, self._next_frame - int(CONTEXT_S * self.fps))
        new_sample = int(round(new_first * RATE_HZ / self.fps))
        self._audio = self._audio[new_sample - self._segment_sample:]
        self._measures = self._measures[new_first - self._segment_frame:]
        self._segment_frame, self._segment_sample = new_first, new_sample
        # A fresh utterance keeps the recogniser's work per call bounded.
        self._phones.restart(self.audio_end_s, keep_from_s=new_sample / RATE_HZ)

    def _levels_db(self) -> tuple[float, float]:
        """(floor, peak) of recent sound; the peak only counts audible frames, so a
        long silence before the first word does not make every word the loudest."""
        floor_db, _ = loudness_levels(self._levels)
        audible = self._levels[self._levels > SILENCE_DBFS]
        if len(audible) == 0:
            return floor_db, floor_db
        # Until two seconds have been heard, expect louder sound to come.
        expect_db = 6.0 * max(0.0, 1.0 - len(audible) / (2.0 * self.fps))
        return floor_db, float(np.percentile(audible, 98)) + expect_db

    def _motion(self, first: int, count: int) -> np.ndarray:
        """Re-plan the segment and return rows ``first .. first + count - 1``, blended
        into what was shown before."""
        speech = speech_track(self._measures, self.fps, levels_db=self._levels_db())
        start_s = self._segment_sample / RATE_HZ
        phones = [p.shifted(-start_s) for p in self._phones.phones() if p.end_s > start_s]
        plan = build_motion(speech, phones, self.options).values
        # Where the old plan and this one disagree at ``first``, fade the difference.
        old_row = first - self._plan_frame
        if 0 <= old_row < len(self._plan):
            shown = self._plan[old_row] + self._fading_offset(first)
            self._offset = np.where(self._blended, shown - plan[first - self._segment_frame], 0)
            self._offset_frame = first
            self._settle_frames = (SETTLE_S * self.fps
                                   + self._settle_per_unit_frames * np.abs(self._offset))
        self._plan, self._plan_frame = plan, self._segment_frame
        frames = np.arange(first, first + count)
        rows = plan[frames - self._segment_frame] + np.stack([self._fading_offset(k)
                                                              for k in frames])
        return rows.astype(np.float32)

    def _fading_offset(self, frame: int) -> np.ndarray:
        """The old plan's disagreement, eased out (minimum jerk): no jump, no jolt."""
        t = np.clip((frame - self._offset_frame) / self._settle_frames, 0.0, 1.0)
        return self._offset * (1.0 - (10 * t**3 - 15 * t**4 + 6 * t**5))


def _no_measures() -> FrameMeasures:
    return FrameMeasures.empty()
