"""Field, Problem, BoundaryCondition and Run: the plain data a solver produces and consumes."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.errors import ExpressionError, ParamError
from workbench.core.events import Frame, LogMessage, Progress, Scalars
from workbench.core.field import Field
from workbench.core.meshgen import rectangle_mesh
from workbench.core.problem import BoundaryCondition, Problem
from workbench.core.run import Run, RunStatus


@pytest.fixture(scope="module")
def square():
    return rectangle_mesh(2)


# -- Field ---------------------------------------------------------------------------


def test_field_copies_its_input_and_is_read_only():
    source = np.array([1.0, 2.0, 3.0])
    field = Field("u", source)
    source[0] = 99.0
    assert field.values[0] == 1.0
    assert not field.values.flags.writeable
    with pytest.raises(ValueError):
        field.values[1] = 5.0
    with pytest.raises(AttributeError):
        field.name = "v"  # type: ignore[misc]


def test_field_converts_to_float64():
    field = Field("n", [1, 2, 3])
    assert field.values.dtype == np.float64


def test_field_times_are_copied_and_read_only():
    times = np.array([0.0, 0.5])
    field = Field("u", np.zeros((2, 4)), times=times)
    times[1] = 7.0
    assert field.times[1] == 0.5
    assert not field.times.flags.writeable


def test_field_rejects_bad_location_and_mismatched_times():
    with pytest.raises(ValueError, match="location"):
        Field("u", np.zeros(3), location="edge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="3 times for 2 snapshots"):
        Field("u", np.zeros((2, 5)), times=[0.0, 1.0, 2.0])


def test_components_of_single_and_series_fields():
    assert Field("u", np.zeros(4)).n_components == 1
    assert Field("v", np.zeros((4, 2))).n_components == 2
    assert Field("u", np.zeros((3, 4)), times=[0, 1, 2]).n_components == 1
    assert Field("v", np.zeros((3, 4, 3)), times=[0, 1, 2]).n_components == 3
    assert not Field("u", np.zeros(4)).is_series
    assert Field("u", np.zeros((3, 4)), times=[0, 1, 2]).is_series


def test_series_stacks_snapshots_and_snapshot_takes_one_back():
    snapshots = [Field("u", np.full(4, float(i)), location="cell", units="K") for i in range(3)]
    series = Field.series(snapshots, [0.0, 0.1, 0.2])
    assert series.values.shape == (3, 4)
    assert series.location == "cell" and series.units == "K" and series.name == "u"
    np.testing.assert_array_equal(series.times, [0.0, 0.1, 0.2])
    one = series.snapshot(2)
    assert not one.is_series
    np.testing.assert_array_equal(one.values, np.full(4, 2.0))
    assert one.location == "cell" and one.units == "K"
    assert not one.values.flags.writeable


def test_snapshot_of_a_single_time_field_is_an_error():
    with pytest.raises(ValueError, match="not a time series"):
        Field("u", np.zeros(3)).snapshot(0)


def test_magnitude_of_vector_field():
    field = Field("v", np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]]), units="m/s")
    magnitude = field.magnitude()
    np.testing.assert_allclose(magnitude.values, [5.0, 0.0, 1.0])
    assert magnitude.n_components == 1
    assert magnitude.name == "|v|" and magnitude.units == "m/s"


def test_magnitude_of_vector_series_keeps_times():
    values = np.zeros((2, 3, 2))
    values[1, :, 0] = 3.0
    values[1, :, 1] = 4.0
    magnitude = Field("v", values, times=[0.0, 1.0]).magnitude()
    assert magnitude.values.shape == (2, 3)
    np.testing.assert_allclose(magnitude.values[1], 5.0)
    np.testing.assert_array_equal(magnitude.times, [0.0, 1.0])


def test_magnitude_of_scalar_is_itself():
    field = Field("u", np.array([-1.0, 2.0]))
    assert field.magnitude() is field


# -- BoundaryCondition ---------------------------------------------------------------------------


def test_parse_full_form():
    condition = BoundaryCondition.parse("hole=dirichlet:1")
    assert condition == BoundaryCondition("hole", "dirichlet", "1")


def test_parse_tolerates_spaces_and_case_and_keeps_expression():
    condition = BoundaryCondition.parse(" outer = Neumann : sin(pi*x) * t ")
    assert (condition.tag, condition.kind, condition.value) == ("outer", "neumann", "sin(pi*x) * t")


@pytest.mark.parametrize("text", ["hole=dirichlet", "hole=dirichlet:", "hole=dirichlet:  "])
def test_parse_missing_value_means_zero(text):
    assert BoundaryCondition.parse(text).value == "0"


@pytest.mark.parametrize("text", ["hole", "", "=dirichlet:1", " =dirichlet:1", "hole=", "hole=:1", "hole= :1"])
def test_parse_malformed(text):
    with pytest.raises(ParamError, match="TAG=KIND:VALUE"):
        BoundaryCondition.parse(text)


def test_parse_unknown_kind():
    with pytest.raises(ParamError, match="dirichlet, neumann") as info:
        BoundaryCondition.parse("hole=robin:1")
    assert "'robin'" in str(info.value)


def test_parse_bad_value_expression():
    with pytest.raises(ExpressionError):
        BoundaryCondition.parse("hole=dirichlet:x.__class__")
    with pytest.raises(ExpressionError):
        BoundaryCondition.parse("hole=dirichlet:sin(")


def test_condition_is_immutable():
    condition = BoundaryCondition("left", "dirichlet")
    assert condition.value == "0"
    with pytest.raises(AttributeError):
        condition.tag = "right"  # type: ignore[misc]


# -- Problem ----------------------------------------------------------------------------------


def test_problem_accepts_known_tags_numbers_and_all_boundary(square):
    conditions = [
        BoundaryCondition("left", "dirichlet", "1"),
        BoundaryCondition.parse("top=neumann:x"),
        BoundaryCondition("3", "dirichlet"),
        BoundaryCondition("boundary", "neumann"),
    ]
    problem = Problem(square, "poisson", {"k": 1.0}, conditions)
    assert isinstance(problem.boundary_conditions, tuple)
    assert len(problem.boundary_conditions) == 4


def test_problem_rejects_unknown_tag_and_lists_known(square):
    with pytest.raises(ParamError) as info:
        Problem(square, "poisson", {}, [BoundaryCondition.parse("hole=dirichlet:1")])
    message = str(info.value)
    assert "'hole'" in message
    for name in ("bottom", "left", "right", "top"):
        assert name in message


def test_problem_params_are_read_only_copies(square):
    params = {"k": 1.0}
    problem = Problem(square, "poisson", params)
    params["k"] = 2.0
    assert problem.params["k"] == 1.0
    with pytest.raises(TypeError):
        problem.params["k"] = 3.0  # type: ignore[index]


# -- Run ------------------------------------------------------------------------------------


def _frame(index, time, value, n=4):
    return Frame(index, time, {"u": Field("u", np.full(n, value)), "v": Field("v", np.full((n, 2), value))})


def test_run_starts_pending_and_empty():
    run = Run("heat")
    assert run.status is RunStatus.PENDING
    assert run.frames == [] and run.log == [] and run.curves == {} and run.progress == 0.0
    assert run.field_names() == []
    assert run.times.shape == (0,)
    with pytest.raises(KeyError, match="no frames"):
        run.field("u")


def test_runs_do_not_share_mutable_state():
    first, second = Run("a"), Run("b")
    first.record(LogMessage("hello"))
    assert second.log == []


def test_record_frame():
    run = Run("heat")
    frame = _frame(0, 0.0, 1.0)
    run.record(frame)
    assert run.frames == [frame]
    assert run.field_names() == ["u", "v"]


@pytest.mark.parametrize(("fraction", "expected"), [(0.25, 0.25), (1.0, 1.0), (-0.5, 0.0), (3.0, 1.0), ("0.5", 0.5)])
def test_record_progress_is_clamped(fraction, expected):
    run = Run("heat")
    run.record(Progress(fraction, "working"))
    assert run.progress == expected


def test_record_log_message_with_level():
    run = Run("heat")
    run.record(LogMessage("assembling"))
    run.record(LogMessage("slow", level="warning"))
    assert run.log == ["[info] assembling", "[warning] slow"]


def test_record_scalars_builds_curves():
    run = Run("pinn")
    run.record(Scalars(0, {"loss": 1.0, "residual": 0.5}))
    run.record(Scalars(1, {"loss": np.float32(0.25)}))
    assert run.curves == {"loss": [(0, 1.0), (1, 0.25)], "residual": [(0, 0.5)]}
    assert all(type(value) is float for _, value in run.curves["loss"])


def test_record_rejects_non_events():
    run = Run("heat")
    with pytest.raises(TypeError, match="dict"):
        run.record({"u": 1})  # type: ignore[arg-type]


def test_field_stacks_frames_into_a_series():
    run = Run("heat")
    for i, t in enumerate([0.0, 0.1, 0.3]):
        run.record(_frame(i, t, float(i)))
    np.testing.assert_array_equal(run.times, [0.0, 0.1, 0.3])
    u = run.field("u")
    assert u.is_series and u.values.shape == (3, 4)
    np.testing.assert_array_equal(u.times, [0.0, 0.1, 0.3])
    np.testing.assert_array_equal(u.values[:, 0], [0.0, 1.0, 2.0])
    v = run.field("v")
    assert v.values.shape == (3, 4, 2) and v.n_components == 2
    with pytest.raises(KeyError):
        run.field("w")


def test_fail_records_one_line_error_and_trace():
    run = Run("heat")
    try:
        raise ValueError("bad\n  input   here")
    except ValueError as error:
        run.fail(error)
    assert run.status is RunStatus.FAILED
    assert run.error == "ValueError: bad input here"
    assert "[error] ValueError: bad input here" in run.log
    assert any(line.startswith("[trace] ") and "Traceback" in line for line in run.log)


def test_fail_without_message_uses_type_name():
    run = Run("heat")
    run.fail(RuntimeError())
    assert run.error == "RuntimeError"


def test_status_finished():
    assert {s for s in RunStatus if s.finished} == {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}
    assert RunStatus("paused") is RunStatus.PAUSED


def test_frame_fields_are_read_only():
    frame = _frame(0, 0.0, 1.0)
    with pytest.raises(TypeError):
        frame.fields["w"] = Field("w", np.zeros(4))  # type: ignore[index]
