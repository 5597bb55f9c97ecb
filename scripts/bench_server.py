#!/usr/bin/env python3
"""Load on an OpenAI-compatible server (trit's, llama.cpp's llama-server or any other): for each number
of concurrent clients, every client sends completions through the official `openai` client (random
P-token prompts as token ids, G tokens, greedy, ignore_eos) for a bounded time and count; reports
aggregate generated tokens/s (from the responses' usage), request latency p50/p99, and, alone, the time
to first token of a P-token prompt (a 1-token completion). With --stream the requests stream and the
time to first token and the inter-token latency (between chunks carrying text) p50/p99 are reported
per level too (a model whose tokens are control tokens sends no text chunks: use a real vocabulary,
e.g. the bundled model, or a random model from `trit synth --text-vocab`).

    build/venv/bin/python scripts/bench_server.py [--model PATH] [--clients 1,4,8,16] [-p 128] [-g 64]
                                                  [--threads 2] [--seconds 60 | --requests N] [--stream] [--json]
                                                  [--llama-server BIN | --base-url URL] [--vocab N]

By default it starts `python -m trit.server` on 127.0.0.1 (an ephemeral port) with --parallel = the
largest client count. --llama-server BIN starts llama.cpp's server on the same file instead (-np = the
largest client count, a context of P + G + 8 per slot, -t/-tb = --threads); --base-url targets a server
already running (nothing is started). The prompts' token ids are drawn below --vocab, by default the
length of the GGUF's `tokenizer.ggml.tokens` (--model). The same --seed draws the same prompts for every
server, so two runs compare the same work."""
import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import time

import httpx
from openai import AsyncOpenAI, OpenAI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def gguf_vocab(path):
    """Length of the GGUF's tokenizer.ggml.tokens array (the KV section only; no engine loads the file)."""
    with open(path, "rb") as f:
        def rd(fmt):
            n = struct.calcsize("<" + fmt)
            return struct.unpack("<" + fmt, f.read(n))[0]

        def rstr():
            return f.read(rd("Q"))
        sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

        def skip(t):
            if t == 8:
                rstr()
            elif t == 9:
                et, n = rd("I"), rd("Q")
                if et in sizes:
                    f.seek(n * sizes[et], 1)
                else:
                    for _ in range(n):
                        skip(et)
            else:
                f.seek(sizes[t], 1)
        if f.read(4) != b"GGUF":
            sys.exit(f"{path}: not a GGUF file (pass --vocab)")
        rd("I"), rd("Q")
        for _ in range(rd("Q")):
            key, t = rstr(), rd("I")
            if key == b"tokenizer.ggml.tokens" and t == 9:
                rd("I")
                return rd("Q")
            skip(t)
    sys.exit(f"{path}: no tokenizer.ggml.tokens (pass --vocab)")


def prompts(rng, vocab, p):
    """Endless random P-token prompts (token ids), the same sequence for a given seed."""
    while True:
        yield [rng.randrange(vocab) for _ in range(p)]


async def load(client, model, clients, g, seconds, draw, stream, requests=None):
    """Every client sends requests until `seconds` have passed (at most 50), or exactly `requests` of them."""
    deadline = time.perf_counter() + seconds
    lat, ttft, itl, tokens = [], [], [], 0

    async def one():
        nonlocal tokens
        done = 0
        while done < (requests or 50) and (requests or time.perf_counter() < deadline):
            args = dict(model=model, prompt=next(draw), max_tokens=g, temperature=0,
                        extra_body={"ignore_eos": True})
            t0 = time.perf_counter()
            if stream:
                last, used = None, None
                it = await client.completions.create(stream=True, stream_options={"include_usage": True}, **args)
                async for chunk in it:
                    now = time.perf_counter()
                    if chunk.usage is not None:
                        used = chunk.usage.completion_tokens
                    if chunk.choices and chunk.choices[0].text:
                        if last is None:
                            ttft.append(now - t0)
                        else:
                            itl.append(now - last)
                        last = now
                tokens += g if used is None else used
            else:
                r = await client.completions.create(**args)
                tokens += r.usage.completion_tokens
            lat.append(time.perf_counter() - t0)
            done += 1
    t0 = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(clients)])
    return tokens / (time.perf_counter() - t0), lat, ttft, itl


def run_levels(base, levels, a, draw):
    """The load at each client level through one AsyncOpenAI client per level."""
    rows = []
    for n in levels:
        async def level():
            async with AsyncOpenAI(base_url=base + "/v1", api_key="none", timeout=600, max_retries=0) as client:
                model = (await client.models.list()).data[0].id
                return await load(client, model, n, a.g, a.seconds, draw, a.stream, a.requests)
        tps, lat, tt, il = asyncio.run(level())
        rows.append(dict(clients=n, tokens_per_second=tps, latency_p50=pct(lat, 0.5), latency_p99=pct(lat, 0.99),
                         requests=len(lat), ttft_p50=pct(tt, 0.5), ttft_p99=pct(tt, 0.99), itl_p50=pct(il, 0.5),
                         itl_p99=pct(il, 0.99)))
        streamed = f", TTFT p50 {pct(tt, 0.5):.2f} s ({len(tt)} with text)" if a.stream else ""
        print(f"clients {n}: {tps:.1f} t/s, latency p50 {pct(lat, 0.5):.2f} s p99 {pct(lat, 0.99):.2f} s "
              f"({len(lat)} requests){streamed}", file=sys.stderr, flush=True)
    return rows


