"""The server on the hybrid qwen35 fixture (Gated DeltaNet + gated attention) through the official openai
client (in-process, over FastAPI's TestClient), with Qwen3's template from --chat-template-file (the
fixture's files carry none): a <think> block comes back as reasoning_content beside content, streamed and
not (a GBNF grammar makes the random-weight model write one); chat_template_kwargs.enable_thinking reaches
the template; a multi-turn chat reuses the hybrid memory's prefix and answers as a fresh context does."""
import os
import re

import openai
import pytest
from fastapi.testclient import TestClient

import trit
from trit.server import ServerSettings, create_app
from trit.server.__main__ import parse

from conftest import FIX

QWEN35 = os.path.join(FIX, "qwen35-ternary-g128-tiny")
GGUF = os.path.join(QWEN35, "model.q2_0.gguf")
TEMPLATE = os.path.join(FIX, "chat-templates", "qwen3.jinja")
# a thinking block, then the answer: what a Qwen3.5 model writes with enable_thinking
THINK_THEN_ANSWER = 'root ::= "<think>\\n" [a-z]{2,10} "\\n</think>\\n\\n" [a-z]{2,10}'
SYSTEM = {"role": "system", "content": " ".join(["You answer briefly and think before you answer."] * 12)}
HI = [SYSTEM, {"role": "user", "content": "Hello there"}]


def app_client(settings):
    app = create_app(settings)
    c = TestClient(app)
    c.__enter__()
    app.state.wait_loaded(60)
    return app, c, openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=c, max_retries=0)


@pytest.fixture(scope="module", params=["gguf-q2_0", "hf"])
def server(request):
    model = GGUF if request.param.startswith("gguf") else os.path.join(QWEN35, "hf")
    app, c, oc = app_client(ServerSettings(model=model, parallel=1, n_ctx=1024, threads=1, alias="q35",
                                           chat_template_file=TEMPLATE))
    yield app, c, oc, model
    c.__exit__(None, None, None)


def raw_completion(c, messages, **kw):
    """The text the same prompt and grammar give on /v1/completions (no reasoning split)."""
    prompt = c.post("/apply-template", json={"messages": messages}).json()["prompt"]
    r = c.post("/v1/completions", json=dict(model="q35", prompt=prompt, **kw))
    assert r.status_code == 200, r.text
    return r.json()


def test_think_block_is_reasoning_content_beside_content(server):
    _, c, oc, _ = server
    kw = dict(max_tokens=60, temperature=0, extra_body={"grammar": THINK_THEN_ANSWER})
    raw = raw_completion(c, HI, max_tokens=60, temperature=0, grammar=THINK_THEN_ANSWER)
    m = re.fullmatch(r"<think>\n([a-z]+)\n</think>\n\n([a-z]+)", raw["choices"][0]["text"])
    assert m, raw["choices"][0]["text"]
    r = oc.chat.completions.create(model="q35", messages=HI, **kw)
    msg = r.choices[0].message
    assert (msg.reasoning_content, msg.content) == m.groups()
    assert r.usage.prompt_tokens == raw["usage"]["prompt_tokens"]
    parts = {"reasoning_content": "", "content": ""}
    for ch in oc.chat.completions.create(model="q35", messages=HI, stream=True, **kw):
        if ch.choices:
            for k in parts:
                parts[k] += getattr(ch.choices[0].delta, k, None) or ""
    assert parts == {"reasoning_content": m.group(1), "content": m.group(2)}


