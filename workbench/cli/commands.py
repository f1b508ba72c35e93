"""The ``pdewb`` sub-commands. Each takes parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ..compute.runner import build_problem, run_solver
from ..core.errors import ParamError, ScenarioError
from ..core.events import Event, Frame, LogMessage, Progress
from ..core.interrupts import EXIT_INTERRUPTED, EXIT_TERMINATED
from ..core.metrics import relative_l2
from ..core.problem import BoundaryCondition
from ..core.run import Run, RunStatus
from ..io.meshes import open_mesh
from ..io.scenario import Scenario, load_scenario
from ..io.series import SeriesExists, SeriesWriter
from ..plugins.host import load_plugins
from .report import print_error, print_json, print_table

EXIT_OK, EXIT_RUN_FAILED = 0, 2


def info(args: argparse.Namespace) -> int:
    host = load_plugins()
    summary = open_mesh(args.mesh, host).summary()
    if args.json:
        print_json(summary)
        return EXIT_OK
    rows = [
        ("source", summary["source"] or args.mesh),
        ("points", summary["points"]),
        ("cells", ", ".join(f"{n} {t}" for t, n in summary["cells"].items())),
        ("dimension", f"{summary['dimension']}D cells in {summary['coordinates']}D space"),
        ("bounds", " .. ".join(_format_point(p) for p in summary["bounds"])),
        ("measure", f"{summary['measure']:.6g}"),
        ("cell size", f"{summary['h_min']:.3g} .. {summary['h_max']:.3g}"),
        ("boundaries", ", ".join(f"{n} ({c})" for n, c in summary["boundaries"].items())),
    ]
    if summary["point_data"]:
        rows.append(("point data", ", ".join(summary["point_data"])))
    print_table(["mesh", ""], rows)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    scenario = _scenario_from_args(args)
    out = Path(args.out) if args.out else scenario.output_directory or Path("results") / scenario.solver
    result, output = _run_scenario(scenario, out, quiet=args.quiet or args.json, overwrite=args.overwrite)
    return _report_run(args, result, output)


def datagen(args: argparse.Namespace) -> int:
    """Generate (or resume) a data set; Ctrl-C and SIGTERM keep the samples so far for the next run."""
    from ..compute.torch_context import job_context
    from ..io.datasets import DatasetInterrupted, generate_dataset

    host = load_plugins()
    solver = host.solver(args.solver)
    if not solver.dataset:
        with_data = ", ".join(c.id for c in host.contributions(type(solver)) if c.dataset) or "none installed"
        raise ParamError(f"'{solver.id}' cannot generate data sets (solvers that can: {with_data})")
    params = dict(_parse_assignment(text) for text in args.set)
    quiet = args.quiet or args.json
    printer = _ProgressPrinter(solver.id)

    def progress(done: int, total: int, rate: float) -> None:
        if not quiet:
            printer(Progress(done / total, f"{done} / {total} samples, {rate:.3g} samples/s"))

    try:
        with job_context(solver.requires) as device:
            summary = generate_dataset(solver, args.out, args.samples, params, batch=args.batch, seed=args.seed,
                                       overwrite=args.overwrite, device=device, progress=progress)
    except DatasetInterrupted as stop:
        if printer.interactive and not quiet:
            print(file=sys.stderr)
        cause = "terminated (SIGTERM)" if stop.terminated else "interrupted"
        print(f"pdewb: {cause} after {stop.completed} of {stop.samples} samples; run the same command to resume",
              file=sys.stderr)
        return EXIT_TERMINATED if stop.terminated else EXIT_INTERRUPTED
    if args.json:
        print_json(summary.describe())
        return EXIT_OK
    rows = [("output", str(summary.path)), ("samples", summary.samples),
            ("resumed from", summary.resumed_from), ("wall time", f"{summary.seconds:.3f} s"),
            ("samples/s", f"{summary.samples_per_s:.3g}")]
    rows += [(f"field {name}", f"{summary.dtypes[name]} {tuple(shape)}") for name, shape in summary.fields.items()]
    print_table([solver.id, ""], rows)
    return EXIT_OK


DEMO_OUTPUT = "results/demo"


def demo(args: argparse.Namespace) -> int:
    """Heat flowing out of a hot hole into a cold plate, then checked against its steady state."""
    scenario = Scenario(
        solver="fem.heat",
        mesh="sample:plate-with-hole",
        parameters={"dt": 0.02, "t_end": 2.0, "scheme": "crank-nicolson", "output_every": 5},
        boundary=(BoundaryCondition("hole", "dirichlet", "1"), BoundaryCondition("outer", "dirichlet", "0")),
        title="demo: heat equation on a plate with a hole",
    )
    quiet = args.quiet or args.json
    host = load_plugins()
    mesh = open_mesh(scenario.mesh, host)
    # The demo's own folder holds only earlier demos: `./scripts/start` runs it again and again without asking.
    overwrite = args.overwrite or args.out == DEMO_OUTPUT
    heat, output = _run_scenario(scenario, Path(args.out), quiet=quiet, overwrite=overwrite, host=host, mesh=mesh)
    if heat.status is RunStatus.SUCCEEDED:
        steady_solver = host.solver("fem.poisson")
        steady = run_solver(steady_solver, build_problem(steady_solver, mesh, {"source": "0"}, scenario.boundary))
        if steady.status is RunStatus.SUCCEEDED:
            final, limit = heat.frames[-1].fields["u"].values, steady.frames[-1].fields["u"].values
            heat.metrics["relative_l2_to_steady_state"] = relative_l2(mesh, final, limit)
            heat.metrics["steady_state_solve_s"] = steady.timings["wall_s"]
    return _report_run(args, heat, output)


def _scenario_from_args(args: argparse.Namespace) -> Scenario:
    if args.scenario:
        scenario = load_scenario(args.scenario)
    elif args.solver:
        scenario = Scenario(solver=args.solver, mesh=args.mesh or "")
    else:
        raise ScenarioError("give a scenario file, or --solver (and --mesh unless the solver has its own grid)")
    parameters = dict(scenario.parameters)
    parameters.update(_parse_assignment(text) for text in args.set)
    boundary = scenario.boundary + tuple(BoundaryCondition.parse(text) for text in args.bc)
    return Scenario(
        solver=args.solver or scenario.solver,
        mesh=args.mesh or scenario.mesh,
        parameters=parameters,
        boundary=boundary,
        output_directory=scenario.output_directory,
        title=scenario.title,
        base=scenario.base if not args.mesh else Path("."),
    )


def _parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ParamError(f"--set expects NAME=VALUE, got '{text}'")
    return name.strip(), value.strip()


class _Output(NamedTuple):
    """The series a run left: its PVD (None when nothing was written) and how many frames it holds."""

    pvd: Path | None
    frames: int


def _run_scenario(scenario: Scenario, out: Path, quiet: bool, overwrite: bool = False, host=None,
                  mesh=None) -> tuple[Run, _Output]:
    """Run the scenario, streaming each frame to disk as it comes; the series appears whole when the run ends.

    An existing series is refused before the run starts unless ``overwrite``.
    Whatever ends the run (success, failure, Ctrl-C, SIGTERM) the frames recorded
    so far become the series; a full disk raises one line and keeps the previous
    series (see :class:`~workbench.io.series.SeriesWriter`).
    """
    host = host or load_plugins()
    solver = host.runnable(scenario.solver)
    if mesh is None and not solver.grid:
        if not scenario.mesh:
            raise ScenarioError(f"'{solver.id}' solves on a mesh: give --mesh (a file or sample:ID)")
        mesh = open_mesh(scenario.mesh, host, base=scenario.base)
    problem = build_problem(solver, mesh, scenario.parameters, scenario.boundary)
    printer = None if quiet else _ProgressPrinter(solver.id)
    try:
        with SeriesWriter(out, solver.id.replace(".", "-"), problem.mesh, overwrite=overwrite,
                          what="pdewb run") as series:
            result = run_solver(solver, problem, on_event=_streaming(series, printer))
            if series.failure is not None:  # the disk, not the solver, ended the run
                raise series.failure
            if result.status is RunStatus.CANCELLED:
                for frame in result.frames[series.frames:]:  # recorded just before the interrupt, not yet written
                    series.add(frame)
            pvd = series.commit() if series.frames else None
    except SeriesExists as exists:
        raise SeriesExists(f"{exists}; add --overwrite to replace it") from None
    return result, _Output(pvd, series.frames)


def _streaming(series: SeriesWriter, printer: Callable[[Event], None] | None) -> Callable[[Event], None]:
    def on_event(event: Event) -> None:
        if isinstance(event, Frame):
            series.add(event)
        if printer is not None:
            printer(event)

    return on_event


def _exit_status(result: Run) -> int:
    if result.status is RunStatus.SUCCEEDED:
        return EXIT_OK
    if result.status is RunStatus.CANCELLED:
        return EXIT_TERMINATED if result.terminated else EXIT_INTERRUPTED
    return EXIT_RUN_FAILED


def _report_run(args: argparse.Namespace, result: Run, output: _Output) -> int:
    status = _exit_status(result)
    if result.status is RunStatus.FAILED:  # with --json too: exit 2 always comes with its one line
        saved = f"; {output.frames} frame(s) before the failure saved to {output.pvd}" if output.pvd else ""
        print_error(f"run failed: {result.error}{saved}")
    if args.json:
        print_json(_run_summary(result, output))
        return status
    if result.status is RunStatus.FAILED:
        return status
    rows = [("status", result.status.value + (" (SIGTERM)" if result.terminated else "")),
            ("frames", len(result.frames)),
            ("time span", f"{result.times[0]:g} .. {result.times[-1]:g}" if result.frames else "-"),
            ("wall time", f"{result.timings.get('wall_s', 0.0):.3f} s")]
    rows += [(name, f"{value:.4g}") for name, value in result.metrics.items()]
    rows.append(("output", str(output.pvd) if output.pvd else "-"))
    print_table([result.solver_id, ""], rows)
    return status


def _run_summary(result: Run, output: _Output) -> dict[str, Any]:
    return {
        "solver": result.solver_id,
        "status": result.status.value,
        "terminated": result.terminated,
        "error": result.error,
        "parameters": {k: v for k, v in result.params.items()},
        "frames": len(result.frames),
        "times": result.times.tolist(),
        "timings": result.timings,
        "metrics": result.metrics,
        "output": str(output.pvd) if output.pvd else None,
        "frames_written": output.frames,
    }


class _ProgressPrinter:
    """Progress on stderr: an updating line on a terminal, a few plain lines otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.interactive = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogMessage) and event.level in ("warning", "error"):
            print(f"{self.label}: {event.level}: {event.text}", file=sys.stderr)
        if not isinstance(event, Progress):
            return
        percent = int(100 * event.fraction)
        if self.interactive:
            end = "\n" if percent >= 100 else ""
            print(f"\r{self.label}: {percent:3d}% {event.message:<40}", end=end, file=sys.stderr, flush=True)
        elif percent // 10 > self.last_decile:
            self.last_decile = percent // 10
            print(f"{self.label}: {percent:3d}% {event.message}", file=sys.stderr)


def _format_point(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"
