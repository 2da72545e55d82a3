# How torchtitan v0.2.2 parallelises meshplan's GPT model (meshplan_gpt_model.py): Megatron-style
# tensor parallelism with sequence parallelism (the layout meshplan priced: column-parallel q, k,
# v and first MLP projections, row-parallel output projections reduce-scattered onto the
# sequence, a vocabulary-parallel embedding, head and loss), then activation checkpointing,
# torch.compile, and FSDP2 or DDP, with torchtitan's own helpers wherever they fit the model.
import torch.nn as nn
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_module, distribute_tensor
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    ParallelStyle,
    PrepareModuleInput,
    RowwiseParallel,
    SequenceParallel,
    parallelize_module,
)

from torchtitan.config import TORCH_DTYPE_MAP, JobConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import apply_ac
from torchtitan.distributed.tensor_parallel import maybe_enable_async_tp
from torchtitan.models.llama3.infra.parallelize import (
    apply_compile,
    apply_ddp,
    disable_fsdp_gradient_division,
)


def parallelize_gpt(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig):
    args = model.model_args
    if job_config.training.seq_len % parallel_dims.seq_len_divisor != 0:
        raise ValueError(
            f"seq_len {job_config.training.seq_len} must be a multiple of "
            f"{parallel_dims.seq_len_divisor} (sequence parallelism splits it over tp ranks)"
        )
    if parallel_dims.cp_enabled:
        raise ValueError("meshplan's GPT model has no context-parallel attention")
    if args.tied_embeddings and parallel_dims.pp_enabled:
        raise ValueError(
            "tied embeddings need the token table and the head on one stage: "
            "train this model with pipeline_parallel_degree = 1"
        )

    if parallel_dims.tp_enabled:
        tp_mesh = parallel_dims.get_mesh("tp")
        apply_tp(model, tp_mesh, loss_parallel=not job_config.parallelism.disable_loss_parallel)
        maybe_enable_async_tp(job_config, tp_mesh)

    compile_model = job_config.compile.enable and "model" in job_config.compile.components
    if job_config.activation_checkpoint.mode != "none":
        apply_ac(
            model,
            job_config.activation_checkpoint,
            model_compile_enabled=compile_model,
            base_folder=job_config.job.dump_folder,
        )
    if compile_model:
        apply_compile(model, job_config.compile)

    if parallel_dims.fsdp_enabled:
        names = ["dp_replicate", "fsdp"] if parallel_dims.dp_replicate_enabled else ["fsdp"]
        apply_fsdp(model, parallel_dims.get_mesh(names), job_config, parallel_dims.pp_enabled)
    elif parallel_dims.dp_replicate_enabled:
        dp_mesh = parallel_dims.get_mesh("dp_replicate")
        if parallel_dims.world_size != dp_mesh.size():
            raise RuntimeError("DDP has not supported > 1D parallelism")
        apply_ddp(model, dp_mesh, enable_compile=compile_model)
    return model


class SequenceShardedTable(ParallelStyle):
    """The learned position table split by rows over the tp ranks, as the sequence is: each rank
    adds the rows of the positions it holds, with no communication."""

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        return distribute_module(
            module,
            device_mesh,
            self._shard_rows,
            input_fn=self._sequence_sharded_input,
            output_fn=self._local_output,
        )

    @staticmethod
    def _shard_rows(name: str, module: nn.Module, device_mesh: DeviceMesh) -> None:
        for key, param in list(module.named_parameters(recurse=False)):
            sharded = distribute_tensor(param, device_mesh, [Shard(0)])
            module.register_parameter(key, nn.Parameter(sharded))

    @staticmethod
    def _sequence_sharded_input(module: nn.Module, inputs, device_mesh: DeviceMesh):
        x = inputs[0]
        if not isinstance(x, DTensor):
            x = DTensor.from_local(x, device_mesh, (Shard(1),), run_check=False)
        return (x, *inputs[1:])

    @staticmethod
    def _local_output(module: nn.Module, outputs: DTensor, device_mesh: DeviceMesh):
        return outputs.to_local()


def apply_tp(model: nn.Module, tp_mesh: DeviceMesh, loss_parallel: bool) -> None:
    ends = {}
    if model.tok_embeddings is not None:
        ends["tok_embeddings"] = RowwiseParallel(input_layouts=Replicate(), output_layouts=Shard(1))
    if model.pos_embeddings is not None:
        ends["pos_embeddings"] = SequenceShardedTable()
    if model.norm is not None:
        ends["norm"] = SequenceParallel()
    if model.output is not None:
        ends["output"] = ColwiseParallel(
            input_layouts=Shard(1),
            output_layouts=Shard(-1) if loss_parallel else Replicate(),
            use_local_output=not loss_parallel,
        )
    parallelize_module(model, tp_mesh, ends)
    # Both ends split the table by vocabulary rows (Shard(0)): one parameter serves both again.
    model.tie_embeddings()

    for block in model.layers.values():
        plan = {
            "attention_norm": SequenceParallel(),
            "attention": PrepareModuleInput(
                input_layouts=(Shard(1), None),
                desired_input_layouts=(Replicate(), None),
            ),
            "attention.wq": ColwiseParallel(),
            "attention.wk": ColwiseParallel(),
            "attention.wv": ColwiseParallel(),
            "attention.wo": RowwiseParallel(output_layouts=Shard(1)),
            "ffn_norm": SequenceParallel(),
            "feed_forward": PrepareModuleInput(
                input_layouts=(Shard(1),),
                desired_input_layouts=(Replicate(),),
            ),
            "feed_forward.w1": ColwiseParallel(),
            "feed_forward.w2": RowwiseParallel(output_layouts=Shard(1)),
        }
        if block.feed_forward.w3 is not None:
            plan["feed_forward.w3"] = ColwiseParallel()
        parallelize_module(block, tp_mesh, plan)


def apply_fsdp(
    model: nn.Module, dp_mesh: DeviceMesh, job_config: JobConfig, pp_enabled: bool
) -> None:
    training = job_config.training
    policy = job_config.parallelism.fsdp_reshard_after_forward
    if policy not in ("default", "always", "never"):
        raise ValueError(f"Invalid reshard_after_forward_policy: {policy}.")
    # torchtitan's "default": keep parameters gathered between forward and backward under PP.
    reshard = policy == "always" or (policy == "default" and not pp_enabled)
    config = {
        "mesh": dp_mesh,
        "mp_policy": MixedPrecisionPolicy(
            param_dtype=TORCH_DTYPE_MAP[training.mixed_precision_param],
            reduce_dtype=TORCH_DTYPE_MAP[training.mixed_precision_reduce],
        ),
    }
    if training.enable_cpu_offload:
        config["offload_policy"] = CPUOffloadPolicy()
    # A tied table belongs to one FSDP unit, the root's, with everything else it shares it with.
    separate_ends = not model.model_args.tied_embeddings
    if separate_ends:
        tables = [m for m in (model.tok_embeddings, model.pos_embeddings) if m is not None]
        if tables:
            fully_shard(tables, **config, reshard_after_forward=reshard)
    for block in model.layers.values():
        fully_shard(block, **config, reshard_after_forward=reshard)
    if separate_ends and model.norm is not None and model.output is not None:
        fully_shard(
            [model.norm, model.output], **config, reshard_after_forward=policy == "always"
        )
    fully_shard(model, **config)
    disable_fsdp_gradient_division(model)
