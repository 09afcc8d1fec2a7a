"""Phones -> continuous mouth parameters, with coarticulation.

Each phone has a target mouth shape and a dominance that peaks at the phone's
centre and decays before (anticipation) and after (carry-over) it, as in the
Cohen-Massaro model: the mouth at any instant is the dominance-weighted blend
of the targets around it. Lip closures (m, b, p) are then enforced outright,
so the lips really meet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.speech.phonemes import Phone

#: The mouth parameters, in the order of the rows of VISEME_TARGETS.
MOUTH_PARAMETERS = ("jaw_open", "lip_round", "lip_spread", "lip_press", "upper_lip_raise",
                    "tongue")


@dataclass(frozen=True)
class Viseme:
    """A mouth target and how strongly (``dominance``) it resists its neighbours."""

    name: str
    target: tuple[float, float, float, float, float, float]
    dominance: float
    # Seconds for the dominance to fall to 1/e before and after the centre.
    reach_before_s: float = 0.09
    reach_after_s: float = 0.07


_V = Viseme
VISEMES = {
    "rest": _V("rest", (0.0, 0.0, 0.0, 0.0, 0.0, 0.0), 0.6, 0.06, 0.06),
    # Closures are enforced outright (_enforce_closures), so their pull on the
    # neighbours is only the transition: at 3.0 a vowel frame beside an m still
    # had half a press and read shut on video (en vowels apart 86 %).
    "closed": _V("closed", (0.0, 0.05, 0.0, 1.0, 0.0, 0.0), 1.5, 0.05, 0.04),
    "lip_teeth": _V("lip_teeth", (0.08, 0.0, 0.15, 0.0, 0.45, 0.0), 1.8, 0.05, 0.04),
    "tongue_teeth": _V("tongue_teeth", (0.22, 0.0, 0.1, 0.0, 0.2, 1.0), 1.2),
    "tongue_up": _V("tongue_up", (0.3, 0.0, 0.05, 0.0, 0.1, 0.7), 0.8),
    "teeth": _V("teeth", (0.08, 0.0, 0.35, 0.0, 0.35, 0.0), 1.2),
    "round_tight": _V("round_tight", (0.12, 1.0, 0.0, 0.0, 0.0, 0.0), 1.5),
    "round_r": _V("round_r", (0.2, 0.55, 0.0, 0.0, 0.1, 0.0), 0.9),
    "consonant": _V("consonant", (0.22, 0.0, 0.05, 0.0, 0.0, 0.0), 0.35),
    "open": _V("open", (1.0, 0.0, 0.1, 0.0, 0.1, 0.0), 1.0),
    "open_spread": _V("open_spread", (0.8, 0.0, 0.45, 0.0, 0.15, 0.0), 1.0),
    "mid": _V("mid", (0.6, 0.0, 0.15, 0.0, 0.05, 0.0), 0.9),
    "mid_spread": _V("mid_spread", (0.5, 0.0, 0.5, 0.0, 0.1, 0.0), 1.0),
    "open_round": _V("open_round", (0.75, 0.55, 0.0, 0.0, 0.0, 0.0), 1.0),
    "mid_round": _V("mid_round", (0.5, 0.7, 0.0, 0.0, 0.0, 0.0), 1.0),
    "close_spread": _V("close_spread", (0.25, 0.0, 0.9, 0.0, 0.15, 0.0), 1.0),
    "close_mid_spread": _V("close_mid_spread", (0.35, 0.0, 0.6, 0.0, 0.1, 0.0), 1.0),
    "close_round": _V("close_round", (0.22, 1.0, 0.0, 0.0, 0.0, 0.0), 1.1),
    "close_mid_round": _V("close_mid_round", (0.35, 0.6, 0.0, 0.0, 0.0, 0.0), 1.0),
    "er": _V("er", (0.35, 0.45, 0.0, 0.0, 0.05, 0.0), 1.0),
}

#: CMU phone -> viseme, or two visemes for diphthongs (split 60/40).
PHONE_VISEMES: dict[str, tuple[str, ...]] = {
    "SIL": ("rest",),
    "P": ("closed",), "B": ("closed",), "M": ("closed",),
    "F": ("lip_teeth",), "V": ("lip_teeth",),
    "TH": ("tongue_teeth",), "DH": ("tongue_teeth",),
    "L": ("tongue_up",),
    "S": ("teeth",), "Z": ("teeth",), "SH": ("round_r",), "ZH": ("round_r",),
    "CH": ("round_r",), "JH": ("round_r",),
    "W": ("round_tight",), "R": ("round_r",),
    "T": ("consonant",), "D": ("consonant",), "N": ("consonant",), "K": ("consonant",),
    "G": ("consonant",), "NG": ("consonant",), "HH": ("consonant",), "Y": ("close_spread",),
    "AA": ("open",), "AE": ("open_spread",), "AH": ("mid",), "AO": ("open_round",),
    "EH": ("mid_spread",), "ER": ("er",), "IH": ("close_mid_spread",), "IY": ("close_spread",),
    "UH": ("close_mid_round",), "UW": ("close_round",),
    "AW": ("open", "close_round"), "AY": ("open", "close_spread"),
    "EY": ("mid_spread", "close_spread"), "OW": ("mid_round", "close_round"),
    "OY": ("open_round", "close_spread"),
}

BILABIALS = frozenset({"P", "B", "M"})
STOPS = frozenset({"P", "B"})  # closed, then released: the closure itself is short
MAX_STOP_CLOSURE_S = 0.12
NEIGHBOURS = 6  # phones on each side that can influence a frame


@dataclass(frozen=True)
class VisemeSegment:
    viseme: Viseme
    start_s: float
    end_s: float


def plausible_closures(phones: list[Phone], loudness_db: np.ndarray, fps: int, *,
                       min_dip_db: float = 6.0, murmur: np.ndarray | None = None,
                       brightness: np.ndarray | None = None) -> list[Phone]:
    """Drop recognised (not aligned) m, b, p that the sound does not bear out.

    Lips that close stop or muffle the sound, so a real closure sits in a dip
    of loudness. On song and on languages the English phone loop does not know,
    it often hears "m" or "b" in the middle of a vowel; closing the lips there
    would mute the mouth exactly when it should be open. An m can be as loud as
    its vowels, though: where one of its frames is a dark murmur (``murmur``
    share under 400 Hz at least HUM_SHARE, ``brightness`` under
    HUM_MAX_BRIGHTNESS, per frame), the recogniser is believed without a dip.
    """
    kept = []
    reach = max(1, int(0.15 * fps))
    n = len(loudness_db)
    for phone in phones:  # one step per phone, not per sample
        if phone.label in BILABIALS and not phone.aligned and n:
            end_s = phone.end_s
            if phone.label in STOPS:
                end_s = min(end_s, phone.start_s + MAX_STOP_CLOSURE_S)
            first = min(max(int(phone.start_s * fps), 0), n - 1)
            last = min(max(int(np.ceil(end_s * fps)), first + 1), n)
            inside = float(loudness_db[first:last].min())
            around = float(loudness_db[max(0, first - reach): min(n, last + reach)].max())
            hummed = (murmur is not None and brightness is not None
                      and bool(np.any((murmur[first:last] >= HUM_SHARE)
                                      & (brightness[first:last] < HUM_MAX_BRIGHTNESS))))
            if around - inside < min_dip_db and not hummed:
                phone = Phone("N", phone.start_s, phone.end_s)  # a neutral consonant
        kept.append(phone)
    return kept


#: A recognised m, b or p without a dip in loudness stands when one of its frames
#: has this share of its energy under 400 Hz and this little hiss: a hum through
#: closed lips.
HUM_SHARE = 0.8
HUM_MAX_BRIGHTNESS = 0.03


def viseme_segments(phones: list[Phone]) -> list[VisemeSegment]:
    """Map phones to viseme segments, splitting diphthongs."""
    segments: list[VisemeSegment] = []
    for phone in phones:
        names = PHONE_VISEMES.get(phone.label, ("consonant",))
        if phone.label in STOPS and phone.duration_s > MAX_STOP_CLOSURE_S:
            # The lips close, then open for the burst and what follows it.
            split = phone.start_s + MAX_STOP_CLOSURE_S
            segments.append(VisemeSegment(VISEMES["closed"], phone.start_s, split))
            segments.append(VisemeSegment(VISEMES["consonant"], split, phone.end_s))
        elif len(names) == 1:
            segments.append(VisemeSegment(VISEMES[names[0]], phone.start_s, phone.end_s))
        else:
            split = phone.start_s + 0.6 * phone.duration_s
            segments.append(VisemeSegment(VISEMES[names[0]], phone.start_s, split))
            segments.append(VisemeSegment(VISEMES[names[1]], split, phone.end_s))
    return segments


def mouth_curves(phones: list[Phone], n_frames: int, fps: int, *,
                 lead_s: float = 0.02) -> np.ndarray:
    """(n_frames, 6) mouth parameters (MOUTH_PARAMETERS order), coarticulated.

    Frames are sampled ``lead_s`` ahead so the mouth leads the sound slightly.
    """
    times = np.arange(n_frames) / fps + lead_s
    segments = viseme_segments(phones)
    if not segments:
        return np.zeros((n_frames, len(MOUTH_PARAMETERS)))
    centres = np.array([(s.start_s + s.end_s) / 2 for s in segments])
    half = np.array([(s.end_s - s.start_s) / 2 for s in segments])
    targets = np.array([s.viseme.target for s in segments])
    strength = np.array([s.viseme.dominance for s in segments])
    before = np.array([s.viseme.reach_before_s for s in segments])
    after = np.array([s.viseme.reach_after_s for s in segments])

    # Only the few segments around each frame matter: gather them as a band.
    nearest = np.searchsorted(centres, times)
    idx = np.clip(nearest[:, None] + np.arange(-NEIGHBOURS, NEIGHBOURS)[None, :], 0,
                  len(segments) - 1)
    offset = times[:, None] - centres[idx]  # > 0: the segment is in the past
    # Full dominance inside a segment, then exponential decay beyond its edges.
    outside = np.maximum(np.abs(offset) - half[idx], 0.0)
    reach = np.where(offset < 0, before[idx], after[idx])
    dominance = strength[idx] * np.exp(-outside / reach)
    dominance = _drop_duplicates(idx, dominance)
    weights = dominance / np.maximum(dominance.sum(axis=1, keepdims=True), 1e-9)
    curves = np.einsum("fk,fkp->fp", weights, targets[idx])
    return _enforce_closures(curves, segments, phones, times)


def _drop_duplicates(idx: np.ndarray, dominance: np.ndarray) -> np.ndarray:
    """Clipping at the ends repeats indices; count each segment once."""
    repeated = np.zeros_like(idx, dtype=bool)
    repeated[:, 1:] = idx[:, 1:] == idx[:, :-1]
    return np.where(repeated, 0.0, dominance)


def _enforce_closures(curves: np.ndarray, segments: list[VisemeSegment], phones: list[Phone],
                      times: np.ndarray) -> np.ndarray:
    """Lips meet for every m, b, p: at least 40 ms, at most 120 ms for b and p."""
    press = MOUTH_PARAMETERS.index("lip_press")
    jaw = MOUTH_PARAMETERS.index("jaw_open")
    for phone in phones:  # one short loop per bilabial, not per pixel
        if phone.label not in BILABIALS:
            continue
        start = min(phone.start_s, phone.end_s - 0.04)
        end = phone.end_s
        if phone.label in STOPS:
            end = min(end, phone.start_s + MAX_STOP_CLOSURE_S)
        inside = (times >= start) & (times < end)
        if not inside.any():  # shorter than a frame: close the nearest frame
            inside = np.abs(times - (phone.start_s + phone.end_s) / 2) == np.min(
                np.abs(times - (phone.start_s + phone.end_s) / 2))
        curves[inside, press] = 1.0
        curves[inside, jaw] = 0.0
    return curves
