"""Train trit's bundled BitNet b1.58 model (and its full-precision twin) on a CPU.

The recipe of the BitNet b1.58 paper, in the 2B4T architecture:
  - BitLinear: absmean ternary weights (beta = mean|W| per tensor, W_t = clamp(round(W/beta), -1, 1)),
    per-token absmax 8-bit activations (s = 127/max|x|, q = clamp(round(x*s), -128, 127)),
    straight-through estimator, full-precision latent weights;
  - RMSNorm, RoPE (NeoX pairs, theta 500000), no biases, relu^2 gated FFN, attention and FFN
    sub-norms before the output projections, grouped-query attention, tied embeddings.
`--fp` trains the twin with the same shape, data and steps but ordinary float linears.

Checkpoints (resumable) go to OUT/checkpoint.pt; the result is a Hugging Face folder OUT/hf
(config.json, model.safetensors with f32 latent weights, tokenizer.json), which
`trit convert` turns into GGUF (I2_S or TQ2_0 for the ternary model, F16 for the twin).

Usage:  python3 prepare_data.py && python3 train_tokenizer.py
        python3 train_bitnet.py --out runs/ternary --minutes 100 --threads 1
        python3 train_bitnet.py --out runs/fp --fp --minutes 100 --threads 1
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = dict(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=512, rope_theta=500000.0, rms_norm_eps=1e-5)


def act_quant(x):
    """Per-token absmax int8 fake quantization with a straight-through gradient."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    q = (x * s).round().clamp(-128, 127) / s
    return x + (q - x).detach()


def weight_quant(w):
    """Absmean ternary fake quantization with a straight-through gradient."""
    beta = w.abs().mean().clamp(min=1e-5)
    q = (w / beta).round().clamp(-1, 1) * beta
    return w + (q - w).detach()


class BitLinear(nn.Linear):
    def __init__(self, i, o, ternary):
        super().__init__(i, o, bias=False)
        self.ternary = ternary
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        if not self.ternary:
            return F.linear(x, self.weight)
        return F.linear(act_quant(x), weight_quant(self.weight))


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, c, ternary):
        super().__init__()
        d, hd = c["hidden_size"], c["hidden_size"] // c["num_attention_heads"]
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], hd
        eps = c["rms_norm_eps"]
        self.input_layernorm = RMSNorm(d, eps)
        self.q_proj = BitLinear(d, self.nh * hd, ternary)
        self.k_proj = BitLinear(d, self.nkv * hd, ternary)
        self.v_proj = BitLinear(d, self.nkv * hd, ternary)
        self.o_proj = BitLinear(self.nh * hd, d, ternary)
        self.attn_sub_norm = RMSNorm(self.nh * hd, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)
        f = c["intermediate_size"]
        self.gate_proj = BitLinear(d, f, ternary)
        self.up_proj = BitLinear(d, f, ternary)
        self.down_proj = BitLinear(f, d, ternary)
        self.ffn_sub_norm = RMSNorm(f, eps)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        a = self.input_layernorm(x)
        q = self.q_proj(a).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(a).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(a).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.nh // self.nkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        o = o.transpose(1, 2).reshape(B, T, self.nh * self.hd)
        x = x + self.o_proj(self.attn_sub_norm(o))
        f = self.post_attention_layernorm(x)
        u = F.relu(self.gate_proj(f)).pow(2) * self.up_proj(f)
        return x + self.down_proj(self.ffn_sub_norm(u))


