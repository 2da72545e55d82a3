"""Records what DeepSpeed's own stage partitioning returns, as a test oracle for meshplan's port.

Usage: python3 scripts/deepspeed-partitions.py DEEPSPEED_GIT_DIR [REF] > test/fixtures/deepspeed-partitions.json

It reads `partition_uniform` and `partition_balanced` from deepspeed/runtime/utils.py at REF
(default v0.16.4) out of a DeepSpeed git directory, runs them (they need numpy only) on a fixed
set of inputs and writes inputs and outputs as JSON. Nothing of DeepSpeed is kept in the project:
only the numbers its functions return.
"""

import ast
import json
import random
import subprocess
import sys

FUNCTIONS = ("partition_uniform", "partition_balanced")


def load(git_dir: str, ref: str) -> dict:
    source = subprocess.run(
        ["git", "-C", git_dir, "show", f"{ref}:deepspeed/runtime/utils.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wanted = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name in FUNCTIONS]
    namespace: dict = {}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "utils.py", "exec"), namespace)
    return namespace


def cases() -> tuple[list, list]:
    rng = random.Random(12)
    uniform = [(items, parts) for items in range(1, 14) for parts in range(1, 7)]
    balanced = []
    # Small random weights: ties, zero weights, and the cases where the DP is not optimal.
    for _ in range(120):
        n = rng.randint(1, 10)
        balanced.append(([rng.randint(0, 6) for _ in range(n)], rng.randint(1, 6)))
    # The layer lists meshplan names: embedding, blocks, final norm, head.
    for blocks in (1, 2, 3, 5, 8, 12, 13):
        for parts in (2, 3, 4, 5, 8):
            balanced.append(([0] + [1] * blocks + [0, 0], parts))
            balanced.append(([100] + [70] * blocks + [1, 100], parts))
            balanced.append(([100] + [70] * blocks + [1, 0], parts))
    return uniform, balanced


def main() -> None:
    git_dir = sys.argv[1]
    ref = sys.argv[2] if len(sys.argv) > 2 else "v0.16.4"
    ds = load(git_dir, ref)
    uniform, balanced = cases()
    out = {
        "source": f"deepspeed/runtime/utils.py at {ref}, run by scripts/deepspeed-partitions.py",
        "uniform": [
            {"items": i, "parts": p, "result": [int(x) for x in ds["partition_uniform"](i, p)]} for i, p in uniform
        ],
        "balanced": [
            {"weights": w, "parts": p, "result": [int(x) for x in ds["partition_balanced"](w, p)]}
            for w, p in balanced
        ],
    }
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
