"""KV cache types from Python: f16 by default, q8_0 and f32 on request, bad names refused."""
import json
import os

import pytest
import trit

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


def rows_of(kv_type, tokens):
    with trit.Model(I2S, n_ctx=64, n_threads=2, kv_type=kv_type) as m:
        assert m.kv_type == (kv_type, kv_type)
        return m.eval(tokens).tolist()


def test_default_is_f16_and_types_change_logits_within_their_bounds():
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    tokens = ref["tokens"] + ref["greedy"]
    with trit.Model(I2S, n_ctx=64) as m:
        assert m.kv_type == ("f16", "f16")
    exact = rows_of("f32", tokens)
    # the f32 cache is the reference's arithmetic
    assert max(abs(a - b) for r, rr in zip(exact, ref["logits"]) for a, b in zip(r, rr)) < 1e-5
    # bounds measured on the fixtures (KVCacheAccuracyTests; README "KV cache types"): an int8
    # activation model, so a cache rounding can flip an activation rounding
    for kv, bound in [("f16", 0.065), ("q8_0", 0.085)]:
        got = rows_of(kv, tokens)
        worst = max(abs(a - b) for r, rr in zip(got, exact) for a, b in zip(r, rr))
        assert 0 < worst <= bound, (kv, worst)


def test_keys_and_values_separately():
    with trit.Model(I2S, n_ctx=32, type_k="q8_0") as m:
        assert m.kv_type == ("q8_0", "f16")
        assert m.generate("Every morning", max_tokens=4, temperature=0)
    with trit.Model(I2S, n_ctx=32, kv_type="f32") as m:
        c = m.create_context(n_ctx=16, kv_type="f32", type_v="q8_0")
        assert c.kv_type == ("f32", "q8_0")
        c.close()


@pytest.mark.parametrize("bad", ["q4_0", "F16x", "", 1, None])
def test_unknown_types_are_refused(bad):
    with pytest.raises(ValueError, match="type_k"):
        trit.Model(I2S, n_ctx=16, kv_type=bad)


@pytest.mark.parametrize("bad", ["q4_0", 8])
def test_unknown_value_type_is_refused(bad):
    with pytest.raises(ValueError, match="type_v"):
        trit.Model(I2S, n_ctx=16, type_v=bad)


def test_engine_takes_the_cache_type():
    with trit.Model(I2S, n_ctx=64, kv_type="q8_0") as m:
        alone = m.generate("Every morning", max_tokens=8, temperature=0)
        with trit.Engine(m, n_seq=2, n_ctx=64, kv_type="q8_0") as e:
            assert e.submit("Every morning", max_tokens=8, temperature=0).text() == alone
        with pytest.raises(ValueError):
            trit.Engine(m, n_seq=2, n_ctx=64, kv_type="q2")


def test_defaults_are_resolved_by_the_library_and_read_back():
    # 0 = default for n_ctx and n_threads: the library's choice (the model's context, at most 4096;
    # one thread per core), the same the C API reports
    with trit.Model(I2S) as m:
        p = m.create_context().params
        assert p["n_ctx"] == min(m.info["n_ctx_train"], 4096)
        assert p["n_threads"] == (os.cpu_count() or 1)
        assert p["n_seq"] == 1 and p["n_cells"] == p["n_ctx"] and p["type_k"] == 1 and p["type_v"] == 1
        q = m.create_context(n_ctx=32, n_threads=1).params
        assert (q["n_ctx"], q["n_threads"]) == (32, 1)


def test_attn_int8_changes_logits_within_its_bound():
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    tokens = ref["tokens"] + ref["greedy"]
    with trit.Model(I2S, n_ctx=64, n_threads=2, kv_type="q8_0") as m:
        float_scores = m.eval(tokens).tolist()
        assert m.create_context(n_ctx=16).params["attn_int8"] is False
    with trit.Model(I2S, n_ctx=64, n_threads=2, kv_type="q8_0", attn_int8=True) as m:
        assert m.create_context(n_ctx=16, kv_type="q8_0", attn_int8=True).params["attn_int8"] is True
        got = m.eval(tokens).tolist()
    # the bound of AttentionInt8Tests (int8-activation fixtures): one activation rounding step
    worst = max(abs(a - b) for r, rr in zip(got, float_scores) for a, b in zip(r, rr))
    assert 0 < worst <= 0.073, worst


@pytest.mark.parametrize("keys", ["f16", "f32"])
def test_attn_int8_is_refused_without_q8_0_keys(keys):
    with pytest.raises(trit.TritError, match="q8_0 key cache"):
        trit.Model(I2S, n_ctx=16, type_k=keys, type_v="q8_0", attn_int8=True)
    with trit.Model(I2S, n_ctx=16, kv_type="q8_0") as m:
        with pytest.raises(trit.TritError, match="q8_0 key cache"):
            m.create_context(n_ctx=16, kv_type=keys, attn_int8=True)
        with pytest.raises(trit.TritError, match="q8_0 key cache"):
            trit.Engine(m, n_seq=2, n_ctx=16, kv_type=keys, attn_int8=True)


def test_engine_and_server_take_attn_int8():
    with trit.Model(I2S, n_ctx=64, kv_type="q8_0", attn_int8=True) as m:
        alone = m.generate("Every morning", max_tokens=8, temperature=0)
        with trit.Engine(m, n_seq=2, n_ctx=64, kv_type="q8_0", attn_int8=True) as e:
            assert e.submit("Every morning", max_tokens=8, temperature=0).text() == alone
    pytest.importorskip("fastapi")
    from trit.server.__main__ import parse
    assert parse([])[1].attn_int8 is False
    assert parse(["-ctk", "q8_0", "--attn-int8"])[1].attn_int8 is True
