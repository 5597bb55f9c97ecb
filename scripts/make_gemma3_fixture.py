#!/usr/bin/env python3
"""The gemma3-tiny fixture (Tests/Fixtures/gemma3-tiny): a tiny random Gemma3 text model made and
evaluated with transformers' Gemma3TextModel, in two forms.

- plain/: Gemma3TextModel as transformers defines it (fp32 linears): HF folder + F32 GGUF.
- bidir/: plain/'s weights with use_bidirectional_attention (every position sees every other;
  a sliding layer's window is |q − kv| < window): HF folder + F32 GGUF (attention.causal false).
- bitnet/: the same backbone with every projection replaced by a BitLinear with its own RMSNorm,
  as in BitNet-embedding-270M: y = W_ternary·β · quant8(RMSNorm(x, g_proj)), W ternarized from its
  master weights by absmean (β = mean|W|), per-token absmax int8 activations (s = 127/max|x|,
  round half to even, clamp ±127/−128; Tests/Fixtures/README.md "Math shared by all"). HF folder
  (master weights), F32 GGUF (masters) and I2_S GGUF (bitnet.cpp's layout, as
  utils/convert-bitnet-embedding-to-gguf.py of microsoft/BitNet packs it).

Shape: hidden 192 (√192 is not a power of two), 4 layers [sliding, full, sliding, full], 2 heads,
1 KV head, head_dim 128 (≠ hidden/heads), ffn 384, sliding_window 8, RoPE 1e6 global / 1e4 local,
query_pre_attn_scalar = head_dim (what llama.cpp's GGUF rule gives), GELU-tanh, all norm gains
random so (1 + w) shows. Tokenizer: a small BPE with byte fallback built with the `tokenizers`
library with GemmaTokenizer's settings (normalizer Replace(" ", "▁"), pre-tokenizer
Split(" ", merged_with_previous), decoder Replace/ByteFallback/Fuse; <pad> 0, <eos> 1, <bos> 2,
<unk> 3, <mask> 4): the real 262k Gemma vocabulary cannot be downloaded here.

GGUF names and conventions are bitnet.cpp's converter's (llama.cpp's gemma3 names; Gemma's own
norms stored as 1 + w, the BitLinear norms `*_norm_in` as they are), plus llama.cpp's
`attention.sliding_window`, `attention.sliding_window_pattern` (one flag per layer) and
`rope.freq_base_swa`.

tokenizer-cases.json: 100 texts in many scripts with HF tokenizers' ids and decoded text.

Reference (reference.json): per text, the tokens (BOS + ids), the last-token pooled hidden state
after the final norm (transformers fp32, eager attention) and its L2-normalized form, for each
form; `boundary`: every int8 activation (bitnet/) whose pre-rounding value x·s lies within
BOUNDARY of a .5 rounding boundary, as [layer, projection (q k v o gate up down = 0..6), position,
index, x·s, the int8 transformers rounded it to]. The token embedding is f16-exact (I2_S stores it
in F16). usage: /work/fixvenv/bin/python scripts/make_gemma3_fixture.py
"""
import json
import os
import shutil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
import gguf  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers  # noqa: E402
from tokenizers.models import BPE  # noqa: E402
from tokenizers.trainers import BpeTrainer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "gemma3-tiny")
SEED = 3003
EPS = 1e-6
BOUNDARY = 1e-4   # |frac(x·s) − .5| of an int8 activation recorded in reference.json's `boundary`
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LAYER_TYPES = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]
TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Ternary weights: −1, 0 and +1; activations in eight bits.",
    "Every morning the old fisherman walked down to the harbor, checked the sky, and prepared his boat.",
    "  leading spaces, trailing spaces  \nand a new line\t(tab)",
    "日本語のテキストと emoji 🚀 mixed with English words and numbers 12345.",
    "Sliding windows see only the last few positions; global layers see every position of the text, "
    "so a long input tells the two kinds of layer apart.",
]
CORPUS = [
    "the quick brown fox jumps over the lazy dog", "every morning the old fisherman walked to the harbor",
    "hello world, hello there, the world is wide", "sliding windows and global layers in a transformer",
    "ternary weights with eight bit activations", "numbers like 12345 and 2026 appear in text",
    "leading spaces and trailing spaces and new lines", "embedding models pool the last token",
]


