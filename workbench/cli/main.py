"""``pdewb``: the headless command line of PDE Workbench.

Every command accepts ``--json`` for machine-readable output on stdout, which
nothing else writes to (a plugin's prints go to stderr). User errors (a bad
mesh, parameter, scenario or plugin; a full disk) print one line on stderr and
exit with status 2; Ctrl-C exits with 130 and SIGTERM with 143, after the work
done so far has been written as after Ctrl-C. The CLI imports neither PySide6
nor torch unless the chosen plugin does.
"""

from __future__ import annotations

import signal
import sys


def _loading_interrupted(number, frame) -> None:
    _loading_interrupted.seen = True
    raise KeyboardInterrupt


# Ctrl-C while Python is still loading numpy and friends: nothing has started, so exit as interrupted.
# numpy's C start-up turns a KeyboardInterrupt into an ImportError, hence the flag the handler sets.
_loading_interrupted.seen = False
try:
    _previous_sigint = signal.signal(signal.SIGINT, _loading_interrupted)
except ValueError:  # imported outside the main thread: no handler to install
    _previous_sigint = None
try:
    import argparse
    import os
    from collections.abc import Sequence

    from .. import __version__
    from ..core.errors import WorkbenchError
    from ..core.interrupts import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, terminate_as_interrupt
    from . import arguments, commands, plugin_commands, surrogate_commands
    from .report import print_error, reserved_stdout
except BaseException as error:
    if not (_loading_interrupted.seen or isinstance(error, KeyboardInterrupt)):
        raise
    print("pdewb: interrupted", file=sys.stderr)
    raise SystemExit(130) from None
finally:
    if _previous_sigint is not None:
        signal.signal(signal.SIGINT, _previous_sigint)

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and the CLI's exit status."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(f"{message} (see '{self.prog} --help')")


