"""`trit bench --concurrency`: the engine's rows, with the compute bound computed from the
one-request row's rates (pp = P / TTFT, tg = tokens after the first / time after the first)."""
import json
import os

from conftest import BIN, ROOT, run


def test_engine_bench_reports_the_bound_and_its_share(built):
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r = run([os.path.join(BIN, "trit"), "bench", "-m", model, "--concurrency", "1,4", "-p", "16", "-n", "8",
             "-t", "1", "--json"])
    rows = json.loads(r.stdout)
    assert [x["concurrency"] for x in rows] == [1, 4]
    one, four = rows
    for x in rows:
        assert x["bound_tokens_per_second"] > 0
        assert abs(x["share_of_bound"] - x["tokens_per_second"] / x["bound_tokens_per_second"]) < 2e-3
    # the formula, from the one-request row's rates (the same in every row)
    pp, tg = one["bound_pp_tokens_per_second"], one["bound_tg_tokens_per_second"]
    for x in rows:
        n, p, g = x["concurrency"], 16, 8
        want = n * g / max(n * (p + g) / pp, p / pp + g / tg)
        assert abs(x["bound_tokens_per_second"] - want) <= 1e-3 * want + 2e-3
    # no more than N times one request's bound: no request ends sooner than one alone
    assert four["bound_tokens_per_second"] <= 4 * one["bound_tokens_per_second"] * 1.001
    # the decode phase: steps of decode rows only (one request: its G - 1 steps of one row), and the
    # ternary rate they imply, rows/s times the model's ternary multiply-adds a row (the same in every row)
    assert one["decode_rows_per_step"] == 1 and one["full_decode_steps"] == 7
    assert 1 <= four["decode_rows_per_step"] <= 4 and four["full_decode_steps"] >= 1
    per_row = [x["decode_ternary_gmacs"] / x["decode_rows_per_second"] for x in rows]
    assert per_row[0] > 0 and abs(per_row[0] - per_row[1]) <= 0.02 * per_row[0]
    assert abs(four["full_decode_ternary_gmacs"] / four["full_decode_rows_per_second"] - per_row[0]) <= 0.02 * per_row[0]

def test_engine_bench_without_a_one_request_row_has_no_bound(built):
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r = run([os.path.join(BIN, "trit"), "bench", "-m", model, "--concurrency", "2", "-p", "8", "-n", "4", "-t", "1",
             "--json"])
    row = json.loads(r.stdout)[0]
    assert "bound_tokens_per_second" not in row


def test_bench_paired_roofline_pairs_every_token_with_a_probe_pass(built):
    """--paired-roofline: one probe pass after each generated token; the share is the median over tokens
    of the token's bytes (weights + KV) over its time, over the pass's GB/s."""
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r = run([os.path.join(BIN, "trit"), "bench", "-m", model, "-p", "0", "-n", "5", "-r", "2", "-t", "1",
             "--paired-roofline", "--json"])
    row = json.loads(r.stdout)[0]
    shares, probes = row["paired_share_samples"], row["paired_probe_gb_per_s"]
    assert row["paired_tokens"] == len(shares) == len(probes) == 10
    assert all(s > 0 for s in shares) and all(p > 0 for p in probes)
    # the part of each token's time in the products and the head: a fraction of it
    assert len(row["paired_stream_fraction"]) == 10 and all(0 < f <= 1.0 for f in row["paired_stream_fraction"])
    assert abs(row["roofline_share_paired"] - sorted(shares)[4:6][0] / 2 - sorted(shares)[4:6][1] / 2) < 2e-3
    # the tokens' own rate: bytes over (share × probe) is each token's time; 5 of them a run
    times = [row["bytes_per_token"] / (s * p * 1e9) for s, p in zip(shares, probes)]
    runs = [5 / sum(times[:5]), 5 / sum(times[5:])]
    for want, got in zip(runs, row["samples"]):
        assert abs(got - want) <= 0.02 * want
    bad = run([os.path.join(BIN, "trit"), "bench", "-m", model, "-p", "0", "-n", "2", "-r", "1", "-t", "1",
               "--paired-roofline", "--no-bandwidth"], check=False)
    assert bad.returncode != 0 and "--paired-roofline needs the bandwidth probe" in bad.stderr
    bad = run([os.path.join(BIN, "trit"), "bench", "-m", model, "--concurrency", "1", "-p", "8", "-n", "2", "-t", "1",
               "--paired-roofline"], check=False)
    assert bad.returncode != 0 and "not with --concurrency" in bad.stderr
