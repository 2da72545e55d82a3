# A decoder-only transformer for torchtitan v0.2.2, written by meshplan: the model meshplan priced
# when it is not one torchtitan ships (LayerNorm with its shift, GELU, biases on the linear layers,
# a learned position table, tied embeddings, dropout), as torch modules torchtitan's trainer,
# pipeline split and checkpointing accept. Module names follow torchtitan's llama3 model
# (tok_embeddings, layers.N, norm, output), so its pipeline split and activation checkpointing
# find them; the learned position table is `pos_embeddings`, on the first stage with the tokens.
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from torchtitan.models.llama3.model.model import apply_rotary_emb, precompute_freqs_cis
from torchtitan.models.utils import get_dense_model_nparams_and_flops, trunc_normal_
from torchtitan.protocols.model import BaseModelArgs, ModelProtocol


@dataclass
class GPTModelArgs(BaseModelArgs):
    dim: int = 768
    n_layers: int = 12
    n_heads: int = 12
    n_kv_heads: int = 12
    head_dim: int = 64
    ffn_hidden: int = 3072
    vocab_size: int = 50257
    max_seq_len: int = 2048
    activation: str = "gelu"  # "gelu", "squared_relu", or the gated "swiglu" and "geglu"
    norm: str = "layernorm"  # "layernorm" (scale and shift) or "rmsnorm"
    bias: bool = True
    position: str = "learned"  # "learned" (a table of max_seq_len rows) or "rope"
    tied_embeddings: bool = True
    dropout: float = 0.1
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    def update_from_config(self, job_config, **kwargs) -> None:
        # The learned table (and the rotary cache) covers the sequence the job trains on.
        self.max_seq_len = job_config.training.seq_len

    def get_nparams_and_flops(self, model: nn.Module, seq_len: int) -> tuple[int, int]:
        return get_dense_model_nparams_and_flops(
            self, model, 2 * self.head_dim, seq_len
        )


def build_norm(args: GPTModelArgs) -> nn.Module:
    if args.norm == "rmsnorm":
        return nn.RMSNorm(args.dim, eps=args.norm_eps)
    return nn.LayerNorm(args.dim, eps=args.norm_eps)


class PositionTable(nn.Module):
    """A learned absolute position per token, added to the token embeddings of every sequence."""

    def __init__(self, args: GPTModelArgs):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(args.max_seq_len, args.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight


class CausalAttention(nn.Module):
    """Fused causal attention with dropout on the probabilities (q, k, v first, as context
    parallelism expects of an attention kernel module)."""

    def __init__(self, dropout: float, enable_gqa: bool):
        super().__init__()
        self.dropout = dropout
        self.enable_gqa = enable_gqa

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(
            q,
            k,
            v,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=True,
            enable_gqa=self.enable_gqa,
        )


class Attention(nn.Module):
    def __init__(self, args: GPTModelArgs):
        super().__init__()
        self.head_dim = args.head_dim
        self.dropout = args.dropout
        self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=args.bias)
        self.wk = nn.Linear(args.dim, args.n_kv_heads * self.head_dim, bias=args.bias)
        self.wv = nn.Linear(args.dim, args.n_kv_heads * self.head_dim, bias=args.bias)
        self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=args.bias)
        self.inner_attention = CausalAttention(
            args.dropout, enable_gqa=args.n_kv_heads < args.n_heads
        )

    def forward(self, x: torch.Tensor, freqs_cis: torch.Tensor | None) -> torch.Tensor:
        bs, seqlen, _ = x.shape
        # -1 heads: tensor parallelism leaves each rank its share of them.
        q = self.wq(x).view(bs, seqlen, -1, self.head_dim)
        k = self.wk(x).view(bs, seqlen, -1, self.head_dim)
        v = self.wv(x).view(bs, seqlen, -1, self.head_dim)
        if freqs_cis is not None:
            q, k = apply_rotary_emb(q, k, freqs_cis=freqs_cis)
        out = self.inner_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        out = out.transpose(1, 2).contiguous().view(bs, seqlen, -1)
        return F.dropout(self.wo(out), p=self.dropout, training=self.training)


def squared_relu(x: torch.Tensor) -> torch.Tensor:
    return torch.square(F.relu(x))


def gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


# The nonlinearity on w1's output, and whether w3 gates it (the GLUs).
ACTIVATIONS = {
    "gelu": (gelu, False),
    "squared_relu": (squared_relu, False),
    "swiglu": (F.silu, True),
    "geglu": (gelu, True),
}


