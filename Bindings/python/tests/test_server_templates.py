"""The server with a model file's own Jinja chat template (an HF folder whose tokenizer_config.json holds
Qwen3's template) and with --chat-template-file, through the official openai client (in-process, over
FastAPI's TestClient): /apply-template equals transformers' rendering (the fixture), chat_template_kwargs
reach the template, a template that raises is a 400 naming its error, and a <think> block comes back as
reasoning_content, streamed and not."""
import json
import os
import shutil

import openai
import pytest
from fastapi.testclient import TestClient

from trit.server import ServerSettings, create_app

from conftest import FIX

TEMPLATES = os.path.join(FIX, "chat-templates")
QWEN3 = open(os.path.join(TEMPLATES, "qwen3.jinja"), encoding="utf-8").read()
QWEN3_CASES = json.load(open(os.path.join(TEMPLATES, "qwen3-expected.json"), encoding="utf-8"))["cases"]
I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")
HI = [{"role": "user", "content": "Hello there"}]
# DeepSeek-R1 style: the generation prompt opens the <think> block; a system message is refused
THINKING = ("{% if messages[0].role == 'system' %}{{ raise_exception('This template takes no system message: "
            "' + messages[0].content) }}{% endif %}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n"
            "{% endfor %}{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}")


def app_client(settings):
    app = create_app(settings)
    c = TestClient(app)
    c.__enter__()
    app.state.wait_loaded(60)
    return c, openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=c, max_retries=0)


@pytest.fixture(scope="module")
def qwen_folder(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("qwen") / "hf")
    shutil.copytree(os.path.join(FIX, "qwen3-ternary-tiny", "hf"), d)
    cfg_path = os.path.join(d, "tokenizer_config.json")
    cfg = json.load(open(cfg_path))
    cfg["chat_template"] = QWEN3
    json.dump(cfg, open(cfg_path, "w"))
    return d


@pytest.fixture(scope="module")
def qwen(qwen_folder):
    c, oc = app_client(ServerSettings(model=qwen_folder, parallel=2, n_ctx=2048, threads=1, alias="qwen"))
    yield c, oc
    c.__exit__(None, None, None)


