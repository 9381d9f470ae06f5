#!/usr/bin/env python3
"""Reference outputs for the pretrained-model tests (tests/llm/data/*.json).

Run once (outputs are committed):  /work/main/.venv/bin/python tools/llm/gen_llm_refs.py [MODELS_DIR] [--tiny-gpt2]
(the test venv from `bash scripts/setup.sh --test` has the pinned `gguf` and `tokenizers`; torch and
numpy come from Debian).

(a) SmolLM2-135M-Instruct.Q4_1.gguf: every tensor dequantized to f32 with the `gguf` package, then a
    short PyTorch Llama forward written here (RMSNorm, RoPE on adjacent pairs as llama.cpp's GGUF
    layout stores Q/K, grouped-query attention, SwiGLU, tied output embedding). Records, per prompt,
    the last-position logits (top-50 values + ids, and the full row for the first prompts) and the
    first 32 greedy tokens (with the top-1/top-2 margin of each step, to judge near-ties).
(b) all-MiniLM-L6-v2: BERT forward in torch from model.safetensors, mean pooling over the attention
    mask and L2 normalization (1_Pooling/config.json + 2_Normalize), on a padded batch.
(c) Token ids from Hugging Face `tokenizers`: the SmolLM2 tokenizer is rebuilt from the GGUF
    vocabulary and merges exactly as SmolLM2's tokenizer.json defines it (byte-level BPE, pre-tokenizer
    Sequence[Digits(individual_digits), ByteLevel(add_prefix_space=False)], the 17 control tokens as
    special added tokens); MiniLM uses its own tokenizer.json.
(d) --tiny-gpt2 only: a 2-layer random GPT-2 and a 2-layer random Llama (GQA, rotate-half RoPE with
    linear scaling, untied head) in Hugging Face layout (tests/llm/data/tiny_gpt2/, tiny_llama/) and
    their logits from PyTorch forwards (GPT-2's Conv1D weights used as [in, out]).
"""
import json
import math
import os
import sys

import numpy as np
import torch

import gguf
from gguf.quants import dequantize
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
MODELS = ARGS[0] if ARGS else os.path.join(ROOT, "models")
OUT = os.path.join(ROOT, "tests", "llm", "data")
SMOL = os.path.join(MODELS, "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")
MINILM = os.path.join(MODELS, "all-minilm-l6-v2")

STRINGS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they've done it; we'll see what you'd say.",
    "Numbers: 12345 and 3.14159, year 2024, 1,000,000.",
    "你好，世界！这是一个测试。",
    "床前明月光，疑是地上霜。",
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    "Emoji: 😀🎉👍🏽 and ❤️ flags 🇫🇷",
    "   leading spaces and    runs\t\ttabs\n\n\nnewlines   ",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text after eos<|im_end|>",
    "Ünïcödé àccents, naïve café, straße, ÆØÅ",
    "MiXeD CaSe WoRdS and URLs https://example.com/a?b=c&d=e",
    "",
    " ",
    "a",
    "Привет, мир! Γειά σου Κόσμε! مرحبا بالعالم",
]

PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    "The quick brown fox",
    "def fibonacci(n):\n",
    "Once upon a time, in a small village,",
]

SENTENCES = [
    "This is an example sentence.",
    "Each sentence is converted to a vector.",
    "The cat sits outside.",
    "A man is playing guitar.",
    "Les chats sont mignons.",
    "The new movie is awesome and I loved every minute of it, especially the ending!",
]


def field(r, key):
    return r.fields[key].contents()


# --------------------------------------------------------------------------------------------
# SmolLM2 tokenizer rebuilt from the GGUF
def smol_tokenizer(r):
    tokens = field(r, "tokenizer.ggml.tokens")
    types = field(r, "tokenizer.ggml.token_type")
    merges = field(r, "tokenizer.ggml.merges")
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges]))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    specials = [AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t == 3]
    tok.add_special_tokens(specials)
    return tok


