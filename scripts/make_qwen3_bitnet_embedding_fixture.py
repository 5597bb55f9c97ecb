#!/usr/bin/env python3
"""A tiny BitNet-embedding-0.6B-shaped model (qwen3 + a BitLinear RMSNorm before each of the seven
projections, tied embedding, last-token pooling, L2 norm) and its reference embeddings from
transformers, in the files trit reads:

  hf/              Qwen3Model folder: config.json, fp32 safetensors (master weights, `*_proj.norm.weight`),
                   byte-level BPE tokenizer.json (appends <|endoftext|>), sentence-transformers
                   modules.json + 1_Pooling/config.json (lasttoken) + 2_Normalize,
                   config_sentence_transformers.json (prompts: query "query: ", document "")
  model.f32.gguf   bitnet.cpp's layout as utils/convert-bitnet-embedding-to-gguf.py --outtype f32 writes it
  model.i2_s.gguf  ... --outtype i2_s: linears I2_S (type 36, codes + f32 mean|W| after them), the rest F16
  reference.json   per text: token ids (EOS last), the last-token and mean pooled, L2-normalised
                   embeddings and the raw last-token hidden state, from transformers fp32 (eager), and
                   `boundary`: every int8 activation whose pre-rounding value x·s lies within BOUNDARY of a .5
                   rounding boundary, as [layer, projection (q k v o gate up down = 0..6), position, index,
                   x·s, int8]: where an f32 engine's x·s (another summation order: ~1e-5 off at |x·s| ≈ 127)
                   may round the other way, the test rounds as transformers did and shows the row then
                   meets 1e-5

The model (microsoft/BitNet docs/bitnet-embeddings-i2s-guide.md §3.1): every projection is
y = quant8(RMSNorm(x, g_proj)) · ternary(W), with per-token absmax int8 activations
(s = 127 / max(max|x|, 1e-5), round half to even, clamp −128..127, divided back by s) and per-tensor
absmean ternary weights (β = mean|W|, T = clamp(round(W/β), −1, 1), W' = T·β), as BitNet b1.58's BitLinear
(Tests/Fixtures/README.md "Math shared by all").

Weights are masters W = β0·(T·(1+d1) + (1−|T|)·d0), d1 ~ U(±0.04), d0 ~ U(±0.12), so every |W/β| is far
from .5 and every implementation gets the same T. Embedding and norm gains are fp16-exact, so the
I2_S file's F16 copies hold them exactly.

usage: TORCHDYNAMO_DISABLE=1 /work/fixvenv/bin/python scripts/make_qwen3_bitnet_embedding_fixture.py
       (torch, transformers >= 4.51, tokenizers, gguf)
"""
import json
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import gguf
import transformers
from gguf.gguf_writer import TensorInfo
from tokenizers import Tokenizer, Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "qwen3-bitnet-embedding-tiny")
SEED = 3001
HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, LAYERS = 128, 4, 2, 64, 384, 3   # head_dim 64 != 128 / 4
EPS = 1e-6
THETA = 1_000_000.0
BOUNDARY = 1e-4   # |frac(x·s) − .5| recorded in reference.json's `boundary`
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
TEXTS = [
    "Hi",
    "query: What is BitNet?",
    "The harbor was quiet before dawn.",
    "Ternary weights take one of three values: minus one, zero or plus one.",
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: how do tides work",
    "Every morning the old fisherman walked down to the harbor, checked the sky, and prepared his small wooden "
    "boat for the long day at sea. The gulls followed him out past the breakwater, 12 of them, sometimes 13.",
    "It's 2026; we'll see.",
]
CORPUS = [
    "Every morning the old fisherman walked down to the harbor, checked the sky, and prepared his boat.",
    "The quick brown fox jumps over the lazy dog while the weather stays calm and the sea is quiet.",
    "Embedding models map texts to vectors; retrieval compares the vectors of queries and passages.",
    "Ternary weights take three values. Activations are quantized to eight bits per token.",
    "What is the capital of France? Paris is the capital and the largest city of the country.",
    "Instruct: Given a web search query, retrieve relevant passages that answer the query.",
    "Tides are caused by the gravity of the moon and the sun acting on the oceans of the earth.",
] * 20


