"""The OpenAI-compatible server, driven by the official `openai` client and by raw HTTP, on
127.0.0.1 with an ephemeral port; every loop is bounded in count and time."""
import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

import openai  # the test extras (make python installs them); missing is a failure, not a skip
import trit

from conftest import FIX
from server_process import free_port, start_server, stop_server  # noqa: F401 (free_port: other tests import it)

BUNDLED = trit.default_model_path() or os.path.join(os.path.dirname(FIX), "..", "Models", "trit-bundled-i2_s.gguf")
KEY = "sk-test-key"


@pytest.fixture(scope="module")
def server():
    p, base = start_server(BUNDLED, "--parallel", "4", "--ctx-size", "256", "--queue-limit", "8", "--max-body", "100000",
                           "--alias", "bundled", env=dict(os.environ, TRIT_API_KEY=KEY))
    yield base
    stop_server(p)


@pytest.fixture(scope="module")
def model():
    with trit.Model(BUNDLED, n_ctx=256) as m:
        yield m


def client(base):
    return openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0, timeout=60)


def test_completions_and_chat_equal_model_generate(server, model):
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["bundled"]
    r = c.completions.create(model="bundled", prompt="And the LORD said", max_tokens=12, temperature=0, seed=1)
    want = model.generate("And the LORD said", max_tokens=12, temperature=0)
    assert r.choices[0].text == want
    assert r.usage.completion_tokens == 12 and r.choices[0].finish_reason == "length"
    pieces = [ch.choices[0].text for ch in c.completions.create(model="bundled", prompt="And the LORD said", max_tokens=12,
                                                                 temperature=0, stream=True)]
    assert "".join(pieces) == want
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who art thou?"}]
    r = c.chat.completions.create(model="bundled", messages=msgs, max_tokens=10, temperature=0)
    want = model.chat(msgs, max_tokens=10, temperature=0)
    assert r.choices[0].message.content == want and r.choices[0].message.role == "assistant"
    chunks = list(c.chat.completions.create(model="bundled", messages=msgs, max_tokens=10, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == want
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 10
    # multi-part text content and a seed
    r = c.chat.completions.create(model="bundled", messages=[{"role": "user", "content": [{"type": "text", "text": "Who art"},
                                                                                        {"type": "text", "text": " thou?"}]}],
                                  max_tokens=10, temperature=0)
    assert r.choices[0].message.content == model.chat([{"role": "user", "content": "Who art thou?"}], max_tokens=10, temperature=0)
    a = c.completions.create(model="bundled", prompt="O", max_tokens=8, temperature=0.9, seed=42).choices[0].text
    b = c.completions.create(model="bundled", prompt="O", max_tokens=8, temperature=0.9, seed=42).choices[0].text
    assert a == b


def test_concurrent_streams_equal_alone(server, model):
    prompts = [f"And the LORD said unto {name}," for name in ["Moses", "Aaron", "Noah", "Abram", "Jacob", "Israel", "Saul",
                                                               "David"]] * 4
    want = {p: model.chat([{"role": "user", "content": p}], max_tokens=8, temperature=0) for p in set(prompts)}

    async def main():
        c = openai.AsyncOpenAI(base_url=server + "/v1", api_key=KEY, max_retries=5, timeout=120)

        async def one(p):
            s = await c.chat.completions.create(model="bundled", messages=[{"role": "user", "content": p}], max_tokens=8,
                                                temperature=0, stream=True)
            return p, "".join([ch.choices[0].delta.content or "" async for ch in s if ch.choices])
        return await asyncio.wait_for(asyncio.gather(*[one(p) for p in prompts]), 300)
    for p, text in asyncio.run(main()):
        assert text == want[p], p


def test_hostile_requests(server):
    h = {"Authorization": f"Bearer {KEY}"}
    post = lambda path, **kw: httpx.post(server + path, timeout=30, **kw)

    def err(r, status):
        assert r.status_code == status, (r.status_code, r.text)
        e = r.json()["error"]
        assert set(e) == {"message", "type", "param", "code"} and e["message"]
        return e
    err(post("/v1/completions", content=b"{not json", headers=h), 400)
    err(post("/v1/completions", content=b'{"prompt": "\xff\xfe"}', headers=h), 400)
    assert err(post("/v1/completions", json={"prompt": 5}, headers=h), 400)["param"] == "prompt"
    assert err(post("/v1/completions", json={"prompt": "a", "max_tokens": -1}, headers=h), 400)["param"] == "max_tokens"
    e = err(post("/v1/completions", json={"prompt": "a", "max_tokens": 10**9}, headers=h), 400)
    assert "maximum context length is 256" in e["message"]
    assert err(post("/v1/completions", json={"prompt": "a", "temperature": -1}, headers=h), 400)["param"] == "temperature"
    assert err(post("/v1/completions", json={"prompt": "a", "top_p": 2}, headers=h), 400)["param"] == "top_p"
    err(post("/v1/completions", json={"prompt": "a", "logit_bias": {"99999999": 1}}, headers=h), 400)
    assert err(post("/v1/completions", json={"prompt": "a", "n": 17}, headers=h), 400)["param"] == "n"
    err(post("/v1/completions", json={"prompt": "a", "n": 0}, headers=h), 400)
    err(post("/v1/completions", content=b"x" * 2_000_000, headers=h), 413)
    err(post("/v1/completions", json={"prompt": "a"}), 401)
    err(post("/v1/completions", json={"prompt": "a"}, headers={"Authorization": "Bearer wrong"}), 401)
    err(post("/v1/completions", json={"prompt": "a", "model": "gpt-4"}, headers=h), 404)
    err(post("/v1/chat/completions", json={"messages": "hi"}, headers=h), 400)
    err(post("/v1/chat/completions", json={"messages": [{"role": "user"}]}, headers=h), 400)
    e = err(post("/v1/completions", json={"prompt": "word " * 400, "max_tokens": 5}, headers=h), 400)
    assert "in the prompt" in e["message"]
    # legal JSON that is not valid Unicode (a lone surrogate escape): a 400 naming the field
    jh = dict(h, **{"content-type": "application/json"})
    for path, raw, param in [("/v1/completions", b'{"prompt": "\\ud800"}', "prompt"),
                             ("/v1/completions", b'{"prompt": "a", "stop": ["\\ud800"]}', "stop[0]"),
                             ("/v1/completions", b'{"prompt": "a", "model": "\\udfff"}', "model"),
                             ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "a\\ud800"}]}',
                              "messages[0].content")]:
        assert err(post(path, content=raw, headers=jh), 400)["param"] == param, raw
    # fields the server does not implement: a 400 naming the field, not free text
    chat = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    for field, value in [("functions", [{"name": "f"}]), ("mirostat", 2), ("typical_p", 0.5)]:
        assert err(post("/v1/chat/completions", json=dict(chat, **{field: value}), headers=h), 400)["param"] == field
    # tools are implemented (test_server_tools.py): a malformed one is a 400 naming its part
    assert err(post("/v1/chat/completions", json=dict(chat, tools=[{"type": "function"}]), headers=h),
               400)["param"] == "tools[0].function"
    assert err(post("/v1/chat/completions", json=dict(chat, tool_choice="auto"), headers=h), 400)["param"] == "tool_choice"
    assert post("/v1/chat/completions", json=dict(chat, response_format={"type": "text"}), headers=h).status_code == 200
    assert httpx.get(server + "/health").status_code == 200


