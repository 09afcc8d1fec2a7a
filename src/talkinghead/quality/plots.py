"""The report's pictures, each as PNG bytes: contact sheet, mouth strip, lip sync, motion."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from talkinghead.quality import lipsync, motion, pose  # noqa: E402
from talkinghead.quality.evaluate import Evaluation  # noqa: E402
from talkinghead.quality.phones import BILABIALS, OPEN_VOWELS  # noqa: E402

SPEECH_COLOUR, SILENCE_COLOUR = "#2e9e44", "#9a9a9a"


def contact_sheet(ev: Evaluation) -> bytes:
    """The source and frames spread across the video, two rows, with times."""
    tiles = [("source", ev.reference.rgb)] + [
        (f"frame {i}  ({i / ev.format.fps:.2f} s)", ev.scan.samples[i])
        for i in ev.contact_frames if i in ev.scan.samples]
    cols = 4
    rows = -(-len(tiles) // cols)
    height, width = ev.reference.rgb.shape[:2]
    tile_w = 3.2
    fig = plt.figure(figsize=(cols * tile_w, rows * tile_w * height / width + 0.35 * rows))
    for k, (title, image) in enumerate(tiles):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(image)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout(pad=0.4)
    return _png(fig)


def mouth_strip(ev: Evaluation) -> bytes:
    """Mouth crops spread across the video: green frame = speech, grey = silence."""
    crops = sorted(ev.scan.mouth_crops.items())
    cols = 8
    rows = -(-len(crops) // cols)
    fig = plt.figure(figsize=(cols * 1.55, rows * 1.3))
    for k, (idx, crop) in enumerate(crops):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(crop)
        speaking = bool(ev.series.voice_activity[idx]) if idx < len(ev.series.voice_activity) \
            else False
        for spine in ax.spines.values():
            spine.set_edgecolor(SPEECH_COLOUR if speaking else SILENCE_COLOUR)
            spine.set_linewidth(3)
        ax.set_xticks([])
        ax.set_yticks([])
        opening = ev.series.opening[idx]
        label = f"{idx / ev.format.fps:.2f}s  " + ("no face" if np.isnan(opening)
                                                  else f"o={opening:.2f}")
        ax.set_title(label, fontsize=8)
    fig.suptitle("mouth crops (green border: speech, grey: silence; o = opening)", fontsize=10)
    fig.tight_layout(pad=0.3)
    return _png(fig)


def lipsync_plot(ev: Evaluation) -> bytes:
    """Mouth opening vs loudness over time (silences shaded, phones marked) and r by lag."""
    s, fps = ev.series, ev.format.fps
    t = np.arange(len(s.opening)) / fps
    fig = plt.figure(figsize=(13, 6.2))
    grid = fig.add_gridspec(2, 3, height_ratios=[2.2, 1])
    ax = fig.add_subplot(grid[0, :])
    _shade(ax, t, lipsync.silent_frames(s.voice_activity, fps), SILENCE_COLOUR,
           "silence checked for closed lips")
    ax.plot(t, s.opening, color="black", lw=1.4, label="mouth opening (frames)")
    top = max(float(np.nanmax(s.opening)) if np.isfinite(s.opening).any() else 0.0, 0.1) * 1.15
    ax.plot(t, s.envelope * top / 1.15, color="#e07b00", lw=1.2, alpha=0.85,
            label="loudness (audio, scaled)")
    ax.axhline(lipsync.CLOSED_OPENING, color="#c0392b", ls="--", lw=0.8,
               label=f"closed below {lipsync.CLOSED_OPENING}")
    if ev.alignment is not None and ev.alignment.phones:
        marked = False
        for phone in ev.alignment.phones:
            mid = (phone.start_s + phone.end_s) / 2
            if phone.label in BILABIALS:
                ax.axvline(mid, color="#c0392b", lw=0.8, alpha=0.6,
                           label=None if marked else "m/b/p (aligned)")
                marked = True
                ax.text(mid, top * 0.97, phone.label.lower(), color="#c0392b", fontsize=8,
                        ha="center", va="top")
            elif phone.label in OPEN_VOWELS:
                ax.text(mid, top * 0.90, phone.label.lower(), color="#1f5fa8", fontsize=7,
                        ha="center", va="top")
    ax.set_xlim(0, max(t[-1], 1 / fps))
    ax.set_ylim(0, top)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("opening (x eye-corner distance)")
    ls = ev.lipsync
    ax.set_title(f"lip sync: r at lag 0 = {ls.r_lag0:.2f}, best lag {ls.best_lag_frames:+d} "
                 f"frames ({ls.best_lag_ms:+.0f} ms, r = {ls.r_best:.2f})", fontsize=11, pad=24)
    # Above the plot, so it never hides the phone marks.
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0, 1.0, 0.1), mode="expand", fontsize=8,
              ncol=5, frameon=False, borderaxespad=0.1)

    lag_ax = fig.add_subplot(grid[1, 0])
    colours = ["#1f5fa8" if lag != ls.best_lag_frames else "#c0392b" for lag in s.lags]
    lag_ax.bar(s.lags, s.lag_r, color=colours)
    lag_ax.axvline(0, color="black", lw=0.6)
    lag_ax.set_xlabel("lag (frames; + = mouth after sound)")
    lag_ax.set_ylabel("Pearson r")
    hist_ax = fig.add_subplot(grid[1, 1])
    active = s.voice_activity.astype(bool)
    bins = np.linspace(0, top, 30)
    hist_ax.hist([s.opening[active & np.isfinite(s.opening)],
                  s.opening[~active & np.isfinite(s.opening)]], bins=list(bins), stacked=True,
                 color=[SPEECH_COLOUR, SILENCE_COLOUR], label=["speech", "no speech"])
    hist_ax.axvline(lipsync.CLOSED_OPENING, color="#c0392b", ls="--", lw=0.8)
    hist_ax.set_xlabel("opening")
    hist_ax.set_ylabel("frames")
    hist_ax.legend(fontsize=8)
    bg_ax = fig.add_subplot(grid[1, 2])
    bg_ax.plot(t, s.background_diff, color="#6a3d9a", lw=1)
    bg_ax.set_xlabel("time (s)")
    bg_ax.set_ylabel("background |diff| (0-255)")
    bg_ax.set_ylim(0, max(5.0, float(np.nanmax(s.background_diff)) * 1.2
                          if np.isfinite(s.background_diff).any() else 5.0))
    fig.tight_layout()
    return _png(fig)


def motion_plot(ev: Evaluation) -> bytes:
    """Head yaw, pitch and roll over time, eye openness with the blinks found, and the
    wrists' distance from their median position."""
    s, fps = ev.series, ev.format.fps
    t = np.arange(len(s.opening)) / fps
    fig, (pose_ax, eye_ax, wrist_ax) = plt.subplots(3, 1, figsize=(13, 7.2), sharex=True)
    for k, (name, colour) in enumerate(zip(("yaw", "pitch", "roll"),
                                           ("#1f5fa8", "#e07b00", "#2e9e44"), strict=True)):
        pose_ax.plot(t, s.angles_deg[:, k], color=colour, lw=1.2, label=name)
    pose_ax.set_ylabel("degrees vs source")
    m = ev.motion
    pose_ax.set_title(f"head pose: 5-95% range yaw {m.yaw_p5_p95_deg:.1f}, pitch "
                      f"{m.pitch_p5_p95_deg:.1f}, roll {m.roll_p5_p95_deg:.1f} deg (max-min "
                      f"{m.yaw_range_deg:.1f}, {m.pitch_range_deg:.1f}, {m.roll_range_deg:.1f}); "
                      f"jitter {m.jitter_pct:.2f}% of eye distance", fontsize=11)
    pose_ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)  # off the curves
    eye_ax.plot(t, s.eye_openness, color="black", lw=1.1, label="eye openness")
    dips = motion.blink_frames(s.eye_openness, fps)
    eye_ax.plot(t[dips], s.eye_openness[dips], "v", color="#c0392b", label="blink")
    eye_ax.set_ylabel("lid gap / eye width")
    eye_ax.set_title(f"blinks: {m.blinks} ({m.blinks_per_min:.1f} per minute)", fontsize=11)
    eye_ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    _wrist_panel(wrist_ax, s.pose_frames / fps, s.wrist_offsets_sw, ev.arms)
    wrist_ax.set_xlabel("time (s)")
    wrist_ax.set_xlim(0, max(t[-1], 1 / fps))
    fig.tight_layout()
    return _png(fig)