def tokenizer():
    t = Tokenizer(models.BPE())
    t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024 - len(SPECIALS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    t.train_from_iterator(CORPUS, trainer)
    t.add_special_tokens(SPECIALS)
    eos = t.token_to_id(SPECIALS[0])
    t.post_processor = processors.TemplateProcessing(single=f"$A {SPECIALS[0]}", special_tokens=[(SPECIALS[0], eos)])
    return t


def fp16_exact(x):
    return x.to(torch.float16).to(torch.float32)


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        x = x.float()
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


class BitLinearNorm(nn.Module):
    """BitNet b1.58's BitLinear with its own input RMSNorm (BitNet-embedding's `*_proj.norm`)."""

    recorder = None   # a list: near-boundary activations are appended to it (see BOUNDARY)

    def __init__(self, in_features, out_features, layer, projection):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.norm = RMSNorm(in_features)
        self.where = (layer, projection)

    def forward(self, x):
        x = self.norm(x)
        s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
        v = x * s
        q = v.round().clamp(-128, 127)
        if BitLinearNorm.recorder is not None:
            for b, t, k in ((v - v.floor() - 0.5).abs() < BOUNDARY).nonzero().tolist():
                assert b == 0
                BitLinearNorm.recorder.append([*self.where, t, k, float(v[b, t, k]), int(q[b, t, k])])
        xq = q / s
        beta = self.weight.abs().mean().clamp(min=1e-5)
        w = (self.weight / beta).round().clamp(-1, 1) * beta
        return F.linear(xq, w)


def build(vocab, gen):
    cfg = transformers.Qwen3Config(
        vocab_size=vocab, hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM, hidden_act="silu",
        max_position_embeddings=512, rms_norm_eps=EPS, rope_theta=THETA, tie_word_embeddings=True,
        attention_bias=False, use_sliding_window=False)
    cfg.architectures = ["Qwen3Model"]
    model = transformers.Qwen3Model(cfg)
    model.config._attn_implementation = "eager"
    for n, layer in enumerate(model.layers):
        a, m = layer.self_attn, layer.mlp
        for holder, name, i, o in [(a, "q_proj", HIDDEN, HEADS * HEAD_DIM), (a, "k_proj", HIDDEN, KV_HEADS * HEAD_DIM),
                                   (a, "v_proj", HIDDEN, KV_HEADS * HEAD_DIM), (a, "o_proj", HEADS * HEAD_DIM, HIDDEN),
                                   (m, "gate_proj", HIDDEN, FFN), (m, "up_proj", HIDDEN, FFN),
                                   (m, "down_proj", FFN, HIDDEN)]:
            setattr(holder, name, BitLinearNorm(i, o, n, PROJECTIONS.index(name)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):   # every RMSNorm gain: U(0.5, 1.5), fp16-exact
                p.copy_(fp16_exact(0.5 + torch.rand(p.shape, generator=gen)))
            elif name == "embed_tokens.weight":
                p.copy_(fp16_exact(torch.randn(p.shape, generator=gen) * 0.5))
            else:   # a projection's master weight
                beta0 = 0.02 * (0.8 + 0.4 * torch.rand((), generator=gen))
                t = torch.randint(-1, 2, p.shape, generator=gen).float()
                d1 = (torch.rand(p.shape, generator=gen) * 2 - 1) * 0.04
                d0 = (torch.rand(p.shape, generator=gen) * 2 - 1) * 0.12
                p.copy_(beta0 * (t * (1 + d1) + (1 - t.abs()) * d0))
    model.eval()
    return model


def check_margins(model):
    """Every |W/β| is at least 0.3 away from the rounding boundary 0.5 (beyond 1.5 clamps to 1 all the same)."""
    for name, p in model.named_parameters():
        if name.endswith("_proj.weight"):
            r = (p / p.abs().mean()).abs()
            assert (r - 0.5).abs().min() > 0.3, name


def reference(model, tok, vocab):
    rows = []
    for text in TEXTS:
        ids = tok.encode(text).ids
        assert ids[-1] == tok.token_to_id(SPECIALS[0]) and ids[-2] != ids[-1], ids
        BitLinearNorm.recorder = []
        with torch.no_grad():
            h = model(input_ids=torch.tensor([ids])).last_hidden_state[0].float()
        boundary, BitLinearNorm.recorder = BitLinearNorm.recorder, None
        last = h[-1]
        rows.append({"text": text, "tokens": ids, "boundary": boundary,
                     "last": [float(f"{x:.9g}") for x in F.normalize(last, dim=0).tolist()],
                     "mean": [float(f"{x:.9g}") for x in F.normalize(h.mean(0), dim=0).tolist()],
                     "last_raw": [float(f"{x:.9g}") for x in last.tolist()]})
    return rows


def save_hf(model, tok, folder):
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=SPECIALS[0], pad_token=SPECIALS[0])
    fast.save_pretrained(folder)
    tc_path = os.path.join(folder, "tokenizer_config.json")
    tc = json.load(open(tc_path))
    tc.update({"add_bos_token": False, "add_eos_token": True, "tokenizer_class": "Qwen2Tokenizer"})
    json.dump(tc, open(tc_path, "w"), indent=2)
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(folder, "modules.json"), "w"), indent=2)
    # sentence-transformers' prompts (encode(prompt_name="query") puts "query: " before the text)
    json.dump({"prompts": {"query": "query: ", "document": ""}, "default_prompt_name": None,
               "similarity_fn_name": "cosine"},
              open(os.path.join(folder, "config_sentence_transformers.json"), "w"), indent=2)
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(folder, "2_Normalize"), exist_ok=True)
    json.dump({"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": True, "include_prompt": True},
              open(os.path.join(folder, "1_Pooling", "config.json"), "w"), indent=2)


# --- GGUF, as utils/convert-bitnet-embedding-to-gguf.py writes it (names, keys, types) ---

