"""Every ``pdewb`` command, fed arguments a hostile or clumsy user would type.

Each example starts from a careful command line of one of the commands (small
problems that finish in seconds) and applies a few mutations: a value replaced
by trouble (zero, negative, huge and non-finite numbers, malformed assignments
and expressions, paths that are FIFOs, device nodes, links, folders, or lie below
a file), an option dropped, repeated or added, a parameter set to nonsense.
Starting from valid lines gets most examples past the parser and into the code
that does the work. Whatever the command line, ``pdewb`` ends with exit 0, 2 (one
error line), 130 or 143, never a traceback; it writes only inside the output it
was given; it leaves no temporary behind; and it never touches a trap.
"""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from fuzz_sandbox import changed_paths, check_outcome, check_traps, leftover_temporaries, within
from workbench.plugins.contributions import SurrogateContribution
from workbench.plugins.host import load_plugins

_HOST = load_plugins()
SPECS = {c.id: list(c.params) for c in _HOST.runnables() + _HOST.contributions(SurrogateContribution)}

#: Careful command lines, one or more per command; each finishes in a few seconds on a laptop.
CAREFUL = [
    ["info", "mesh.msh"], ["info", "sample:l-shape", "--json"],
    ["run", "--solver", "fem.heat", "--mesh", "mesh.msh", "--set", "dt=0.05", "--set", "t_end=0.1",
     "--bc", "hole=dirichlet:1", "--out", "out"],
    ["run", "scenario.toml", "--out", "out"],
    ["run", "--solver", "darcy.fd", "--set", "n=16", "--out", "out"],
    ["run", "--solver", "fem.poisson", "--mesh", "sample:l-shape", "--bc", "boundary=dirichlet:0", "--out", "out",
     "--json"],
    ["run", "--solver", "darcy.fem", "--mesh", "square.vtu", "--set", "n=16", "--out", "out"],
    ["run", "--solver", "spectral.burgers", "--set", "n=32", "--set", "t_end=0.05", "--set", "n_out=2", "--out", "out"],
    ["run", "--solver", "insr.advection_1d", "--set", "steps=1", "--set", "points=50", "--set", "width=8",
     "--set", "display_n=20", "--out", "out"],
    ["datagen", "--solver", "darcy.fd", "--samples", "2", "--set", "n=16", "--out", "out.h5"],
    ["datagen", "--solver", "spectral.burgers", "--samples", "2", "--set", "n=32", "--set", "t_end=0.05",
     "--set", "n_out=1", "--out", "out.h5", "--json"],
    ["train", "--surrogate", "operators.deeponet", "--data", "data.h5", "--out", "m.safetensors",
     "--set", "epochs=1", "--set", "batch_size=2", "--set", "latent=8", "--set", "branch_width=8",
     "--set", "trunk_width=8"],
    ["train", "--surrogate", "operators.fno", "--data", "data.h5", "--out", "m.safetensors", "--set", "epochs=1",
     "--set", "modes=4", "--set", "width=4", "--set", "layers=1", "--json"],
    ["compare", "--model", "model.safetensors", "--data", "data.h5", "--repeats", "1", "--batch", "2"],
    ["predict", "--model", "model.safetensors", "--mesh", "square.vtu", "--input", "3 + 9*(x > 0.5)",
     "--out", "p.vtu", "--no-resolution-check"],
    ["model", "info", "model.safetensors"],
    ["demo", "--out", "out", "--quiet"],
    ["plugins", "list", "--json"], ["plugins", "new", "my-plugin", "--kind", "solver", "--dir", "made"],
    ["plugins", "disable", "samples"], ["plugins", "enable", "samples"], ["plugins", "uninstall", "nope"],
    ["plugins", "install", "nope-package", "--no-index"],
]

NUMBERS = ["0", "-1", "1e29", "100000000000000000000000000000", "inf", "nan", "1.5", "", "x", "0x10", " 2 ", "-0"]
PATHS = ["fifo", "devnull", "link", "folder", "file-in-the-way/out.h5", "", ".", "..", "x" * 300, "new\nline.h5",
         "ünï.h5", "data.h5", "model.safetensors", "mesh.msh", "victim.txt", "config", "missing.h5",
         "project.pdewb", "scenario.toml", "sample:nope", "sample:", "square.vtu", "-", "/"]
IDS = ["no.such", "", "fem", "FEM.HEAT", "samples", "fem.heat", "darcy.fd", "operators.mgno", "insr.taylor_green",
       "spectral.navier_stokes", "movers.monge_ampere"]
TROUBLE_VALUES = ["0", "-1", "1e-12", "1e308", "inf", "-inf", "nan", "abc", "sin(x, x)", "__import__('os')",
                  "x" * 5000, "1e6", "100000000", "true", "(" * 200, "", "2.5", "1/0", "exp(1000*x)", "-0",
                  "1" * 40, "3.0", "  7 "]
BOUNDARIES = ["hole=dirichlet:1", "outer=dirichlet:0", "hole=neumann:0", "hole=natural:0", "hole=robin:1", "left=:",
              "=dirichlet:1", "hole", "hole=dirichlet:sin(x, x)", "nope=dirichlet:1", "hole=dirichlet:1/0",
              "left=dirichlet:0", "hole=dirichlet:2", "1=dirichlet:0"]