def test_unknown_paths_share_one_metrics_label(server):
    for i in range(20):
        httpx.get(f"{server}/no/such/page-{i}")
    text = httpx.get(server + "/metrics").text
    counted = [l for l in text.splitlines() if l.startswith("trit_requests_total{")]
    assert any('endpoint="unmatched"' in l for l in counted), counted
    assert not any("/no/such" in l for l in counted), counted


@pytest.mark.parametrize("what", ["missing", "malformed"])
def test_a_model_that_cannot_load_ends_the_server(tmp_path, what):
    """python -m trit.server with a model that cannot load exits non-zero, saying why (it used to
    log "startup complete" and answer 500 to everything)."""
    path = tmp_path / "model.gguf"
    if what == "malformed":
        path.write_bytes(b"GGUF" + b"\0" * 60)
    p = subprocess.Popen([sys.executable, "-m", "trit.server", "--model", str(path), "--port", str(free_port())],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("the server kept running with a model that cannot load")
    assert p.returncode != 0, stderr
    assert "failed to load" in stderr and str(path) in stderr, stderr


def test_many_connections_get_answers_and_health_stays_up(server):
    h = {"Authorization": f"Bearer {KEY}"}

    async def main():
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=250)) as c:
            async def one():
                return (await c.post(server + "/v1/completions", json={"prompt": "O", "max_tokens": 2}, headers=h)).status_code
            tasks = [asyncio.create_task(one()) for _ in range(200)]
            health = (await c.get(server + "/health")).status_code
            codes = await asyncio.gather(*tasks)
            return health, codes
    health, codes = asyncio.run(main())
    assert health == 200
    assert set(codes) <= {200, 429} and 200 in codes and 429 in codes   # the queue limit answers 429
    r = httpx.post(server + "/v1/completions", json={"prompt": "O", "max_tokens": 1}, headers=h, timeout=60)
    assert r.status_code == 200


