"""Checks a Forge-written LoRA adapter the way PEFT would read it, without the peft package.

usage: check_peft_adapter.py ADAPTER_DIR BASE.safetensors MERGED.safetensors

ADAPTER_DIR holds adapter_config.json and adapter_model.safetensors. BASE and MERGED hold the
base and merged weights under Hugging Face names (model.layers.{i}.self_attn.q_proj.weight).
Verifies the config keys PEFT needs, every tensor name against PEFT's naming, shapes
(lora_A [r, in], lora_B [out, r]) and that MERGED == BASE + lora_alpha / r * B @ A (PEFT's merge).
Prints OK and exits 0, or raises.
"""
import json
import re
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError as e:  # the test turns this exit code into a failure naming setup.sh
    print(f"missing Python module ({e}): run bash scripts/setup.sh --test")
    sys.exit(3)

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        arr = np.frombuffer(data[base + lo:base + hi], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float64))
    return out


def main():
    adapter_dir, base_path, merged_path = sys.argv[1:4]
    with open(f"{adapter_dir}/adapter_config.json") as f:
        cfg = json.load(f)
    assert cfg["peft_type"] == "LORA", cfg
    assert cfg["task_type"] == "CAUSAL_LM", cfg
    assert cfg["bias"] == "none", cfg
    assert isinstance(cfg["r"], int) and cfg["r"] > 0, cfg
    assert cfg["lora_alpha"] > 0 and 0 <= cfg["lora_dropout"] < 1, cfg
    assert cfg["base_model_name_or_path"], cfg
    r, scaling = cfg["r"], cfg["lora_alpha"] / cfg["r"]
    targets = set(cfg["target_modules"])
    tensors = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    base = read_safetensors(base_path)
    merged = read_safetensors(merged_path)
    pattern = re.compile(r"^base_model\.model\.(model\.layers\.\d+\.(self_attn|mlp)\.(\w+))\.lora_(A|B)\.weight$")
    modules = {}
    for name, t in tensors.items():
        m = pattern.match(name)
        assert m, f"not a PEFT LoRA name: {name}"
        prefix, parent, module, which = m.groups()
        assert module in targets, f"{name}: {module} not in target_modules {sorted(targets)}"
        want_parent = "self_attn" if module in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
        assert parent == want_parent, name
        modules.setdefault(prefix, {})[which] = t
    assert modules, "no LoRA tensors"
    for prefix, ab in modules.items():
        a, b = ab["A"], ab["B"]
        w = base[prefix + ".weight"]
        out_f, in_f = w.shape
        assert tuple(a.shape) == (r, in_f), f"{prefix}.lora_A {tuple(a.shape)} != {(r, in_f)}"
        assert tuple(b.shape) == (out_f, r), f"{prefix}.lora_B {tuple(b.shape)} != {(out_f, r)}"
        want = w + scaling * (b @ a)
        err = (merged[prefix + ".weight"] - want).abs().max().item()
        assert err < 1e-5 * max(1.0, want.abs().max().item()), f"{prefix}: merged differs by {err}"
    print(f"OK {len(modules)} modules, r={r}, scaling={scaling}")


if __name__ == "__main__":
    main()
