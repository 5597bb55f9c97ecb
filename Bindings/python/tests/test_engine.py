"""trit.Engine: concurrent requests give each request's greedy text alone, streams and async
streams, cancellation, the queue limit, statistics."""
import asyncio
import os
import threading

import pytest
import trit

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")
PROMPTS = ["Every morning", "The old fisherman walked down to the harbor", "He", "and the sea was calm and",
           "Every morning the old fisherman", "It was"]


@pytest.fixture(scope="module")
def model():
    with trit.Model(I2S, n_ctx=128) as m:
        yield m


def alone(model, prompt, n):
    return model.generate(prompt, max_tokens=n, temperature=0, ignore_eos=True)


def test_concurrent_requests_equal_their_text_alone(model):
    want = [alone(model, p, 6 + 3 * i) for i, p in enumerate(PROMPTS)]
    with trit.Engine(model, n_seq=4, n_ctx=128, n_batch=16) as eng:
        reqs = [eng.submit(p, max_tokens=6 + 3 * i, temperature=0, ignore_eos=True) for i, p in enumerate(PROMPTS)]
        got = [r.text() for r in reqs]
        assert got == want
        assert all(r.finish_reason == "length" for r in reqs)
        assert [r.usage["completion_tokens"] for r in reqs] == [6 + 3 * i for i in range(len(PROMPTS))]
        s = eng.stats()
        assert s["requests_finished"] == len(PROMPTS) and s["running"] == 0 and s["waiting"] == 0
        assert s["tokens_generated"] == sum(6 + 3 * i for i in range(len(PROMPTS)))


def test_threads_submitting_at_once(model):
    want = {p: alone(model, p, 8) for p in PROMPTS}
    out = {}
    with trit.Engine(model, n_seq=3) as eng:
        def work(p):
            out[p] = eng.submit(p, max_tokens=8, temperature=0, ignore_eos=True).text()
        ts = [threading.Thread(target=work, args=(p,)) for p in PROMPTS]
        [t.start() for t in ts]
        [t.join(60) for t in ts]
    assert out == want


def test_async_streams(model):
    want = [alone(model, p, 10) for p in PROMPTS[:4]]

    async def main():
        with trit.Engine(model, n_seq=4) as eng:
            async def one(p):
                pieces = [x async for x in eng.submit_async(p, max_tokens=10, temperature=0, ignore_eos=True)]
                return "".join(pieces)
            return await asyncio.wait_for(asyncio.gather(*[one(p) for p in PROMPTS[:4]]), 60)
    assert asyncio.run(main()) == want


def test_prefix_reuse_and_cancel(model):
    with trit.Engine(model, n_seq=2) as eng:
        first = eng.submit("Every morning the old fisherman walked", max_tokens=4, temperature=0)
        first.text()
        second = eng.submit("Every morning the old fisherman walked down to", max_tokens=4, temperature=0)
        assert second.text() == alone(model, "Every morning the old fisherman walked down to", 4)
        assert second.usage["cached_tokens"] > 0
        long = eng.submit("Every", max_tokens=100000, ignore_eos=True)
        it = iter(long)
        next(it)
        assert eng.cancel(long.id)
        list(it)
        assert long.finish_reason == "cancelled"
        assert not eng.cancel(long.id)
        # leaving a stream early cancels it
        for _ in eng.submit("Every", max_tokens=100000, ignore_eos=True):
            break
        assert eng.submit("He", max_tokens=2, temperature=0).text() == alone(model, "He", 2)


def test_bad_requests_and_queue_limit(model):
    with trit.Engine(model, n_seq=1, n_ctx=32, queue_limit=2) as eng:
        with pytest.raises(TypeError):
            eng.submit(b"Hi")
        with pytest.raises(trit.TritError) as e:
            eng.submit("word " * 100)
        assert e.value.status == 7
        with pytest.raises(trit.TritError):
            eng.submit("Hi", top_p=2)
        with pytest.raises(trit.TritError):
            eng.submit("Hi", logit_bias={10**6: 1.0})
        reqs, busy = [], 0
        for _ in range(200):
            try:
                reqs.append(eng.submit("Hi", max_tokens=3))
            except trit.TritError as e:
                assert e.status == 11
                busy += 1
        assert busy > 0
        for r in reqs:
            r.text()
    with pytest.raises(trit.TritError):
        eng.submit("Hi")


