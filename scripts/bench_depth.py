#!/usr/bin/env python3
"""The README's long-context tables: prompt processing and generation after DEPTH tokens are in the
cache, for each KV cache type (`trit bench -d`, whose roofline counts the cache bytes read), and the
peak memory of a context of 32768 positions holding 100 tokens.

    python3 scripts/bench_depth.py [--model PATH] [--types f16,q8_0] [--depths 0,4096] [--reps 3]
                                   [--threads 2] [-p 512] [-n 32]

Without --model it writes the 2B4T-shaped synthetic model (`trit synth --preset 2b4t --type i2_s`)
into ~/.cache/trit-bench (1.18 GB, once). The types run one after another; ratios (pp at depth / pp
at depth 0) are taken within one type's run."""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")


def model_path(arg):
    if arg:
        return arg
    d = os.path.expanduser("~/.cache/trit-bench")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "synth-2b4t-i2_s.gguf")
    if not os.path.exists(p):
        subprocess.run([TRIT, "synth", "--preset", "2b4t", "--type", "i2_s", "-o", p], check=True)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--types", default="f16,q8_0")
    ap.add_argument("--depths", default="0,4096")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="2")
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=32)
    ap.add_argument("--memory-only", action="store_true", help="only the peak-memory check")
    a = ap.parse_args()
    model = model_path(a.model)
    print(f"model: {model}", file=sys.stderr)
    print("| KV type | test | threads | tokens/s | ± | bytes/token (weights + KV) | GB/s | read GB/s | % of roofline | pp / pp at depth 0 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in ([] if a.memory_only else a.types.split(",")):
        cmd = [TRIT, "bench", "-m", model, "-p", str(a.p), "-n", str(a.n), "-r", str(a.reps), "-t", a.threads,
               "-d", a.depths, "-ctk", t, "-ctv", t, "--json"]
        print(" ".join(cmd[1:]), file=sys.stderr)
        rows = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        pp0 = next((r["tokens_per_second"] for r in rows if r["test"] == f"pp{a.p}"), None)
        for r in rows:
            tg = r["test"].startswith("tg")
            roof = f"{100 * r['achieved_gb_per_s'] / r['read_bandwidth_gb_per_s']:.0f}%" if tg and r["read_bandwidth_gb_per_s"] else "-"
            ratio = f"{r['tokens_per_second'] / pp0:.2f}×" if not tg and pp0 else "-"
            bpt = f"{r['bytes_per_token'] / 2**30:.3f} GiB" if tg else "-"
            print(f"| {t} | {r['test']} | {r['threads']} | {r['tokens_per_second']:.2f} | {r['stdev']:.2f} | {bpt} | "
                  f"{r['achieved_gb_per_s'] if tg else '-'} | {r['read_bandwidth_gb_per_s']} | {roof} | {ratio} |")
    # peak memory of one run alone (wait4: that child's rusage): n_ctx 32768, about 100 tokens held
    # (a 36-token prompt of the byte-level vocabulary and 64 generated), F16 cache
    prompt = "a b c d e f g h i j k l m n o p q r"
    cmd = [TRIT, "run", "-m", model, "-c", "32768", "-p", prompt, "-n", "64", "--temp", "0", "--ignore-eos",
           "-t", a.threads, "--no-echo"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"trit run failed: {err}")
    peak = usage.ru_maxrss * 1024
    held = None
    for line in err.splitlines():
        if line.startswith("prompt eval"):
            held = int(line.split("/")[1].split()[0]) + 64
    size = os.path.getsize(model)
    # 2B4T: 30 layers × 5 KV heads × (256 + 256) bytes a position in F16
    kv = held * 30 * 5 * 512
    print(f"\npeak RSS at n_ctx 32768 holding {held} tokens (F16 cache): {peak / 2**20:.1f} MiB; "
          f"file {size / 2**20:.1f} MiB + 64 MiB + cache of those tokens {kv / 2**20:.2f} MiB = "
          f"{(size + 64 * 2**20 + kv) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