EXPRESSIONS = ["sin(x, x)", "nan", "1/0", "exp(1000*x)", "", "y" * 10000, "where(x > 0.5, 1, 12)", "0", "-1"]
NAMES = ["import", "class", "", "-", "123", "a/b", "ü", "x" * 200, "fem", "samples", "nope", "my plugin"]
TROUBLE = {"--mesh": PATHS, "--data": PATHS, "--model": PATHS, "--out": PATHS, "--dir": PATHS,
           "--solver": IDS, "--surrogate": IDS, "--samples": NUMBERS, "--batch": NUMBERS, "--seed": NUMBERS,
           "--repeats": NUMBERS, "--input": EXPRESSIONS, "--input-field": ["u", "", "region", "nope"],
           "--kind": ["nope", ""], "--bc": BOUNDARIES}
#: Flags a user may add to any command line that takes them.
FLAGS = ["--json", "--quiet", "--overwrite", "--no-resolution-check", "--no-index"]
COMMAND_WORDS = {"info", "run", "datagen", "train", "compare", "predict", "model", "demo", "plugins", "list", "new",
                 "disable", "enable", "uninstall", "install"}


def contribution_of(argv: list[str]) -> str | None:
    for option in ("--solver", "--surrogate"):
        if option in argv[:-1]:
            return argv[argv.index(option) + 1]
    return "fem.heat" if argv[:1] == ["run"] else None


@st.composite
def mutation(draw, argv: list[str]) -> list[str]:
    argv = list(argv)
    kind = draw(st.sampled_from(["value", "value", "value", "drop", "flag", "set", "set", "bc", "repeat", "word"]))
    options = [i for i, word in enumerate(argv[:-1]) if word.startswith("--") and not argv[i + 1].startswith("--")]
    if kind == "value" and options:
        i = draw(st.sampled_from(options))
        if argv[i] == "--set":
            name = argv[i + 1].partition("=")[0]
            argv[i + 1] = f"{name}={draw(st.sampled_from(TROUBLE_VALUES) | st.text(max_size=6))}"
        else:
            argv[i + 1] = draw(st.sampled_from(TROUBLE.get(argv[i], NUMBERS)) | st.text(max_size=6))
    elif kind == "drop" and options:
        i = draw(st.sampled_from(options))
        del argv[i:i + 2]
    elif kind == "flag":
        argv.append(draw(st.sampled_from(FLAGS)))
    elif kind == "set":
        specs = SPECS.get(contribution_of(argv) or "", [])
        names = [spec.name for spec in specs] + ["no_such", "seed", ""]
        argv += ["--set", f"{draw(st.sampled_from(names))}={draw(st.sampled_from(TROUBLE_VALUES))}"]
    elif kind == "bc":
        argv += ["--bc", draw(st.sampled_from(BOUNDARIES))]
    elif kind == "repeat" and options:
        i = draw(st.sampled_from(options))
        argv += [argv[i], draw(st.sampled_from(TROUBLE.get(argv[i], NUMBERS)))]
    elif kind == "word":
        positional = [i for i, word in enumerate(argv) if not word.startswith("-") and word not in COMMAND_WORDS
                      and (i == 0 or not argv[i - 1].startswith("--"))]
        if positional:
            argv[draw(st.sampled_from(positional))] = draw(st.sampled_from(PATHS + NAMES))
    return argv


@st.composite
def command_lines(draw) -> list[str]:
    argv = draw(st.sampled_from(CAREFUL))
    for _ in range(draw(st.integers(0, 3))):
        argv = draw(mutation(argv))
    return argv


def allowed_outputs(argv: list[str]) -> set[str]:
    """What the command line names as its outputs, relative to the sandbox; plus the user's folders."""
    allowed = {"config", "plugins"}
    for option, value in zip(argv, argv[1:]):
        if option in ("--out", "--dir") and value:
            allowed.add(os.path.normpath(value))
            if argv[:1] == ["train"]:  # train writes PATH.safetensors for a PATH without the suffix, and says so
                allowed.add(os.path.normpath(value) + ".safetensors")
    if argv[:2] == ["plugins", "new"]:
        named = [word for word in argv[2:] if not word.startswith("-")]
        folder = argv[argv.index("--dir") + 1] if "--dir" in argv else "."
        allowed.update(os.path.normpath(os.path.join(folder, name)) for name in named[:1] if name)
    if argv[:1] in (["run"], ["demo"]) and "--out" not in argv:
        allowed.add("results")  # the default output folder of run and demo
    return allowed


@given(argv=command_lines())
def test_no_command_line_ends_in_a_traceback_or_writes_outside_its_output(make_sandbox, argv):
    sandbox = make_sandbox()
    before = sandbox.snapshot()
    outcome = sandbox.run(argv)
    after = sandbox.snapshot()
    check_outcome(outcome, argv)
    allowed = allowed_outputs(argv)
    check_traps(sandbox, before, after, argv, allowed)
    outside = sorted(p for p in changed_paths(before, after) if not within(p, allowed))
    assert not outside, f"pdewb {' '.join(argv)} wrote outside {sorted(allowed)}: {outside}"
    if outcome.code != 130:  # an interrupted datagen keeps its partial state on purpose
        assert not leftover_temporaries(after), f"pdewb {' '.join(argv)} left {leftover_temporaries(after)}"
