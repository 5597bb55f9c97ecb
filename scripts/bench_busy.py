#!/usr/bin/env python3
"""Threads on a busy machine: `trit bench` at 1 and 2 threads while another process keeps one
core busy, and the same on an idle machine, in alternating rounds. The target: with the busy
neighbour, 2 threads are never slower than 0.8x of 1 thread (tg and pp), on the bundled model and
on the synthetic 2B4T model.

    python3 scripts/bench_busy.py [--rounds 3] [--reps 3] [--models bundled,2b4t]

The busy neighbour is a pure-Python spin loop (one process, not pinned: the scheduler places it).
The 2B4T model is written once with `trit synth --preset 2b4t --type i2_s` into ~/.cache/trit-bench."""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")
CACHE = os.path.expanduser("~/.cache/trit-bench")


def model_path(name):
    if name == "bundled":
        return os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    os.makedirs(CACHE, exist_ok=True)
    p = os.path.join(CACHE, "synth-2b4t-i2_s.gguf")
    if not os.path.exists(p):
        subprocess.run([TRIT, "synth", "--preset", "2b4t", "--type", "i2_s", "-o", p], check=True)
    return p


def bench(model, reps, big):
    cmd = [TRIT, "bench", "-m", model, "-r", str(reps), "-t", "1,2", "--no-bandwidth", "--json",
           "-p", "128" if big else "128", "-n", "64"]
    rows = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {(r["test"], r["threads"]): r["samples"] for r in rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", default="bundled,2b4t")
    a = ap.parse_args()
    print(f"# trit threads on a busy machine: {a.rounds} rounds x {a.reps} runs, medians (t/s)", flush=True)
    print("| model | load | test | 1 thread | 2 threads | 2 / 1 |")
    print("|---|---|---|---|---|---|")
    worst = 10.0
    for name in a.models.split(","):
        model = model_path(name)
        samples = {"idle": {}, "busy": {}}
        for _ in range(a.rounds):
            for load in ("idle", "busy"):
                spin = None
                if load == "busy":
                    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                try:
                    for k, v in bench(model, a.reps, name != "bundled").items():
                        samples[load].setdefault(k, []).extend(v)
                finally:
                    if spin:
                        spin.kill()
                        spin.wait()
        for load in ("idle", "busy"):
            tests = sorted({t for t, _ in samples[load]})
            for test in tests:
                one = statistics.median(samples[load][(test, 1)])
                two = statistics.median(samples[load][(test, 2)])
                if load == "busy":
                    worst = min(worst, two / one)
                print(f"| {name} | {load} | {test} | {one:.1f} | {two:.1f} | {two / one:.2f} |", flush=True)
    print(f"\nworst busy 2-thread / 1-thread ratio: {worst:.2f} (target >= 0.80): {'met' if worst >= 0.8 else 'NOT met'}")
    return 0 if worst >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
