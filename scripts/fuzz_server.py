#!/usr/bin/env python3
"""Mutated requests against trit's OpenAI-compatible server; reports every answer of 500 or more.

    build/venv/bin/python scripts/fuzz_server.py [--requests 2000] [--seconds 600] [--seed 1]
                                                 [--model PATH | --url http://127.0.0.1:PORT]

Without --url it starts `python -m trit.server` on 127.0.0.1 (an ephemeral port, --ctx-size 128)
with the bundled model, and stops it at the end. Bounded in count (--requests) and time
(--seconds, plus a per-request timeout); it stops by itself. Each request starts from a valid
/v1/completions or /v1/chat/completions body and applies 1-3 mutations: a field's value replaced
by a hostile JSON value (lone surrogate escapes, NUL, huge numbers, deep nesting, wrong types),
a field dropped or added (OpenAI's names and unknown ones), a string spliced with hostile text,
or the serialized bytes flipped, cut or spliced. Exit status 1 if any answer was a 5xx, a
request failed at the connection, or /health is not 200 at the end."""
import argparse
import collections
import json
import os
import random
import socket
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")

SEEDS = [
    ("/v1/completions", {"prompt": "And the LORD said", "max_tokens": 4, "temperature": 0}),
    ("/v1/completions", {"prompt": [1, 450, 365], "max_tokens": 3, "stream": True, "stop": ["\n"], "seed": 3}),
    ("/v1/completions", {"prompt": "O", "max_tokens": 2, "logprobs": 2, "echo": True, "logit_bias": {"5": -100}}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Who art thou?"}], "max_tokens": 4}),
    ("/v1/chat/completions", {"messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                              "max_tokens": 3, "stream": True, "stream_options": {"include_usage": True}}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 2, "logprobs": True,
                              "top_logprobs": 2, "temperature": 0.7, "top_p": 0.9, "stop": "y",
                              "response_format": {"type": "text"}}),
]
FIELDS = ["model", "prompt", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
          "min_p", "repeat_penalty", "presence_penalty", "frequency_penalty", "seed", "stop", "logit_bias", "n",
          "stream", "stream_options", "logprobs", "top_logprobs", "echo", "user", "ignore_eos", "response_format",
          "tools", "tool_choice", "functions", "grammar", "json_schema", "suffix", "best_of", "store", "x_unknown"]
STRINGS = ["\ud800", "\udfff", "a\ud800b", "\x00", "a\x00b", "\u2028", "\U0001F600", "\ufffd", "", " ", "<|eot_id|>",
           "<s>", "\\", '"', "x" * 5000, "\u0301" * 100, "\r\n", "%s%n", "null"]


def hostile_value(rng, depth=0):
    k = rng.randrange(14)
    if k == 0:
        return None
    if k == 1:
        return rng.choice([True, False])
    if k == 2:
        return rng.choice([0, -1, 1, 2, 20, 21, 255, 2**31 - 1, 2**31, -2**31 - 1, 2**63, 2**64, -2**64, 10**30])
    if k == 3:
        return rng.choice([0.0, -0.0, 0.5, 1.5, -2.5, 1e-300, 1e308, -1e308, 3.4e38])
    if k == 4:
        return rng.choice(STRINGS)
    if k == 5:
        return "".join(rng.choice(STRINGS[:12]) for _ in range(rng.randrange(1, 6)))
    if k == 6:
        return [] if depth > 2 else [hostile_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if k == 7:
        return {} if depth > 2 else {rng.choice(FIELDS + STRINGS[:4]): hostile_value(rng, depth + 1)
                                     for _ in range(rng.randrange(3))}
    if k == 8:
        v = []
        for _ in range(rng.randrange(10, 3000)):
            v = [v]
        return v
    if k == 9:
        return [rng.randrange(-5, 2000) for _ in range(rng.randrange(1, 8))]
    if k == 10:
        return [{"role": rng.choice(["user", "system", "assistant", "tool", "\ud800", ""]),
                 "content": hostile_value(rng, depth + 1) if depth < 2 else "x"}]
    if k == 11:
        return {str(rng.randrange(-3, 5000)): rng.choice([-100, 100, 1e9, "x", None])}
    if k == 12:
        return {"type": rng.choice(["text", "json_object", "json_schema", "\ud800", 1])}
    return rng.choice([[rng.choice(STRINGS)], [1, "a"], [[1]], ["a"] * 20])


def splice_string(rng, s):
    i = rng.randrange(len(s) + 1)
    return s[:i] + rng.choice(STRINGS[:12]) + s[i:]


def mutate_object(rng, body):
    op = rng.randrange(5)
    if op == 0 and body:
        body.pop(rng.choice(list(body)))
    elif op == 1:
        body[rng.choice(FIELDS)] = hostile_value(rng)
    elif op == 2 and body:
        body[rng.choice(list(body))] = hostile_value(rng)
    elif op == 3:   # a string somewhere in the body gets hostile text
        places, stack = [], [body]
        while stack:   # iterative: the body may be nested thousands deep
            node = stack.pop()
            for k in (list(node) if isinstance(node, dict) else range(len(node))):
                if isinstance(node[k], str):
                    places.append((node, k))
                elif isinstance(node[k], (dict, list)):
                    stack.append(node[k])
        if places:
            node, k = rng.choice(places)
            node[k] = splice_string(rng, node[k])
    else:
        body["stream"] = not body.get("stream", False)


def mutate_bytes(rng, raw):
    b = bytearray(raw)
    for _ in range(rng.randrange(1, 4)):
        op, i = rng.randrange(4), rng.randrange(len(b) + 1)
        if op == 0 and i < len(b):
            b[i] = rng.randrange(256)
        elif op == 1:
            b[i:i] = rng.choice([b"\\ud800", b"\\u0000", b"\xff", b"\xc3", b"NaN", b"1e999", b"[", b"{", b'"', b","])
        elif op == 2:
            del b[i:i + rng.randrange(1, 8)]
        else:
            b = b[:i]
    return bytes(b)


def make_request(rng):
    path, seed = rng.choice(SEEDS)
    body = json.loads(json.dumps(seed))
    if rng.random() < 0.15:
        path = "/v1/chat/completions" if path == "/v1/completions" else "/v1/completions"
    for _ in range(rng.randrange(1, 4)):
        mutate_object(rng, body)
    try:
        raw = json.dumps(body).encode()   # ensure_ascii: lone surrogates leave as "\ud800" escapes
    except (ValueError, RecursionError):
        raw = b"{}"
    if rng.random() < 0.2:
        raw = mutate_bytes(rng, raw)
    return path, raw


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model, log_path):
    port = free_port()
    log = open(log_path, "w")
    p = subprocess.Popen([sys.executable, "-m", "trit.server", "--model", model, "--port", str(port), "--ctx-size",
                          "128", "--parallel", "4", "--threads", "2", "--queue-limit", "64"],
                         stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            sys.exit(f"the server exited ({p.returncode}); see {log_path}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return p, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    p.kill()
    sys.exit(f"the server did not become healthy in 60 s; see {log_path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60, help="seconds per request")
    ap.add_argument("--model", default=BUNDLED)
    ap.add_argument("--url", help="an already running server (127.0.0.1); none: start one")
    ap.add_argument("--log", default="/tmp/trit-fuzz-server.log", help="the started server's output")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    proc, base = (None, a.url.rstrip("/")) if a.url else start_server(a.model, a.log)
    statuses, bad, t0, sent = collections.Counter(), [], time.time(), 0
    try:
        with httpx.Client(timeout=a.timeout) as client:
            while sent < a.requests and time.time() - t0 < a.seconds:
                path, raw = make_request(rng)
                sent += 1
                try:
                    with client.stream("POST", base + path, content=raw,
                                       headers={"content-type": "application/json"}) as r:
                        text = r.read()[:400].decode("utf-8", "replace")   # a stream is read to its end
                    statuses[r.status_code] += 1
                    if r.status_code >= 500:
                        bad.append((path, raw[:300], r.status_code, text))
                except httpx.HTTPError as e:
                    statuses[type(e).__name__] += 1
                    bad.append((path, raw[:300], type(e).__name__, str(e)[:200]))
        health = httpx.get(base + "/health", timeout=10).status_code
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)
    took = time.time() - t0
    print(f"{sent} requests in {took:.0f} s; answers: " +
          ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))))
    print(f"/health at the end: {health}")
    for path, raw, status, text in bad[:50]:
        print(f"{status} {path} {raw!r}\n    -> {text}")
    if bad or health != 200:
        print(f"{len(bad)} requests answered 5xx or failed")
        sys.exit(1)
    print("no 5xx")


if __name__ == "__main__":
    main()
