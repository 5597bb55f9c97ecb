#!/usr/bin/env python3
"""Structured output's cost: decode tokens/s unconstrained vs under a JSON schema (greedy), the
decode steps jump-forward saves on a schema whose fixed text is a large part of the output, and
llguidance's mask time per token (p50 / p99) at the vocabularies of the given models.

    python3 scripts/bench_structured.py [--model PATH] [--mask-models PATH,PATH] [--threads 2]
                                        [-n 128] [--skeleton-n 512] [--reps 3] [--head exact] [--json]

Needs the package with the `structured` extra (build/venv after `make python`). Without --model it
writes the 2B4T-shaped synthetic model (`trit synth --preset 2b4t --type i2_s`, vocabulary 128256)
into ~/.cache/trit-bench (1.18 GB, once). Tokens/s count generated tokens (sampled + forced) over
the generation's wall time (prompt excluded); a random-weight model's values are whatever the
constraint lets greedy decoding pick, so both runs of a pair generate the same number of tokens."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import trit
from trit.structured import Constraint, Grammar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")
PROMPT = "Return the record as JSON: "

# little fixed text: the values are most of the output
FREE = {"type": "object", "additionalProperties": False, "required": ["v"],
        "properties": {"v": {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 6,
                             "maxItems": 6}}}
# long fixed keys and enum values: the skeleton is most of the output (jump-forward's case)
KEYS = ["customer_full_legal_name_as_registered_with_the_tax_authority",
        "preferred_contact_channel_for_all_account_notifications",
        "number_of_previous_orders_placed_in_the_current_calendar_year",
        "shipping_address_first_line_including_house_number",
        "loyalty_programme_membership_tier_at_time_of_order"]
SKELETON = {"type": "object", "additionalProperties": False, "required": KEYS,
            "properties": {KEYS[0]: {"type": "string", "maxLength": 8},
                           KEYS[1]: {"enum": ["electronic_mail_message_to_primary_address",
                                              "short_message_service_text_to_mobile_number"]},
                           KEYS[2]: {"type": "integer", "minimum": 0, "maximum": 99},
                           KEYS[3]: {"type": "string", "maxLength": 8},
                           KEYS[4]: {"enum": ["standard_membership_without_benefits",
                                              "premium_membership_with_free_shipping"]}}}


def model_path(arg):
    if arg:
        return arg
    d = os.path.expanduser("~/.cache/trit-bench")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "synth-2b4t-i2_s.gguf")
    if not os.path.exists(p):
        subprocess.run([TRIT, "synth", "--preset", "2b4t", "--type", "i2_s", "-o", p], check=True)
    return p


class TimedConstraint(Constraint):
    """A Constraint that records llguidance's mask time per sampling step."""

    def __init__(self, model, grammar, jump_forward):
        super().__init__(model, grammar, jump_forward=jump_forward)
        self.mask_seconds = []

    def fill_mask(self, address, n_bytes):
        t = time.perf_counter()
        super().fill_mask(address, n_bytes)
        self.mask_seconds.append(time.perf_counter() - t)


def run(m, n, schema=None, jump_forward=False):
    """One greedy generation: tokens, forced tokens, tokens/s, mask times."""
    kw = {}
    c = None
    if schema is not None:
        c = TimedConstraint(m, Grammar.json_schema(schema), jump_forward)
        kw["constraint"] = c
    ctx = m._ctx()
    from trit import _trit
    _trit.reset(ctx._context())
    text = []
    r = _trit.generate(ctx._context(), PROMPT, lambda b: text.append(b) or True, max_tokens=n,
                       temperature=0.0, ignore_eos=schema is None, **kw)
    row = {"tokens": r["n_generated_tokens"], "forced": r["n_forced_tokens"],
           "decode_steps": r["n_generated_tokens"] - r["n_forced_tokens"],
           "seconds": r["generation_seconds"], "stop": r["stop_reason"],
           "tokens_per_second": r["n_generated_tokens"] / r["generation_seconds"],
           # the first mask builds llguidance's lexer state: reported apart
           "first_mask_ms": c.mask_seconds[0] * 1e3 if c and c.mask_seconds else None,
           "mask_ms": [s * 1e3 for s in c.mask_seconds[1:]] if c else [],
           "valid": None}
    if schema is not None:
        try:
            json.loads(b"".join(text))
            row["valid"] = True
        except ValueError:
            row["valid"] = False   # cut by max_tokens (stop "length")
    return row


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def mask_times(path, steps=200):
    """llguidance's mask time per token at a model's vocabulary: a FREE-schema matcher stepped
    through text drawn at random (seeded) among each step's allowed tokens."""
    import random
    rng = random.Random(0)
    with trit.Model(path, n_ctx=256) as m:
        c = Constraint(m, Grammar.json_schema(FREE))
        words = (m.info["n_vocab"] + 31) // 32
        import ctypes
        buf = (ctypes.c_uint32 * words)()
        times = []
        for _ in range(steps + 1):   # the first mask (lexer set-up) is left out
            t = time.perf_counter()
            c.fill_mask(ctypes.addressof(buf), words * 4)
            times.append((time.perf_counter() - t) * 1e3)
            allowed = [i * 32 + b for i, w in enumerate(buf) if w for b in range(32) if w >> b & 1]
            if not allowed or c.matcher.is_stopped():
                break
            c.accept(rng.choice(allowed))
            ctypes.memset(buf, 0, words * 4)
        return m.info["n_vocab"], times[1:]


