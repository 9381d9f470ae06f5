"""Writes PyTorch reference values ("goldens") as safetensors files that the C++ tests read.

Reference values are computed in float64 and stored as float32, so the C++ float32 results
can be held to 1e-5 relative. Run with Debian's interpreter: /usr/bin/python3 gen_goldens.py
"""
import json
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


class Family:
    """Collects cases of one family into tests/golden/data/<family>.safetensors.

    Tensor names are "<case>/<role>"; metadata "<case>" holds the case's JSON arguments.
    Roles used by the C++ harness (tests/golden/golden.h):
      in0, in1, ...    inputs (float32 inputs are leaves that require grad)
      out, out1, ...   outputs
      gout, gout1, ... the gradient fed to backward for each output
      grad0, grad1 ... reference gradients of the inputs
      any other role   extra tensors a case needs (parameters, states, ...)
    """

    def __init__(self, name):
        self.name = name
        self.tensors = {}
        self.metadata = {}

    def add(self, case, tensors, args=None):
        assert case not in self.metadata, f"duplicate case {case}"
        for role, t in tensors.items():
            if t.is_floating_point():
                t = t.detach().to(torch.float32)
            self.tensors[f"{case}/{role}"] = t
        self.metadata[case] = json.dumps(args or {})

    def op(self, case, fn, inputs, args=None, seed=0, grad=True):
        """Runs fn(*inputs) in float64, feeds a random gradient back, stores everything."""
        gen = torch.Generator().manual_seed(seed + 1000)
        leaves = []
        for x in inputs:
            if x.is_floating_point():
                x = x.to(torch.float32).to(torch.float64)
                x.requires_grad_(grad)
            leaves.append(x)
        outs = fn(*leaves)
        if not isinstance(outs, (tuple, list)):
            outs = (outs,)
        record = {}
        for i, x in enumerate(inputs):
            record[f"in{i}"] = x if not x.is_floating_point() else x.to(torch.float32)
        gouts = []
        for i, o in enumerate(outs):
            suffix = "" if i == 0 else str(i)
            record[f"out{suffix}"] = o
            if o.is_floating_point():
                g = torch.randn(o.shape, generator=gen, dtype=torch.float64).to(torch.float32).to(torch.float64)
                record[f"gout{suffix}"] = g
                gouts.append((o, g))
        if grad and any(leaf.is_floating_point() for leaf in leaves):
            diff_outs = [o for o, _ in gouts if o.requires_grad]
            if diff_outs:
                torch.autograd.backward(diff_outs, [g for o, g in gouts if o.requires_grad])
                for i, leaf in enumerate(leaves):
                    if leaf.is_floating_point() and leaf.grad is not None:
                        record[f"grad{i}"] = leaf.grad
        self.add(case, record, args)

    def write(self, directory):
        write_safetensors(f"{directory}/{self.name}.safetensors", self.tensors, self.metadata)
        return len(self.metadata)


def randn(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(torch.float32)


def rand(*shape, seed=0, low=0.0, high=1.0):
    g = torch.Generator().manual_seed(seed)
    return (low + (high - low) * torch.rand(*shape, generator=g, dtype=torch.float64)).to(torch.float32)
