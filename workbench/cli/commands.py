"""The ``pdewb`` sub-commands. Each takes parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..compute.runner import build_problem, run_solver
from ..core.errors import ParamError, ScenarioError
from ..core.events import Event, LogMessage, Progress
from ..core.metrics import relative_l2
from ..core.problem import BoundaryCondition
from ..core.run import Run, RunStatus
from ..io.meshes import open_mesh
from ..io.scenario import Scenario, load_scenario
from ..io.series import write_pvd_series
from ..plugins.host import load_plugins
from .report import print_json, print_table

EXIT_OK, EXIT_RUN_FAILED, EXIT_CANCELLED = 0, 2, 130


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
    result, pvd = _run_scenario(scenario, out, quiet=args.quiet or args.json)
    return _report_run(args, result, pvd)


def datagen(args: argparse.Namespace) -> int:
    """Generate (or resume) a data set; Ctrl-C keeps the partial file for the next run."""
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
        print(f"pdewb: interrupted after {stop.completed} of {stop.samples} samples; run the same command to resume",
              file=sys.stderr)
        return EXIT_CANCELLED
    if args.json:
        print_json(summary.describe())
        return EXIT_OK
    rows = [("output", str(summary.path)), ("samples", summary.samples),
            ("resumed from", summary.resumed_from), ("wall time", f"{summary.seconds:.3f} s"),
            ("samples/s", f"{summary.samples_per_s:.3g}")]
    rows += [(f"field {name}", f"{summary.dtypes[name]} {tuple(shape)}") for name, shape in summary.fields.items()]
    print_table([solver.id, ""], rows)
    return EXIT_OK


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
    heat, pvd = _run_scenario(scenario, Path(args.out), quiet=quiet, host=host, mesh=mesh)
    if heat.status is RunStatus.SUCCEEDED:
        steady_solver = host.solver("fem.poisson")
        steady = run_solver(steady_solver, build_problem(steady_solver, mesh, {"source": "0"}, scenario.boundary))
        if steady.status is RunStatus.SUCCEEDED:
            final, limit = heat.frames[-1].fields["u"].values, steady.frames[-1].fields["u"].values
            heat.metrics["relative_l2_to_steady_state"] = relative_l2(mesh, final, limit)
            heat.metrics["steady_state_solve_s"] = steady.timings["wall_s"]
    return _report_run(args, heat, pvd)


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


def _run_scenario(scenario: Scenario, out: Path, quiet: bool, host=None, mesh=None) -> tuple[Run, Path | None]:
    host = host or load_plugins()
    solver = host.runnable(scenario.solver)
    if mesh is None and not solver.grid:
        if not scenario.mesh:
            raise ScenarioError(f"'{solver.id}' solves on a mesh: give --mesh (a file or sample:ID)")
        mesh = open_mesh(scenario.mesh, host, base=scenario.base)
    problem = build_problem(solver, mesh, scenario.parameters, scenario.boundary)
    mesh = problem.mesh
    result = run_solver(solver, problem, on_event=None if quiet else _ProgressPrinter(solver.id))
    pvd = write_pvd_series(out, solver.id.replace(".", "-"), mesh, result.frames) if result.frames else None
    return result, pvd


def _report_run(args: argparse.Namespace, result: Run, pvd: Path | None) -> int:
    status = {RunStatus.SUCCEEDED: EXIT_OK, RunStatus.CANCELLED: EXIT_CANCELLED}.get(result.status, EXIT_RUN_FAILED)
    if args.json:
        print_json(_run_summary(result, pvd))
        return status
    if result.status is RunStatus.FAILED:
        saved = f"; {len(result.frames)} frame(s) before the failure saved to {pvd}" if pvd else ""
        print(f"pdewb: error: run failed: {result.error}{saved}", file=sys.stderr)
        return status
    rows = [("status", result.status.value), ("frames", len(result.frames)),
            ("time span", f"{result.times[0]:g} .. {result.times[-1]:g}" if result.frames else "-"),
            ("wall time", f"{result.timings.get('wall_s', 0.0):.3f} s")]
    rows += [(name, f"{value:.4g}") for name, value in result.metrics.items()]
    rows.append(("output", str(pvd) if pvd else "-"))
    print_table([result.solver_id, ""], rows)
    return status


def _run_summary(result: Run, pvd: Path | None) -> dict[str, Any]:
    return {
        "solver": result.solver_id,
        "status": result.status.value,
        "error": result.error,
        "parameters": {k: v for k, v in result.params.items()},
        "frames": len(result.frames),
        "times": result.times.tolist(),
        "timings": result.timings,
        "metrics": result.metrics,
        "output": str(pvd) if pvd else None,
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
