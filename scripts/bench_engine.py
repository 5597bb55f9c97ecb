#!/usr/bin/env python3
"""Concurrency through the engine: N simultaneous requests with P-token prompts and G-token
outputs, for each N in --concurrency. Reports aggregate generated tokens/s, time to first token
p50/p99, inter-token latency p50/p99, and (with --long-prompt) the inter-token latency of running
streams while a long prompt is admitted. A table, or --json.

    build/venv/bin/python scripts/bench_engine.py [--model PATH] [--concurrency 1,2,4,8,16] [-p 128] [-g 64]
                                    [--threads 2] [--long-prompt 512] [--json]

Without --model: the synthetic 2B4T model in ~/.cache/trit-bench (written once with trit synth).
Prompts are random token ids (distinct per request, so no prefix is shared)."""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

import trit   # the installed package: `make python`, then run this with build/venv/bin/python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def run(eng, n, p, g, vocab, rng, long_prompt=0):
    """n requests at once; returns (tokens/s, ttfts, itls, itls during the long prompt)."""
    starts, firsts, stamps = {}, {}, {}
    lock = threading.Lock()
    t0 = time.perf_counter()
    reqs = []
    for i in range(n):
        prompt = [rng.randrange(vocab) for _ in range(p)]
        starts[i] = time.perf_counter()
        reqs.append(eng.submit(prompt, max_tokens=g, temperature=0, ignore_eos=True))
    during = []
    long_req, long_window = None, None

    def consume(i, r):
        for _ in r:
            now = time.perf_counter()
            with lock:
                firsts.setdefault(i, now)
                stamps.setdefault(i, []).append(now)
    ts = [threading.Thread(target=consume, args=(i, r)) for i, r in enumerate(reqs)]
    [t.start() for t in ts]
    if long_prompt:
        time.sleep(0.5 + 2 * g / 64)   # streams running steadily, then a long prompt arrives
        t_long = time.perf_counter()
        long_req = eng.submit([rng.randrange(vocab) for _ in range(long_prompt)], max_tokens=1, temperature=0)
        long_req.text()
        long_window = (t_long, time.perf_counter())
    [t.join() for t in ts]
    wall = time.perf_counter() - t0
    ttft = [firsts[i] - starts[i] for i in firsts]
    itl, steady = [], []
    for i, s in stamps.items():
        for a, b in zip(s, s[1:]):
            itl.append(b - a)
            if long_window and long_window[0] <= b <= long_window[1] + 0.001:
                during.append(b - a)
    total = sum(len(s) for s in stamps.values())
    return total / wall, ttft, itl, during


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--concurrency", default="1,2,4,8,16")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-g", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long-prompt", type=int, default=0, help="also admit a prompt of this many tokens mid-run (at the largest N)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    model = a.model
    if model is None:
        cache = os.path.expanduser("~/.cache/trit-bench")
        os.makedirs(cache, exist_ok=True)
        model = os.path.join(cache, "synth-2b4t-i2_s.gguf")
        if not os.path.exists(model):
            subprocess.run([os.path.join(ROOT, "build", "bin", "trit"), "synth", "--preset", "2b4t", "--type", "i2_s",
                            "-o", model], check=True)
    ns = [int(x) for x in a.concurrency.split(",")]
    m = trit.Model(model, n_ctx=8, n_threads=1)
    vocab = m.info["n_vocab"]
    rng = random.Random(1)
    rows = []
    base = None
    for n in ns:
        with trit.Engine(m, n_seq=max(ns), n_ctx=a.p + a.g + max(a.long_prompt, 0) + 8, n_threads=a.threads) as eng:
            run(eng, 1, 8, 2, vocab, rng)   # warm-up: pages in the weights
            tps, ttft, itl, during = run(eng, n, a.p, a.g, vocab, rng, a.long_prompt if n == ns[-1] else 0)
            stats = eng.stats()
        base = base or tps
        row = dict(concurrency=n, tokens_per_second=tps, speedup=tps / base, ttft_p50=pct(ttft, 0.5), ttft_p99=pct(ttft, 0.99),
                   itl_p50=pct(itl, 0.5), itl_p99=pct(itl, 0.99), cells_total=stats["cells_total"])
        if during:
            row.update(itl_during_long_prompt_p99=pct(during, 0.99), itl_during_long_prompt_max=max(during))
        rows.append(row)
        if not a.json:
            print(f"concurrency {n}: {tps:.1f} t/s ({tps / base:.2f}x), TTFT p50 {row['ttft_p50'] * 1000:.0f} ms "
                  f"p99 {row['ttft_p99'] * 1000:.0f} ms, ITL p50 {row['itl_p50'] * 1000:.1f} ms p99 {row['itl_p99'] * 1000:.1f} ms"
                  + (f", ITL p99 while a {a.long_prompt}-token prompt is admitted {row['itl_during_long_prompt_p99'] * 1000:.1f} ms"
                     if during else ""), file=sys.stderr, flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"model {os.path.basename(model)}, {a.threads} threads, prompts {a.p}, outputs {a.g} tokens")
    print("| concurrency | tokens/s | × one request | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['tokens_per_second']:.1f} | {r['speedup']:.2f} | {r['ttft_p50'] * 1000:.0f} ms | "
              f"{r['ttft_p99'] * 1000:.0f} ms | {r['itl_p50'] * 1000:.1f} ms | {r['itl_p99'] * 1000:.1f} ms |")
    for r in rows:
        if "itl_during_long_prompt_p99" in r:
            print(f"\nInter-token latency p99 while a {a.long_prompt}-token prompt was admitted (concurrency "
                  f"{r['concurrency']}): {r['itl_during_long_prompt_p99'] * 1000:.1f} ms, against {r['itl_p50'] * 1000:.1f} ms "
                  f"steady (p50): {r['itl_during_long_prompt_p99'] / r['itl_p50']:.2f}x")


if __name__ == "__main__":
    main()
