"""Model.create_chat_completion / create_completion (llama-cpp-python's methods): the same answers as the
server on the same file (one implementation), in the shapes of the official openai client's types; n > 1,
streamed logprobs, stream_options.include_usage, tools and response_format without a server."""
import json
import os

import jsonschema  # the test extras: missing is a failure, not a skip
import pytest
from fastapi.testclient import TestClient
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import trit
from trit.openai_api.errors import ApiError
from trit.server import ServerSettings, create_app

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")
HI = [{"role": "user", "content": "Hello there"}]
N_CTX = 1024
# the server's defaults are OpenAI's, the methods' llama-cpp-python's: compared with all of them given
SAME = dict(top_p=0.9, top_k=20, min_p=0.02, repeat_penalty=1.0)


@pytest.fixture(scope="module")
def model():
    with trit.Model(I2S, n_ctx=N_CTX) as m:
        yield m


@pytest.fixture(scope="module")
def server():
    app = create_app(ServerSettings(model=I2S, parallel=2, n_ctx=N_CTX, threads=1, alias="tiny"))
    with TestClient(app) as c:
        app.state.wait_loaded(60)
        yield c


def without_ids(r):
    return {k: v for k, v in r.items() if k not in ("id", "created", "model")}


def test_chat_equals_the_servers_answer(model, server):
    kw = dict(max_tokens=12, temperature=0.7, seed=7, logprobs=True, top_logprobs=2, **SAME)
    local = model.create_chat_completion(HI, model="tiny", **kw)
    ChatCompletion.model_validate(local)
    remote = server.post("/v1/chat/completions", json=dict(messages=HI, model="tiny", **kw)).json()
    assert without_ids(local) == without_ids(remote)
    assert local["object"] == "chat.completion" and local["model"] == "tiny"


def test_completion_equals_the_servers_answer(model, server):
    kw = dict(max_tokens=10, temperature=0.9, seed=3, logprobs=2, echo=True, **SAME)
    local = model.create_completion("And the", model="tiny", **kw)
    Completion.model_validate(local)
    remote = server.post("/v1/completions", json=dict(prompt="And the", model="tiny", **kw)).json()
    assert without_ids(local) == without_ids(remote)
    assert local["choices"][0]["text"].startswith("And the")


def test_streamed_chat_adds_up_to_the_whole_answer(model):
    kw = dict(max_tokens=10, temperature=0, logprobs=True, top_logprobs=3)
    whole = model.create_chat_completion(HI, **kw)
    chunks = list(model.create_chat_completion(HI, stream=True, stream_options={"include_usage": True}, **kw))
    for ch in chunks:
        ChatCompletionChunk.model_validate(ch)
    assert len({ch["id"] for ch in chunks}) == 1
    body = [ch for ch in chunks if ch["choices"]]
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in body)
    assert text == whole["choices"][0]["message"]["content"]
    entries = [e for ch in body if ch["choices"][0]["logprobs"] for e in ch["choices"][0]["logprobs"]["content"]]
    assert entries == whole["choices"][0]["logprobs"]["content"]
    assert [ch["choices"][0]["finish_reason"] for ch in body][-1] == whole["choices"][0]["finish_reason"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]


def test_streamed_completion_with_include_usage(model):
    kw = dict(max_tokens=6, temperature=0, logprobs=1)
    whole = model.create_completion("In the beginning", **kw)
    chunks = list(model.create_completion("In the beginning", stream=True, stream_options={"include_usage": True},
                                          **kw))
    body = [ch for ch in chunks if ch["choices"]]
    assert "".join(ch["choices"][0]["text"] for ch in body) == whole["choices"][0]["text"]
    lps = [ch["choices"][0]["logprobs"] for ch in body if ch["choices"][0]["logprobs"]]
    assert [t for lp in lps for t in lp["tokens"]] == whole["choices"][0]["logprobs"]["tokens"]
    assert [o for lp in lps for o in lp["text_offset"]] == whole["choices"][0]["logprobs"]["text_offset"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]
    no_usage = list(model.create_completion("In the beginning", stream=True, **kw))
    assert all("usage" not in ch for ch in no_usage) and all(ch["choices"] for ch in no_usage)


def test_n_choices(model, server):
    r = model.create_chat_completion(HI, n=3, max_tokens=5, temperature=1.0, seed=11)
    ChatCompletion.model_validate(r)
    assert [c["index"] for c in r["choices"]] == [0, 1, 2]
    assert r["usage"]["completion_tokens"] == 15 and all(c["finish_reason"] == "length" for c in r["choices"])
    # choice i samples with seed + i: choice 1 of seed 11 is choice 0 of seed 12
    one = model.create_chat_completion(HI, max_tokens=5, temperature=1.0, seed=12)
    assert one["choices"][0]["message"] == r["choices"][1]["message"]
    # streamed: every choice ends once; texts equal the non-streamed ones
    kw = dict(n=2, max_tokens=4, temperature=1.0, seed=5, **SAME)
    chunks = list(model.create_completion("And the", stream=True, **kw))
    whole = model.create_completion("And the", **kw)
    for i in range(2):
        mine = [ch["choices"][0] for ch in chunks if ch["choices"][0]["index"] == i]
        assert [c["finish_reason"] for c in mine if c["finish_reason"]] == ["length"]
        assert "".join(c["text"] for c in mine) == whole["choices"][i]["text"]
    remote = server.post("/v1/completions", json=dict(prompt="And the", **kw)).json()
    assert without_ids(remote) == without_ids(whole)