def _wrist_panel(ax: plt.Axes, t: np.ndarray, offsets: np.ndarray, arms: pose.Arms) -> None:
    """Each measured wrist's distance from its median position, in shoulder widths."""
    if arms.wrist_range_sw_max is None:
        ax.text(0.5, 0.5, f"wrists not measured: {arms.note}", transform=ax.transAxes,
                ha="center", va="center", color=SILENCE_COLOUR)
        ax.set_yticks([])
    for k, (side, colour) in enumerate(zip(pose.ARMS, ("#6a3d9a", "#c0392b"), strict=True)):
        if np.isfinite(offsets[:, k]).any():
            ax.plot(t, offsets[:, k], color=colour, lw=1.1, marker=".", ms=3,
                    label=f"{side} wrist")
    if arms.wrist_range_sw_max is not None:
        ax.set_ylabel("from median (shoulder w.)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    title = "wrists" if arms.wrist_range_sw_max is None else (
        f"wrists: range (95th percentile) up to {arms.wrist_range_sw_max:.2f} shoulder widths, "
        f"path up to {arms.wrist_path_sw_max:.1f}; arms found in {arms.arms_found_share:.0%} "
        f"of the frames measured (pose every {arms.pose_step_frames} frames)")
    ax.set_title(title, fontsize=11)


def _shade(ax: plt.Axes, t: np.ndarray, mask: np.ndarray, colour: str, label: str) -> None:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    step = t[1] - t[0] if len(t) > 1 else 0.04
    for k, (start, stop) in enumerate(zip(np.flatnonzero(edges == 1),
                                          np.flatnonzero(edges == -1), strict=True)):
        ax.axvspan(start * step, stop * step, color=colour, alpha=0.25, lw=0,
                   label=label if k == 0 else None)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
