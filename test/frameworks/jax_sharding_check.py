"""Reads back what meshplan's jax_sharding.py files say, for test/frameworks/jax-export.test.ts.

    python3 jax_sharding_check.py read FILE...   prints, per file, its constants as JSON, read with
                                                  ast (PartitionSpecs as lists, None as null)
    python3 jax_sharding_check.py run FILE       with JAX installed: imports FILE on DEVICES fake
                                                  CPU devices, builds its meshes and every
                                                  NamedSharding, and prints each parameter's shard
                                                  shape for the shapes given as JSON on stdin
"""

import ast
import json
import os
import sys

NAMES = ("MESH_AXES", "DEVICES", "REPLICAS", "REPLICA_AXIS", "MICROBATCHES", "STAGES", "PARTITION_SPECS", "STATE_SPECS")


def value(node):
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == "P"):
            raise ValueError(f"unexpected call {ast.dump(node.func)}")
        return [value(a) for a in node.args]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {value(k): value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Constant):
        return node.value
    raise ValueError(f"not a literal: {ast.dump(node)}")


def read(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in NAMES:
                found[node.targets[0].id] = value(node.value)
    return found


def run(path, shapes):
    import importlib.util

    spec = importlib.util.spec_from_file_location("jax_sharding", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    meshes = module.stage_meshes()
    out = {
        "meshes": [dict(m.shape) for m in meshes],
        "stageParams": [sorted(stage) for stage in module.PARTITION_SPECS],
        "shards": {},
        "state_shards": {},
    }
    for name, sharding in module.parameter_shardings(meshes).items():
        out["shards"][name] = list(sharding.shard_shape(tuple(shapes[name])))
    if module.STATE_SPECS is not None:
        for name, sharding in module.parameter_shardings(meshes, module.STATE_SPECS).items():
            out["state_shards"][name] = list(sharding.shard_shape(tuple(shapes[name])))
    return out


def main():
    mode, *paths = sys.argv[1:]
    if mode == "read":
        json.dump([read(p) for p in paths], sys.stdout)
    elif mode == "run":
        devices = read(paths[0])["DEVICES"]
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        os.environ["JAX_PLATFORMS"] = "cpu"
        json.dump(run(paths[0], json.load(sys.stdin)), sys.stdout)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
