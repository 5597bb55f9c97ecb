#!/usr/bin/env python3
"""Embeddings throughput side by side: `trit bench --embed` (a batch of texts in one call), trit's own
prompt rate on the same file (`trit bench -p N -n 0`: embedding a token should not cost more than
prefilling it) and, optionally, a peer's `llama-embedding` (bitnet.cpp's or llama.cpp's) on the same
file and texts, in alternating rounds; medians over all runs of all rounds.

    python3 scripts/bench_embed.py --model FILE [--texts 32] [--tokens 128] [--threads 2] [--rounds 3]
        [--reps 2] [--peer PATH/llama-embedding --peer-texts FILE [--peer-args "-b 4096 -c 4096"]]

The peer reads --peer-texts (one text a line; make each line --tokens tokens long in the file's
tokenizer, BOS included: the script checks the count the peer prints) and its rate is the tokens of its
"prompt eval time" line (llama_perf_context_print) over that time, model load excluded as in trit's."""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")
PERF = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")


def trit(args, kernel):
    env = dict(os.environ, TRIT_KERNEL=kernel) if kernel else None
    out = subprocess.run([TRIT, "bench"] + args + ["--json"], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def peer(exe, model, texts, threads, extra):
    """(tokens/s, tokens) of one llama-embedding run over the texts file."""
    cmd = [exe, "-m", model, "-f", texts, "-t", str(threads), "--pooling", "last", "--embd-normalize", "2",
           "--embd-output-format", "json"] + shlex.split(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = PERF.search(r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"peer failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    ms, n = float(m.group(1)), int(m.group(2))
    return n / ms * 1000, n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--kernel", help="force trit's kernel variant (TRIT_KERNEL)")
    ap.add_argument("--peer", help="llama-embedding of bitnet.cpp or llama.cpp, run on the same file")
    ap.add_argument("--peer-texts", help="the peer's texts file, one text of --tokens tokens a line")
    ap.add_argument("--peer-args", default="", help="extra peer arguments, e.g. '-b 4096 -c 4096'")
    a = ap.parse_args()
    if not os.path.exists(TRIT):
        sys.exit("build first: make all")
    if a.peer and not a.peer_texts:
        sys.exit("--peer needs --peer-texts")
    t = str(a.threads)
    emb, pre, pp, ref, peer_tokens, pp_error = [], [], [], [], set(), None
    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds}: trit embed", file=sys.stderr)
        for row in trit(["-m", a.model, "--embed", "--texts", str(a.texts), "-p", str(a.tokens), "-t", t,
                         "-r", str(a.reps)], a.kernel):
            # "embed AxB" and, from the same call, "prefill AxB": the texts as generation prompts
            (emb if row["test"].startswith("embed") else pre).extend(a.texts * a.tokens / s for s in row["seconds"])
        print(f"round {r + 1}/{a.rounds}: trit pp{a.tokens}", file=sys.stderr)
        try:
            for row in trit(["-m", a.model, "-p", str(a.tokens), "-n", "0", "-t", t, "-r", str(a.reps),
                             "--no-bandwidth"], a.kernel):
                pp += row["samples"]
        except subprocess.CalledProcessError as err:   # an embedding model has no generation path to bench
            pp_error = err.stderr.strip().splitlines()[-1] if err.stderr else str(err)
        if a.peer:
            print(f"round {r + 1}/{a.rounds}: peer", file=sys.stderr)
            for _ in range(a.reps):
                tps, n = peer(a.peer, a.model, a.peer_texts, a.threads, a.peer_args)
                ref.append(tps)
                peer_tokens.add(n)

    def fmt(s):
        return f"{statistics.median(s):.2f} [{min(s):.2f}-{max(s):.2f}]"

    print(f"model: {a.model}; {a.threads} thread(s); {a.rounds} alternating rounds x {a.reps} runs; "
          f"tokens/s median [min-max]" + (f"; trit kernels forced to {a.kernel}" if a.kernel else ""))
    print("| engine | test | tokens/s | trit embed / this |")
    print("|---|---|---|---|")
    e = statistics.median(emb)
    print(f"| trit | embed {a.texts}x{a.tokens} | {fmt(emb)} | 1.00x |")
    if pre:
        print(f"| trit | prefill {a.texts}x{a.tokens} (bench --embed) | {fmt(pre)} | {e / statistics.median(pre):.2f}x |")
    if pp:
        print(f"| trit | pp{a.tokens} | {fmt(pp)} | {e / statistics.median(pp):.2f}x |")
    else:
        print(f"| trit | pp{a.tokens} | refused: {pp_error} | - |")
    if ref:
        print(f"| peer llama-embedding {a.peer_args} | {a.texts} texts, {sorted(peer_tokens)} tokens | {fmt(ref)} | "
              f"{e / statistics.median(ref):.2f}x |")
        if peer_tokens != {a.texts * a.tokens}:
            print(f"note: the peer evaluated {sorted(peer_tokens)} tokens, not {a.texts * a.tokens}")


if __name__ == "__main__":
    main()
