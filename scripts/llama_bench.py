"""Runs a peer's llama-bench (bitnet.cpp's or llama.cpp's; both print the same JSON) for the
side-by-side benchmark scripts."""
import json
import os
import subprocess
import tempfile


def run(bench, model, threads, reps, p, n):
    """llama-bench -p P -n N -r REPS -t THREADS: {(test, threads): [tokens/s samples]}."""
    cmd = (bench if isinstance(bench, list) else [bench]) + ["-m", model, "-p", str(p), "-n", str(n), "-r", str(reps), "-t", threads, "-o", "json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for r in json.loads(out):
        test = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
        rows[(test, r["n_threads"])] = r.get("samples_ts") or [r["avg_ts"]]
    return rows


def run_timed(bench, model, threads, reps, p, n):
    """run() under /usr/bin/time: (rows, peak RSS in bytes; 0 without /usr/bin/time)."""
    if not os.path.exists("/usr/bin/time"):
        return run(bench, model, threads, reps, p, n), 0
    with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
        rows = run(["/usr/bin/time", "-f", "%M", "-o", f.name, bench], model, threads, reps, p, n)
        return rows, int(f.read().split()[-1]) * 1024
