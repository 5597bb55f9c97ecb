#!/usr/bin/env python3
"""Load on trit's OpenAI-compatible server: for each number of concurrent clients, every client
sends completions (random P-token prompts, G tokens, greedy, ignore_eos) for a bounded time and
count; reports aggregate generated tokens/s (from the responses' usage), request latency p50/p99,
and, alone, the time to first token of a P-token prompt (a 1-token completion). With --stream the
requests stream and the time to first token and the inter-token latency (between SSE chunks)
p50/p99 are reported per level too (a model whose tokens are control tokens sends no text chunks:
use a real vocabulary, e.g. the bundled model).

    build/venv/bin/python scripts/bench_server.py [--model PATH] [--clients 1,4,8,16] [-p 128] [-g 64]
                                                  [--threads 2] [--seconds 60] [--json]

It starts `python -m trit.server` on 127.0.0.1 (an ephemeral port) with --parallel = the largest
client count, and compares with `trit bench --concurrency` figures you pass with --engine-tps."""
import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def load(base, clients, p, g, seconds, vocab, rng, stream):
    deadline = time.perf_counter() + seconds
    lat, ttft, itl, tokens = [], [], [], 0

    async def client(c):
        nonlocal tokens
        done = 0
        while time.perf_counter() < deadline and done < 50:
            body = {"prompt": [rng.randrange(vocab) for _ in range(p)], "max_tokens": g, "temperature": 0,
                    "ignore_eos": True, "stream": stream}
            t0 = time.perf_counter()
            if stream:
                last = None
                async with c.stream("POST", base + "/v1/completions", json=body) as r:
                    r.raise_for_status()
                    async for line in r.aiter_lines():
                        if not line.startswith("data:") or line.strip() == "data: [DONE]":
                            continue
                        now = time.perf_counter()
                        if json.loads(line[5:])["choices"][0]["text"]:
                            if last is None:
                                ttft.append(now - t0)
                            else:
                                itl.append(now - last)
                            last = now
                tokens += g
            else:
                r = await c.post(base + "/v1/completions", json=body)
                r.raise_for_status()
                tokens += r.json()["usage"]["completion_tokens"]
            lat.append(time.perf_counter() - t0)
            done += 1
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=600) as c:
        await asyncio.gather(*[client(c) for _ in range(clients)])
    return tokens / (time.perf_counter() - t0), lat, ttft, itl


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"))
    ap.add_argument("--clients", default="1,4,8,16")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-g", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--stream", action="store_true", help="streamed requests: also TTFT and inter-token latency per level")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    levels = [int(x) for x in a.clients.split(",")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    srv = subprocess.Popen([sys.executable, "-m", "trit.server", "--model", a.model, "--port", str(port), "--parallel",
                            str(max(levels)), "--ctx-size", str(a.p + a.g + 8), "--threads", str(a.threads),
                            "--queue-limit", "1024"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        import trit
        vocab = trit.Model(a.model, n_ctx=8, n_threads=1).info["n_vocab"]
        rng = random.Random(3)
        # time to first token alone: a 1-token completion of a P-token prompt (median of 5)
        ttft = []
        with httpx.Client(timeout=600) as c:   # one connection, as a client library keeps it
            for _ in range(6):
                body = {"prompt": [rng.randrange(vocab) for _ in range(a.p)], "max_tokens": 1, "temperature": 0}
                t0 = time.perf_counter()
                c.post(base + "/v1/completions", json=body).raise_for_status()
                ttft.append(time.perf_counter() - t0)
        ttft = statistics.median(ttft[1:])
        rows = []
        for n in levels:
            tps, lat, tt, il = asyncio.run(load(base, n, a.p, a.g, a.seconds, vocab, rng, a.stream))
            rows.append(dict(clients=n, tokens_per_second=tps, latency_p50=pct(lat, 0.5), latency_p99=pct(lat, 0.99),
                             requests=len(lat), ttft_p50=pct(tt, 0.5), ttft_p99=pct(tt, 0.99), itl_p50=pct(il, 0.5),
                             itl_p99=pct(il, 0.99)))
            print(f"clients {n}: {tps:.1f} t/s, latency p50 {pct(lat, 0.5):.2f} s p99 {pct(lat, 0.99):.2f} s ({len(lat)} requests)",
                  file=sys.stderr, flush=True)
    finally:
        srv.terminate()
        srv.wait(30)
    if a.json:
        print(json.dumps(dict(model=a.model, ttft_alone=ttft, rows=rows), indent=1))
        return
    print(f"model {os.path.basename(a.model)}, {a.threads} threads, prompts {a.p}, {a.g} tokens per request; "
          f"time to first token alone ({a.p}-token prompt): {ttft * 1000:.0f} ms")
    if a.stream:
        print("| clients | tokens/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | requests |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['clients']} | {r['tokens_per_second']:.1f} | {r['ttft_p50'] * 1000:.1f} ms | {r['ttft_p99'] * 1000:.1f} ms | "
                  f"{r['itl_p50'] * 1000:.2f} ms | {r['itl_p99'] * 1000:.2f} ms | {r['requests']} |")
        return
    print("| clients | tokens/s | request latency p50 | p99 | requests |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['tokens_per_second']:.1f} | {r['latency_p50']:.2f} s | {r['latency_p99']:.2f} s | {r['requests']} |")


if __name__ == "__main__":
    main()