class CommandLineError(WorkbenchError):
    pass


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON on stdout")

    parser = _Parser(prog="pdewb", description="PDE Workbench, headless.", parents=[common])
    parser.add_argument("--version", action="version", version=f"pdewb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    info = sub.add_parser("info", parents=[common], help="describe a mesh file")
    info.add_argument("mesh", help="mesh file (any meshio format) or sample:ID")
    info.set_defaults(handler=commands.info)

    plugin_commands.add_parsers(sub, common, _Parser)

    run = sub.add_parser("run", parents=[common], help="run a solver and write a VTU/PVD time series")
    run.add_argument("scenario", nargs="?", help="scenario TOML file (or give --mesh and --solver)")
    run.add_argument("--mesh", type=arguments.path, help="mesh file or sample:ID (overrides the scenario's)")
    run.add_argument("--solver", help="solver id, e.g. fem.heat (overrides the scenario's)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a parameter")
    run.add_argument(
        "--bc", action="append", default=[], metavar="TAG=KIND:VALUE", help="boundary condition, e.g. hole=dirichlet:1"
    )
    run.add_argument("--out", type=arguments.path, help="output folder (default: the scenario's, else results/SOLVER)")
    run.add_argument("--overwrite", action="store_true", help="replace the series already in the output folder")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    run.set_defaults(handler=commands.run)

    datagen = sub.add_parser("datagen", parents=[common], help="generate a seeded HDF5 training data set")
    datagen.add_argument("--solver", required=True, help="solver id with a data set generator, e.g. darcy.fd")
    datagen.add_argument("--samples", required=True, type=arguments.count, metavar="N", help="number of samples")
    datagen.add_argument("--batch", type=arguments.count, default=32, metavar="B",
                         help="samples per batch (default 32)")
    datagen.add_argument("--seed", type=int, default=0, metavar="S", help="base seed, 0 to 2^63-1 (default 0)")
    datagen.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a parameter")
    datagen.add_argument("--out", required=True, metavar="PATH.h5", type=arguments.path, help="output HDF5 file")
    datagen.add_argument("--overwrite", action="store_true",
                         help="replace an existing file; discard a partial state of other settings")
    datagen.add_argument("--quiet", action="store_true", help="no progress on stderr")
    datagen.set_defaults(handler=commands.datagen)

    train = sub.add_parser("train", parents=[common], help="train an operator surrogate on a data set")
    train.add_argument("--surrogate", required=True, help="surrogate id, e.g. operators.fno")
    train.add_argument("--data", required=True, metavar="PATH.h5", type=arguments.path,
                       help="training data set (pdewb datagen)")
    train.add_argument("--out", required=True, metavar="PATH.safetensors", type=arguments.path,
                       help="checkpoint to write")
    train.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a hyperparameter")
    train.add_argument("--quiet", action="store_true", help="no progress on stderr")
    train.set_defaults(handler=surrogate_commands.train)

    compare = sub.add_parser("compare", parents=[common], help="surrogate versus reference on held-out samples")
    compare.add_argument("--model", required=True, metavar="PATH.safetensors", type=arguments.path,
                         help="trained surrogate checkpoint")
    compare.add_argument("--data", required=True, metavar="PATH.h5", type=arguments.path,
                         help="test data set (other seeds than training)")
    compare.add_argument("--samples", type=arguments.count, metavar="N", help="use the first N samples (default: all)")
    compare.add_argument("--batch", type=arguments.count, default=32, metavar="B",
                         help="queries per call when batched (32)")
    compare.add_argument("--repeats", type=arguments.count, default=3, metavar="R",
                         help="timing repeats (median; default 3)")
    compare.set_defaults(handler=surrogate_commands.compare)

    model = sub.add_parser("model", parents=[common], help="inspect surrogate checkpoints")
    model_sub = model.add_subparsers(dest="model_command", required=True, parser_class=_Parser)
    model_info = model_sub.add_parser("info", parents=[common], help="what a checkpoint holds (header only)")
    model_info.add_argument("model", metavar="PATH.safetensors")
    model_info.set_defaults(handler=surrogate_commands.model_info)

    predict = sub.add_parser("predict", parents=[common], help="a grid-trained surrogate's answer on a mesh (VTU)")
    predict.add_argument("--model", required=True, metavar="PATH.safetensors", type=arguments.path,
                         help="trained surrogate checkpoint")
    predict.add_argument("--mesh", required=True, type=arguments.path,
                         help="mesh file (any meshio format) or sample:ID")
    given = predict.add_mutually_exclusive_group(required=True)
    given.add_argument("--input", metavar="EXPR", help="the input field as an expression of x, y (at the nodes)")
    given.add_argument("--input-field", metavar="NAME", help="a point field stored in the mesh file")
    predict.add_argument("--out", required=True, metavar="PATH.vtu", type=arguments.path,
                         help="mesh with the input and the prediction")
    predict.add_argument("--no-resolution-check", action="store_true",
                         help="skip the repeat of the prediction on a grid twice as fine")
    predict.set_defaults(handler=surrogate_commands.predict)

    demo = sub.add_parser("demo", parents=[common], help="solve the heat equation on a sample mesh")
    demo.add_argument("--out", default=commands.DEMO_OUTPUT, type=arguments.path,
                      help=f"output folder (default: {commands.DEMO_OUTPUT}, whose earlier demo is replaced)")
    demo.add_argument("--overwrite", action="store_true", help="replace the series already in another --out folder")
    demo.add_argument("--quiet", action="store_true", help="no progress on stderr")
    demo.set_defaults(handler=commands.demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        with terminate_as_interrupt(), reserved_stdout():
            args = parser.parse_args(argv)
            args.json = getattr(args, "json", False)
            return args.handler(args)
    except WorkbenchError as error:
        print_error(_one_line(error))
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into `head` and friends: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # full disk, permissions, ...: the user's environment, not a bug
        print_error(_one_line(error))
        return EXIT_USER_ERROR
    except Terminated:
        print("pdewb: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("pdewb: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print_error("not enough memory for this request (a size or count too large?)")
        return EXIT_USER_ERROR


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
