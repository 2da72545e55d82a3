"""Imports the Python meshplan's torchtitan export writes and builds the registered flavor's model
on the meta device, with torchtitan itself stood in for (it is not installed here, and its model
code needs a newer torch): the stubs hold exactly the torchtitan v0.2.2 names the emitted modules
import (the test checks the names against the release), shaped as they are there, and nothing
that sizes the model. meshplan_gpt_parallelize is stood in for too: it needs torch.distributed
APIs newer than this torch, and is compiled, not run.

usage: python torchtitan_meta_build.py DIR MODULE [DIR MODULE ...]
prints a JSON list, one object per pair: {"spec": name, "flavors": {name: kwargs}, "params": count
or null (llama3's own model, sized from its kwargs by the test)}
"""
import dataclasses
import json
import sys
import types

import torch
from torch import nn


def module(name, **names):
    m = types.ModuleType(name)
    m.__dict__.update(names)
    sys.modules[name] = m
    return m


@dataclasses.dataclass
class BaseModelArgs:
    _enforced: str = "This field is used to enforce all fields have defaults."


class ModelProtocol(nn.Module):
    def __init__(self, model_args):
        super().__init__()


@dataclasses.dataclass
class TrainSpec:
    # torchtitan/protocols/train_spec.py TrainSpec's fields at v0.2.2.
    model_cls: object = None
    model_args: object = None
    parallelize_fn: object = None
    pipelining_fn: object = None
    build_optimizers_fn: object = None
    build_lr_schedulers_fn: object = None
    build_dataloader_fn: object = None
    build_tokenizer_fn: object = None
    build_loss_fn: object = None
    build_validator_fn: object = None
    build_metrics_processor_fn: object = None
    state_dict_adapter: object = None


class TransformerModelArgs:
    """Records the keyword arguments llama3's args dataclass is given."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs


registered = {}

for package in ("torchtitan", "torchtitan.models", "torchtitan.protocols", "torchtitan.models.llama3.model"):
    module(package)
module("torchtitan.protocols.model", BaseModelArgs=BaseModelArgs, ModelProtocol=ModelProtocol)
module(
    "torchtitan.protocols.train_spec",
    register_train_spec=lambda name, spec: registered.__setitem__(name, spec),
)
module(
    "torchtitan.models.llama3",
    TransformerModelArgs=TransformerModelArgs,
    get_train_spec=lambda: TrainSpec(model_args={}),
)
module(
    "torchtitan.models.llama3.model.model",
    # The rotary cache is a buffer, not a parameter: its size does not matter here.
    precompute_freqs_cis=lambda dim, end, theta=10000.0: torch.zeros(end, dim // 2),
    apply_rotary_emb=lambda xq, xk, freqs_cis, positions=None: (xq, xk),
)
module(
    "torchtitan.models.utils",
    get_dense_model_nparams_and_flops=lambda *args: (0, 0),
    trunc_normal_=lambda tensor, mean=0.0, std=1.0, a=-2.0, b=2.0: tensor,
)
module("meshplan_gpt_parallelize", parallelize_gpt=lambda model, parallel_dims, job_config: model)

if not hasattr(nn, "RMSNorm"):
    # torch 1.13 predates nn.RMSNorm (2.4); its parameters are one scale per hidden unit.
    class RMSNorm(nn.Module):
        def __init__(self, dim, eps=None):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(dim))

    nn.RMSNorm = RMSNorm


def on_meta():
    """Factory functions on the meta device: torch.device("meta") as a context (torch >= 2.0), or
    the TorchFunctionMode it is built on."""
    if hasattr(torch.device("meta"), "__enter__"):
        return torch.device("meta")
    from torch.overrides import TorchFunctionMode

    factories = {torch.empty, torch.zeros, torch.ones, torch.full, torch.arange}

    class MetaFactories(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            if func in factories and kwargs.get("device") is None:
                kwargs["device"] = "meta"
            return func(*args, **kwargs)

    return MetaFactories()


def build(directory, name):
    """Imports the registering module from `directory` and builds each flavor it registers."""
    registered.clear()
    for mine in [m for m in sys.modules if m.startswith("meshplan_") and m != "meshplan_gpt_parallelize"]:
        del sys.modules[mine]
    sys.path.insert(0, directory)
    try:
        __import__(name)
    finally:
        sys.path.remove(directory)
    [(spec_name, spec)] = registered.items()
    flavors = {}
    params = None
    for flavor, args in spec.model_args.items():
        if isinstance(args, TransformerModelArgs):
            flavors[flavor] = args.kwargs
            continue
        flavors[flavor] = dataclasses.asdict(args)
        with on_meta():
            model = spec.model_cls(args)
        # parameters() yields a tied table once.
        params = sum(p.numel() for p in model.parameters())
    return {"spec": spec_name, "flavors": flavors, "params": params}


pairs = sys.argv[1:]
print(json.dumps([build(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]))