def test_disconnects_free_their_sequences(server):
    h = {"Authorization": f"Bearer {KEY}"}
    for _ in range(20):
        with httpx.stream("POST", server + "/v1/completions", json={"prompt": "And", "max_tokens": 200, "stream": True},
                          headers=h, timeout=60) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    break   # one event, then hang up
    deadline = time.time() + 30
    while time.time() < deadline:
        text = httpx.get(server + "/metrics").text
        running = [l for l in text.splitlines() if l.startswith("trit_running_sequences ")]
        if running and float(running[0].split()[1]) == 0:
            break
        time.sleep(0.2)
    assert running and float(running[0].split()[1]) == 0, running
    assert "trit_time_to_first_token_seconds_bucket" in text and 'trit_requests_total{endpoint="/v1/completions"' in text
    r = httpx.post(server + "/v1/completions", json={"prompt": "O", "max_tokens": 3}, headers=h, timeout=60)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3


def test_logprobs(server, model):
    c = client(server)
    r = c.completions.create(model="bundled", prompt="And the LORD said", max_tokens=5, temperature=0, logprobs=3)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 5 and len(lp.token_logprobs) == 5 and len(lp.top_logprobs) == 5
    assert "".join(lp.tokens) == r.choices[0].text
    # greedy: each token is the most likely, and its logprob is the top one
    for tok, v, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert len(top) == 3 and max(top.values()) == pytest.approx(v, abs=1e-5) and v <= 0
    # the first token's log-probability equals the log-softmax of the model's logits
    import math
    ids = model.tokenize("And the LORD said")
    model.reset()   # eval appends to the model's context
    row = list(model.eval(ids)[-1])
    m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    assert lp.token_logprobs[0] == pytest.approx(max(row) - lse, abs=1e-4)
    r = c.chat.completions.create(model="bundled", messages=[{"role": "user", "content": "Who art thou?"}], max_tokens=4,
                                  temperature=0, logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert len(content) == 4 and all(len(e.top_logprobs) == 2 for e in content)
    assert "".join(e.token for e in content) == r.choices[0].message.content
    # streamed: each chunk carries its tokens' logprobs; together they equal the non-streamed ones
    whole = c.completions.create(model="bundled", prompt="And the LORD said", max_tokens=5, temperature=0, logprobs=2)
    parts = [ch.choices[0].logprobs for ch in c.completions.create(
        model="bundled", prompt="And the LORD said", max_tokens=5, temperature=0, logprobs=2, stream=True)
        if ch.choices and ch.choices[0].logprobs is not None]
    assert sum(len(p.tokens) for p in parts) == 5
    assert [t for p in parts for t in p.tokens] == whole.choices[0].logprobs.tokens
    assert [v for p in parts for v in p.token_logprobs] == pytest.approx(whole.choices[0].logprobs.token_logprobs,
                                                                        abs=1e-5)
    assert [o for p in parts for o in p.text_offset] == whole.choices[0].logprobs.text_offset
    stream = c.chat.completions.create(model="bundled", messages=[{"role": "user", "content": "Who art thou?"}],
                                       max_tokens=4, temperature=0, logprobs=True, top_logprobs=2, stream=True)
    entries = [e for ch in stream if ch.choices and ch.choices[0].logprobs for e in ch.choices[0].logprobs.content]
    assert [e.token for e in entries] == [e.token for e in content]
    assert [e.logprob for e in entries] == pytest.approx([e.logprob for e in content], abs=1e-5)
    assert all(len(e.top_logprobs) == 2 for e in entries)
    with pytest.raises(openai.BadRequestError):
        c.completions.create(model="bundled", prompt="x", max_tokens=2, logprobs=21)
