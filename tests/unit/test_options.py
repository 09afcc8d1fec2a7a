from __future__ import annotations

import pytest

from talkinghead import Options, OptionsError


@pytest.mark.parametrize("bad", [
    {"fps": 5}, {"fps": 25.0}, {"size": "4k"}, {"seed": -1}, {"head_motion": 3},
    {"mouth_motion": "loud"}, {"blinks_per_min": -1}, {"max_audio_s": 0},
    {"expression": "angry"}, {"lipsync": "visemes"}, {"transcript": "x" * 20_001},
])
def test_out_of_range_options_are_refused(bad: dict) -> None:
    with pytest.raises(OptionsError):
        Options(**bad)


def test_from_dict_names_unknown_fields() -> None:
    with pytest.raises(OptionsError, match="colour"):
        Options.from_dict({"fps": 25, "colour": "red"})


def test_defaults() -> None:
    options = Options()
    assert (options.fps, options.size, options.long_side_px) == (25, "512", 512)
