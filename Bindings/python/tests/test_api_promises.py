"""The Python layer keeps the header's promises: sizes from the library, closed handles that stay
closed, streams that stop when abandoned, clear type errors, llama-cpp-python's seed=-1, several
contexts on one model."""
import os

import pytest
import trit
from trit import _trit

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


@pytest.fixture
def model():
    with trit.Model(I2S, n_ctx=128, n_threads=2) as m:
        yield m


def test_eval_sizes_come_from_the_library(model):
    logits = model.eval([1, 50, 60])
    assert len(logits) == 3 and logits.shape == (3, 1024)
    last = logits[-1]
    assert len(last) == 1024
    assert logits[-1][5] == logits[2][5] == logits.tolist()[2][5]
    with pytest.raises(TypeError):
        _trit.eval(model.context._ctx, [1], 1024, True)   # the old signature took n_vocab


def test_a_closed_handle_stays_closed(model):
    cap = model.context._ctx
    model.close()
    with pytest.raises(trit.TritError) as e:
        _trit.eval(cap, [1], True)
    assert e.value.status == 6
    with pytest.raises(trit.TritError):
        model.generate("x")
    model.close()   # twice is fine


def test_an_abandoned_stream_stops_and_frees_the_context(model):
    for _ in model.generate("Every morning", max_tokens=400, ignore_eos=True, stream=True):
        break
    # the next call works at once (no "context is in use")
    assert model.generate("Every morning", max_tokens=4, temperature=0, ignore_eos=True)
    with pytest.raises(RuntimeError):
        for _ in model.generate("Every morning", max_tokens=400, ignore_eos=True, stream=True):
            raise RuntimeError("consumer failed")
    assert model.generate("Every morning", max_tokens=4, temperature=0, ignore_eos=True)
    # a stream kept alive but not consumed is stopped by the next call
    it = model.generate("Every morning", max_tokens=400, ignore_eos=True, stream=True)
    next(it)
    assert model.generate("Every", max_tokens=2, temperature=0, ignore_eos=True)
    assert model.last_result["n_generated_tokens"] == 2


def test_type_errors_are_clear(model):
    with pytest.raises(TypeError, match="bytes"):
        model.generate(b"Hi")
    with pytest.raises(TypeError, match="str or bytes"):
        model.tokenize(123)
    with pytest.raises(TypeError, match="messages"):
        model.chat("hello")
    with pytest.raises(TypeError, match="content"):
        model.chat([{"role": "user"}])
    with pytest.raises(TypeError, match="ints"):
        model.eval(["a"])
    with pytest.raises(TypeError):
        model.generate("x", stop=[1])


def test_seed_minus_one_is_random(model):
    outs = {model.generate("Every morning", max_tokens=24, temperature=1.5, top_k=0, top_p=1, min_p=0, seed=-1,
                           ignore_eos=True) for _ in range(4)}
    assert len(outs) > 1
    a = model.generate("Every morning", max_tokens=12, temperature=1.5, seed=7, ignore_eos=True)
    assert a == model.generate("Every morning", max_tokens=12, temperature=1.5, seed=7, ignore_eos=True)
    with pytest.raises(trit.TritError):
        model.generate("x", seed=-2)


def test_impossible_sizes_raise_trit_error():
    for kw in [dict(n_ctx=10**12), dict(n_ctx=-1), dict(n_threads=10**6), dict(n_batch=0)]:
        with pytest.raises(trit.TritError):
            trit.Model(I2S, **kw)


def test_several_contexts_share_one_model(model):
    want = model.generate("Every morning", max_tokens=12, temperature=0, ignore_eos=True)
    with model.create_context(n_ctx=64, n_threads=1) as a, model.create_context(n_ctx=64) as b:
        assert a.generate("Every morning", max_tokens=12, temperature=0, ignore_eos=True) == want
        assert b.generate("Every morning", max_tokens=12, temperature=0, ignore_eos=True) == want
        assert a.n_ctx == 64 and a.tokens[:1] == model.tokenize("Every")[:1]
    # the model's own context is untouched by the others
    assert model.tokens[:1] == model.tokenize("Every")[:1]


def test_generated_text_continues_the_prompt(model):
    """A SentencePiece vocabulary drops the prefixed space of the first token of a text only: the
    generated text is what the whole context decodes to after the prompt (the first generated token
    kept its space before this was fixed)."""
    for prompt in ["Every morning the old", "He"]:
        out = model.generate(prompt, max_tokens=6, temperature=0, ignore_eos=True)
        assert model.detokenize(model.tokens) == model.detokenize(model.tokenize(prompt)) + out
    with trit.Engine(model, n_seq=1) as eng:
        assert eng.submit("Every morning the old", max_tokens=6, temperature=0, ignore_eos=True).text() == \
            model.generate("Every morning the old", max_tokens=6, temperature=0, ignore_eos=True)


def test_certified_head_gives_exact_modes_text():
    """head="certified": the text of exact mode (greedy and sampled), logits rows exact; a bad mode is
    a ValueError before anything loads."""
    with trit.Model(I2S, n_ctx=128, n_threads=2) as ex, trit.Model(I2S, n_ctx=128, n_threads=2, head="certified") as ce:
        assert ce.head == "certified" and ex.head == "exact"
        for kw in [dict(temperature=0), dict(seed=3), dict(top_k=0, top_p=1, min_p=0.2, seed=4)]:
            a = ex.generate("Every morning", max_tokens=40, ignore_eos=True, **kw)
            b = ce.generate("Every morning", max_tokens=40, ignore_eos=True, **kw)
            assert a == b, kw
        assert list(ex.eval([1, 2, 3])[-1]) == list(ce.eval([1, 2, 3])[-1])
        with trit.Engine(ce, n_seq=2) as eng:
            assert eng.submit("Every morning", max_tokens=40, temperature=0, ignore_eos=True).text() == \
                ex.generate("Every morning", max_tokens=40, temperature=0, ignore_eos=True)
    with pytest.raises(ValueError, match="head"):
        trit.Model(I2S, head="fast")


def test_qwen3_group_scaled_both_activation_paths():
    """A Q2_0 qwen3 fixture: float activations give transformers' logits to 1e-4, int8 activations
    (the default) stay within the fixture's 0.1 tier of them."""
    import json
    d = os.path.join(FIX, "qwen3-ternary-tiny")
    with open(os.path.join(d, "reference.json")) as f:
        ref = json.load(f)
    path = os.path.join(d, "model.q2_0.gguf")
    for float_act, tol in [(True, 1e-4), (False, 0.1)]:
        with trit.Model(path, n_ctx=64, n_threads=2, float_activations=float_act, kv_type="f32") as m:
            rows = m.eval(ref["tokens"])
            worst = max(abs(a - b) for i, row in enumerate(ref["logits"]) for a, b in zip(rows[i], row))
            assert worst <= tol, (float_act, worst)
