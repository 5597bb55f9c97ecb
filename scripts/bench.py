#!/usr/bin/env python3
"""The README's benchmark table: trit on the BitNet b1.58 2B4T shape in its head modes (exact, int8,
certified) and bitnet.cpp's llama-bench on the same file, side by side.

The engines run in alternating rounds (trit exact, trit int8, trit certified, bitnet.cpp, ...) so that
a noisy neighbour slows all alike; each test's median is over the samples of all its rounds, and
the share of the roofline is the median over runs of each run's GB/s over the probe that followed it
(scripts/roofline.py). Ratios are trit / bitnet.cpp on
medians from the same run.

    python3 scripts/bench.py [--model PATH] [--rounds 3] [--reps 3] [--threads 1,2] [--prompts 128,512]
                             [--gen 64] [--bitnet-bench PATH/llama-bench] [--kernel avx2] [--modes exact,int8,certified]

Without --model it writes the synthetic model with `trit synth --preset 2b4t --type i2_s` into
~/.cache/trit-bench (1.18 GB, once). --bitnet-bench is bitnet.cpp's llama-bench (build it with
the peers' build script); without it the bitnet.cpp columns stay empty. --kernel forces trit's
kernel variant (TRIT_KERNEL), e.g. avx2 for a CPU without AVX-512. --prompts lists the ppN tests (each
engine with its default batch: trit -b 128, llama-bench -b 2048 -ub 512); --gen 0 skips generation. Load
time and peak RSS are given per mode (trit's own figures) and for the peer (llama-bench's peak RSS from
/usr/bin/time, which includes its warm-up run). On a shared machine run a gcc (OpenMP) bitnet.cpp with
OMP_WAIT_POLICY=passive in the environment: its spinning barrier threads collapse when oversubscribed (2-core
VM at load ~9: tg64 5-7 t/s spinning, 12.7-13.4 passive); trit does not use OpenMP."""
import argparse
import json
import os
import statistics
import subprocess
import sys

import llama_bench
import roofline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")


