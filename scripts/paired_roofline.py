#!/usr/bin/env python3
"""The README's paired-roofline table: generation at each token's share of the memory's rate, split by the
bandwidth's state.

    python3 scripts/paired_roofline.py [--rounds 3] [--split 42] [--threads 2] MODEL[:ARGS] ...

Each round runs `trit bench -m MODEL -p 0 -n N -r 2 -t THREADS --paired-roofline --json` once per model
(models alternating), N = 64 unless ARGS say otherwise (ARGS: extra `trit bench` arguments separated by
commas, e.g. `file.gguf:-n,32,-d,4096`). --paired-roofline times each generated token alone and runs one pass
of the read-bandwidth probe after it; a token's share is its bytes (weights + the cache it reads) over its
time, over that pass's GB/s. The VMs this was measured on move between two bandwidth states that last
seconds (on the Zen 4 VM of 2026-12-08: ~31-35 and ~45-63 GB/s), so the tokens are split by the probe pass
that followed them (at --split GB/s) and each state gets its median share; tokens/s are the medians of the
runs whose probe medians fell in each state. The last columns split a token: the share of its time in the
weights' products and the head (`InferenceState.productSeconds + headSeconds`), and their rate over the probe
(the token's share over that time share), per state."""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")


def run(model, extra, threads):
    args = ["-n", "64"] if "-n" not in extra else []
    cmd = [TRIT, "bench", "-m", model, "-p", "0", "-r", "2", "-t", str(threads), "--paired-roofline", "--json"] + args + extra
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--split", type=float, default=42.0, help="GB/s between the two states (default 42)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    specs = [(m.split(":", 1)[0], m.split(":", 1)[1].split(",") if ":" in m else []) for m in a.models]
    acc = {m: {"lo": [], "hi": [], "tps_lo": [], "tps_hi": [], "test": "", "f_lo": [], "f_hi": [], "r_lo": [], "r_hi": []}
           for m, _ in specs}
    for _ in range(a.rounds):
        for m, extra in specs:
            r = run(m, extra, a.threads)
            e = acc[m]
            e["test"] = r["test"]
            for s, p, f in zip(r["paired_share_samples"], r["paired_probe_gb_per_s"], r["paired_stream_fraction"]):
                st = "hi" if p > a.split else "lo"
                e[st].append(s)
                e["f_" + st].append(f)
                e["r_" + st].append(s / f)
            # each run's tokens/s with the state of its probes (two runs a call: the first half of the pairs)
            k = len(r["samples"])
            per = len(r["paired_probe_gb_per_s"]) // max(k, 1)
            for i, tps in enumerate(r["samples"]):
                probes = r["paired_probe_gb_per_s"][i * per:(i + 1) * per]
                e["tps_hi" if statistics.median(probes) > a.split else "tps_lo"].append(tps)

    def med(v, pct=False):
        if not v:
            return "-"
        m = statistics.median(v)
        return f"{100 * m:.1f}% ({len(v)})" if pct else f"{m:.2f} ({len(v)})"

    print("| file | test | share, low state (tokens) | share, high state (tokens) | t/s low (runs) | t/s high (runs) "
          "| in products, low / high | their rate, low / high |")
    print("|---|---|---|---|---|---|---|---|")
    for m, extra in specs:
        e = acc[m]
        name = os.path.basename(m) + (" " + " ".join(extra) if extra else "")
        pct = lambda v: f"{100 * statistics.median(v):.1f}%" if v else "-"
        print(f"| {name} | {e['test']} | {med(e['lo'], True)} | {med(e['hi'], True)} | {med(e['tps_lo'])} | {med(e['tps_hi'])} "
              f"| {pct(e['f_lo'])} / {pct(e['f_hi'])} | {pct(e['r_lo'])} / {pct(e['r_hi'])} |")


if __name__ == "__main__":
    main()
