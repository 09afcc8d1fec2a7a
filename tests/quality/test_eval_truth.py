"""talkinghead eval judges silence by its own measure or by a truth file, not the generator's."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.quality import lipsync, phones


def test_truth_file_any_column_order_pauses_skipped() -> None:
    spans = lipsync.read_truth("# espeak\n0.00 0.08 m\nb\t0.30\t0.36\n0.36 0.80 _\n0.8 1.0 aː\n")
    assert spans == [("m", 0.0, 0.08), ("b", 0.30, 0.36), ("aː", 0.8, 1.0)]
    with pytest.raises(ValueError, match="line 1"):
        lipsync.read_truth("m 0.2")
    labels = [p.label for p in phones.truth_phones(spans)]
    assert labels == ["M", "B", "AA"]


def test_silence_from_truth_and_from_the_reports_own_envelope() -> None:
    spans = [("a", 0.0, 0.4), ("m", 1.0, 1.2)]
    speech = lipsync.speech_from_truth(spans, 25, 50)
    assert speech[:10].all() and not speech[10:25].any() and speech[25:30].all()
    rate = 16_000
    t = np.arange(2 * rate) / rate
    mono = np.where(t < 1.0, 0.3 * np.sin(2 * np.pi * 150 * t), 1e-4).astype(np.float32)
    envelope = lipsync.loudness_envelope(mono, rate, 25, 50)
    heard = lipsync.speech_from_envelope(envelope)
    assert heard[2:23].all() and not heard[28:].any()
