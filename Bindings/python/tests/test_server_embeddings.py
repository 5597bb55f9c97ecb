"""POST /v1/embeddings driven by the official `openai` client (single, batched, token lists, base64,
dimensions) and by raw HTTP (the 400s naming the field); the server on 127.0.0.1, ephemeral port."""
import base64
import os

import httpx
import numpy
import pytest

import openai  # the test extras (make python installs them); missing is a failure, not a skip
import trit

from server_process import start_server, stop_server
from test_server import BUNDLED, KEY, client


@pytest.fixture(scope="module")
def server():
    p, base = start_server(BUNDLED, "--parallel", "2", "--ctx-size", "64", "--embedding-batch", "4", "--alias", "bundled",
                           "--threads", "2", env=dict(os.environ, TRIT_API_KEY=KEY))
    yield base
    stop_server(p)


@pytest.fixture(scope="module")
def model():
    with trit.Model(BUNDLED, n_ctx=64, n_threads=2) as m:   # the server's cache type (F16) and context
        yield m


TEXTS = ["The capital of France is Paris.", "Ternary weights: -1, 0, +1.", "hello"]


def test_single_and_batched_inputs_equal_model_embed(server, model):
    c = client(server)
    one = c.embeddings.create(model="bundled", input=TEXTS[0], encoding_format="float")
    assert one.object == "list" and one.model == "bundled" and len(one.data) == 1
    row = numpy.asarray(one.data[0].embedding, dtype=numpy.float32)
    assert row.shape == (model.info["n_embd"],) and abs(numpy.linalg.norm(row) - 1) < 1e-5
    assert numpy.allclose(row, model.embed(TEXTS[0]), atol=1e-6)
    assert one.usage.prompt_tokens == len(model.tokenize(TEXTS[0])) == one.usage.total_tokens

    batch = c.embeddings.create(model="bundled", input=TEXTS, encoding_format="float")
    assert [d.index for d in batch.data] == [0, 1, 2]
    want = model.embed(TEXTS)
    for i, d in enumerate(batch.data):
        assert numpy.allclose(d.embedding, want[i], atol=1e-6), i
    assert batch.usage.prompt_tokens == sum(len(model.tokenize(t)) for t in TEXTS)

    ids = [model.tokenize(t) for t in TEXTS[:2]]
    tok = c.embeddings.create(model="bundled", input=ids, encoding_format="float")
    assert numpy.allclose([d.embedding for d in tok.data], want[:2], atol=1e-6)
    single_ids = c.embeddings.create(model="bundled", input=ids[1], encoding_format="float")
    assert numpy.allclose(single_ids.data[0].embedding, want[1], atol=1e-6)


def test_base64_and_dimensions(server, model):
    c = client(server)
    want = model.embed(TEXTS[:2])
    # the client's default: it asks for base64 and decodes it itself
    default = c.embeddings.create(model="bundled", input=TEXTS[:2])
    assert numpy.allclose([d.embedding for d in default.data], want, atol=1e-6)
    b64 = c.embeddings.create(model="bundled", input=TEXTS[:2], encoding_format="base64")
    for i, d in enumerate(b64.data):
        assert isinstance(d.embedding, str)
        row = numpy.frombuffer(base64.b64decode(d.embedding), dtype="<f4")
        assert numpy.allclose(row, want[i], atol=1e-6), i
    short = c.embeddings.create(model="bundled", input=TEXTS[:2], dimensions=16, encoding_format="float")
    want16 = model.embed(TEXTS[:2], dimensions=16)
    for i, d in enumerate(short.data):
        assert len(d.embedding) == 16 and abs(numpy.linalg.norm(d.embedding) - 1) < 1e-5
        assert numpy.allclose(d.embedding, want16[i], atol=1e-6)
        assert not numpy.allclose(d.embedding, want[i][:16], atol=1e-3)   # renormalized, not just cut


@pytest.mark.parametrize("body, param", [
    ({"input": []}, "input"),
    ({"input": ""}, "input"),
    ({"input": ["a", ""]}, "input"),
    ({"input": [[1, 2], []]}, "input"),
    ({"input": [1, "a"]}, "input"),
    ({"input": 3}, "input"),
    ({}, "input"),
    ({"input": "a", "dimensions": 0}, "dimensions"),
    ({"input": "a", "dimensions": 100000}, "dimensions"),
    ({"input": "a", "encoding_format": "int8"}, "encoding_format"),
    ({"input": "a", "pooling": "mean"}, "pooling"),
    ({"input": [[1, 2], [1, 10 ** 9]]}, "input[1]"),
    ({"input": [[1] * 65]}, "input"),
    ({"input": ["a", "b", "c", "d", "e"]}, "input"),
])
def test_bad_requests_are_400s_naming_the_field(server, body, param):
    r = httpx.post(server + "/v1/embeddings", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param, r.text


def test_key_and_model_are_checked(server):
    r = httpx.post(server + "/v1/embeddings", json={"input": "a"}, timeout=30)
    assert r.status_code == 401
    with pytest.raises(openai.NotFoundError):
        client(server).embeddings.create(model="other", input="a")


def test_concurrent_embeddings_next_to_a_completion(server, model):
    """Eight clients at once, and a completion meanwhile: every answer is the one a lone request gets."""
    import asyncio
    want = model.embed(TEXTS)

    async def main():
        c = openai.AsyncOpenAI(base_url=server + "/v1", api_key=KEY, max_retries=0, timeout=120)
        jobs = [c.embeddings.create(model="bundled", input=TEXTS[i % 3], encoding_format="float") for i in range(8)]
        jobs.append(c.completions.create(model="bundled", prompt="Once upon a time", max_tokens=8, temperature=0))
        return await asyncio.gather(*jobs)
    out = asyncio.run(main())
    for i, r in enumerate(out[:8]):
        assert numpy.allclose(r.data[0].embedding, want[i % 3], atol=1e-6), i
    assert out[8].choices[0].text


def test_an_input_of_a_whole_context_is_embedded(server, model):
    """64 tokens (--ctx-size): one more than an engine request holds, so the server embeds it on its own
    context (the fallback); it equals Model.embed, next to a short input that goes through the engine."""
    long_ids = (model.tokenize("one two three four five six seven eight nine ten " * 8))[:64]
    assert len(long_ids) == 64
    short_ids = model.tokenize(TEXTS[1])
    r = client(server).embeddings.create(model="bundled", input=[long_ids, short_ids], encoding_format="float")
    want = model.embed([long_ids, short_ids])
    for i, d in enumerate(r.data):
        assert numpy.allclose(d.embedding, want[i], atol=1e-6), i
    assert r.usage.prompt_tokens == 64 + len(short_ids)


def test_a_certified_head_server_embeds_on_its_context(model):
    """The engine refuses embeddings with the certified head: the server embeds on its own context."""
    p, base = start_server(BUNDLED, "--parallel", "2", "--ctx-size", "64", "--threads", "2", "--head", "certified",
                           "--alias", "bundled", env=dict(os.environ, TRIT_API_KEY=KEY))
    try:
        r = client(base).embeddings.create(model="bundled", input=TEXTS[:2], encoding_format="float")
        assert numpy.allclose([d.embedding for d in r.data], model.embed(TEXTS[:2]), atol=1e-6)
    finally:
        stop_server(p)
