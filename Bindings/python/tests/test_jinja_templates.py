"""Jinja chat templates (trit.chat_template) against transformers' apply_chat_template, the outside
reference: Qwen3's published template with tools, calls, results and <think> (qwen3-expected.json), and
one small template per thing the environment gives templates (features-expected.json); both made by
scripts/make_chat_template_fixture.py. Also the sandbox, strftime_now, and the template's errors."""
import datetime
import json
import os

import pytest

import trit
from trit.chat_template import ChatTemplate, ChatTemplateError, for_model
from trit.openai_api.errors import ApiError

from conftest import FIX

TEMPLATES = os.path.join(FIX, "chat-templates")
QWEN3 = open(os.path.join(TEMPLATES, "qwen3.jinja"), encoding="utf-8").read()
QWEN3_CASES = json.load(open(os.path.join(TEMPLATES, "qwen3-expected.json"), encoding="utf-8"))["cases"]
FEATURES = json.load(open(os.path.join(TEMPLATES, "features-expected.json"), encoding="utf-8"))["cases"]
I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


@pytest.fixture(scope="module")
def model():
    with trit.Model(I2S, n_ctx=256) as m:
        yield m


def test_the_fixtures_hold_cases():
    assert len(QWEN3_CASES) >= 4 and any(c["tools"] for c in QWEN3_CASES)
    assert any("expected_error" in c for c in FEATURES) and any("expected" in c for c in FEATURES)


@pytest.mark.parametrize("case", QWEN3_CASES, ids=[c["name"] for c in QWEN3_CASES])
def test_qwen3_prompt_equals_transformers(model, case):
    """OpenAI-shaped messages (arguments as JSON text) through Model.apply_chat_template, the path a
    chat request takes: the same text as transformers renders, byte for byte."""
    model.chat_template = QWEN3
    try:
        text = model.apply_chat_template(case["messages"], tools=case["tools"],
                                         add_generation_prompt=case["add_generation_prompt"], **case["kwargs"])
    finally:
        model.chat_template = None
    assert text == case["expected"]


@pytest.mark.parametrize("case", FEATURES, ids=[c["name"] for c in FEATURES])
def test_the_environment_renders_as_transformers(case):
    t = ChatTemplate(case["template"])
    if "expected_error" in case:
        with pytest.raises(ChatTemplateError) as e:
            t.render(case["messages"], tools=case["tools"], add_generation_prompt=case["add_generation_prompt"],
                     **case["kwargs"])
        assert case["expected_error"] in str(e.value)
    else:
        assert t.render(case["messages"], tools=case["tools"], add_generation_prompt=case["add_generation_prompt"],
                        **case["kwargs"]) == case["expected"]


def test_strftime_now():
    t = ChatTemplate("{{ strftime_now('%Y-%m-%d') }}")
    before = datetime.date.today().isoformat()
    out = t.render([])
    assert out in (before, datetime.date.today().isoformat())


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ messages.__class__.__base__.__subclasses__() }}",
    "{% set x = messages.append({'role': 'user', 'content': 'injected'}) %}{{ messages | length }}",
    "{% set ns = namespace(_hidden=1) %}{{ ns._hidden }}",
    "{{ messages[0].update({'content': 'changed'}) }}",
])
def test_the_sandbox_refuses(source):
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ChatTemplateError):
        ChatTemplate(source).render(messages)
    assert messages == [{"role": "user", "content": "hi"}]   # the caller's messages are untouched


def test_a_template_that_does_not_compile():
    with pytest.raises(ChatTemplateError, match="does not compile"):
        ChatTemplate("{% for m in messages %}{{ m.content }}")


def test_a_raising_template_is_an_api_error_naming_it(model):
    model.chat_template = "{{ raise_exception('Only user and assistant roles are supported!') }}"
    try:
        with pytest.raises(ApiError) as e:
            model.apply_chat_template([{"role": "user", "content": "hi"}])
        assert e.value.status == 400 and e.value.code == "chat_template_error"
        assert "Only user and assistant roles are supported!" in e.value.message
        with pytest.raises(ApiError) as e:
            model.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=2)
        assert e.value.status == 400 and "Only user and assistant roles" in e.value.message
    finally:
        model.chat_template = None


def test_without_a_template_the_builtin_format_is_used(model):
    assert model.chat_template is None and for_model(model) is None
    msgs = [{"role": "user", "content": "hi"}]
    assert model.apply_chat_template(msgs) == model.format_chat([("user", "hi")])
    with pytest.raises(ApiError) as e:   # a template's switches need a template
        model.apply_chat_template(msgs, enable_thinking=False)
    assert e.value.param == "chat_template_kwargs"


def test_kwargs_reach_the_template_and_reserved_names_are_refused(model):
    model.chat_template = QWEN3
    try:
        msgs = [{"role": "user", "content": "hi"}]
        assert model.apply_chat_template(msgs).endswith("<|im_start|>assistant\n")
        assert model.apply_chat_template(msgs, enable_thinking=False).endswith("<think>\n\n</think>\n\n")
        with pytest.raises(ApiError) as e:
            model.apply_chat_template(msgs, bos_token="<s>")
        assert e.value.param == "chat_template_kwargs.bos_token"
    finally:
        model.chat_template = None


def test_bos_and_eos_come_from_the_model(model):
    model.chat_template = "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"
    try:
        t = for_model(model)
        assert t.bos_token == model.detokenize([model.info["bos"]], special=True) and t.bos_token
        assert t.eos_token == model.detokenize([model.info["eos"]], special=True) and t.eos_token
        assert model.apply_chat_template([{"role": "user", "content": "x"}]) == t.bos_token + "x" + t.eos_token
    finally:
        model.chat_template = None


def test_reasoning_content_is_a_field_of_assistant_messages(model):
    with pytest.raises(ApiError) as e:
        model.apply_chat_template([{"role": "user", "content": "x", "reasoning_content": "y"}])
    assert e.value.param == "messages[0].reasoning_content"
    model.chat_template = "{% for m in messages %}{{ m.reasoning_content or '' }}|{{ m.content }};{% endfor %}"
    try:   # a template without tools gets it too
        out = model.apply_chat_template([{"role": "user", "content": "q"},
                                         {"role": "assistant", "content": "a", "reasoning_content": "r"}])
        assert out == "|q;r|a;"
    finally:
        model.chat_template = None


def test_a_2b4t_files_template_keeps_the_builtin_format():
    """The published 2B4T GGUF's Jinja template is broken (docs/formats.md §4.1): a BitNet-format model's
    own template is not used (here a stand-in for the file's text), one the caller assigns is."""
    with trit.Model(n_ctx=64) as m:   # the bundled model: the "bitnet" built-in format
        msgs = [{"role": "user", "content": "hi"}]
        builtin = m.format_chat([("user", "hi")])
        m._file_chat_template = m.chat_template = "{{ raise_exception('the broken published template') }}"
        assert for_model(m) is None and m.apply_chat_template(msgs) == builtin
        m.chat_template = "{{ messages[0].content }}!"
        assert m.apply_chat_template(msgs) == "hi!"