def decode_rows(path, a):
    """The generation runs, constrained and unconstrained at equal token counts, in interleaved
    rounds (every run once a round, so the machine's other load falls on all of them alike): per run
    the median tokens/s of the rounds, and the median over rounds of its ratio to the unconstrained
    run of the same length in the same round."""
    runs = [("free schema", "free", FREE, False), ("unconstrained (free's length)", "free", None, False),
            ("skeleton schema, jump-forward off", "skeleton", SKELETON, False),
            ("skeleton schema, jump-forward on", "skeleton", SKELETON, True),
            ("unconstrained (skeleton's length)", "skeleton", None, False)]
    base = {"free": "unconstrained (free's length)", "skeleton": "unconstrained (skeleton's length)"}
    with trit.Model(path, n_ctx=1024, n_threads=a.threads, head=a.head) as m:
        run(m, 4)   # warm-up: pages in the weights
        # greedy: the constrained runs' lengths are the same every round; the unconstrained runs match them
        length = {"free": run(m, a.n, FREE)["tokens"], "skeleton": run(m, a.skeleton_n, SKELETON)["tokens"]}
        rounds = []
        for _ in range(a.reps):
            rounds.append({name: run(m, a.n if kind == "free" and schema else a.skeleton_n if schema
                                     else length[kind], schema, jf) for name, kind, schema, jf in runs})
    rows = {}
    for name, kind, _, _ in runs:
        rs = [r[name] for r in rounds]
        row = dict(rs[0])
        row["tokens_per_second"] = statistics.median(r["tokens_per_second"] for r in rs)
        row["all_tokens_per_second"] = [r["tokens_per_second"] for r in rs]
        row["ratio"] = statistics.median(r[name]["tokens_per_second"] / r[base[kind]]["tokens_per_second"]
                                         for r in rounds)
        row["mask_ms"] = [x for r in rs for x in r["mask_ms"]]
        rows[name] = row
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--mask-models", default="", help="more models (comma-separated) for mask times")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-n", type=int, default=128, help="max tokens of the free-schema generation")
    ap.add_argument("--skeleton-n", type=int, default=512, help="max tokens of the skeleton-schema generation")
    ap.add_argument("--head", default="exact", help="head mode: exact, int8 or certified")
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (medians are reported)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--mask-only", action="store_true", help="only the mask times")
    a = ap.parse_args()
    path = model_path(a.model)
    print(f"model: {path}, head {a.head}, {a.threads} threads", file=sys.stderr)
    rows = {} if a.mask_only else decode_rows(path, a)
    masks = [mask_times(p) for p in [path] + [p for p in a.mask_models.split(",") if p]]
    if a.json:
        print(json.dumps({"rows": rows, "masks": [{"vocab": v, "ms": t} for v, t in masks]}))
        return
    if rows:
        print("| run | tokens | forced | decode steps | tokens/s | vs unconstrained | mask p50 / p99 ms (first) "
              "| end | valid JSON |")
        print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        ratio = r["ratio"]
        mk = (f"{pct(r['mask_ms'], .5):.3f} / {pct(r['mask_ms'], .99):.3f} ({r['first_mask_ms']:.1f})"
              if r["mask_ms"] else "-")
        spread = f"{min(r['all_tokens_per_second']):.2f}-{max(r['all_tokens_per_second']):.2f}"
        print(f"| {name} | {r['tokens']} | {r['forced']} | {r['decode_steps']} | {r['tokens_per_second']:.2f} "
              f"({spread}) | "
              f"{ratio:.2f}× | {mk} | {r['stop']} | {r['valid'] if r['valid'] is not None else '-'} |")
    print()
    print("| vocabulary | mask p50 ms | mask p99 ms | steps |")
    print("|---|---|---|---|")
    for v, t in masks:
        print(f"| {v} | {statistics.median(t):.3f} | {pct(t, .99):.3f} | {len(t)} |")


if __name__ == "__main__":
    main()
