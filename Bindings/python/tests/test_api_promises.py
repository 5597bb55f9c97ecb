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


@pytest.mark.parametrize("leave", ["to the end", "with break"])
def test_a_stream_leaves_the_context_usable(model, leave):
    """The README's quick start: a streamed generate, run to its end or left with break, then eval
    and score on the same context (they were aborted by the stream's leftover abort request)."""
    pieces = []
    for piece in model.generate("The king said", max_tokens=8, temperature=0, ignore_eos=True, stream=True):
        pieces.append(piece)
        if leave == "with break":
            break
    assert pieces
    n_past = model.n_past
    logits = model.eval(model.tokenize("Hello"))
    assert logits.shape == (len(model.tokenize("Hello")), 1024) and model.n_past > n_past
    lp, _ = model.score("The king said", " unto")
    assert lp < 0
    # the same on a second context of the model
    with model.create_context(n_ctx=64) as c:
        for _ in c.generate("The king said", max_tokens=4, ignore_eos=True, stream=True):
            if leave == "with break":
                break
        assert len(c.eval([1, 50])) == 2


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


def test_impossible_sizes_are_refused_by_libtrit(monkeypatch):
    """The sizes reach trit_context_create, which refuses them with its message (Python does not
    repeat the library's limits); only a value no int32_t can hold stops in the binding."""
    calls = []
    create = _trit.context_create

    def spy(*args):
        try:
            return create(*args)
        except trit.TritError as e:
            calls.append((args[1:5], e.status, e.message))
            raise
    monkeypatch.setattr(_trit, "context_create", spy)
    for kw, words in [(dict(n_ctx=-1), "n_ctx"), (dict(n_threads=10**6), "n_threads"), (dict(n_batch=0), "batch"),
                      (dict(n_seq=-3), "n_seq")]:
        calls.clear()
        with pytest.raises(trit.TritError) as e:
            trit.Model(I2S, **kw)
        assert len(calls) == 1, (kw, calls)   # libtrit refused it
        assert e.value.status == _trit.ERR_ARG and words in e.value.message, (kw, e.value.message)
    calls.clear()
    with pytest.raises(trit.TritError) as e:
        trit.Model(I2S, n_ctx=10**12)
    assert calls == [] and "32-bit" in e.value.message


def test_truncate_is_checked_by_libtrit(model):
    model.eval([1, 50, 60, 70])
    model.truncate(2)
    assert model.tokens == [1, 50]
    for bad in [-1, 3]:   # negative, or more than the context holds: refused, nothing changes
        with pytest.raises(trit.TritError) as e:
            model.truncate(bad)
        assert e.value.status == _trit.ERR_ARG and model.tokens == [1, 50]
    model.truncate(0)
    assert model.tokens == []


def test_status_texts_come_from_the_library():
    """trit_status_string names every status (busy, 11, included); TritError uses it."""
    names = [_trit.status_string(s) for s in range(12)]
    assert names[0] == "ok" and names[_trit.ERR_BUSY] == "busy" and names[_trit.ERR_OOM] == "out of memory"
    assert "unknown status" not in names and len(set(names)) == 12
    assert _trit.status_string(12) == "unknown status"
    for s in range(1, 12):
        assert str(trit.TritError(s, "what happened")) == f"what happened [{names[s]}]"


def test_one_seed_rule_for_contexts_and_engines(model):
    """-1 is random everywhere, any uint64 is a seed everywhere, anything else is refused everywhere."""
    with trit.Engine(model, n_seq=1) as eng:
        for seed in [0, 2**63 + 5, 2**64 - 2]:
            a = model.generate("Every morning", max_tokens=6, temperature=1.5, seed=seed, ignore_eos=True)
            b = eng.submit("Every morning", max_tokens=6, temperature=1.5, top_k=40, top_p=0.95, min_p=0.05, seed=seed,
                           ignore_eos=True).text()
            assert a == b, seed
        for bad in [-2, 2**64, 1.5, True, "1"]:
            with pytest.raises(trit.TritError):
                model.generate("x", seed=bad)
            with pytest.raises(trit.TritError):
                eng.submit("x", seed=bad)


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


@pytest.mark.parametrize("head", ["certified", "certified4"])
def test_certified_head_gives_exact_modes_text(head):
    """head="certified" (int8 compact head) and "certified4" (4-bit): the text of exact mode (greedy and
    sampled), logits rows exact; a bad mode is a ValueError before anything loads."""
    with trit.Model(I2S, n_ctx=128, n_threads=2) as ex, trit.Model(I2S, n_ctx=128, n_threads=2, head=head) as ce:
        assert ce.head == head and ex.head == "exact"
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