@pytest.fixture(scope="module")
def thinking(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "thinking.jinja"
    path.write_text(THINKING, encoding="utf-8")
    c, oc = app_client(ServerSettings(model=I2S, parallel=2, n_ctx=256, threads=1, alias="tiny",
                                      chat_template_file=str(path)))
    yield c, oc
    c.__exit__(None, None, None)


@pytest.fixture(scope="module")
def builtin():
    c, oc = app_client(ServerSettings(model=I2S, parallel=1, n_ctx=128, threads=1, alias="tiny"))
    yield c, oc
    c.__exit__(None, None, None)


GENERATION_CASES = [c for c in QWEN3_CASES if c["add_generation_prompt"]]


@pytest.mark.parametrize("case", GENERATION_CASES, ids=[c["name"] for c in GENERATION_CASES])
def test_the_files_template_renders_as_transformers(qwen, case):
    c, _ = qwen
    body = {"messages": case["messages"], "chat_template_kwargs": case["kwargs"]}
    if case["tools"]:
        body["tools"] = case["tools"]
    r = c.post("/apply-template", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["prompt"] == case["expected"]


def test_a_chat_with_tools_history_and_kwargs_runs(qwen):
    _, oc = qwen
    case = QWEN3_CASES[0]
    r = oc.chat.completions.create(model="qwen", messages=case["messages"], tools=case["tools"], max_tokens=4,
                                   temperature=0, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert r.choices[0].finish_reason in ("length", "stop", "tool_calls") and r.usage.completion_tokens >= 1
    assert r.usage.prompt_tokens > 100   # the tools' block is in the prompt


def test_a_template_that_raises_is_a_400_naming_its_error(thinking):
    _, oc = thinking
    with pytest.raises(openai.BadRequestError) as e:
        oc.chat.completions.create(model="tiny", messages=[{"role": "system", "content": "Be terse."}] + HI,
                                   max_tokens=2)
    err = e.value.body
    assert err["code"] == "chat_template_error" and err["param"] == "messages"
    assert "This template takes no system message: Be terse." in err["message"]
    ok = oc.chat.completions.create(model="tiny", messages=HI, max_tokens=2)   # the server still answers
    assert ok.choices[0].finish_reason == "length"


def test_reasoning_content_when_the_prompt_opens_think(thinking):
    """The generation prompt opened <think>: text up to </think> is reasoning_content (here all of it:
    the tiny model does not close the block in 8 tokens), streamed the same as not."""
    _, oc = thinking
    r = oc.chat.completions.create(model="tiny", messages=HI, max_tokens=8, temperature=0)
    m = r.choices[0].message
    assert m.reasoning_content and "</think>" not in m.reasoning_content
    assert m.content == ""
    parts = {"reasoning_content": "", "content": ""}
    for ch in oc.chat.completions.create(model="tiny", messages=HI, max_tokens=8, temperature=0, stream=True):
        for k in parts:
            parts[k] += (ch.choices[0].delta.model_extra or {}).get(k) or getattr(ch.choices[0].delta, k, None) or ""
    assert parts == {"reasoning_content": m.reasoning_content, "content": ""}


def test_kwargs_need_a_template_and_may_not_set_the_requests_variables(builtin, qwen):
    for (_, oc), alias, kwargs, param in [
            (builtin, "tiny", {"enable_thinking": False}, "chat_template_kwargs"),
            (qwen, "qwen", {"tools": []}, "chat_template_kwargs.tools"),
            (qwen, "qwen", {"add_generation_prompt": False}, "chat_template_kwargs.add_generation_prompt")]:
        with pytest.raises(openai.BadRequestError) as e:
            oc.chat.completions.create(model=alias, messages=HI, max_tokens=2,
                                       extra_body={"chat_template_kwargs": kwargs})
        assert e.value.body["param"] == param


def test_a_template_file_that_does_not_compile_fails_the_load(tmp_path):
    path = tmp_path / "bad.jinja"
    path.write_text("{% for m in messages %}", encoding="utf-8")
    app = create_app(ServerSettings(model=I2S, parallel=1, n_ctx=64, threads=1, chat_template_file=str(path)))
    with TestClient(app) as c:
        with pytest.raises(RuntimeError, match="does not compile"):
            app.state.wait_loaded(60)
        assert c.get("/health").status_code != 200


def test_a_required_call_under_the_files_template(qwen):
    """Tools rendered by the template itself (Qwen3 writes <tool_call> blocks): a forced call parses and
    its arguments validate, streamed and not; the follow-up with the tool's result is accepted."""
    import jsonschema
    _, oc = qwen
    city = {"type": "object", "additionalProperties": False, "required": ["city"],
            "properties": {"city": {"type": "string", "maxLength": 10}}}
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": city}}]
    ask = [{"role": "user", "content": "Weather in Bern?"}]
    r = oc.chat.completions.create(model="qwen", messages=ask, tools=tools, tool_choice="required", max_tokens=200,
                                   temperature=1.0, seed=3)
    assert r.choices[0].finish_reason == "tool_calls", r
    call = r.choices[0].message.tool_calls[0]
    schema = {t["function"]["name"]: t["function"]["parameters"] for t in tools}[call.function.name]
    jsonschema.validate(json.loads(call.function.arguments), schema)
    calls = [c for ch in oc.chat.completions.create(model="qwen", messages=ask, tools=tools, tool_choice="required",
                                                    max_tokens=200, temperature=1.0, seed=3, stream=True)
             for c in (ch.choices[0].delta.tool_calls or [])]
    assert [(c.function.name, c.function.arguments) for c in calls] == [(call.function.name, call.function.arguments)]
    follow = ask + [r.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    r2 = oc.chat.completions.create(model="qwen", messages=follow, tools=tools, max_tokens=4, temperature=0)
    assert r2.usage.prompt_tokens > r.usage.prompt_tokens
