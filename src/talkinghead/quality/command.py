"""What ``talkinghead eval`` does with its parsed arguments (cli.py only declares them)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from talkinghead.errors import OptionsError


def run(args: argparse.Namespace) -> int:
    """Evaluate one video, or with ``--suite`` render and evaluate a folder matrix, or with
    ``--motion`` measure only how much the person in a video moves."""
    if args.motion is not None:
        return _motion(args)
    if args.suite:
        if args.inputs:
            raise OptionsError("eval --suite takes IMAGES_DIR AUDIO_DIR only, "
                               "not PORTRAIT AUDIO VIDEO as well")
        return _suite(args)
    if len(args.inputs) != 3:
        raise OptionsError("eval needs PORTRAIT AUDIO VIDEO (or --suite IMAGES_DIR AUDIO_DIR, "
                           "or --motion VIDEO)")
    from talkinghead.quality.evaluate import evaluate
    from talkinghead.quality.report import summary_lines, write_json, write_report

    portrait, audio, video = (Path(p) for p in args.inputs)
    truth = None
    if getattr(args, "truth", None) is not None:
        from talkinghead.quality.lipsync import read_truth

        try:
            truth = read_truth(Path(args.truth).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OptionsError(f"--truth {args.truth}: {exc}") from exc
    ev = evaluate(portrait, audio, video, text=args.text, truth=truth)
    if args.report:
        files = write_report(ev, args.report)
        print(f"report: {files[0]} (pictures: {', '.join(f.name for f in files[1:])})",
              file=sys.stderr)
    if args.json:
        write_json(ev, args.json)
    if not args.quiet:
        print("\n".join(summary_lines(ev)))
    return 0


def _suite(args: argparse.Namespace) -> int:
    from talkinghead.quality.suite import git_commit, run_suite, write_tables

    commit = git_commit()  # before rendering: the code may change while it runs
    images_dir, audio_dir = (Path(p) for p in args.suite)
    results = run_suite(images_dir, audio_dir, args.out,
                        log=(lambda _: None) if args.quiet else None)
    command = "talkinghead eval --suite " + " ".join(shlex.quote(str(p)) for p in args.suite)
    command += f" --out {shlex.quote(str(args.out))}"
    md_path, csv_path = write_tables(results, args.out, command=command, commit=commit)
    if not args.quiet:
        print(md_path.read_text())
        print(f"tables: {md_path}, {csv_path}; reports in {args.out / 'reports'}",
              file=sys.stderr)
    return 0 if any(r.error is None for r in results) else 1


def _motion(args: argparse.Namespace) -> int:
    others = [flag for flag, given in (("PORTRAIT AUDIO VIDEO", args.inputs),
                                       ("--suite", args.suite), ("--report", args.report),
                                       ("--text", args.text)) if given]
    if others:
        raise OptionsError(f"eval --motion VIDEO takes only --json and -q, not {others[0]}")
    from talkinghead.quality.clip import measure_clip
    from talkinghead.quality.report import motion_summary_lines, write_figures

    clip = measure_clip(Path(args.motion))
    if args.json:
        write_figures(clip.figures(), args.json)
    if not args.quiet:
        print("\n".join(motion_summary_lines(clip)))
    return 0