# --------------------------------------------------------------------------------------------
# Llama forward on dequantized weights
def load_llama(r):
    w = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type)
        w[t.name] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).reshape(
            [int(d) for d in reversed(t.shape.tolist())]
        )
    cfg = dict(
        n_layer=int(field(r, "llama.block_count")),
        d=int(field(r, "llama.embedding_length")),
        n_head=int(field(r, "llama.attention.head_count")),
        n_kv=int(field(r, "llama.attention.head_count_kv")),
        theta=float(field(r, "llama.rope.freq_base")),
        eps=float(field(r, "llama.attention.layer_norm_rms_epsilon")),
    )
    return w, cfg


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope_pairs(x, theta):
    # x: [T, H, hd]; rotates adjacent pairs (x[2i], x[2i+1]) by pos * theta^(-2i/hd)
    T, H, hd = x.shape
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    inv = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = pos * inv[None, :]
    cos = torch.cos(ang).float()[:, None, :]
    sin = torch.sin(ang).float()[:, None, :]
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def llama_forward(w, c, ids):
    T = len(ids)
    d, H, KV = c["d"], c["n_head"], c["n_kv"]
    hd = d // H
    x = w["token_embd.weight"][torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        h = rms_norm(x, w[p + "attn_norm.weight"], c["eps"])
        q = (h @ w[p + "attn_q.weight"].T).view(T, H, hd)
        k = (h @ w[p + "attn_k.weight"].T).view(T, KV, hd)
        v = (h @ w[p + "attn_v.weight"].T).view(T, KV, hd)
        q, k = rope_pairs(q, c["theta"]), rope_pairs(k, c["theta"])
        rep = H // KV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd) + mask
        att = att.softmax(-1)
        o = torch.einsum("hts,shd->thd", att, v).reshape(T, d)
        x = x + o @ w[p + "attn_output.weight"].T
        h = rms_norm(x, w[p + "ffn_norm.weight"], c["eps"])
        g = torch.nn.functional.silu(h @ w[p + "ffn_gate.weight"].T) * (h @ w[p + "ffn_up.weight"].T)
        x = x + g @ w[p + "ffn_down.weight"].T
    x = rms_norm(x, w["output_norm.weight"], c["eps"])
    out_w = w.get("output.weight", w["token_embd.weight"])
    return x @ out_w.T


def smol_refs(r, tok):
    w, c = load_llama(r)
    prompts = []
    with torch.no_grad():
        for pi, text in enumerate(PROMPTS):
            ids = tok.encode(text).ids
            logits = llama_forward(w, c, ids)
            last = logits[-1]
            top = torch.topk(last, 50)
            entry = dict(
                text=text,
                ids=ids,
                top_ids=top.indices.tolist(),
                top_values=[float(v) for v in top.values],
            )
            if pi < 2:
                entry["full_logits"] = [round(float(v), 5) for v in last]
            # greedy continuation (full forward each step: slow but obviously right)
            seq = list(ids)
            greedy, margins = [], []
            for _ in range(32):
                lg = llama_forward(w, c, seq)[-1]
                t2 = torch.topk(lg, 2)
                greedy.append(int(t2.indices[0]))
                margins.append(round(float(t2.values[0] - t2.values[1]), 5))
                seq.append(greedy[-1])
            entry["greedy"] = greedy
            entry["greedy_margins"] = margins
            entry["greedy_text"] = tok.decode(greedy)
            prompts.append(entry)
            print(f"prompt {pi}: {len(ids)} tokens, greedy {tok.decode(greedy)!r}, min margin {min(margins):.4f}")
    return dict(model="SmolLM2-135M-Instruct.Q4_1.gguf", config=c, prompts=prompts)


# --------------------------------------------------------------------------------------------
# MiniLM (BERT) forward
def load_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        base = 8 + n
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":  # embeddings.position_ids (I64) is unused
            continue
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).copy()).reshape(info["shape"])
    return out


