#!/usr/bin/env python3
"""/v1/embeddings through the server against the engine it runs on (issue #30's target: the server
with 8 concurrent clients at >= 90% of the engine's tokens/s). Both embed the same N token lists of
L random token ids (tokenization is left out of both):

  engine: trit.Engine(model, n_seq=P, n_threads=T).embed(all N lists) in this process;
  server: `python -m trit.server` started by this script on 127.0.0.1 (uvicorn, an ephemeral port,
          --parallel P, --threads T), then C clients (httpx.AsyncClient, one connection each) share
          the N lists, each sending requests of --per-request lists until none are left.

The two run one after the other (the engine is closed before the server starts), each --repeat
times after one warm-up; the best run of each is reported, with the ratio server / engine.
When clients x per-request inputs in flight are no more than the slots (-P), every input of a wave
ends in the same step and the engine idles while the clients send the next ones: give fewer slots
than inputs in flight (e.g. -P 4 with 8 clients) to measure the server rather than that bubble.

    build/venv/bin/python scripts/bench_embeddings_server.py MODEL [-n 64] [-l 128] [-c 8] [-P 8]
                                                             [-t 2] [--per-request 1] [--repeat 3]
"""
import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time

import httpx

import trit


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_seconds(model, lists, args):
    with trit.Engine(model, n_seq=args.parallel, n_ctx=args.ctx, n_threads=args.threads) as e:
        e.embed(lists[:args.parallel])   # warm-up
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rows = e.embed(lists)
            best = min(best, time.perf_counter() - t0)
            assert len(rows) == len(lists)
    return best


async def server_seconds(base, lists, args):
    async def client(c, queue):
        while queue:
            batch = [queue.pop() for _ in range(min(args.per_request, len(queue)))]
            r = await c.post(base + "/v1/embeddings", json={"input": batch, "encoding_format": "base64"})
            r.raise_for_status()
            assert len(r.json()["data"]) == len(batch)

    async def once(items):
        queue = list(items)
        clients = [httpx.AsyncClient(timeout=600) for _ in range(args.clients)]
        try:
            t0 = time.perf_counter()
            await asyncio.gather(*(client(c, queue) for c in clients))
            return time.perf_counter() - t0
        finally:
            for c in clients:
                await c.aclose()
    await once(lists[:args.parallel])   # warm-up
    return min([await once(lists) for _ in range(args.repeat)])


def start_server(args):
    port = free_port()
    cmd = [sys.executable, "-m", "trit.server", "--model", args.model, "--port", str(port),
           "--parallel", str(args.parallel), "--threads", str(args.threads), "--ctx-size", str(args.ctx),
           "--embedding-batch", str(max(args.per_request, 1)), "--max-body", str(1 << 26)]
    env = {k: v for k, v in os.environ.items() if k != "TRIT_API_KEY"}
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return p, base
        except httpx.HTTPError:
            pass
        if p.poll() is not None:
            sys.exit(f"the server exited: {p.stderr.read()}")
        time.sleep(0.2)
    p.kill()
    sys.exit("the server did not become healthy in 300 s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="GGUF file or HF folder (e.g. a `trit synth --preset bitnet-embedding-...` file)")
    ap.add_argument("-n", "--texts", type=int, default=64, help="token lists embedded per run (default 64)")
    ap.add_argument("-l", "--length", type=int, default=128, help="tokens per list (default 128)")
    ap.add_argument("-c", "--clients", type=int, default=8, help="concurrent server clients (default 8)")
    ap.add_argument("-P", "--parallel", type=int, default=8, help="engine slots, both sides (default 8)")
    ap.add_argument("-t", "--threads", type=int, default=2, help="threads, both sides (default 2)")
    ap.add_argument("--ctx", type=int, default=0, help="positions per request (0: length + 1)")
    ap.add_argument("--per-request", type=int, default=1, help="lists per /v1/embeddings request (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="measured runs of each side; the best counts (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.ctx == 0:
        args.ctx = args.length + 1   # an engine request holds n_ctx - 1 tokens
    with trit.Model(args.model, n_ctx=8, n_threads=1) as m:
        vocab = m.info["n_vocab"]
        rng = random.Random(args.seed)
        lists = [[rng.randrange(vocab) for _ in range(args.length)] for _ in range(args.texts)]
        t_engine = engine_seconds(m, lists, args)
    p, base = start_server(args)
    try:
        t_server = asyncio.run(server_seconds(base, lists, args))
    finally:
        p.terminate()
        p.wait(30)
    tokens = args.texts * args.length
    e_tps, s_tps = tokens / t_engine, tokens / t_server
    print(f"model {args.model}: {args.texts} lists x {args.length} tokens, {args.threads} threads, "
          f"{args.parallel} slots; server: {args.clients} clients, {args.per_request} list(s) per request")
    print(f"engine  Engine.embed          {e_tps:10.1f} tokens/s  ({t_engine:.3f} s)")
    print(f"server  /v1/embeddings (HTTP) {s_tps:10.1f} tokens/s  ({t_server:.3f} s)")
    print(f"ratio   server / engine       {s_tps / e_tps:10.3f}")


if __name__ == "__main__":
    main()