def test_unstreamed_requests_collect_their_text_in_the_library(model):
    with trit.Engine(model, n_seq=2) as eng:
        a = eng.submit("Every morning", max_tokens=12, temperature=0, ignore_eos=True, stream=False)
        assert a.text() == alone(model, "Every morning", 12) and a.finish_reason == "length"

        async def main():
            c = eng.submit_async("He", max_tokens=5, temperature=0, ignore_eos=True, stream=False)
            return await c.text()
        assert asyncio.run(main()) == alone(model, "He", 5)


def test_stats_report_each_requests_context(model):
    """n_ctx_slot is the engine's resolved per-request context: n_ctx when given, the model's (at most
    4096) when 0; it is not cells_total / n_seq (cells can be fewer than n_seq × n_ctx)."""
    with trit.Engine(model, n_seq=4, n_ctx=64, n_cells=100) as eng:
        s = eng.stats()
        assert s["n_ctx_slot"] == 64 and s["cells_total"] == 100
    with trit.Engine(model, n_seq=2) as eng:
        assert eng.stats()["n_ctx_slot"] == min(model.info["n_ctx_train"], 4096)


def test_engine_sizes_are_refused_by_libtrit():
    """The engine's sizes reach trit_engine_create, which names what is wrong."""
    with trit.Model(I2S, n_ctx=16) as m:
        for kw, word in [(dict(n_seq=0), "slot"), (dict(n_seq=10**6), "slot"), (dict(n_batch=0), "batch"),
                         (dict(n_threads=-1), "thread"), (dict(queue_limit=-1), "queue")]:
            with pytest.raises(trit.TritError) as e:
                trit.Engine(m, **kw)
            assert e.value.status == trit._trit.ERR_ARG and word in e.value.message.lower(), (kw, e.value.message)


def test_an_engine_refused_by_libtrit_frees_the_model_it_loaded(monkeypatch):
    closed = []
    real_close = trit.Model.close

    def close(self):
        closed.append(self.path)
        real_close(self)
    monkeypatch.setattr(trit.Model, "close", close)
    with pytest.raises(trit.TritError) as e:   # e's traceback keeps the half-made engine (and its model) alive
        trit.Engine(I2S, n_seq=0)
    assert closed == [I2S] and "slots" in e.value.message


LONG = " ".join(["the old fisherman walked down to the harbor every morning"] * 3)


def test_requests_with_one_prompt_read_it_once(model):
    """Requests submitted together with one prompt (the n choices of an OpenAI request): the first
    reads it, the others wait for it and copy its cells (cached_tokens: all but the last token), and
    each gives the text it gives alone."""
    tokens = model.tokenize(LONG)
    assert len(tokens) > 64
    want = alone(model, LONG, 6)
    with trit.Engine(model, n_seq=4, n_ctx=256, n_batch=32) as eng:
        reqs = [eng.submit(tokens, max_tokens=6, temperature=0, ignore_eos=True) for _ in range(3)]
        assert [r.text() for r in reqs] == [want] * 3
        assert sorted(r.usage["cached_tokens"] for r in reqs) == [0, len(tokens) - 1, len(tokens) - 1]
        assert eng.stats()["prompt_tokens_evaluated"] == len(tokens) + 2


def test_min_prompt_tokens_is_checked_and_keeps_the_texts():
    prompts = ["Every morning", "And the LORD said unto Moses,", "The king", "O Romeo, Romeo"]

    def texts(**kw):
        with trit.Engine(n_seq=4, n_ctx=96, n_batch=32, n_threads=2, **kw) as e:
            reqs = [e.submit(p, max_tokens=12, temperature=0, ignore_eos=True) for p in prompts]
            return [r.text() for r in reqs]
    assert texts(min_prompt_tokens=32) == texts()   # every step filled with prompt tokens: the same greedy texts
    for bad in (0, 4097):
        with pytest.raises(trit.TritError, match="min_prompt_tokens"):
            trit.Engine(n_seq=2, n_ctx=32, min_prompt_tokens=bad)
