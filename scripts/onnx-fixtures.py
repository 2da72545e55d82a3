#!/usr/bin/python3
"""Writes the ONNX fixtures of test/fixtures/onnx/ and PyTorch's own count of their FLOPs.

Run with Debian's interpreter, which has python3-torch (1.13) and python3-onnx (1.12):

    /usr/bin/python3 scripts/onnx-fixtures.py [NAME ...]

(every fixture by default; the 48-block GPT takes a few minutes and a few GB of memory). Names
given alone are re-exported and their entries of flops.json replaced; the others are kept.

Each model below is exported by torch.onnx.export with `export_params=False`: the weights become
graph inputs that carry their shapes and no data, so the files stay small. Batch and sequence are
symbolic (`dynamic_axes`), as a user exporting for any batch size would write them.

The FLOP count is PyTorch's, not ours: a TorchDispatchMode sees every ATen kernel the forward pass
runs and adds 2 FLOPs per multiply-add of the matrix and convolution kernels (mm, addmm, bmm,
baddbmm, convolution). torch.utils.flop_counter only arrived in PyTorch 2.1; this is the same
method (it counts the same ATen ops) written for 1.13. Elementwise ops, norms and softmax are not
counted, as in FlopCounterMode.
"""

import json
import math
import os
import sys

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "onnx")
OPSET = 17


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out