class Model(nn.Module):
    def __init__(self, c, vocab, ternary):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(vocab, c["hidden_size"])
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList([Block(c, ternary) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        hd = c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        t = torch.arange(c["max_position_embeddings"]).float()
        freqs = torch.outer(t, inv)
        self.register_buffer("cos", freqs.cos(), persistent=False)
        self.register_buffer("sin", freqs.sin(), persistent=False)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.embed_tokens(idx)
        cos, sin = self.cos[:T], self.sin[:T]
        for layer in self.layers:
            x = layer(x, cos, sin)
        return F.linear(self.norm(x), self.embed_tokens.weight)   # tied head, full precision


def load_tokens(tok, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return torch.tensor(tok.encode(text).ids, dtype=torch.long)


def evaluate(model, data, ctx, batches=20):
    model.eval()
    losses = []
    with torch.no_grad():
        n = (len(data) - 1) // ctx
        for b in range(min(batches, n)):
            x = data[b * ctx:(b + 1) * ctx].unsqueeze(0)
            y = data[b * ctx + 1:(b + 1) * ctx + 1].unsqueeze(0)
            losses.append(F.cross_entropy(model(x).view(-1, model.embed_tokens.num_embeddings), y.view(-1)).item())
    model.train()
    return sum(losses) / max(len(losses), 1)


def export(model, out, tok_path, ternary, vocab, steps, loss):
    hf = os.path.join(out, "hf")
    os.makedirs(hf, exist_ok=True)
    tensors = {}
    for k, v in model.state_dict().items():
        if k.startswith("layers."):
            parts = k.split(".")
            sub = parts[2]
            group = "self_attn" if sub in ("q_proj", "k_proj", "v_proj", "o_proj", "attn_sub_norm") else \
                    "mlp" if sub in ("gate_proj", "up_proj", "down_proj", "ffn_sub_norm") else None
            name = f"model.layers.{parts[1]}." + (f"{group}." if group else "") + ".".join(parts[2:])
        else:
            name = "model." + k
        tensors[name] = v.detach().float().contiguous()
    save_file(tensors, os.path.join(hf, "model.safetensors"))
    cfg = dict(CONFIG, architectures=["BitNetForCausalLM"], model_type="bitnet", hidden_act="relu2",
               vocab_size=vocab, bos_token_id=tok_ids(tok_path)[0], eos_token_id=tok_ids(tok_path)[1],
               tie_word_embeddings=True, torch_dtype="float32",
               trit_training=dict(steps=steps, eval_loss=loss, ternary=ternary))
    if ternary:
        cfg["quantization_config"] = dict(quant_method="bitnet", linear_class="autobitlinear", quantization_mode="online")
    else:
        cfg["bitnet_dense"] = True   # trit: run the linears in full precision (the FP twin)
    with open(os.path.join(hf, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(tok_path) as src, open(os.path.join(hf, "tokenizer.json"), "w") as dst:
        dst.write(src.read())
    with open(os.path.join(hf, "tokenizer_config.json"), "w") as f:
        json.dump(dict(add_bos_token=True, add_eos_token=False, bos_token="<|begin_of_text|>",
                       eos_token="<|end_of_text|>"), f, indent=2)


def tok_ids(tok_path):
    t = Tokenizer.from_file(tok_path)
    return t.token_to_id("<|begin_of_text|>"), t.token_to_id("<|end_of_text|>")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fp", action="store_true", help="train the full-precision twin")
    ap.add_argument("--minutes", type=float, default=100, help="wall-time budget of this run")
    ap.add_argument("--max-steps", type=int, default=20000, help="length of the learning-rate schedule")
    ap.add_argument("--stop-at", type=int, default=0, help="stop at this step (e.g. to match the twin's step count)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok_path = os.path.join(HERE, "data", "tokenizer.json")
    tok = Tokenizer.from_file(tok_path)
    vocab = tok.get_vocab_size()
    train = load_tokens(tok, os.path.join(HERE, "data", "train.txt"))
    held = load_tokens(tok, os.path.join(HERE, "data", "heldout.txt"))
    print(f"train tokens {len(train)}, heldout tokens {len(held)}, vocab {vocab}", flush=True)
    model = Model(CONFIG, vocab, ternary=not args.fp)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    os.makedirs(args.out, exist_ok=True)
    ck = os.path.join(args.out, "checkpoint.pt")
    step, elapsed = 0, 0.0
    if os.path.exists(ck):
        s = torch.load(ck)
        model.load_state_dict(s["model"]); opt.load_state_dict(s["opt"])
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed at step {step}, {elapsed / 60:.1f} min trained", flush=True)
    g = torch.Generator().manual_seed(args.seed + step)
    warm, total = 200, args.max_steps
    t0 = time.time() - elapsed
    budget_end = time.time() + args.minutes * 60
    loss_ema = None
    stop_at = args.stop_at or total
    while step < min(total, stop_at) and time.time() < budget_end:
        lr = args.lr * min(1, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        ix = torch.randint(len(train) - args.ctx - 1, (args.batch,), generator=g)
        x = torch.stack([train[i:i + args.ctx] for i in ix])
        y = torch.stack([train[i + 1:i + args.ctx + 1] for i in ix])
        loss = F.cross_entropy(model(x).view(-1, vocab), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_ema = loss.item() if loss_ema is None else 0.98 * loss_ema + 0.02 * loss.item()
        if step % 50 == 0:
            print(f"step {step} loss {loss_ema:.3f} lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
        if step % 500 == 0:
            torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), step=step, elapsed=time.time() - t0), ck)
    elapsed = time.time() - t0
    torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), step=step, elapsed=elapsed), ck)
    ev = evaluate(model, held, args.ctx)
    print(f"done: step {step}, {elapsed / 60:.1f} min, train loss {loss_ema:.3f}, heldout loss {ev:.3f} (ppl {math.exp(ev):.1f})", flush=True)
    export(model, args.out, tok_path, not args.fp, vocab, step, ev)


if __name__ == "__main__":
    main()