def gguf_names(n_layers):
    m = {"embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
    for i in range(n_layers):
        p, b = f"layers.{i}", f"blk.{i}"
        m[f"{p}.input_layernorm.weight"] = f"{b}.attn_norm.weight"
        m[f"{p}.post_attention_layernorm.weight"] = f"{b}.ffn_norm.weight"
        m[f"{p}.self_attn.q_norm.weight"] = f"{b}.attn_q_norm.weight"
        m[f"{p}.self_attn.k_norm.weight"] = f"{b}.attn_k_norm.weight"
        for hf, g in [("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"), ("self_attn.v_proj", "attn_v"),
                      ("self_attn.o_proj", "attn_output"), ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"),
                      ("mlp.down_proj", "ffn_down")]:
            m[f"{p}.{hf}.weight"] = f"{b}.{g}.weight"
            m[f"{p}.{hf}.norm.weight"] = f"{b}.{g}_norm_in.weight"
    return m


def i2_s(w):
    """The converter's quantize_to_i2_s: 128-value blocks in 32 bytes (value j of the block in byte j % 32,
    bits 6 − 2·(j // 32)), codes −1→0, 0→1, +1→2, then the f32 scale mean|W|
    and padding to n/4 + 32 bytes."""
    flat = w.reshape(-1).astype(np.float32)
    scale = np.float32(max(np.mean(np.abs(flat)), 1e-5))
    q = np.round(flat * (np.float32(1) / scale)).clip(-1, 1)
    codes = np.ones(flat.size, dtype=np.uint8)
    codes[q > 0.5] = 2
    codes[q < -0.5] = 0
    assert flat.size % 128 == 0
    b = codes.reshape(-1, 4, 32)
    packed = (b[:, 0] << 6) | (b[:, 1] << 4) | (b[:, 2] << 2) | b[:, 3]
    out = np.zeros(flat.size // 4 + 32, dtype=np.uint8)
    out[:flat.size // 4] = packed.reshape(-1)
    out[flat.size // 4:flat.size // 4 + 4] = np.frombuffer(scale.tobytes(), dtype=np.uint8)
    return out


def write_gguf(model, tok, path, outtype):
    cfg = model.config
    w = gguf.GGUFWriter(path, "qwen3")
    w.add_name("qwen3-bitnet-embedding-tiny")
    w.add_block_count(LAYERS)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_freq_base(THETA)
    w.add_layer_norm_rms_eps(EPS)
    w.add_file_type(0 if outtype == "f32" else 40)
    w.add_pooling_type(gguf.PoolingType.LAST)
    # tokenizer: gpt2 BPE, pre qwen2, eos <|endoftext|>, add_eos_token true (the converter's Qwen3 branch)
    vocab = tok.get_vocab()
    rev = {i: t for t, i in vocab.items()}
    tokens = [rev[i] for i in range(len(rev))]
    types = [gguf.TokenType.CONTROL if t in SPECIALS else gguf.TokenType.NORMAL for t in tokens]
    merges = json.loads(tok.to_str())["model"]["merges"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    w.add_eos_token_id(tok.token_to_id(SPECIALS[0]))
    w.add_pad_token_id(tok.token_to_id(SPECIALS[0]))
    w.add_add_bos_token(False)
    w.add_add_eos_token(True)
    names = gguf_names(LAYERS)
    for hf, t in model.state_dict().items():
        name = names[hf]
        data = t.detach().float().numpy()
        is_norm = name.endswith("_norm.weight") or name.endswith("_norm_in.weight")
        is_linear = data.ndim == 2 and name != "token_embd.weight"
        if outtype == "i2_s" and is_linear:
            packed = i2_s(data)
            w.tensors[-1][name] = TensorInfo(shape=list(data.shape), dtype=36, nbytes=packed.nbytes)   # GGML I2_S
            w.tensors[-1][name].tensor = packed
        elif outtype == "i2_s":
            w.add_tensor(name, data.astype(np.float16))   # embedding and norms F16 (fp16-exact here)
        else:
            w.add_tensor(name, data.astype(np.float32))
        assert is_norm or data.ndim == 2
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    tok = tokenizer()
    model = build(tok.get_vocab_size(), gen)
    check_margins(model)
    rows = reference(model, tok, tok.get_vocab_size())
    save_hf(model, tok, os.path.join(OUT, "hf"))
    write_gguf(model, tok, os.path.join(OUT, "model.f32.gguf"), "f32")
    write_gguf(model, tok, os.path.join(OUT, "model.i2_s.gguf"), "i2_s")
    # the HF folder's tokenizer, as transformers loads it, gives the reference's ids (EOS appended)
    fast = transformers.AutoTokenizer.from_pretrained(os.path.join(OUT, "hf"))
    for r in rows:
        assert fast(r["text"])["input_ids"] == r["tokens"], (fast(r["text"])["input_ids"], r["tokens"])
    ref = {"transformers": transformers.__version__, "torch": torch.__version__, "seed": SEED,
           "pooling": "last", "normalize": True, "eos": SPECIALS[0], "rms_norm_eps": EPS, "boundary": BOUNDARY,
           "inputs": rows}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    print("texts:", [len(r["tokens"]) for r in rows], "vocab", tok.get_vocab_size())


if __name__ == "__main__":
    main()