def test_enable_thinking_false_reaches_the_template(server):
    _, c, oc, _ = server
    on = c.post("/apply-template", json={"messages": HI}).json()["prompt"]
    off = c.post("/apply-template", json={"messages": HI, "chat_template_kwargs": {"enable_thinking": False}})
    assert off.status_code == 200, off.text
    assert off.json()["prompt"] == on + "<think>\n\n</think>\n\n"   # as qwen3.jinja says
    r_on = oc.chat.completions.create(model="q35", messages=HI, max_tokens=2, temperature=0)
    r_off = oc.chat.completions.create(model="q35", messages=HI, max_tokens=2, temperature=0,
                                       extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    with trit.Model(server[3], n_ctx=64) as m:
        extra = len(m.tokenize("<think>\n\n</think>\n\n", add_bos=False, special=True))
    assert extra > 0 and r_off.usage.prompt_tokens == r_on.usage.prompt_tokens + extra


def spy_on_submits(engine):
    """The engine's completions of the requests submitted until the returned undo() is called."""
    seen = []
    for name in ("submit", "submit_async"):
        orig = getattr(engine, name)
        setattr(engine, name, lambda *a, _orig=orig, **k: seen.append(_orig(*a, **k)) or seen[-1])

    def undo():
        for name in ("submit", "submit_async"):
            engine.__dict__.pop(name, None)
    return seen, undo


def test_multi_turn_answers_as_a_fresh_context(server):
    """Three turns (the first with a <think> block, kept as reasoning_content in the history): each answer
    is the one a fresh context gives the rendered prompt, whatever the slot held before."""
    _, c, oc, model = server
    messages = list(HI)
    for turn in range(3):
        n = 60 if turn == 0 else 8
        gbnf = THINK_THEN_ANSWER if turn == 0 else None
        r = oc.chat.completions.create(model="q35", messages=messages, max_tokens=n, temperature=0,
                                       extra_body={"grammar": gbnf} if gbnf else {})
        msg = r.choices[0].message
        reasoning = getattr(msg, "reasoning_content", None)
        prompt = c.post("/apply-template", json={"messages": messages}).json()["prompt"]
        with trit.Model(model, n_ctx=1024) as fresh:
            tokens = fresh.tokenize(prompt, add_bos=True, special=True)
            want = fresh.generate(tokens, max_tokens=n, temperature=0, gbnf=gbnf)
        got = msg.content if turn else f"<think>\n{reasoning}\n</think>\n\n{msg.content}"
        assert got == want, turn
        assert r.usage.prompt_tokens == len(tokens)
        assistant = {"role": "assistant", "content": msg.content or ""}
        if reasoning:
            assistant["reasoning_content"] = reasoning
        messages += [assistant, {"role": "user", "content": f"And turn {turn + 2}?"}]


def test_a_prompt_extending_the_slots_tokens_reuses_its_hybrid_memory(server):
    """A hybrid slot (KV cells + Gated DeltaNet state) is reused when the next prompt extends all it
    holds (the recurrent state cannot be cut back): only the new tokens are read, the answer unchanged."""
    app, c, oc, model = server
    prompt = c.post("/apply-template", json={"messages": HI}).json()["prompt"]
    with trit.Model(model, n_ctx=1024) as fresh:
        first = fresh.tokenize(prompt, add_bos=True, special=True)
        more = fresh.tokenize(" and then", add_bos=False)
        seen, undo = spy_on_submits(app.state.loader.engine)
        try:
            oc.completions.create(model="q35", prompt=first, max_tokens=8, temperature=0, logprobs=1)
            generated = [t for t, _, _ in seen[0].logprobs]
            second = first + generated + more
            r = oc.completions.create(model="q35", prompt=second, max_tokens=8, temperature=0)
        finally:
            undo()
        want = fresh.generate(second, max_tokens=8, temperature=0)
    assert r.choices[0].text == want
    assert seen[1].usage["cached_tokens"] >= len(first) + len(generated) - 1, (seen[1].usage, len(first))


@pytest.mark.parametrize("checkpoints", [0, 4])
def test_ctx_checkpoints_let_a_diverging_prompt_reuse_the_hybrid_prefix(checkpoints):
    """--ctx-checkpoints (llama-server's flag): with checkpoints a prompt that leaves the previous one a
    few tokens before its end resumes from the checkpoint the engine keeps 8 tokens before that end;
    with 0 the recurrent state cannot go back and the whole prompt is read again. Same answer."""
    _, s = parse(["--model", GGUF, "--ctx-checkpoints", str(checkpoints), "-np", "1", "-c", "1024", "-t", "1",
                  "--alias", "q35"])
    assert s.checkpoints == checkpoints
    app, c, oc = app_client(s)
    try:
        with trit.Model(GGUF, n_ctx=1024) as fresh:
            first = fresh.tokenize(SYSTEM["content"], add_bos=True)
            second = first[:-2] + fresh.tokenize(" and then", add_bos=False)
            want = fresh.generate(second, max_tokens=6, temperature=0)
        seen, undo = spy_on_submits(app.state.loader.engine)
        try:
            oc.completions.create(model="q35", prompt=first, max_tokens=4, temperature=0)
            r = oc.completions.create(model="q35", prompt=second, max_tokens=6, temperature=0)
        finally:
            undo()
    finally:
        c.__exit__(None, None, None)
    assert r.choices[0].text == want
    cached = seen[1].usage["cached_tokens"]
    assert (cached == len(first) - 8) if checkpoints else (cached == 0), (cached, len(first))


def test_checkpoints_out_of_range_is_refused():
    with pytest.raises(trit.TritError, match="checkpoints"):
        trit.Engine(GGUF, n_seq=1, n_ctx=64, n_threads=1, checkpoints=65)
