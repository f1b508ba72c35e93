"""Uniform time steps: exact landing on the outputs, and refusals before the first step."""

import math

import pytest

from workbench.core.errors import ParamError
from workbench.core.timesteps import MAX_TIME_STEPS, uniform_steps


@pytest.mark.parametrize(("t_end", "dt", "outputs", "expected"), [
    (1.0, 0.1, 1, (10, 0.1)),
    (1.0, 0.3, 1, (4, 0.25)),
    (1.0, 1.0, 1, (1, 1.0)),
    (1.0, 0.1, 4, (3, 1.0 / 12)),  # 0.25 per output: 3 steps of 1/12 <= 0.1
    (1.0, 0.5, 4, (1, 0.25)),  # dt longer than an output interval shrinks to it (outputs must land)
    (0.0, 0.1, 1, (0, 0.1)),
])
def test_steps_land_exactly_on_every_output_and_are_never_longer_than_asked(t_end, dt, outputs, expected):
    per_output, step = uniform_steps("s", t_end, dt, outputs)
    assert per_output == expected[0] and step == pytest.approx(expected[1], rel=1e-15)
    assert step <= dt and per_output * outputs * step == pytest.approx(t_end, rel=1e-14)


def test_roundoff_in_the_ratio_does_not_add_a_step():
    assert uniform_steps("s", 1.0, 1.0 / 10 * (1 + 1e-14))[0] == 10


@pytest.mark.parametrize(("t_end", "dt", "outputs", "fragment"), [
    (1.0, 1.5, 1, "s: dt = 1.5 is longer than the whole time span t_end = 1; give dt <= t_end"),
    (1.0, 1e308, 1, "longer than the whole time span"),
    (1.0, 1e-12, 1, f"t_end / dt = 1e+12 time steps is more than {MAX_TIME_STEPS:,}"),
    (1e300, 1e-300, 1, "time steps is more than"),  # the ratio overflows to inf
    (1.0, 1.0, MAX_TIME_STEPS + 1, "outputs of 1 steps each is more than"),
    (1.0, 0.0, 1, "dt = 0 must be a positive, finite time step"),
    (1.0, math.inf, 1, "dt = inf must be a positive, finite time step"),
    (1.0, math.nan, 1, "dt = nan"),
    (math.inf, 0.1, 1, "t_end = inf must be a finite time >= 0"),
    (-1.0, 0.1, 1, "t_end = -1"),
    (1.0, 0.1, 0, "the number of outputs must be at least 1"),
])
def test_requests_without_a_sensible_reading_are_refused_in_one_line(t_end, dt, outputs, fragment):
    with pytest.raises(ParamError) as info:
        uniform_steps("s", t_end, dt, outputs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_the_largest_allowed_step_count_is_accepted():
    assert uniform_steps("s", 1.0, 1.0 / MAX_TIME_STEPS) == (MAX_TIME_STEPS, pytest.approx(1.0 / MAX_TIME_STEPS))