def run_bench(model, threads, reps, head, kernel, prompts, gen):
    """One `trit bench` per prompt size (trit's -p takes one N); generation runs with the first."""
    env = dict(os.environ, TRIT_KERNEL=kernel) if kernel else None
    rows = []
    for i, p in enumerate(prompts or [0]):
        n = gen if i == 0 else 0
        cmd = [TRIT, "bench", "-m", model, "-p", str(p), "-n", str(n), "-r", str(reps), "-t", threads, "--json",
               "--head", head]
        rows += json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--bitnet-bench", help="bitnet.cpp's llama-bench, run on the same file in the same rounds")
    ap.add_argument("--kernel", help="force trit's kernel variant (scalar, avx2, avx512vnni)")
    ap.add_argument("--modes", default="exact,int8,certified",
                    help="trit's head modes to run; MODE@KERNEL forces that mode's kernel variant (exact@avx2)")
    ap.add_argument("--prompts", default="128", help="prompt sizes of the ppN tests, comma-separated ('' = none)")
    ap.add_argument("--gen", type=int, default=64, help="generated tokens of the tgN test (0 = none)")
    a = ap.parse_args()
    prompts = [int(x) for x in a.prompts.split(",") if x]
    if not os.path.exists(TRIT):
        sys.exit("build first: make all")
    model = a.model
    if model is None:
        cache = os.path.join(os.path.expanduser("~"), ".cache", "trit-bench")
        os.makedirs(cache, exist_ok=True)
        model = os.path.join(cache, "synth-2b4t-i2_s.gguf")
        if not os.path.exists(model):
            subprocess.run([TRIT, "synth", "--preset", "2b4t", "--type", "i2_s", "-o", model], check=True)

    samples, info, peer, probes, peer_rss = {}, {}, {}, {}, 0
    for r in range(a.rounds):
        for mode in a.modes.split(",") + ["bitnet.cpp"]:
            if mode == "bitnet.cpp":
                if a.bitnet_bench:
                    print(f"round {r + 1}/{a.rounds}: bitnet.cpp", file=sys.stderr)
                    rows, rss = llama_bench.run_timed(a.bitnet_bench, model, a.threads, a.reps,
                                                      ",".join(map(str, prompts)) or "0", a.gen)
                    for k, v in rows.items():
                        peer.setdefault(k, []).extend(v)
                    peer_rss = max(peer_rss, rss)
                continue
            print(f"round {r + 1}/{a.rounds}: {mode}", file=sys.stderr)
            head, _, kernel = mode.partition("@")   # exact@avx2: this mode with that kernel variant
            for row in run_bench(model, a.threads, a.reps, head, kernel or a.kernel, prompts, a.gen):
                key = (mode, row["test"], row["threads"])
                samples.setdefault(key, []).extend(row["samples"])
                probes.setdefault(key, []).extend(row.get("read_bandwidth_samples", []))
                prev = info.get(key, {})
                row["read_bandwidth_gb_per_s"] = max(row["read_bandwidth_gb_per_s"], prev.get("read_bandwidth_gb_per_s", 0))
                row["peak_rss_bytes"] = max(row["peak_rss_bytes"], prev.get("peak_rss_bytes", 0))
                # certified: the largest per-round candidate figures, and bytes/token of the last round
                for c in ("candidates_median", "candidates_p99", "candidates_max", "full_head_steps"):
                    if c in row:
                        row[c] = max(row[c], prev.get(c, 0))
                info[key] = row

    print(f"model: {model}; {a.rounds} alternating rounds × {a.reps} runs; median ± stdev of all runs"
          + (f"; trit kernels forced to {a.kernel}" if a.kernel else ""))
    print("| mode | test | threads | tokens/s median [min-max] | ± | bytes/token | GB/s | read GB/s | % of roofline "
          "| bitnet.cpp median [min-max] | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(samples, key=lambda k: (k[0], k[2], k[1])):
        mode, test, threads = key
        s, row = samples[key], info[key]
        med = statistics.median(s)
        sd = statistics.stdev(s) if len(s) > 1 else 0.0
        ref = statistics.median(peer[(test, threads)]) if (test, threads) in peer else None
        cols = [mode, test, str(threads), f"{med:.2f} [{min(s):.2f}-{max(s):.2f}]", f"{sd:.2f}"]
        if test.startswith("tg"):
            bpt = row["weight_bytes_per_token"]
            gbps = bpt * med / 1e9
            share, bw = roofline.paired(bpt, s, probes.get(key, []))
            cols += [f"{bpt / 2**20:.0f} MiB", f"{gbps:.2f}", f"{bw:.2f}" if bw else "-", f"{share:.0f}%" if bw else "-"]
        else:
            cols += ["-", "-", f"{row['read_bandwidth_gb_per_s']:.2f}", "-"]
        ps = peer.get((test, threads), [])
        cols += [f"{ref:.2f} [{min(ps):.2f}-{max(ps):.2f}]" if ref else "-", f"{med / ref:.2f}×" if ref else "-"]
        print("| " + " | ".join(cols) + " |")
    for threads in sorted({k[2] for k in samples}):
        tg = {m: statistics.median(v) for (m, t, th), v in samples.items() if t.startswith("tg") and th == threads}
        if "certified" in tg:
            row = next(r for (m, t, th), r in info.items() if m == "certified" and t.startswith("tg") and th == threads)
            vs = "; ".join(f"{tg['certified'] / tg[m]:.2f}× {m}" for m in ("exact", "int8") if m in tg)
            print(f"certified, {threads} thread(s): {vs}; candidates per token median {row['candidates_median']}, "
                  f"p99 {row['candidates_p99']}, max {row['candidates_max']} (largest of the rounds); "
                  f"whole head computed for {row['full_head_steps']} tokens")
    for mode in dict.fromkeys(k[0] for k in info):
        rows = [r for k, r in info.items() if k[0] == mode]
        print(f"trit {mode}: load {statistics.median(r['load_seconds'] for r in rows) * 1000:.0f} ms, "
              f"peak RSS {max(r['peak_rss_bytes'] for r in rows) / 2**30:.3f} GiB, kernels {rows[0]['kernel']}")
    if peer_rss:
        print(f"bitnet.cpp llama-bench: peak RSS {peer_rss / 2**30:.3f} GiB")
    print(f"model file {os.path.getsize(model) / 2**30:.3f} GiB")


if __name__ == "__main__":
    main()
