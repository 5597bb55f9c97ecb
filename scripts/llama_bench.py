"""Runs a peer's llama-bench (bitnet.cpp's or llama.cpp's; both print the same JSON) for the
side-by-side benchmark scripts."""
import json
import subprocess


def run(bench, model, threads, reps, p, n):
    """llama-bench -p P -n N -r REPS -t THREADS: {(test, threads): [tokens/s samples]}."""
    cmd = [bench, "-m", model, "-p", str(p), "-n", str(n), "-r", str(reps), "-t", threads, "-o", "json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for r in json.loads(out):
        test = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
        rows[(test, r["n_threads"])] = r.get("samples_ts") or [r["avg_ts"]]
    return rows