# the tokenizer check: texts in many scripts, with the whitespace and byte-fallback cases
SNIPPETS = [
    "Hello world", "the quick brown fox", "Ternary weights −1, 0, +1", "Grüße aus München, straße",
    "Ça va? Très bien, merci.", "¿Dónde está la biblioteca?", "Привет, как дела?", "Γειά σου κόσμε",
    "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "こんにちは世界", "你好，世界！", "안녕하세요 세계", "สวัสดีชาวโลก",
    "Xin chào thế giới", "Merhaba dünya", "Witaj świecie", "Hej världen, åäö",
    "emoji 🚀🔥👍🏽 and 👨\u200d👩\u200d👧", "numbers 12345 and 3.14159, 1e-6", "code: def f(x): return x**2",
    "URL https://example.com/a?b=c&d=e", "tabs\tand\nnew lines\r\n", "  two leading spaces",
    "trailing spaces   ", "many     inner     spaces", "\n\nblank lines\n\n", "a", " ", "▁ literal marker ▁",
    "<bos> <eos> look like specials", "mixed 日本語 and English 123", "ℕ ∑ ∫ ≤ ≥ ≠ √",
]


def tokenizer_cases():
    """100 texts: each snippet, then pairs joined by a space, a newline or nothing."""
    texts = list(SNIPPETS)
    joins = [" ", "\n", "", "  ", "\t"]
    i = 0
    while len(texts) < 100:
        a, b = SNIPPETS[i % len(SNIPPETS)], SNIPPETS[(i * 7 + 3) % len(SNIPPETS)]
        texts.append(a + joins[i % len(joins)] + b)
        i += 1
    return texts


def make_tokenizer():
    special = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split(pattern=" ", behavior="merged_with_previous", invert=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    trainer = BpeTrainer(vocab_size=600, special_tokens=special + byte_tokens, show_progress=False,
                         initial_alphabet=list("abcdefghijklmnopqrstuvwxyz▁.,"))
    tok.train_from_iterator(CORPUS * 4, trainer)
    j = json.loads(tok.to_str())
    # the byte tokens are model tokens (byte fallback), not added tokens
    j["added_tokens"] = [a for a in j["added_tokens"] if a["content"] in special]
    j["post_processor"] = {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}}
    return Tokenizer.from_str(json.dumps(j)), j


class RMS(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))


class BitLinearNorm(nn.Module):
    """BitNet-embedding's projection: its own RMSNorm, int8 activations, absmean-ternary weights."""

    recorder = None   # a list: near-boundary activations are appended to it (see BOUNDARY)

    def __init__(self, lin: nn.Linear, gen, layer, projection):
        super().__init__()
        self.where = (layer, projection)
        out_f, in_f = lin.weight.shape
        self.norm = RMS(in_f)
        with torch.no_grad():
            self.norm.weight.copy_(torch.rand(in_f, generator=gen) + 0.5)
        # masters far from every rounding boundary: β·T·(1 + d1) for T ≠ 0, β·d0 for T = 0
        t = torch.randint(-1, 2, (out_f, in_f), generator=gen).float()
        d1 = (torch.rand(out_f, in_f, generator=gen) * 2 - 1) * 0.04
        d0 = (torch.rand(out_f, in_f, generator=gen) * 2 - 1) * 0.12
        beta = 0.02
        self.weight = nn.Parameter(beta * (t * (1 + d1) + (1 - t.abs()) * d0))

    def forward(self, x):
        x = x.float()
        xn = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.norm.weight
        s = 127.0 / xn.abs().amax(-1, keepdim=True).clamp(min=1e-5)
        v = xn * s
        q = v.round().clamp(-128, 127)
        if BitLinearNorm.recorder is not None:
            for b, t, k in ((v - v.floor() - 0.5).abs() < BOUNDARY).nonzero().tolist():
                BitLinearNorm.recorder.append([*self.where, t, k, float(v[b, t, k]), int(q[b, t, k])])
        xq = q / s
        beta = self.weight.abs().mean().clamp(min=1e-5)
        w = (self.weight / beta).round().clamp(-1, 1) * beta
        return F.linear(xq, w)


def make_config(vocab, bidirectional=False):
    return transformers.Gemma3TextConfig(
        vocab_size=vocab, hidden_size=192, intermediate_size=384, num_hidden_layers=4,
        num_attention_heads=2, num_key_value_heads=1, head_dim=128, hidden_activation="gelu_pytorch_tanh",
        max_position_embeddings=512, rms_norm_eps=EPS, query_pre_attn_scalar=128, sliding_window=8,
        layer_types=LAYER_TYPES, use_bidirectional_attention=bidirectional, attn_logit_softcapping=None,
        final_logit_softcapping=None, pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True,
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        attn_implementation="eager")


