"""Train the DMM mesh mover and write its checkpoint (the one shipped with the plugin by default).

    .venv/bin/python plugins/pdewb-movers/tools/train_dmm.py                       # the shipped checkpoint
    .venv/bin/python plugins/pdewb-movers/tools/train_dmm.py --epochs 2 --out /tmp/dmm.safetensors

Data-free: the fields are seeded rings and multi-Gaussian fronts (pdewb_movers.dmm.fronts,
seeds 0..N-1; validation N..N+V-1; the benchmark's held-out seeds start at 1,000,000).
One torch thread (PDEWB_TORCH_THREADS overrides). The command line, seed and timings
are recorded in the checkpoint's header ("training").
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from pdewb_movers.dmm.checkpoint import checkpoint_document, save_checkpoint
from pdewb_movers.dmm.training import DMMTrainConfig, DMMTrainState, build_network, train_job

from workbench.compute.torch_context import cpu_threads
from workbench.core.events import Scalars

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "pdewb_movers" / "data" / "dmm_unit_square.safetensors"


def main() -> None:
    defaults = DMMTrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--fields", type=int, default=defaults.training_fields)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    args = parser.parse_args()
    config = DMMTrainConfig(training_fields=args.fields, epochs=args.epochs, learning_rate=args.lr, seed=args.seed)
    network, state = build_network(config), DMMTrainState()
    started = time.perf_counter()
    with cpu_threads():
        for event in train_job(network, config, state):
            if isinstance(event, Scalars):
                values = ", ".join(f"{k} {v:.4g}" for k, v in event.values.items())
                print(f"epoch {event.step:3d}: {values} ({time.perf_counter() - started:.0f} s)", flush=True)
    wall = time.perf_counter() - started
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "plugins/pdewb-movers/tools/train_dmm.py",
                                               *sys.argv[1:]])
    training = {"config": config.to_dict(), "results": state.results(), "command": command,
                "wall_seconds": round(wall, 2)}
    path = save_checkpoint(args.out, network, checkpoint_document(network, config.monitor, training,
                                                                list(config.grids)))
    print(f"trained in {wall:.1f} s (monitors {state.setup_seconds:.1f} s, epochs {state.train_seconds:.1f} s), "
          f"best epoch {state.best_epoch}; wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