def test_tools_and_response_format_without_a_server(model):
    weather = {"type": "object", "additionalProperties": False, "required": ["city"],
               "properties": {"city": {"type": "string", "maxLength": 12}}}
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": weather}}]
    r = model.create_chat_completion(HI, tools=tools, tool_choice="required", max_tokens=60, temperature=1.0, seed=1)
    ChatCompletion.model_validate(r)
    call = r["choices"][0]["message"]["tool_calls"][0]
    assert r["choices"][0]["finish_reason"] == "tool_calls" and call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), weather)
    fmt = {"type": "json_schema", "json_schema": {"name": "w", "schema": weather, "strict": True}}
    r = model.create_chat_completion(HI, response_format=fmt, max_tokens=60, temperature=1.0, seed=2)
    assert r["choices"][0]["finish_reason"] == "stop"
    jsonschema.validate(json.loads(r["choices"][0]["message"]["content"]), weather)


def test_bad_input_raises_an_api_error_naming_the_field(model):
    for kw, param in [(dict(n=17), "n"), (dict(stream_options={"include_usage": True}), "stream_options"),
                      (dict(best_of=2), "best_of"), (dict(top_logprobs=2), "top_logprobs"),
                      (dict(tool_choice={"type": "function", "function": {"name": "nope"}},
                            tools=[{"type": "function", "function": {"name": "f"}}]), "tool_choice")]:
        with pytest.raises(ApiError) as e:
            model.create_chat_completion(HI, max_tokens=2, **kw)
        assert e.value.status == 400 and e.value.param.startswith(param), (kw, e.value.param)
    with pytest.raises(ValueError):   # ApiError is a ValueError
        model.create_completion("x", max_tokens=10**6)


def test_the_readme_example(capsys):
    """The README's create_chat_completion example, run as written (the bundled model)."""
    readme = open(os.path.join(os.path.dirname(FIX), "..", "README.md"), encoding="utf-8").read()
    start = readme.index("```python\nimport trit\nm = trit.Model()")
    code = readme[start:readme.index("```\n", start + 10)].split("\n", 1)[1]
    assert "create_chat_completion" in code and "stream=True" in code, code
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    r, m = scope["r"], scope["m"]
    try:
        ChatCompletion.model_validate(r)
        assert r["usage"]["completion_tokens"] >= 1
        streamed = m.create_chat_completion([{"role": "user", "content": "Sing of the sea"}], max_tokens=16, seed=1)
        assert capsys.readouterr().out == r["choices"][0]["message"]["content"] + "\n" + \
            streamed["choices"][0]["message"]["content"]
    finally:
        m.close()


def test_the_servers_streamed_choices(model, server):
    """n > 1 streamed over SSE (the server's asyncio runner): per choice, the local stream's text and
    finish reason; the usage chunk last."""
    import openai
    client = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=server, max_retries=0)
    kw = dict(n=3, max_tokens=6, temperature=1.0, seed=21, **SAME)
    texts, reasons, last = ["", "", ""], [[], [], []], None
    for ch in client.chat.completions.create(model="tiny", messages=HI, stream=True,
                                             stream_options={"include_usage": True}, extra_body=SAME,
                                             **{k: v for k, v in kw.items() if k not in SAME}):
        last = ch
        for c in ch.choices:
            texts[c.index] += c.delta.content or ""
            if c.finish_reason:
                reasons[c.index].append(c.finish_reason)
    local = model.create_chat_completion(HI, **kw)
    assert texts == [c["message"]["content"] for c in local["choices"]]
    assert reasons == [["length"]] * 3
    assert last.choices == [] and last.usage.completion_tokens == 18 == local["usage"]["completion_tokens"]


def test_a_grammar_object_as_llama_cpp_pythons_grammar(model):
    g = trit.Grammar.gbnf('root ::= "yes" | "no"')
    for seed in range(3):
        r = model.create_chat_completion(HI, grammar=g, max_tokens=8, temperature=1.0, seed=seed)
        assert r["choices"][0]["message"]["content"] in ("yes", "no") and r["choices"][0]["finish_reason"] == "stop"
        r = model.create_completion("Answer:", grammar=g, max_tokens=8, temperature=1.0, seed=seed)
        assert r["choices"][0]["text"] in ("yes", "no")
    assert model.create_chat_completion(HI, grammar='root ::= "ok"', max_tokens=8)["choices"][0]["message"][
        "content"] == "ok"   # GBNF text, llama.cpp's field
    with pytest.raises(ApiError) as e:
        model.create_chat_completion(HI, grammar=g, response_format={"type": "json_object"}, max_tokens=8)
    assert e.value.param == "grammar"


@pytest.mark.parametrize("missing,template,needle", [
    ("pydantic", None, "pip install 'trit[chat]'"),
    ("jinja2", "{{ messages[0].content }}", "pip install 'trit[chat]'"),
])
def test_a_missing_extra_is_named(missing, template, needle):
    """Without the chat extra's packages the methods say which extra to install (run in a child whose
    import of the package fails)."""
    import subprocess
    import sys
    code = (f"import sys; sys.modules[{missing!r}] = None\n"
            f"import trit\nm = trit.Model({I2S!r}, n_ctx=64)\nm.chat_template = {template!r}\n"
            "try:\n    m.create_chat_completion([{'role': 'user', 'content': 'hi'}], max_tokens=1)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert r.returncode == 0, r.stderr
    assert needle in r.stdout, r.stdout


def test_deeply_nested_call_arguments_in_the_history(model):
    # json.loads raises RecursionError (not a ValueError) past Python's nesting limit: the arguments
    # stay the text they are, as any that do not parse: the prompt renders (and is then too long for
    # the context: a 400, not a RecursionError)
    history = HI + [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[" * 5000}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    tools = [{"type": "function", "function": {"name": "f"}}]
    with pytest.raises(ApiError) as e:
        model.create_chat_completion(history, tools=tools, max_tokens=2)
    assert e.value.status == 400 and "maximum context length" in str(e.value)
