#!/usr/bin/env python3
"""The qwen35 hybrid fixture (Tests/Fixtures/qwen35-ternary-g128-tiny), made with transformers.

A tiny random `Qwen3_5ForCausalLM` text model: 4 layers with full_attention_interval 2 (layers 0 and 2
Gated DeltaNet, 1 and 3 gated full attention), 2 key heads < 4 value heads in the DeltaNet layers, partial
rotary 0.25, untied head, the SentencePiece tokenizer of the qwen3 fixtures (vocab 1024). Every large
linear (q, k, v, o, gate, up, down, in_proj_qkv, in_proj_z, out_proj) is exactly ternary with one fp16
scale per group of 128 inputs (float masters = the ternary function); in_proj_a/b, conv1d, A_log,
dt_bias and the norms are plain floats (fp16-representable values).

Files:
- hf/: config.json, model.safetensors (F32), the tokenizer files.
- reference.json: transformers fp32 (eager) logits over the 40-token prompt, 32 greedy tokens (each a
  fresh full forward), their top-2 margins; `checks` holds the chunked-vs-recurrent gap of transformers'
  own two gated-delta-rule forms.
- model.q2_0.gguf (Q2_0 g64: each 128-group's scale in both halves), model.pq2_0.gguf (PQ2_0 g128),
  model.ptq1_0.gguf (PTQ1_0 g128: base-3 trits, scale last, ../shared/spec/group-ternary.md §4):
  arch `qwen35` with llama.cpp's names and keys and its converter's transforms (conversion/qwen.py,
  Qwen3NextModel + _LinearAttentionVReorderBase): (1 + w) norms stored as 1 + w except ssm_norm,
  ssm_a = -exp(A_log), dt_bias -> ssm_dt.bias, conv1d squeezed, V heads reordered from grouped to
  tiled order (in_proj_qkv's v rows, in_proj_z rows, in_proj_a/b rows, A, dt, conv v channels,
  out_proj columns). Written by a small GGUF writer here (PyPI gguf has no Q2_0 / PQ2_0 codecs).

usage: /work/fixvenv/bin/python scripts/make_qwen35_fixture.py   (transformers >= 5 with models/qwen3_5)
       python3 scripts/make_qwen35_fixture.py --gguf-only   (numpy only: the GGUFs again from the same seeded
       weights; the reference and hf/ are left as they are — the files' float function is unchanged)
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOK_SRC = os.path.join(ROOT, "Tests", "Fixtures", "qwen3-ternary-g128-tiny")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "qwen35-ternary-g128-tiny")
SEED = 3501
N_PROMPT = 40
N_GREEDY = 32
TEXT = ("Every morning the old fisherman walked down to the harbor, checked the sky, and prepared his small "
        "wooden boat for the long day at sea. The gulls followed him out past the lighthouse.")

CONFIG = {
    "architectures": ["Qwen3_5ForCausalLM"],
    "model_type": "qwen3_5_text",
    "vocab_size": 1024, "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
    "linear_conv_kernel_dim": 4, "linear_key_head_dim": 32, "linear_value_head_dim": 32,
    "linear_num_key_heads": 2, "linear_num_value_heads": 4,
    "layer_types": ["linear_attention", "full_attention", "linear_attention", "full_attention"],
    "full_attention_interval": 2,
    "hidden_act": "silu", "rms_norm_eps": 1e-6, "max_position_embeddings": 512,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "partial_rotary_factor": 0.25,
                        "mrope_section": [2, 1, 1], "mrope_interleaved": True},
    "tie_word_embeddings": False, "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2,
}
G = 128


def f16(x):
    return x.astype(np.float16).astype(np.float32)


def ternary(rng, rows, cols):
    """codes in {-1,0,1} (each 64-half has a nonzero), one fp16 scale per 128-group: (codes, scales)."""
    codes = rng.integers(-1, 2, size=(rows, cols)).astype(np.int8)
    for r in range(rows):
        for h in range(0, cols, 64):
            if not codes[r, h:h + 64].any():
                codes[r, h] = 1
    scales = f16(0.025 * rng.uniform(0.6, 1.4, size=(rows, cols // G))).astype(np.float32)
    return codes, scales


def weights(rng):
    c = CONFIG
    d, ff, hd = c["hidden_size"], c["intermediate_size"], c["head_dim"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    kd, vd = c["linear_key_head_dim"] * c["linear_num_key_heads"], c["linear_value_head_dim"] * c["linear_num_value_heads"]
    nv = c["linear_num_value_heads"]
    lin, other = {}, {}   # name -> (codes, scales) / name -> float array
    other["model.embed_tokens.weight"] = f16(rng.normal(0, 0.02, (c["vocab_size"], d)))
    other["lm_head.weight"] = f16(rng.normal(0, 0.02, (c["vocab_size"], d)))
    other["model.norm.weight"] = f16(rng.uniform(-0.5, 0.5, d))
    for l, kind in enumerate(c["layer_types"]):
        p = f"model.layers.{l}."
        other[p + "input_layernorm.weight"] = f16(rng.uniform(-0.5, 0.5, d))
        other[p + "post_attention_layernorm.weight"] = f16(rng.uniform(-0.5, 0.5, d))
        if kind == "full_attention":
            lin[p + "self_attn.q_proj.weight"] = ternary(rng, nh * hd * 2, d)
            lin[p + "self_attn.k_proj.weight"] = ternary(rng, nkv * hd, d)
            lin[p + "self_attn.v_proj.weight"] = ternary(rng, nkv * hd, d)
            lin[p + "self_attn.o_proj.weight"] = ternary(rng, d, nh * hd)
            other[p + "self_attn.q_norm.weight"] = f16(rng.uniform(-0.5, 0.5, hd))
            other[p + "self_attn.k_norm.weight"] = f16(rng.uniform(-0.5, 0.5, hd))
        else:
            a = p + "linear_attn."
            lin[a + "in_proj_qkv.weight"] = ternary(rng, 2 * kd + vd, d)
            lin[a + "in_proj_z.weight"] = ternary(rng, vd, d)
            lin[a + "out_proj.weight"] = ternary(rng, d, vd)
            other[a + "in_proj_b.weight"] = f16(rng.normal(0, 0.1, (nv, d)))
            other[a + "in_proj_a.weight"] = f16(rng.normal(0, 0.1, (nv, d)))
            other[a + "conv1d.weight"] = f16(rng.normal(0, 0.5, (2 * kd + vd, 1, c["linear_conv_kernel_dim"])))
            other[a + "A_log"] = f16(np.log(rng.uniform(1, 16, nv)))
            other[a + "dt_bias"] = f16(rng.uniform(-1, 1, nv))
            other[a + "norm.weight"] = f16(rng.uniform(0.5, 1.5, c["linear_value_head_dim"]))
        lin[p + "mlp.gate_proj.weight"] = ternary(rng, ff, d)
        lin[p + "mlp.up_proj.weight"] = ternary(rng, ff, d)
        lin[p + "mlp.down_proj.weight"] = ternary(rng, d, ff)
    return lin, other


def dense(codes, scales):
    return codes.astype(np.float32) * np.repeat(scales, G, axis=1)


# ---- GGUF (v3) -------------------------------------------------------------------------------------

def pack2(codes, scales, group):
    """Q2_0 (group 64) / PQ2_0 (group 128) blocks: fp16 d, then codes c = t + 1, 4 per byte, low bits first."""
    rows, cols = codes.shape
    out = bytearray()
    for r in range(rows):
        for g0 in range(0, cols, group):
            d = scales[r, g0 // G]
            out += np.float16(d).tobytes()
            c = (codes[r, g0:g0 + group].astype(np.int32) + 1)
            for j in range(0, group, 4):
                out.append(int(c[j] | (c[j + 1] << 2) | (c[j + 2] << 4) | (c[j + 3] << 6)))
    return bytes(out)


class Writer:
    def __init__(self):
        self.kv, self.tensors = [], []

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def tensor(self, name, shape_ne, type_id, data):
        self.tensors.append((name, shape_ne, type_id, data))

    @staticmethod
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    def value(self, vtype, v):
        fmt = {0: "<B", 1: "<b", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q"}
        if vtype == 8:
            return self.s(v)
        if vtype == 9:
            et, items = v
            return struct.pack("<IQ", et, len(items)) + b"".join(self.value(et, i) for i in items)
        return struct.pack(fmt[vtype], v)

    def write(self, path):
        head = b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for k, t, v in self.kv:
            head += self.s(k) + struct.pack("<I", t) + self.value(t, v)
        off, infos, blobs = 0, b"", []
        for name, ne, tid, data in self.tensors:
            infos += self.s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
            infos += struct.pack("<IQ", tid, off)
            pad = (-len(data)) % 32
            blobs.append(data + b"\0" * pad)
            off += len(data) + pad
        body = head + infos
        body += b"\0" * ((-len(body)) % 32)
        with open(path, "wb") as f:
            f.write(body + b"".join(blobs))


def tokenizer_kv(w):
    """The qwen3 fixtures' SentencePiece tokenizer keys, copied from their GGUF."""
    import gguf
    r = gguf.GGUFReader(os.path.join(ROOT, "Tests", "Fixtures", "qwen3-q1-tiny", "model.q1_0.gguf"))
    for f in r.fields.values():
        if not f.name.startswith("tokenizer."):
            continue
        t = int(f.types[0])
        if t == 9:
            et = int(f.types[1])
            items = [f.parts[i] for i in f.data]
            vals = [bytes(x).decode() for x in items] if et == 8 else [x.tolist()[0] for x in items]
            w.add(f.name, 9, (et, vals))
        elif t == 8:
            w.add(f.name, 8, bytes(f.parts[f.data[0]]).decode())
        else:
            w.add(f.name, t, f.parts[f.data[0]].tolist()[0])


