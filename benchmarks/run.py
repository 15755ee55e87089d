"""Run every benchmark, print the tables, write results.json.

    python benchmarks/run.py [--quick] [--json PATH]

All ratios are to a baseline measured in the same run (a hand-fused numpy
version); PyTorch rows appear when torch is installed. One BLAS thread.
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import bench_conv
import bench_cross_entropy
import bench_gelu
import bench_training_step
from common import load_torch, machine, write_json

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {(32, 128): 1.3, (256, 128): 1.2, (256, 1024): 1.1}


def import_times(repeats: int = 7) -> dict[str, float]:
    """Median seconds of a fresh interpreter importing the package (and all its course modules)."""
    out = {}
    for label, statement in [("python -c pass", "pass"), ("import tinytorch", "import tinytorch"),
                             ("import every tinytorch module",
                              "import tinytorch.core.training, tinytorch.core.losses, tinytorch.data.loader")]:
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
            samples.append(time.perf_counter() - start)
        out[label] = statistics.median(samples)
    return out


def milestone_time() -> dict[str, float | str]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "milestones" / "03_mlp_digits.py"), "--no-progress"],
                            capture_output=True, text=True, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    training = float(re.search(r"training time: ([\d.]+) s", result.stdout).group(1))
    return {"wall_s": wall, "training_s": training, "result": result.stdout.strip().splitlines()[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    torch = load_torch()
    names = ["numpy", "tinytorch"] + (["pytorch"] if torch is not None else [])

    steps = bench_training_step.run(rounds=10 if args.quick else 60)
    table = Table(title="MLP 64-H-H-10 training step (forward, CE, backward, SGD momentum), 1 BLAS thread")
    for column in ["batch, H", *[f"{n} ms" for n in names], *[f"{n} ratio" for n in names], "target",
                   "peak memory vs numpy"]:
        table.add_column(column, justify="right")
    for row in steps:
        key = (row["batch"], row["hidden"])
        table.add_row(f"{key[0]}, {key[1]}", *[f"{row['ms'][n]:.3f}" for n in names],
                      *[f"{row['ratio'][n]:.2f}x" for n in names], f"<= {TARGETS[key]}x",
                      f"{row['memory']['ratio']:.2f}")
    console.print(table)

    ce = bench_cross_entropy.run(rounds=3 if args.quick else 7)
    table = Table(title="Cross-entropy forward + backward, float32")
    for column in ["B, C", *[f"{n} ms" for n in names], *[f"{n} ratio" for n in names],
                   "peak B x C buffers (numpy / tinytorch)"]:
        table.add_column(column, justify="right")
    for row in ce:
        table.add_row(f"{row['batch']}, {row['classes']}", *[f"{row['ms'][n]:.3f}" for n in names],
                      *[f"{row['ratio'][n]:.2f}x" for n in names],
                      f"{row['peak_buffers']['numpy']:.2f} / {row['peak_buffers']['tinytorch']:.2f}")
    console.print(table)

    conv = bench_conv.run(rounds=4 if args.quick else 40)
    table = Table(title="Milestone 04 CNN training step (conv, ReLU, max-pool x2, Linear, CE, backward, Adam), 1 thread")
    for column in ["batch", *[f"{n} ms" for n in names if n != "numpy"], "tinytorch / pytorch (quartiles)", "target",
                   "im2col buffers (conv1, conv2)"]:
        table.add_column(column, justify="right")
    for row in conv["training_step"]:
        table.add_row(str(row["batch"]), *[f"{row['ms'][n]:.3f}" for n in names if n != "numpy"],
                      (f"{row['ratio']:.2f}x ({row['ratio_quartiles'][0]:.2f}-{row['ratio_quartiles'][1]:.2f})"
                       if "ratio" in row else "-"), "<= 1.0x",
                      " + ".join(f"{b / 1024:.0f} KiB" for b in row["im2col_bytes"]))
    console.print(table)
    cifar = conv["cifar_layer"]
    console.print(f"CIFAR-sized conv 3->16->32 on (64, 3, 32, 32), forward + backward: "
                  + ", ".join(f"{n} {ms:.1f} ms" for n, ms in cifar["ms"].items())
                  + (f", ratio {cifar['ratio']:.2f}x (no target)" if "ratio" in cifar else "")
                  + f"; im2col buffers {' + '.join(f'{b / 2 ** 20:.1f} MiB' for b in cifar['im2col_bytes'])}"
                  f" for a {cifar['input_bytes'] / 2 ** 20:.2f} MiB input")

    gelu = bench_gelu.run(rounds=5 if args.quick else 15)
    console.print(f"GELU on {tuple(gelu['shape'])} float32, forward + backward, ratio to ReLU (q25 / median / q75): "
                  + ", ".join(f"{name} " + " / ".join(f"{r:.1f}x" for r in spread)
                              for name, spread in gelu["ratio_to_relu"].items() if name != "relu"))

    imports = import_times(3 if args.quick else 7)
    milestone = milestone_time()
    console.print("import times: " + ", ".join(f"{k}: {v:.3f} s" for k, v in imports.items()))
    console.print(f"milestone 03: {milestone['training_s']:.2f} s training, {milestone['wall_s']:.2f} s wall, "
                  f"{milestone['result']}")
    write_json(Path(args.json), {"machine": machine(), "training_step": steps, "cross_entropy": ce, "conv": conv, "gelu": gelu,
                                 "import_s": imports, "milestone_03": milestone,
                                 "torch": getattr(torch, "__version__", None)})
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