def make_model(vocab, bitnet, bidirectional=False):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    model = transformers.Gemma3TextModel(make_config(vocab, bidirectional)).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(torch.rand(p.shape, generator=gen) - 0.5)   # gains 1 + w in [0.5, 1.5]
            elif "embed" in name:
                # f16-exact: the I2_S file stores the embedding in F16
                p.copy_((torch.randn(p.shape, generator=gen) * 0.05).half().float())
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    if bitnet:
        for i, layer in enumerate(model.layers):
            for parent, names in ((layer.self_attn, ["q_proj", "k_proj", "v_proj", "o_proj"]),
                                  (layer.mlp, ["gate_proj", "up_proj", "down_proj"])):
                for n in names:
                    setattr(parent, n, BitLinearNorm(getattr(parent, n), gen, i, PROJECTIONS.index(n)))
    return model.eval()


def gguf_name_map(n_layers):
    m = {"embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
    for i in range(n_layers):
        p, b = f"layers.{i}", f"blk.{i}"
        m.update({
            f"{p}.input_layernorm.weight": f"{b}.attn_norm.weight",
            f"{p}.post_attention_layernorm.weight": f"{b}.post_attention_norm.weight",
            f"{p}.pre_feedforward_layernorm.weight": f"{b}.ffn_norm.weight",
            f"{p}.post_feedforward_layernorm.weight": f"{b}.post_ffw_norm.weight",
            f"{p}.self_attn.q_norm.weight": f"{b}.attn_q_norm.weight",
            f"{p}.self_attn.k_norm.weight": f"{b}.attn_k_norm.weight",
        })
        for hf, g in (("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"), ("self_attn.v_proj", "attn_v"),
                      ("self_attn.o_proj", "attn_output"), ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"),
                      ("mlp.down_proj", "ffn_down")):
            m[f"{p}.{hf}.weight"] = f"{b}.{g}.weight"
            m[f"{p}.{hf}.norm.weight"] = f"{b}.{g}_norm_in.weight"
    return m


def quantize_i2_s(w):
    """bitnet.cpp's I2_S: absmean ternary, codes −1/0/+1 → 0/1/2, 128-value blocks of 32 bytes
    (byte = c0<<6 | c1<<4 | c2<<2 | c3, c_k the value at 32k + byte index), then the f32 scale."""
    flat = w.reshape(-1).astype(np.float32)
    scale = np.float32(max(np.mean(np.abs(flat)), 1e-5))
    q = np.clip(np.round(flat / scale), -1, 1)
    codes = np.ones(flat.size, dtype=np.uint8)
    codes[q > 0.5] = 2
    codes[q < -0.5] = 0
    codes = codes.reshape(-1, 4, 32)
    packed = (codes[:, 0] << 6) | (codes[:, 1] << 4) | (codes[:, 2] << 2) | codes[:, 3]
    out = np.zeros(flat.size // 4 + 32, dtype=np.uint8)
    out[:flat.size // 4] = packed.reshape(-1)
    out[flat.size // 4:flat.size // 4 + 4] = np.frombuffer(scale.tobytes(), dtype=np.uint8)
    return out


def write_gguf(path, model, tok_json, outtype):
    cfg = model.config
    w = gguf.GGUFWriter(path, "gemma3")
    w.add_name("gemma3-tiny")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_parameters["full_attention"]["rope_theta"])
    w.add_rope_freq_base_swa(cfg.rope_parameters["sliding_attention"]["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    # the config file's window (transformers keeps w // 2 + 1 in memory for a bidirectional model;
    # llama.cpp's gemma-embedding reads the file's value and masks |q − kv| > w / 2)
    bidirectional = cfg.use_bidirectional_attention
    w.add_sliding_window((cfg.sliding_window - 1) * 2 if bidirectional else cfg.sliding_window)
    w.add_sliding_window_pattern([t == "sliding_attention" for t in cfg.layer_types])
    w.add_pooling_type(gguf.PoolingType.LAST)
    if cfg.use_bidirectional_attention:
        w.add_causal_attention(False)
    w.add_file_type(40 if outtype == "i2_s" else 0)
    # tokenizer as bitnet.cpp's converter writes Gemma3's: SPM ("llama") with merge-rank scores
    vocab = tok_json["model"]["vocab"]
    merges = tok_json["model"]["merges"]
    rank = {}
    for r, m in enumerate(merges):
        res = "".join(m) if isinstance(m, list) else "".join(m.split(" ", 1))
        rank.setdefault(res, -float(r))
    rev = {v: k for k, v in vocab.items()}
    tokens, scores, types = [], [], []
    for i in range(cfg.vocab_size):
        t = rev[i]
        tokens.append(t.encode("utf-8"))
        if i < 5:
            types.append(gguf.TokenType.UNKNOWN if t == "<unk>" else gguf.TokenType.CONTROL)
            scores.append(0.0 if t == "<unk>" else -1000.0)
        elif t.startswith("<0x") and len(t) == 6:
            types.append(gguf.TokenType.BYTE)
            scores.append(0.0)
        else:
            types.append(gguf.TokenType.NORMAL)
            scores.append(rank.get(t, 0.0))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_add_space_prefix(False)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    names = gguf_name_map(cfg.num_hidden_layers)
    for hf, t in model.state_dict().items():
        g = names[hf]
        data = t.float().numpy()
        is_norm = g.endswith("_norm.weight")
        if is_norm:
            data = data + np.float32(1.0)   # Gemma's own norms: the GGUF holds 1 + w
        if outtype == "i2_s" and data.ndim == 2 and g != "token_embd.weight":
            # gguf-py has no I2_S (type 36): the int8 view keeps the shape given, the type is written as is
            w.add_tensor(g, quantize_i2_s(data).view(np.int8), raw_shape=data.shape, raw_dtype=36)
        elif outtype == "i2_s" and g == "token_embd.weight":
            w.add_tensor(g, data.astype(np.float16))
        else:
            w.add_tensor(g, data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_hf(folder, model, tok_json):
    os.makedirs(folder, exist_ok=True)
    cfg = model.config.to_dict()
    cfg["architectures"] = ["Gemma3TextModel"]
    cfg.pop("attn_implementation", None)
    cfg.pop("_attn_implementation", None)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tok_json, f, ensure_ascii=False, indent=1)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>",
                   "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
                   "add_bos_token": True, "add_eos_token": False}, f, indent=2)
    # sentence-transformers: last-token pooling, then normalization
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  f, indent=2)
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    with open(os.path.join(folder, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": model.config.hidden_size, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
                   "pooling_mode_lasttoken": True, "include_prompt": True}, f, indent=2)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    tok, tok_json = make_tokenizer()
    vocab = tok.get_vocab_size()
    ref = {"texts": [], "window": 8, "layer_types": LAYER_TYPES, "vocab_size": vocab}
    encoded = [tok.encode(t).ids for t in TEXTS]
    assert max(len(e) for e in encoded) > 8, "one text must be longer than the sliding window"
    for form, bitnet, bidirectional in (("plain", False, False), ("bitnet", True, False), ("bidir", False, True)):
        model = make_model(vocab, bitnet, bidirectional)
        folder = os.path.join(OUT, form)
        write_hf(os.path.join(folder, "hf"), model, tok_json)
        write_gguf(os.path.join(folder, "model.f32.gguf"), model, tok_json, "f32")
        if bitnet:
            write_gguf(os.path.join(folder, "model.i2_s.gguf"), model, tok_json, "i2_s")
        rows = []
        with torch.no_grad():
            for text, ids in zip(TEXTS, encoded):
                BitLinearNorm.recorder = []
                h = model(input_ids=torch.tensor([ids])).last_hidden_state[0, -1].double()
                boundary, BitLinearNorm.recorder = BitLinearNorm.recorder, None
                rows.append({"pooled": [float(x) for x in h.float()],
                             "normalized": [float(x) for x in (h / h.norm()).float()], "boundary": boundary})
        ref[form] = rows
    for text, ids in zip(TEXTS, encoded):
        ref["texts"].append({"text": text, "tokens": ids})
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, ensure_ascii=False)
    # HF tokenizers' ids (BOS first) and decoded text of 100 texts, for the tokenizer tests
    cases = []
    for t in tokenizer_cases():
        ids = tok.encode(t).ids
        cases.append({"text": t, "tokens": ids, "decoded": tok.decode(ids, skip_special_tokens=True)})
    with open(os.path.join(OUT, "tokenizer-cases.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    print("vocab", vocab, "lengths", [len(e) for e in encoded])


if __name__ == "__main__":
    main()