class MatmulConvFlops(TorchDispatchMode):
    """2 FLOPs per multiply-add of every matrix product and convolution ATen runs."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func.overloadpacket.__name__
        if name == "mm":
            (m, k), n = args[0].shape, args[1].shape[1]
            self.flops += 2 * m * k * n
        elif name == "addmm":
            (m, k), n = args[1].shape, args[2].shape[1]
            self.flops += 2 * m * k * n
        elif name in ("bmm", "baddbmm"):
            a, b = (args[0], args[1]) if name == "bmm" else (args[1], args[2])
            bt, m, k = a.shape
            self.flops += 2 * bt * m * k * b.shape[2]
        elif name in ("convolution", "_convolution"):
            weight = args[1]
            # Each output element is a dot product over in_channels/groups × kernel.
            self.flops += 2 * out.numel() * _prod(weight.shape[1:])
        return out


# ---------------------------------------------------------------------------------------------
# GPT (nanoGPT's layout): learned positions, pre-norm blocks, GELU MLP, tied LM head, loss.
# Linear layers carry no bias, like meshplan's transformer builder, so the two can be compared.


class CausalSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(hidden, hidden, bias=False)
        self.k = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, hidden, bias=False)
        self.proj = nn.Linear(hidden, hidden, bias=False)

    def forward(self, x):
        b, t, h = x.shape
        d = h // self.heads
        q = self.q(x).view(b, t, self.heads, d).transpose(1, 2)
        k = self.k(x).view(b, t, self.heads, d).transpose(1, 2)
        v = self.v(x).view(b, t, self.heads, d).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        probs = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        return self.proj((probs @ v).transpose(1, 2).reshape(b, t, h))


class GptBlock(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(hidden)
        self.attn = CausalSelfAttention(hidden, heads)
        self.ln2 = nn.LayerNorm(hidden)
        self.fc = nn.Linear(hidden, 4 * hidden, bias=False)
        self.out = nn.Linear(4 * hidden, hidden, bias=False)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, layers, hidden, heads, vocab, max_seq):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_seq, hidden)
        self.blocks = nn.ModuleList(GptBlock(hidden, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)
        self.vocab = vocab

    def forward(self, tokens, targets):
        t = tokens.shape[1]
        pos = torch.arange(t, device=tokens.device)
        x = self.wte(tokens) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.reshape(-1, self.vocab), targets.reshape(-1))


# ---------------------------------------------------------------------------------------------
# Llama: RMSNorm, rotary embeddings (rotate-half), grouped-query attention, SwiGLU, untied head.


class RmsNorm(nn.Module):
    def __init__(self, hidden, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, hidden, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.d = heads, kv_heads, hidden // heads
        self.q = nn.Linear(hidden, heads * self.d, bias=False)
        self.k = nn.Linear(hidden, kv_heads * self.d, bias=False)
        self.v = nn.Linear(hidden, kv_heads * self.d, bias=False)
        self.o = nn.Linear(heads * self.d, hidden, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.d).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.d).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        # repeat_kv as Hugging Face writes it: expand a new axis, then fold it into the heads.
        k = k[:, :, None].expand(b, self.kv_heads, rep, t, self.d).reshape(b, self.heads, t, self.d)
        v = v[:, :, None].expand(b, self.kv_heads, rep, t, self.d).reshape(b, self.heads, t, self.d)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.d)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        probs = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        return self.o((probs @ v).transpose(1, 2).reshape(b, t, -1))


class LlamaBlock(nn.Module):
    def __init__(self, hidden, heads, kv_heads, ffn):
        super().__init__()
        self.norm1 = RmsNorm(hidden)
        self.attn = LlamaAttention(hidden, heads, kv_heads)
        self.norm2 = RmsNorm(hidden)
        self.gate = nn.Linear(hidden, ffn, bias=False)
        self.up = nn.Linear(hidden, ffn, bias=False)
        self.down = nn.Linear(ffn, hidden, bias=False)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.norm1(x), cos, sin)
        y = self.norm2(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class Llama(nn.Module):
    def __init__(self, layers, hidden, heads, kv_heads, ffn, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.blocks = nn.ModuleList(LlamaBlock(hidden, heads, kv_heads, ffn) for _ in range(layers))
        self.norm = RmsNorm(hidden)
        self.head = nn.Linear(hidden, vocab, bias=False)
        self.d = hidden // heads

    def forward(self, tokens):
        t = tokens.shape[1]
        # Rotary angles computed in forward (no buffer), as a constant subgraph of the export.
        inv = 1.0 / (10000 ** (torch.arange(0, self.d, 2, dtype=torch.float32) / self.d))
        angles = torch.arange(t, dtype=torch.float32)[:, None] * inv[None, :]
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.norm(x))


# ---------------------------------------------------------------------------------------------
# Wide-ResNet-50 (bottleneck blocks, torchvision's layout) with Alpa's base channels and width.


class Bottleneck(nn.Module):
    def __init__(self, cin, width, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class WideResNet(nn.Module):
    def __init__(self, base, width_factor, classes, blocks=(3, 4, 6, 3)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, base, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(base),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        layers, cin = [], base
        for stage, count in enumerate(blocks):
            width = base * width_factor * 2**stage
            cout = base * 4 * 2**stage
            for i in range(count):
                layers.append(Bottleneck(cin, width, cout, 2 if (i == 0 and stage > 0) else 1))
                cin = cout
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        y = self.body(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


# ---------------------------------------------------------------------------------------------
# ViT: patch embedding by convolution, class token, learned positions, pre-norm blocks.


class VitBlock(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, 4 * hidden)
        self.fc2 = nn.Linear(4 * hidden, hidden)

    def forward(self, x):
        b, t, h = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(h, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, h // self.heads).transpose(1, 2) for z in (q, k, v))
        probs = ((q @ k.transpose(-2, -1)) / math.sqrt(h // self.heads)).softmax(dim=-1)
        x = x + self.proj((probs @ v).transpose(1, 2).reshape(b, t, h))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Vit(nn.Module):
    def __init__(self, image, patch, hidden, heads, layers, classes):
        super().__init__()
        self.patch = nn.Conv2d(3, hidden, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, hidden))
        self.pos = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, hidden))
        self.blocks = nn.ModuleList(VitBlock(hidden, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, images):
        x = self.patch(images).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls.expand(x.shape[0], -1, -1), x), dim=1) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x)[:, 0])


# ---------------------------------------------------------------------------------------------


def export(name, model, inputs, input_names, dynamic_axes, dims, opset):
    """Exports `model` without weights and counts the FLOPs of one forward pass on `inputs`."""
    model.eval()
    # torch.onnx.export merges parameters whose values are equal (every fresh LayerNorm's ones):
    # distinct random values keep each parameter its own graph input, as a trained model's are.
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    path = os.path.join(OUT, f"{name}.onnx")
    with torch.no_grad():
        torch.onnx.export(
            model,
            inputs,
            path,
            export_params=False,
            opset_version=opset,
            input_names=input_names,
            output_names=["output"],
            dynamic_axes=dynamic_axes,
        )
        counter = MatmulConvFlops()
        with counter:
            model(*inputs)
    onnx.checker.check_model(onnx.load(path))
    batch = inputs[0].shape[0]
    return {
        "file": f"{name}.onnx",
        "dims": dims,
        "batch": batch,
        "flopsPerSample": counter.flops // batch,
        "params": sum(p.numel() for p in model.parameters()),
    }


def fixtures():
    """Each fixture: name -> (model factory, inputs, input names, dynamic axes, dims, opset)."""
    seq = 64
    tokens = torch.randint(0, 1000, (2, seq))
    text_axes = {0: "batch", 1: "seq"}
    text = (["tokens", "targets"], {"tokens": text_axes, "targets": text_axes}, {"seq": seq})
    images = ((torch.randn(2, 3, 224, 224),), ["images"], {"images": {0: "batch"}}, {})
    return {
        "gpt": (lambda: Gpt(4, 256, 4, 1024, max_seq=1024), (tokens, tokens), *text, OPSET),
        # The same GPT at the lowest opset torch 1.13 exports it with (aten::tril needs 14):
        # LayerNorm is written as ReduceMean, Sub, Pow, Sqrt, Div there.
        "gpt-opset14": (lambda: Gpt(2, 256, 4, 1024, max_seq=1024), (tokens, tokens), *text, 14),
        "llama": (
            lambda: Llama(layers=3, hidden=256, heads=8, kv_heads=2, ffn=688, vocab=1024),
            (tokens,), ["tokens"], {"tokens": text_axes}, {"seq": seq}, OPSET,
        ),
        # Alpa's smallest Wide-ResNet (App. B: 50 layers, base channels 160, width factor 2, 1024
        # classes) in torchvision's bottleneck layout, which counts 423M parameters where Alpa's
        # Flax model counts 250M.
        "wide-resnet": (lambda: WideResNet(base=160, width_factor=2, classes=1024), *images, OPSET),
        "vit": (lambda: Vit(image=224, patch=16, hidden=384, heads=6, layers=4, classes=1000), *images, OPSET),
        # The benchmark's model: 48 GPT blocks of GPT-3 350M's width (Alpa's 48-layer depth).
        "gpt-48": (lambda: Gpt(48, 1024, 16, 51200, max_seq=1024), (tokens[:1], tokens[:1]), *text, OPSET),
    }


def main(names):
    """Exports the fixtures named (all by default) and updates their entries in flops.json."""
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "flops.json")
    counts = {}
    if os.path.exists(path):
        with open(path) as f:
            counts = json.load(f)
    table = fixtures()
    for name in names or table:
        torch.manual_seed(0)
        make, inputs, input_names, axes, dims, opset = table[name]
        counts[name] = export(name, make(), inputs, input_names, axes, dims, opset)
    with open(path, "w") as f:
        json.dump(counts, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
