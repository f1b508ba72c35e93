"""``pdewb train``, ``pdewb compare`` and ``pdewb model``: the operator-surrogate workflow, headless."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from ..core.events import Event, Scalars
from ..core.run import RunStatus
from ..io.checkpoints import read_checkpoint_document
from ..plugins.contributions import SurrogateContribution
from ..plugins.host import load_plugins
from .commands import EXIT_OK, EXIT_RUN_FAILED, _exit_status, _parse_assignment, _ProgressPrinter
from .report import print_error, print_json, print_table


def train(args: argparse.Namespace) -> int:
    """Train a surrogate on a data set; Ctrl-C stops early and keeps the best checkpoint.

    The outcome is what happened to the checkpoint: written (the table or JSON of
    what it holds), or not written (a Ctrl-C or failure before the first epoch
    ended; any older file at the path is left alone and not reported as this
    training's). Exit 0, 2 (failed), 130 (Ctrl-C) or 143 (SIGTERM).
    """
    from ..compute.training import file_version, train_surrogate, training_request

    host = load_plugins()
    surrogate = host.get(args.surrogate, SurrogateContribution)
    request = training_request(surrogate, args.data, args.out, dict(_parse_assignment(t) for t in args.set))
    checkpoint, before = request.checkpoint, file_version(request.checkpoint)
    quiet = args.quiet or args.json
    result = train_surrogate(surrogate, request, on_event=None if quiet else _TrainingPrinter(surrogate.id))
    written = file_version(checkpoint) not in (None, before)
    status = _exit_status(result)
    if result.status is RunStatus.FAILED:
        kept = f"; the best epoch's checkpoint is in {checkpoint}" if written else ""
        print_error(f"training failed: {result.error}{kept}")
        return status
    stopped = _stop_reason(result)
    if not written:
        if stopped:
            print(f"pdewb: {stopped} before the first epoch ended: no checkpoint written", file=sys.stderr)
            return status
        print_error(f"{surrogate.id} finished training but wrote no checkpoint to {checkpoint}")
        return EXIT_RUN_FAILED
    if stopped:
        print(f"pdewb: {stopped}: the best epoch's checkpoint is in {checkpoint}", file=sys.stderr)
    document = read_checkpoint_document(checkpoint)
    if args.json:
        print_json({"status": result.status.value, "checkpoint": str(checkpoint), "document": document,
                    "curves": result.curves})
        return status
    print_table([surrogate.id, ""], _document_rows(document) + [("status", result.status.value),
                                                                ("checkpoint", str(checkpoint))])
    return status


def _stop_reason(result) -> str:
    """'interrupted' (Ctrl-C or a cancel), 'terminated (SIGTERM)', or '' for a run that was not stopped."""
    if result.status is not RunStatus.CANCELLED:
        return ""
    return "terminated (SIGTERM)" if result.terminated else "interrupted"


def compare(args: argparse.Namespace) -> int:
    """Surrogate versus reference on the samples of a (held-out) data set."""
    from ..compute.comparison import compare_surrogate

    result = compare_surrogate(load_plugins(), args.model, args.data, args.samples, args.batch, args.repeats)
    if args.json:
        print_json(result.describe())
        return EXIT_OK
    errors, speedups, break_even = result.summary, result.speedups(), result.break_even()
    grid = "x".join(map(str, result.tested_grid))
    if result.zero_shot:
        grid += f" (zero-shot; trained on {'x'.join(map(str, result.trained_grid))})"
    rows = [
        ("surrogate / reference", f"{result.surrogate_id} / {result.solver_id}"),
        ("test samples, grid", f"{_samples(len(result.seeds), errors.samples)}, {grid}"),
        ("relative L2 mean / median / p95 / max",
         f"{errors.mean:.3e} / {errors.median:.3e} / {errors.p95:.3e} / {errors.max:.3e}"),
        ("device", result.device),
    ]
    for mode, label in (("single", "1 query per call"), ("batched", f"{result.batch} queries per call")):
        rows.append((f"seconds per query, {label}",
                     f"reference {result.reference_seconds[mode]:.3e}, surrogate {result.surrogate_seconds[mode]:.3e}, "
                     f"speedup {speedups[mode]:.1f}x, break-even {_queries(break_even[mode])}"))
    if result.setup_seconds:
        rows.append(("setup (data + training)",
                     f"{result.setup_seconds['data']:.1f} s + {result.setup_seconds['training']:.1f} s"))
    rows.append(("reference reproduces the data set", f"max relative difference {result.reference_reproduction_error:.1e}"))
    if result.rollout_errors:
        rows.append(("roll-out relative L2 (mean) by step", _error_growth(result.rollout_errors)))
    print_table(["comparison", ""], rows)
    return EXIT_OK


def model_info(args: argparse.Namespace) -> int:
    """What a checkpoint holds, read from its header alone (no tensors, no torch)."""
    document = read_checkpoint_document(args.model)
    if args.json:
        print_json(document)
        return EXIT_OK
    print_table([str(args.model), ""], _document_rows(document))
    return EXIT_OK


def predict(args: argparse.Namespace) -> int:
    """A grid-trained surrogate's answer on a user's mesh, written as VTU with the resampling report."""
    from ..compute.input_ranges import trained_input_range
    from ..compute.torch_context import job_context
    from ..core.errors import ParamError
    from ..core.events import Frame
    from ..core.expressions import Expression
    from ..core.field import Field
    from ..io.checkpoints import surrogate_of
    from ..io.meshes import open_mesh
    from ..io.series import write_vtu

    host = load_plugins()
    document = read_checkpoint_document(args.model)
    contribution = host.get(surrogate_of(args.model, document), SurrogateContribution)
    mesh = open_mesh(args.mesh, host)
    if args.input is not None:
        name, values = "input", Expression(args.input)(mesh.points)
    elif args.input_field in mesh.point_data:
        name, values = args.input_field, np.asarray(mesh.point_data[args.input_field], dtype=np.float64)
    else:
        stored = ", ".join(sorted(mesh.point_data)) or "none"
        raise ParamError(f"{args.mesh} has no point field '{args.input_field}' (point fields: {stored})")
    input_range = trained_input_range(host, document)
    with job_context(contribution.requires) as device:
        surrogate = contribution.load_checkpoint(args.model, device)
        if not hasattr(surrogate, "predict_on_mesh"):
            raise ParamError(f"{contribution.id} does not predict on meshes")
        prediction = surrogate.predict_on_mesh(mesh, values, "point", resolution_check=not args.no_resolution_check,
                                               input_range=input_range)
    fields = {name: Field(name, np.asarray(values, dtype=np.float64), "point"), **prediction.fields()}
    write_vtu(args.out, mesh, Frame(0, 0.0, fields))
    report = prediction.report.to_dict()
    if args.json:
        print_json({"model": str(args.model), "mesh": str(args.mesh), "out": str(args.out), "device": str(device),
                    "fields": sorted(fields), "trained_input_range": input_range, "resampling": report})
        return EXIT_OK
    trained = "; ".join(f"[{low:g}, {high:g}]" for low, high in input_range) if input_range else "not recorded"
    rows = [("surrogate", contribution.id), ("mesh", f"{args.mesh}: {mesh.n_points} points"),
            ("input range trained on (checked)" if input_range else "input range trained on", trained),
            ("fields written", f"{', '.join(sorted(fields))} -> {args.out}")]
    rows += [(f"resampling: {key.replace('_', ' ')}", _number(value)) for key, value in report.items()]
    print_table(["prediction on a mesh", ""], rows)
    return EXIT_OK


def _number(value: Any) -> Any:
    return f"{value:.3e}" if isinstance(value, float) else ("-" if value is None else value)


def _document_rows(document: dict[str, Any]) -> list[tuple[str, Any]]:
    task, training, metrics = document.get("task", {}), document.get("training", {}), document.get("metrics", {})
    architecture = document.get("architecture", {})
    rows = [("surrogate", document.get("surrogate")),
            ("learned from", f"{task.get('solver')} {task.get('solver_version', '')}".strip()),
            ("grid", "x".join(map(str, grid)) if isinstance(grid := task.get("grid", []), list) else grid),
            ("architecture", ", ".join(f"{k}={v}" for k, v in architecture.items()))]
    if "parameters" in document:
        rows.append(("parameters", _formatted(document["parameters"], ",")))
    if training:
        seconds = _formatted(training.get("seconds", 0.0), ".1f")
        rows.append(("training", f"{training.get('epochs_run')} epochs in {seconds} s, "
                                 f"best epoch {training.get('best_epoch')}"))
    rows += [(name, f"{value:.4g}" if isinstance(value, float) else value) for name, value in metrics.items()]
    return rows


def _formatted(value: Any, spec: str) -> str:
    """A number of the (untrusted) document in ``spec``; anything else as it is."""
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _error_growth(errors: list[float]) -> str:
    """Roll-out errors at steps 1, 5 and 10 (those there are) and at the last step."""
    steps = sorted({step for step in (1, 5, 10) if step <= len(errors)} | {len(errors)})
    return ", ".join(f"step {step}{' (last)' if step == len(errors) and step > 1 else ''} {errors[step - 1]:.3e}"
                     for step in steps)


def _samples(samples: int, pairs: int) -> str:
    """'3 samples (33 pairs)' when an autoregressive task cuts each sample into windows."""
    return str(samples) if pairs == samples else f"{samples} samples ({pairs} input/target pairs)"


def _queries(count: float | None) -> str:
    if count is None:
        return "unknown (no setup cost recorded)"
    return "never (not faster)" if count == float("inf") else f"{int(count):,} queries"


class _TrainingPrinter(_ProgressPrinter):
    """Progress plus, on a terminal or every tenth, the epoch's losses."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, Scalars) and not self.interactive and event.step % 10 == 0:
            losses = ", ".join(f"{k} {v:.3e}" for k, v in event.values.items())
            print(f"{self.label}: epoch {event.step}: {losses}", file=sys.stderr)
        super().__call__(event)