def reorder_v(t, dim, nk, per_k, hd):
    """llama.cpp's _reorder_v_heads: V heads from grouped-by-K to tiled order along `dim`."""
    shape = list(t.shape)
    new = shape[:dim] + [nk, per_k, hd] + shape[dim + 1:]
    t = t.reshape(new)
    perm = list(range(len(new)))
    perm[dim], perm[dim + 1] = perm[dim + 1], perm[dim]
    return np.ascontiguousarray(t.transpose(perm)).reshape(shape)


def ptq1_block(t, d):
    """One PTQ1_0 block: 128 trits t ∈ {-1, 0, 1} -> qs[24], qh[2] (5 / 4 base-3 digits, first most
    significant, stored as ceil(q·256/243)), then fp16 d."""
    digits = np.zeros((26, 5), dtype=np.int32)   # byte, position n: t + 1 (a qh byte's 5th slot stays 0)
    for v in range(128):
        if v < 80:
            b, n = v % 16, v // 16
        elif v < 120:
            b, n = 16 + (v - 80) % 8, (v - 80) // 8
        else:
            b, n = 24 + (v - 120) % 2, (v - 120) // 2
        digits[b, n] = int(t[v]) + 1
    q = digits @ np.array([81, 27, 9, 3, 1], dtype=np.int32)
    return bytes(((q * 256 + 242) // 243).astype(np.uint8)) + np.float16(d).tobytes()


def pack_ptq1(codes, scales, group):
    assert group == G
    rows, cols = codes.shape
    return b"".join(ptq1_block(codes[r, g0:g0 + G], scales[r, g0 // G]) for r in range(rows) for g0 in range(0, cols, G))


# the spec's example block (group-ternary.md §4)
_t = np.zeros(128, dtype=np.int8)
for _v, _x in [(0, 1), (1, -1), (16, -1), (80, 1), (120, -1), (121, 1), (127, 1)]:
    _t[_v] = _x
assert ptq1_block(_t, np.frombuffer(bytes([0x66, 0x26]), dtype=np.float16)[0]) == bytes(
    [0xb9, 0x2b] + [0x80] * 14 + [0xd5] + [0x80] * 7 + [0x2a, 0xd7, 0x66, 0x26])


def write_gguf(lin, other, path, group, type_id):
    c = CONFIG
    nk, nv = c["linear_num_key_heads"], c["linear_num_value_heads"]
    hk, hv = c["linear_key_head_dim"], c["linear_value_head_dim"]
    per_k, kd = nv // nk, nk * hk
    w = Writer()
    a = "qwen35"
    w.add("general.architecture", 8, a)
    w.add("general.name", 8, "qwen35-ternary-g128-tiny")
    w.add("general.alignment", 4, 32)
    w.add("general.quantization_version", 4, 2)
    for k, v in [("context_length", c["max_position_embeddings"]), ("embedding_length", c["hidden_size"]),
                 ("block_count", c["num_hidden_layers"]), ("feed_forward_length", c["intermediate_size"]),
                 ("attention.head_count", c["num_attention_heads"]),
                 ("attention.head_count_kv", c["num_key_value_heads"]),
                 ("attention.key_length", c["head_dim"]), ("attention.value_length", c["head_dim"]),
                 ("rope.dimension_count", int(c["head_dim"] * 0.25)), ("vocab_size", c["vocab_size"]),
                 ("ssm.conv_kernel", c["linear_conv_kernel_dim"]), ("ssm.state_size", hk),
                 ("ssm.group_count", nk), ("ssm.time_step_rank", nv), ("ssm.inner_size", hv * nv),
                 ("full_attention_interval", c["full_attention_interval"])]:
        w.add(f"{a}.{k}", 4, v)
    w.add(f"{a}.rope.freq_base", 6, c["rope_parameters"]["rope_theta"])
    w.add(f"{a}.attention.layer_norm_rms_epsilon", 6, c["rms_norm_eps"])
    w.add(f"{a}.rope.dimension_sections", 9, (5, [2, 1, 1, 0]))
    tokenizer_kv(w)

    def f32(name, arr):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        w.tensor(name, list(reversed(arr.shape)), 0, arr.tobytes())

    def f16t(name, arr):
        arr = np.ascontiguousarray(arr, dtype=np.float16)
        w.tensor(name, list(reversed(arr.shape)), 1, arr.tobytes())

    def q(name, codes, scales):
        pack = pack_ptq1 if type_id == 143 else pack2
        w.tensor(name, [codes.shape[1], codes.shape[0]], type_id, pack(codes, scales, group))

    def rows_v(codes_scales, hd):
        cs, sc = codes_scales
        return reorder_v(cs, 0, nk, per_k, hd), reorder_v(sc, 0, nk, per_k, hd)

    f16t("token_embd.weight", other["model.embed_tokens.weight"])
    f32("output_norm.weight", 1 + other["model.norm.weight"])
    f16t("output.weight", other["lm_head.weight"])
    for l, kind in enumerate(c["layer_types"]):
        p, b = f"model.layers.{l}.", f"blk.{l}."
        f32(b + "attn_norm.weight", 1 + other[p + "input_layernorm.weight"])
        f32(b + "post_attention_norm.weight", 1 + other[p + "post_attention_layernorm.weight"])
        if kind == "full_attention":
            for hf, gg in [("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v"), ("o_proj", "attn_output")]:
                q(b + gg + ".weight", *lin[p + f"self_attn.{hf}.weight"])
            f32(b + "attn_q_norm.weight", 1 + other[p + "self_attn.q_norm.weight"])
            f32(b + "attn_k_norm.weight", 1 + other[p + "self_attn.k_norm.weight"])
        else:
            la = p + "linear_attn."
            cs, sc = lin[la + "in_proj_qkv.weight"]
            vcs, vsc = rows_v((cs[2 * kd:], sc[2 * kd:]), hv)
            q(b + "attn_qkv.weight", np.concatenate([cs[:2 * kd], vcs]), np.concatenate([sc[:2 * kd], vsc]))
            q(b + "attn_gate.weight", *rows_v(lin[la + "in_proj_z.weight"], hv))
            # out_proj: columns reordered; its 128 inputs are one group, so the scales stay per row
            cs, sc = lin[la + "out_proj.weight"]
            assert cs.shape[1] == G
            q(b + "ssm_out.weight", reorder_v(cs, 1, nk, per_k, hv), sc)
            f32(b + "ssm_beta.weight", reorder_v(other[la + "in_proj_b.weight"], 0, nk, per_k, 1))
            f32(b + "ssm_alpha.weight", reorder_v(other[la + "in_proj_a.weight"], 0, nk, per_k, 1))
            conv = other[la + "conv1d.weight"][:, 0, :]
            conv = np.concatenate([conv[:2 * kd], reorder_v(conv[2 * kd:], 0, nk, per_k, hv)])
            f32(b + "ssm_conv1d.weight", conv)
            A = -np.exp(other[la + "A_log"].astype(np.float64)).astype(np.float32)   # = torch.exp in fp32 here
            f32(b + "ssm_a", reorder_v(A, 0, nk, per_k, 1))
            f32(b + "ssm_dt.bias", reorder_v(other[la + "dt_bias"], 0, nk, per_k, 1))
            f32(b + "ssm_norm.weight", other[la + "norm.weight"])
        for hf, gg in [("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"), ("down_proj", "ffn_down")]:
            q(b + gg + ".weight", *lin[p + f"mlp.{hf}.weight"])
    w.write(path)


# ---- reference ---------------------------------------------------------------------------------------

def write_ggufs(lin, other):
    write_gguf(lin, other, os.path.join(OUT, "model.q2_0.gguf"), 64, 42)
    write_gguf(lin, other, os.path.join(OUT, "model.pq2_0.gguf"), 128, 142)
    write_gguf(lin, other, os.path.join(OUT, "model.ptq1_0.gguf"), 128, 143)


def main():
    rng = np.random.default_rng(SEED)
    lin, other = weights(rng)
    if sys.argv[1:] == ["--gguf-only"]:
        return write_ggufs(lin, other)
    import torch
    import transformers
    from safetensors.torch import save_file
    hf = os.path.join(OUT, "hf")
    os.makedirs(hf, exist_ok=True)
    tensors = {k: torch.tensor(dense(*v)) for k, v in lin.items()}
    tensors.update({k: torch.tensor(v) for k, v in other.items()})
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(hf, "model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(hf, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    for n in ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(os.path.join(TOK_SRC, "hf", n), os.path.join(hf, n))

    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(hf, "tokenizer.model"))
    ids = ([1] + sp.encode(TEXT))[:N_PROMPT]   # BOS + the SentencePiece ids, as in the qwen3 fixtures
    assert len(ids) == N_PROMPT, len(ids)
    model = transformers.AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    missing = set(tensors) - set(model.state_dict())
    assert not missing, missing
    for k, v in model.state_dict().items():
        if k in tensors:
            assert torch.equal(v, tensors[k]), k
    with torch.no_grad():
        logits = model(torch.tensor([ids]), use_cache=False).logits[0]
        # transformers' two forms of the gated delta rule (chunked for prompts, recurrent per token)
        cached = []
        out = model(torch.tensor([ids[:1]]), use_cache=True)
        cached.append(out.logits[0, -1])
        cache = out.past_key_values if hasattr(out, "past_key_values") else out.cache
        for t in ids[1:]:
            out = model(torch.tensor([[t]]), cache=cache, use_cache=True)
            cache = out.past_key_values if hasattr(out, "past_key_values") else out.cache
            cached.append(out.logits[0, -1])
        recurrent_gap = (torch.stack(cached) - logits).abs().max().item()
        seq, greedy, margins = list(ids), [], []
        for _ in range(N_GREEDY):
            last = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
            top = torch.topk(last, 2)
            greedy.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(greedy[-1])
    ref = {
        "fixture": "qwen35-ternary-g128-tiny", "text": TEXT, "tokens": ids,
        "pieces": [sp.id_to_piece(i) for i in ids],
        "reference": f"transformers {transformers.__version__} Qwen3_5ForCausalLM fp32 eager, torch {torch.__version__}",
        "logits_shape": list(logits.shape), "greedy": greedy, "greedy_top2_margin": margins,
        "greedy_note": "each step a fresh full forward of prompt + generated (no cache), argmax of the last row",
        "checks": {"logit_std": float(logits.std()),
                   "max_abs_recurrent_per_token_vs_chunked_prompt": recurrent_gap},
        "logits": [[float(f"{x:.7g}") for x in row] for row in logits.tolist()],
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    write_ggufs(lin, other)
    print(f"logit std {ref['checks']['logit_std']:.3f}, recurrent vs chunked {recurrent_gap:.2e}, "
          f"min greedy margin {min(margins):.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
