#!/usr/bin/env python3
"""Load on trit's OpenAI-compatible server: for each number of concurrent clients, every client
sends non-streamed completions (random P-token prompts, G tokens, greedy, ignore_eos) for a bounded
time; reports aggregate generated tokens/s (from the responses' usage), request latency p50/p99,
and, alone, the time to first token of a P-token prompt (a 1-token completion).

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


async def load(base, clients, p, g, seconds, vocab, rng):
    deadline = time.perf_counter() + seconds
    lat, tokens = [], 0

    async def client(c):
        nonlocal tokens
        done = 0
        while time.perf_counter() < deadline and done < 50:
            body = {"prompt": [rng.randrange(vocab) for _ in range(p)], "max_tokens": g, "temperature": 0,
                    "ignore_eos": True}
            t0 = time.perf_counter()
            r = await c.post(base + "/v1/completions", json=body)
            r.raise_for_status()
            lat.append(time.perf_counter() - t0)
            tokens += r.json()["usage"]["completion_tokens"]
            done += 1
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=600) as c:
        await asyncio.gather(*[client(c) for _ in range(clients)])
    return tokens / (time.perf_counter() - t0), lat


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"))
    ap.add_argument("--clients", default="1,4,8,16")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-g", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=60)
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
            tps, lat = asyncio.run(load(base, n, a.p, a.g, a.seconds, vocab, rng))
            rows.append(dict(clients=n, tokens_per_second=tps, latency_p50=pct(lat, 0.5), latency_p99=pct(lat, 0.99),
                             requests=len(lat)))
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
    print("| clients | tokens/s | request latency p50 | p99 | requests |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['tokens_per_second']:.1f} | {r['latency_p50']:.2f} s | {r['latency_p99']:.2f} s | {r['requests']} |")


if __name__ == "__main__":
    main()