def bert_embed(w, cfg, batch_ids):
    B = len(batch_ids)
    T = max(len(i) for i in batch_ids)
    ids = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T)
    for b, s in enumerate(batch_ids):
        ids[b, : len(s)] = torch.tensor(s)
        mask[b, : len(s)] = 1
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = d // H
    eps = cfg["layer_norm_eps"]
    ln = torch.nn.functional.layer_norm
    pre = "" if "embeddings.word_embeddings.weight" in w else "bert."
    g = lambda n: w[pre + n]
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:T][None]
    x = x + g("embeddings.token_type_embeddings.weight")[0]
    x = ln(x, (d,), g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
    amask = (1.0 - mask)[:, None, None, :] * -1e9
    lin = lambda t, n: t @ g(n + ".weight").T + g(n + ".bias")
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        q = lin(x, p + "attention.self.query").view(B, T, H, hd).transpose(1, 2)
        k = lin(x, p + "attention.self.key").view(B, T, H, hd).transpose(1, 2)
        v = lin(x, p + "attention.self.value").view(B, T, H, hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + amask
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
        x = ln(x + lin(o, p + "attention.output.dense"), (d,), g(p + "attention.output.LayerNorm.weight"),
               g(p + "attention.output.LayerNorm.bias"), eps)
        h = torch.nn.functional.gelu(lin(x, p + "intermediate.dense"))
        x = ln(x + lin(h, p + "output.dense"), (d,), g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"), eps)
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def minilm_refs(tok):
    cfg = json.load(open(os.path.join(MINILM, "config.json")))
    w = load_safetensors(os.path.join(MINILM, "model.safetensors"))
    tok.no_padding()
    tok.no_truncation()
    batch = [tok.encode(s).ids for s in SENTENCES]
    with torch.no_grad():
        emb = bert_embed(w, cfg, batch)
        # the same sentences one at a time must agree with the padded batch
        single = torch.cat([bert_embed(w, cfg, [ids]) for ids in batch])
    assert torch.allclose(emb, single, atol=1e-5)
    return dict(
        model="all-MiniLM-L6-v2",
        sentences=[dict(text=s, ids=ids, embedding=[round(float(v), 7) for v in e]) for s, ids, e in zip(SENTENCES, batch, emb)],
    )


# --------------------------------------------------------------------------------------------
# A tiny random GPT-2 in Hugging Face layout (Conv1D weights [in, out]) with its reference logits
def tiny_gpt2():
    from tokenizers import ByteLevelBPETokenizer

    out_dir = os.path.join(OUT, "tiny_gpt2")
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(["hello world, the quick brown fox jumps over the lazy dog"] * 4, vocab_size=300,
                            min_frequency=2, special_tokens=["<|endoftext|>"], show_progress=False)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    V, P, D, L, H = tok.get_vocab_size(), 32, 32, 2, 4
    cfg = dict(model_type="gpt2", n_layer=L, n_embd=D, n_head=H, n_positions=P, vocab_size=V,
               layer_norm_epsilon=1e-5, activation_function="gelu_new")
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=1)
    r = lambda *shape: (torch.randn(*shape, generator=g) * 0.2).float()
    w = {"wte.weight": r(V, D), "wpe.weight": r(P, D), "ln_f.weight": 1 + r(D), "ln_f.bias": r(D)}
    for l in range(L):
        p = f"h.{l}."
        w.update({p + "ln_1.weight": 1 + r(D), p + "ln_1.bias": r(D), p + "ln_2.weight": 1 + r(D), p + "ln_2.bias": r(D),
                  p + "attn.c_attn.weight": r(D, 3 * D), p + "attn.c_attn.bias": r(3 * D),
                  p + "attn.c_proj.weight": r(D, D), p + "attn.c_proj.bias": r(D),
                  p + "mlp.c_fc.weight": r(D, 4 * D), p + "mlp.c_fc.bias": r(4 * D),
                  p + "mlp.c_proj.weight": r(4 * D, D), p + "mlp.c_proj.bias": r(D)})
    save_safetensors(os.path.join(out_dir, "model.safetensors"), w)
    ids = tok.encode("hello world, the quick brown fox").ids
    T = len(ids)
    ln = torch.nn.functional.layer_norm
    x = w["wte.weight"][torch.tensor(ids)] + w["wpe.weight"][:T]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        p = f"h.{l}."
        h = ln(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = [t.view(T, H, D // H).transpose(0, 1) for t in qkv.split(D, -1)]
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(D // H) + mask).softmax(-1) @ v
        x = x + a.transpose(0, 1).reshape(T, D) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = ln(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
        f = torch.nn.functional.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + f @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    logits = ln(x, (D,), w["ln_f.weight"], w["ln_f.bias"], 1e-5) @ w["wte.weight"].T
    dump("tiny_gpt2_refs.json", dict(ids=ids, logits=[[round(float(v), 6) for v in row] for row in logits]))


# A tiny random Llama in Hugging Face layout (rotate-half RoPE, GQA, tied embeddings off)
def tiny_llama():
    out_dir = os.path.join(OUT, "tiny_llama")
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    V, D, L, H, KV, F, theta = 320, 32, 2, 4, 2, 48, 10000.0
    hd = D // H
    cfg = dict(model_type="llama", num_hidden_layers=L, hidden_size=D, num_attention_heads=H, num_key_value_heads=KV,
               intermediate_size=F, vocab_size=V, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=theta,
               tie_word_embeddings=False, rope_scaling=dict(rope_type="linear", factor=2.0))
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=1)
    r = lambda *shape: (torch.randn(*shape, generator=g) * 0.3).float()
    w = {"model.embed_tokens.weight": r(V, D), "model.norm.weight": 1 + r(D), "lm_head.weight": r(V, D)}
    for l in range(L):
        p = f"model.layers.{l}."
        w.update({p + "input_layernorm.weight": 1 + r(D), p + "post_attention_layernorm.weight": 1 + r(D),
                  p + "self_attn.q_proj.weight": r(H * hd, D), p + "self_attn.k_proj.weight": r(KV * hd, D),
                  p + "self_attn.v_proj.weight": r(KV * hd, D), p + "self_attn.o_proj.weight": r(D, H * hd),
                  p + "mlp.gate_proj.weight": r(F, D), p + "mlp.up_proj.weight": r(F, D), p + "mlp.down_proj.weight": r(D, F)})
    save_safetensors(os.path.join(out_dir, "model.safetensors"), w)
    # the tokenizer of the tiny GPT-2 (vocabulary <= 320) is reused
    ids = [1, 5, 9, 33, 2, 17, 60, 3, 8]
    T = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    pos = torch.arange(T, dtype=torch.float64)[:, None] / 2.0  # linear scaling, factor 2
    inv = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    cos = torch.cat([torch.cos(pos * inv)] * 2, -1).float()[:, None, :]
    sin = torch.cat([torch.sin(pos * inv)] * 2, -1).float()[:, None, :]
    rot = lambda t: torch.cat([-t[..., hd // 2:], t[..., : hd // 2]], -1)
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], 1e-5)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, H, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, hd)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        a = (torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd) + mask).softmax(-1)
        x = x + torch.einsum("hts,shd->thd", a, v).reshape(T, D) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], 1e-5)
        x = x + (torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T) * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    logits = rms_norm(x, w["model.norm.weight"], 1e-5) @ w["lm_head.weight"].T
    dump("tiny_llama_refs.json", dict(ids=ids, logits=[[round(float(v), 6) for v in row] for row in logits]))


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = dict(dtype="F32", shape=list(t.shape), data_offsets=[off, off + len(b)])
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    if "--tiny-gpt2" in sys.argv:
        with torch.no_grad():
            tiny_gpt2()
            tiny_llama()
        import shutil
        shutil.copy(os.path.join(OUT, "tiny_gpt2", "tokenizer.json"), os.path.join(OUT, "tiny_llama", "tokenizer.json"))
        return
    r = gguf.GGUFReader(SMOL)
    smol_tok = smol_tokenizer(r)
    bert_tok = Tokenizer.from_file(os.path.join(MINILM, "tokenizer.json"))
    bert_tok.no_padding()
    bert_tok.no_truncation()

    toks = dict(smollm2=[], minilm=[])
    for s in STRINGS:
        e = smol_tok.encode(s)
        assert smol_tok.decode(e.ids, skip_special_tokens=False) == s, s
        toks["smollm2"].append(dict(text=s, ids=e.ids))
        toks["minilm"].append(dict(text=s, ids=bert_tok.encode(s).ids, ids_no_special=bert_tok.encode(s, add_special_tokens=False).ids))
    dump("tokenizer_refs.json", toks)
    dump("minilm_refs.json", minilm_refs(bert_tok))
    dump("smollm2_refs.json", smol_refs(r, smol_tok))


def dump(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
