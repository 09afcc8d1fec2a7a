"""The ``talkinghead`` command line. Errors become one line and an exit code here only."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from talkinghead import __version__
from talkinghead.config import EXPRESSION_NAMES, LIPSYNC_MODES, SIZES, Options, parse_box
from talkinghead.errors import InputError, TalkingHeadError

EXIT_INPUT, EXIT_FAILURE = 2, 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_INPUT
    try:
        return args.run(args)
    except InputError as exc:
        print(f"talkinghead: error: {exc.message}", file=sys.stderr)
        return EXIT_INPUT
    except TalkingHeadError as exc:
        print(f"talkinghead: failed: {exc.message}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("talkinghead: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkinghead",
        description="Turn one portrait and one audio clip into a talking video, on a CPU.",
    )
    parser.add_argument("--version", action="version", version=f"talkinghead {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    animate = commands.add_parser(
        "animate", help="render a talking video",
        description="Render PORTRAIT speaking AUDIO to an H.264/AAC MP4.",
    )
    animate.add_argument("portrait", type=Path, help="PNG, JPEG or WebP with one face")
    animate.add_argument("audio", type=Path, help="speech or song: WAV, MP3, M4A, OGG, FLAC, WebM")
    animate.add_argument("-o", "--output", type=Path, default=Path("talking.mp4"),
                         help="output MP4 (default: talking.mp4)")
    animate.add_argument("--fps", type=int, default=25, help="frames per second (default 25)")
    animate.add_argument("--size", choices=list(SIZES), default="512",
                         help="long side of the video, or the source size (default 512)")
    animate.add_argument("--seed", type=int, default=0, help="seed for head motion and blinks")
    animate.add_argument("--head-motion", type=float, default=1.0,
                         help="head turns, nods and tilts, 0 (still) to 2 (default 1)")
    animate.add_argument("--body-motion", type=float, default=1.0,
                         help="breathing, sway, shrugs and lean, 0 (still) to 2 (default 1)")
    animate.add_argument("--gestures", type=float, default=1.0,
                         help="arm and hand gestures where arms are visible, 0 (none) to 2 "
                              "(default 1)")
    animate.add_argument("--mouth-motion", type=float, default=1.0,
                         help="mouth opening scale, 0 to 2 (default 1)")
    animate.add_argument("--blinks-per-min", type=float, default=15.0,
                         help="mean blink rate, 0 to 40 (default 15)")
    animate.add_argument("--expression", choices=EXPRESSION_NAMES, default="neutral",
                         help="mood preset for smile, brows and head energy (default neutral)")
    animate.add_argument("--text", metavar="TRANSCRIPT",
                         help="what is said (English): aligned to the audio for sharper lip shapes")
    animate.add_argument("--text-file", type=Path, metavar="FILE",
                         help="read the transcript from a UTF-8 text file")
    animate.add_argument("--lipsync", choices=LIPSYNC_MODES, default="phones",
                         help="without --text: 'phones' (fast, any language) or 'words' "
                              "(English word recognition: better m/b/p, slower)")
    animate.add_argument("--mouth", metavar="X,Y,W,H",
                         help="a character's mouth box in the image's pixels: animate it as a "
                              "character (jaw, blinks) instead of through the face mesh")
    animate.add_argument("--eyes", metavar="X,Y,W,H;X,Y,W,H",
                         help="with --mouth: the character's eye boxes (one or two), to blink")
    animate.add_argument("--mouth-track", type=Path, metavar="CUES.tsv|CUES.json",
                         help="also write the mouth cues for 2D/3D rigs: Rhubarb-style TSV, "
                              "or JSON with every per-frame parameter")
    animate.add_argument("--debug-plot", type=Path, metavar="PLOT.png",
                         help="also draw waveform, phones and motion curves to a PNG")
    animate.add_argument("--max-audio-s", type=float, default=600.0,
                         help="refuse audio longer than this many seconds (default 600)")
    animate.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    animate.set_defaults(run=_animate)
    _add_cues(commands)
    _add_serve(commands)
    _add_worker(commands)
    _add_eval(commands)
    return parser


def _animate(args: argparse.Namespace) -> int:
    from talkinghead.api import replaced_when_done
    from talkinghead.pipeline import render_video  # heavy imports only when rendering

    transcript = _transcript(args)
    options = Options(fps=args.fps, size=args.size, seed=args.seed, head_motion=args.head_motion,
                      body_motion=args.body_motion, gestures=args.gestures,
                      mouth_motion=args.mouth_motion, blinks_per_min=args.blinks_per_min,
                      max_audio_s=args.max_audio_s, expression=args.expression,
                      transcript=transcript, lipsync=args.lipsync,
                      mouth=parse_box(args.mouth) if args.mouth else None,
                      eyes=tuple(parse_box(b) for b in (args.eyes or "").split(";") if b.strip()))
    bar = _ProgressBar() if sys.stderr.isatty() and not args.quiet else None
    with replaced_when_done(args.output) as partial:  # never a truncated MP4 at --output
        summary = render_video(args.portrait, args.audio, partial, options,
                               progress=bar.update if bar else None, debug_plot=args.debug_plot,
                               mouth_track=args.mouth_track)
    if bar:
        bar.close()
    if not args.quiet:
        print(f"{args.output}: {summary.audio_duration_s:.2f} s of audio, "
              f"{summary.n_frames} frames at {summary.fps} fps, {summary.width}x{summary.height}, "
              f"rendered in {summary.elapsed_s:.2f} s "
              f"(real-time factor {summary.real_time_factor:.2f})")
    return 0


def _transcript(args: argparse.Namespace) -> str | None:
    if args.text_file is None:
        return args.text
    try:
        return args.text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{args.text_file}: cannot read the transcript ({exc})") from exc


def _add_cues(commands: argparse._SubParsersAction) -> None:
    from talkinghead.cues import CUE_FORMATS

    cues = commands.add_parser(
        "cues", help="mouth cues for 2D/3D rigs, without rendering",
        description="Analyse AUDIO and write its mouth cues: Rhubarb Lip Sync's TSV, JSON or "
                    "XML (shapes A-H, X), ARKit blendshapes or Oculus visemes per frame "
                    "(JSON), or SRT/VTT captions when the words are known.")
    cues.add_argument("audio", type=Path, help="speech or song: WAV, MP3, M4A, OGG, FLAC, WebM")
    cues.add_argument("-o", "--output", type=Path,
                      help="output file (default: standard output); its suffix picks the "
                           "format unless --format is given")
    cues.add_argument("--format", choices=list(CUE_FORMATS),
                      help="tsv, json or xml (Rhubarb), arkit, visemes, srt or vtt "
                           "(default: from the output's suffix, else tsv)")
    cues.add_argument("--fps", type=int, default=25, help="frames per second (default 25)")
    cues.add_argument("--seed", type=int, default=0, help="seed for blinks and gaze (arkit)")
    cues.add_argument("--text", metavar="TRANSCRIPT", help="what is said (English)")
    cues.add_argument("--text-file", type=Path, metavar="FILE",
                      help="read the transcript from a UTF-8 text file")
    cues.add_argument("--lipsync", choices=LIPSYNC_MODES, default="phones",
                      help="without --text: 'phones' (fast, any language) or 'words' "
                           "(English words: better m/b/p, and captions)")
    cues.add_argument("--max-audio-s", type=float, default=600.0,
                      help="refuse audio longer than this many seconds (default 600)")
    cues.add_argument("-q", "--quiet", action="store_true", help="no summary")
    cues.set_defaults(run=_cues)


def _cues(args: argparse.Namespace) -> int:
    from talkinghead.api import replaced_when_done
    from talkinghead.cues import cue_format, make_cues

    started = time.perf_counter()
    options = Options(fps=args.fps, seed=args.seed, transcript=_transcript(args),
                      lipsync=args.lipsync, max_audio_s=args.max_audio_s)
    cues = make_cues(args.audio, options, cue_format(args.output, args.format),
                     sound_file=str(args.audio))
    if args.output is None:
        sys.stdout.write(cues.text)
    else:
        with replaced_when_done(args.output) as partial:
            partial.write_text(cues.text, encoding="utf-8")
    if not args.quiet:
        elapsed = time.perf_counter() - started
        print(f"{args.output or 'stdout'}: {cues.format} cues for {cues.audio_duration_s:.2f} s "
              f"of audio in {elapsed:.2f} s "
              f"(real-time factor {elapsed / max(cues.audio_duration_s, 1e-9):.3f})",
              file=sys.stderr)
    return 0


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="run the HTTP service (hosted-API compatible) with its playground",
        description="Serve the hosted-API-compatible HTTP service. Other settings come from "
                    "TALKINGHEAD_* environment variables (see docs/SERVICE.md).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                       "127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=None,
                       help="concurrent rendering processes (default: CPU count)")
    serve.add_argument("--data-dir", type=Path, default=None,
                       help="job store, inputs and outputs (default ./talkinghead-data)")
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from talkinghead.service.server import serve  # heavy imports only when serving
    from talkinghead.service.settings import Settings

    try:
        settings = Settings.from_env(workers=args.workers, data_dir=args.data_dir)
    except ValueError as exc:
        raise InputError(f"bad service setting: {exc}") from exc
    serve(settings, host=args.host, port=args.port)
    return 0


def _add_worker(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker", help="render jobs for 'talkinghead serve' on a Celery fleet (Redis broker)",
        description="Run a Celery worker that renders the jobs of a 'talkinghead serve' whose "
                    "TALKINGHEAD_BROKER_URL names the same Redis (see docs/SERVICE.md).",
    )
    worker.add_argument("--broker-url", default=None, metavar="redis://HOST:6379/0",
                        help="the Redis broker (default: TALKINGHEAD_BROKER_URL)")
    worker.add_argument("--concurrency", type=int, default=None,
                        help="rendering processes on this machine (default: CPU count)")
    worker.add_argument("--loglevel", default="info", help="Celery log level (default info)")
    worker.set_defaults(run=_worker)


def _worker(args: argparse.Namespace) -> int:
    import os

    from talkinghead.service.settings import Settings

    try:
        settings = Settings.from_env(broker_url=args.broker_url)
    except ValueError as exc:
        raise InputError(f"bad worker setting: {exc}") from exc
    if not settings.broker_url:
        raise InputError("talkinghead worker needs a broker: set TALKINGHEAD_BROKER_URL or "
                         "pass --broker-url redis://HOST:6379/0")
    concurrency = args.concurrency if args.concurrency is not None else os.cpu_count() or 1
    if concurrency < 1:
        raise InputError(f"--concurrency must be at least 1, got {concurrency}")
    from talkinghead.service.fleet import run_worker  # heavy imports only for a worker

    run_worker(settings, concurrency=concurrency, loglevel=args.loglevel)
    return 0


def _add_eval(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "eval", help="measure a talking video: lip sync, identity, motion, quality",
        description="Measure VIDEO made from PORTRAIT and AUDIO, or with --suite render and "
                    "measure every image x audio pair of two folders, or with --motion measure "
                    "only how much the person in any video moves (see docs/EVAL.md).",
    )
    evaluate.add_argument("inputs", nargs="*", type=Path, metavar="PORTRAIT AUDIO VIDEO",
                          help="the portrait, the audio and the video made from them")
    evaluate.add_argument("--report", type=Path, help="write an HTML report (PNGs beside it)")
    evaluate.add_argument("--json", type=Path, help="write the figures as JSON")
    evaluate.add_argument("--text", help="English transcript of AUDIO: adds m/b/p lip closure")
    evaluate.add_argument("--truth", type=Path, metavar="FILE",
                          help="phoneme times of AUDIO (start end label per line): silences "
                               "and m/b/p judged on them")
    evaluate.add_argument("--suite", nargs=2, type=Path, metavar=("IMAGES_DIR", "AUDIO_DIR"),
                          help="render and evaluate every pair; tables with medians")
    evaluate.add_argument("--out", type=Path, default=Path("out/eval-suite"),
                          help="--suite output folder (default out/eval-suite)")
    evaluate.add_argument("--motion", type=Path, metavar="VIDEO",
                          help="only head pose, blinks and wrists of any video (a real clip "
                               "too), relative to its first frame with a face")
    evaluate.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    evaluate.set_defaults(run=_eval)


def _eval(args: argparse.Namespace) -> int:
    from talkinghead.quality.command import run  # heavy imports only when evaluating

    return run(args)


class _ProgressBar:
    """A one-line bar on stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        self._last = 0.0
        self._started = time.perf_counter()

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(now - self._started, 1e-9)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} frames "
                         f"{rate:5.1f} fps")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