class FeedForward(nn.Module):
    def __init__(self, args: GPTModelArgs):
        super().__init__()
        self.nonlinearity, gated = ACTIVATIONS[args.activation]
        self.w1 = nn.Linear(args.dim, args.ffn_hidden, bias=args.bias)
        self.w2 = nn.Linear(args.ffn_hidden, args.dim, bias=args.bias)
        # The gated units' up projection; GELU and squared ReLU have none.
        self.w3 = nn.Linear(args.dim, args.ffn_hidden, bias=args.bias) if gated else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.nonlinearity(self.w1(x))
        if self.w3 is not None:
            h = h * self.w3(x)
        return self.w2(h)


class TransformerBlock(nn.Module):
    def __init__(self, args: GPTModelArgs):
        super().__init__()
        self.dropout = args.dropout
        self.attention_norm = build_norm(args)
        self.attention = Attention(args)
        self.ffn_norm = build_norm(args)
        self.feed_forward = FeedForward(args)
        # GPT-2's scaled initialisation of the projections that write into the residual stream.
        self.residual_std = 0.02 / (2 * args.n_layers) ** 0.5

    def forward(self, x: torch.Tensor, freqs_cis: torch.Tensor | None) -> torch.Tensor:
        h = x + self.attention(self.attention_norm(x), freqs_cis)
        mlp = self.feed_forward(self.ffn_norm(h))
        return h + F.dropout(mlp, p=self.dropout, training=self.training)

    def init_weights(self) -> None:
        for norm in (self.attention_norm, self.ffn_norm):
            norm.reset_parameters()
        inputs = [self.attention.wq, self.attention.wk, self.attention.wv, self.feed_forward.w1]
        if self.feed_forward.w3 is not None:
            inputs.append(self.feed_forward.w3)
        for linear in inputs:
            trunc_normal_(linear.weight, mean=0.0, std=0.02)
        for linear in (self.attention.wo, self.feed_forward.w2):
            trunc_normal_(linear.weight, mean=0.0, std=self.residual_std)
        for linear in [*inputs, self.attention.wo, self.feed_forward.w2]:
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)


class GPT(ModelProtocol):
    def __init__(self, model_args: GPTModelArgs):
        super().__init__(model_args)
        self.model_args = model_args
        self.n_layers = model_args.n_layers
        self.tok_embeddings = nn.Embedding(model_args.vocab_size, model_args.dim)
        learned = model_args.position == "learned"
        self.pos_embeddings = PositionTable(model_args) if learned else None
        self.register_buffer(
            "freqs_cis", None if learned else self._precompute_freqs_cis(), persistent=False
        )
        self.layers = nn.ModuleDict(
            {str(i): TransformerBlock(model_args) for i in range(model_args.n_layers)}
        )
        self.norm = build_norm(model_args)
        self.output = nn.Linear(model_args.dim, model_args.vocab_size, bias=False)
        self.tie_embeddings()

    def tie_embeddings(self) -> None:
        # One table for the tokens in and the logits out; only while both are on this stage.
        if (
            self.model_args.tied_embeddings
            and self.tok_embeddings is not None
            and self.output is not None
        ):
            self.output.weight = self.tok_embeddings.weight

    def _precompute_freqs_cis(self) -> torch.Tensor:
        return precompute_freqs_cis(
            self.model_args.head_dim,
            self.model_args.max_seq_len,
            self.model_args.rope_theta,
        )

    def init_weights(self, buffer_device: torch.device | None = None) -> None:
        if self.freqs_cis is not None:
            with torch.device(buffer_device or self.freqs_cis.device):
                self.freqs_cis = self._precompute_freqs_cis()
        # Materialising a meta model can leave the two ends of a tied table apart: join them first.
        self.tie_embeddings()
        if self.tok_embeddings is not None:
            trunc_normal_(self.tok_embeddings.weight, mean=0.0, std=0.02)
        if self.pos_embeddings is not None:
            trunc_normal_(self.pos_embeddings.weight, mean=0.0, std=0.02)
        for layer in self.layers.values():
            layer.init_weights()
        if self.norm is not None:
            self.norm.reset_parameters()
        if self.output is not None and not self.model_args.tied_embeddings:
            trunc_normal_(self.output.weight, mean=0.0, std=0.02)

    def forward(self, tokens: torch.Tensor, attention_masks=None, positions=None) -> torch.Tensor:
        # torchtitan passes masks and positions to flex and varlen attention only; this model runs
        # causal SDPA over whole sequences. A stage without the embeddings gets hidden states.
        h = tokens
        if self.tok_embeddings is not None:
            h = self.tok_embeddings(tokens)
            if self.pos_embeddings is not None:
                h = self.pos_embeddings(h)
            h = F.dropout(h, p=self.model_args.dropout, training=self.training)
        for layer in self.layers.values():
            h = layer(h, self.freqs_cis)
        if self.norm is not None:
            h = self.norm(h)
        if self.output is not None:
            h = self.output(h)
        return h
