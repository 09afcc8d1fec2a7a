"""Background stability: a sliding background is reported, a still one is not."""

from __future__ import annotations

import numpy as np

from talkinghead.quality import background
from talkinghead.quality.evaluate import evaluate


def test_background_mask_leaves_a_margin_around_the_person() -> None:
    person = np.zeros((100, 100), np.float32)
    person[30:70, 30:70] = 1.0
    mask = background.background_mask(person)
    assert not mask[27:73, 30:70].any() and not mask[30:70, 27:73].any()  # 3 px margin
    assert mask[:20].all() and mask[:, :20].all()


def test_frame_difference_counts_only_background_pixels() -> None:
    source = np.zeros((10, 10, 3), np.uint8)
    frame = source.copy()
    frame[:5] = 40
    mask = np.zeros((10, 10), bool)
    mask[5:] = True
    assert background.frame_difference(frame, source, mask) == 0.0
    assert background.frame_difference(frame, source, ~mask) == 40.0


def test_a_shifted_background_is_reported(portrait, clip, shifted_background,
                                          static_eval) -> None:
    shifted = evaluate(portrait[0], clip[0], shifted_background)
    still = static_eval.background.mean_abs_diff
    assert still < 3.0
    assert shifted.background.mean_abs_diff > 2 * still + 4.0
    assert shifted.identity.mean_distance < 0.2  # the person did not change
