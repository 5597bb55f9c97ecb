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
    # the bound grows with N until the prompt rate binds: 4 requests' bound is above one's,
    # and at most 4 times it (N·G / (P/pp + G/tg) is the most N requests can gain)
    assert one["bound_tokens_per_second"] < four["bound_tokens_per_second"] <= 4 * one["bound_tokens_per_second"] * 1.001


def test_engine_bench_without_a_one_request_row_has_no_bound(built):
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r = run([os.path.join(BIN, "trit"), "bench", "-m", model, "--concurrency", "2", "-p", "8", "-n", "4", "-t", "1",
             "--json"])
    row = json.loads(r.stdout)[0]
    assert "bound_tokens_per_second" not in row