def start(a, levels):
    """(base URL, server process or None): the server named by the options, started and healthy."""
    if a.base_url:
        return a.base_url.rstrip("/"), None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    n = max(levels)
    ctx = a.p + a.g + 8
    if a.llama_server:   # llama-server's -c is the whole cache, split among the -np slots
        cmd = [a.llama_server, "-m", a.model, "--host", "127.0.0.1", "--port", str(port), "-np", str(n),
               "-c", str(n * ctx), "-t", str(a.threads), "-tb", str(a.threads)]
    else:
        cmd = [sys.executable, "-m", "trit.server", "--model", a.model, "--port", str(port), "--parallel", str(n),
               "--ctx-size", str(ctx), "--threads", str(a.threads), "--queue-limit", "1024"]
    log = open(a.server_log, "w") if a.server_log else subprocess.DEVNULL
    srv = subprocess.Popen(cmd + a.server_arg, stdout=log, stderr=subprocess.STDOUT if a.server_log else log)
    for _ in range(3000):
        if srv.poll() is not None:
            sys.exit(f"the server exited with status {srv.returncode}: {' '.join(cmd)}"
                     + (f" (log: {a.server_log})" if a.server_log else " (see --server-log)"))
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return base, srv
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    srv.terminate()
    sys.exit(f"the server did not become healthy in 600 s: {' '.join(cmd)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"))
    ap.add_argument("--clients", default="1,4,8,16")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-g", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--requests", type=int, metavar="N",
                    help="every client sends exactly N requests (instead of --seconds): the same prompts, in the same "
                         "number, for every server")
    ap.add_argument("--stream", action="store_true", help="streamed requests: also TTFT and inter-token latency per level")
    ap.add_argument("--json", action="store_true")
    who = ap.add_mutually_exclusive_group()
    who.add_argument("--llama-server", metavar="BIN", help="start llama.cpp's llama-server (this binary) on --model")
    who.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible server already running, e.g. http://127.0.0.1:8080")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="one more argument for the started server (repeat), e.g. --server-arg=--kv-unified")
    ap.add_argument("--server-log", metavar="PATH", help="the started server's output (default: discarded)")
    ap.add_argument("--vocab", type=int, help="prompt token ids below this (default: --model's tokenizer size)")
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    levels = [int(x) for x in a.clients.split(",")]
    if a.requests is not None and a.requests < 1:
        ap.error(f"--requests must be at least 1, got {a.requests}")
    vocab = a.vocab or gguf_vocab(a.model)
    draw = prompts(random.Random(a.seed), vocab, a.p)
    base, srv = start(a, levels)
    try:
        # time to first token alone: a 1-token completion of a P-token prompt (median of 5 after a warm-up)
        client = OpenAI(base_url=base + "/v1", api_key="none", timeout=600, max_retries=0)
        model = client.models.list().data[0].id
        ttft = []
        for _ in range(6):
            t0 = time.perf_counter()
            client.completions.create(model=model, prompt=next(draw), max_tokens=1, temperature=0)
            ttft.append(time.perf_counter() - t0)
        ttft = statistics.median(ttft[1:])
        rows = run_levels(base, levels, a, draw)
    finally:
        if srv is not None:
            srv.terminate()
            srv.wait(30)
    server = "llama-server" if a.llama_server else (a.base_url or "trit.server")
    if a.json:
        print(json.dumps(dict(server=server, model=a.model, ttft_alone=ttft, rows=rows), indent=1))
        return
    bound = f"{a.requests} requests a client" if a.requests else f"{a.seconds:g} s a level"
    print(f"server {server}, model {os.path.basename(a.model)}, {a.threads} threads, prompts {a.p}, {a.g} tokens "
          f"per request, {bound}; time to first token alone ({a.p}-token prompt): {ttft * 1000:.0f} ms")
    if a.stream:
        print("| clients | tokens/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | requests |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['clients']} | {r['tokens_per_second']:.1f} | {r['ttft_p50'] * 1000:.1f} ms | "
                  f"{r['ttft_p99'] * 1000:.1f} ms | {r['itl_p50'] * 1000:.2f} ms | {r['itl_p99'] * 1000:.2f} ms | "
                  f"{r['requests']} |")
        return
    print("| clients | tokens/s | request latency p50 | p99 | requests |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['tokens_per_second']:.1f} | {r['latency_p50']:.2f} s | {r['latency_p99']:.2f} s "
              f"| {r['requests']} |")


if __name__ == "__main__":
    main()
