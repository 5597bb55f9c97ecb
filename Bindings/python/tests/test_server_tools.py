"""Tool calls on /v1/chat/completions (tools, tool_choice, parallel_tool_calls) in the default
<tool_call> format, through the official openai client against a server on 127.0.0.1 with the
bundled model; and the parser of the model's text, piece by piece."""
import json
import os

import httpx
import jsonschema  # the test extras: missing is a failure, not a skip
import openai
import pydantic
import pytest

import trit
from trit.openai_api.tools import MAX_PARALLEL_CALLS, CallParser, split_calls

from conftest import FIX
from server_process import start_server, stop_server

BUNDLED = trit.default_model_path() or os.path.join(os.path.dirname(FIX), "..", "Models", "trit-bundled-i2_s.gguf")

WEATHER = {"type": "object", "additionalProperties": False, "required": ["city", "unit"],
           "properties": {"city": {"type": "string", "maxLength": 20},
                          "unit": {"enum": ["celsius", "fahrenheit"]}}}
ADD = {"type": "object", "additionalProperties": False, "required": ["a", "b"],
       "properties": {"a": {"type": "integer", "minimum": -1000, "maximum": 1000},
                      "b": {"type": "integer", "minimum": -1000, "maximum": 1000}}}
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
                                           "parameters": WEATHER}},
         {"type": "function", "function": {"name": "add", "description": "The sum of two integers.",
                                           "parameters": ADD}}]
MODEL = "trit-bundled-i2_s.gguf"   # the alias the README example uses
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]



@pytest.fixture(scope="module")
def server():
    p, base = start_server(BUNDLED, "--parallel", "2", "--ctx-size", "2048", "--alias", MODEL)
    yield base
    stop_server(p)


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server + "/v1", api_key="unused", max_retries=0, timeout=120)


def check_call(call, names=tuple(SCHEMAS)):
    """A call in OpenAI's shape whose arguments validate against its function's schema."""
    assert call.type == "function" and call.id.startswith("call_"), call
    assert call.function.name in names, call
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


def test_required_returns_calls_that_validate(client):
    for seed in range(4):
        r = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                           max_tokens=400, temperature=1.0, seed=seed)
        choice = r.choices[0]
        assert choice.finish_reason == "tool_calls", r
        assert len(choice.message.tool_calls) == 1 and choice.message.content is None, r   # one call by default
        check_call(choice.message.tool_calls[0])


def test_parallel_tool_calls_allows_several_calls(client):
    n_calls = []
    for seed in range(3):
        r = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                           parallel_tool_calls=True, max_tokens=800, temperature=1.0, seed=seed)
        assert r.choices[0].finish_reason == "tool_calls", r
        calls = r.choices[0].message.tool_calls
        assert 1 <= len(calls) <= MAX_PARALLEL_CALLS, r
        for call in calls:
            check_call(call)
        n_calls.append(len(calls))
    assert max(n_calls) > 1, n_calls   # the grammar lets the model go on after a call (this model does)
    r = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                       parallel_tool_calls=False, max_tokens=800, temperature=1.0, seed=0)
    assert len(r.choices[0].message.tool_calls) == 1, r


def test_required_streamed(client):
    for seed in range(3):
        stream = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                                max_tokens=400, temperature=1.0, seed=seed, stream=True)
        calls, reasons, content = {}, [], ""
        for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            content += delta.content or ""
            for d in delta.tool_calls or []:   # assembled as a client does: id and name once, arguments appended
                c = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
                c["id"] = d.id or c["id"]
                c["name"] = (d.function.name if d.function and d.function.name else None) or c["name"]
                c["arguments"] += (d.function.arguments or "") if d.function else ""
            if chunk.choices[0].finish_reason:
                reasons.append(chunk.choices[0].finish_reason)
        assert reasons == ["tool_calls"] and calls and not content.strip(), (reasons, calls, content)
        assert sorted(calls) == list(range(len(calls)))
        for c in calls.values():
            assert c["id"].startswith("call_") and c["name"] in SCHEMAS, c
            jsonschema.validate(json.loads(c["arguments"]), SCHEMAS[c["name"]])


def test_a_named_function_is_called(client):
    for name in ("add", "get_weather"):
        for stream in (False, True):
            kw = dict(model=MODEL, messages=ASK, tools=TOOLS, max_tokens=300, temperature=1.0, seed=7,
                      tool_choice={"type": "function", "function": {"name": name}}, parallel_tool_calls=False)
            if not stream:
                r = client.chat.completions.create(**kw)
                calls = r.choices[0].message.tool_calls
                assert r.choices[0].finish_reason == "tool_calls" and len(calls) == 1, r
                check_call(calls[0], names=(name,))
            else:
                chunks = [c for c in client.chat.completions.create(stream=True, **kw) if c.choices]
                deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
                assert len(deltas) == 1 and deltas[0].function.name == name, deltas
                jsonschema.validate(json.loads(deltas[0].function.arguments), SCHEMAS[name])
                assert chunks[-1].choices[0].finish_reason == "tool_calls"


class Place(pydantic.BaseModel):
    city: str = pydantic.Field(max_length=20)
    country: str = pydantic.Field(max_length=20)


class Trip(pydantic.BaseModel):
    """A trip between two places."""
    start: Place
    end: Place
    days: int = pydantic.Field(ge=1, le=30)


def test_a_pydantic_function_tool_with_refs(client):
    """openai.pydantic_function_tool: a strict schema whose nested models are "$ref"s into "$defs"."""
    tool = openai.pydantic_function_tool(Trip)
    assert "$defs" in tool["function"]["parameters"], tool
    for seed in range(3):
        r = client.chat.completions.create(model=MODEL, messages=ASK, tools=[tool, TOOLS[1]], max_tokens=300,
                                           tool_choice={"type": "function", "function": {"name": "Trip"}},
                                           temperature=1.0, seed=seed)
        call = r.choices[0].message.tool_calls[0]
        assert call.function.name == "Trip" and r.choices[0].finish_reason == "tool_calls", r
        Trip.model_validate_json(call.function.arguments)
    # the client's own helpers: parse() and the streaming helper give the parsed arguments
    kw = dict(model=MODEL, messages=ASK, tools=[tool], tool_choice="required", max_tokens=300, seed=3)
    parsed = client.chat.completions.parse(**kw).choices[0].message.tool_calls[0].function.parsed_arguments
    assert isinstance(parsed, Trip), parsed
    with client.chat.completions.stream(**kw) as stream:
        for _ in stream:
            pass
        streamed = stream.get_final_completion().choices[0].message.tool_calls[0].function.parsed_arguments
    assert streamed == parsed   # the same seed: the same call, streamed or not


def test_a_follow_up_with_the_tools_result_is_accepted(client):
    r = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, max_tokens=300, seed=1,
                                       tool_choice={"type": "function", "function": {"name": "get_weather"}})
    call = r.choices[0].message.tool_calls[0]
    history = ASK + [{"role": "assistant", "content": None,
                      "tool_calls": [{"id": call.id, "type": "function",
                                      "function": {"name": call.function.name,
                                                   "arguments": call.function.arguments}}]},
                     {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21, "sky": "clear"}'}]
    r = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, max_tokens=40, seed=1,
                                       temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length", "tool_calls"), r
    assert r.choices[0].message.content or r.choices[0].message.tool_calls, r
    # the rendered prompt holds the call and the result: it is longer than the question alone
    short = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, max_tokens=1, temperature=0)
    assert r.usage.prompt_tokens > short.usage.prompt_tokens + 20, (r.usage, short.usage)


def test_none_returns_text_and_renders_no_tools(client):
    r = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="none",
                                       max_tokens=20, temperature=0)
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content, r
    assert r.choices[0].finish_reason in ("stop", "length")
    plain = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=20, temperature=0)
    assert r.usage.prompt_tokens == plain.usage.prompt_tokens            # no tools block in the prompt
    assert r.choices[0].message.content == plain.choices[0].message.content
    auto = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, max_tokens=1, temperature=0)
    assert auto.usage.prompt_tokens > plain.usage.prompt_tokens + 50     # "auto" (the default) renders them


def test_auto_parses_or_returns_text(client):
    """Under "auto" the text is free: whatever the model writes is either a call that parses or text."""
    for seed in range(3):
        r = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, max_tokens=120,
                                           temperature=1.0, seed=seed)
        m = r.choices[0].message
        if m.tool_calls:
            assert r.choices[0].finish_reason in ("tool_calls", "length")
            for call in m.tool_calls:
                assert call.function.name in SCHEMAS and isinstance(json.loads(call.function.arguments), dict)
        else:
            assert r.choices[0].finish_reason in ("stop", "length") and m.content is not None


def test_the_readme_example(server, capsys):
    """The README's tools example, run against this server (its code block, with this server's address)."""
    readme = open(os.path.join(os.path.dirname(FIX), "..", "README.md"), encoding="utf-8").read()
    start = readme.index("  ```python\n  import json\n  from openai import OpenAI")
    block = readme[start:readme.index("  ```\n", start + 10)].splitlines()[1:]
    code = "\n".join(line[2:] for line in block).replace("http://127.0.0.1:8080", server)
    assert "tool_choice=\"required\"" in code and "role\": \"tool\"" in code, code
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["call"].function.name == "get_weather" and scope["city"], scope["call"]
    follow_up = scope["r"].choices[0]   # the tool's result was accepted; the (unseeded) answer is text or a call
    assert follow_up.finish_reason in ("stop", "length", "tool_calls"), follow_up
    assert capsys.readouterr().out == f"{follow_up.message.content}\n"   # what the example prints


BAD = [
    ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice.function.name"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": {"type": "function"}}, "tool_choice.function.name"),
    ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "no-such-type"}}}]},
     "tools[0].function.parameters"),
    ({"tools": [TOOLS[0], {"type": "function", "function": {"name": "g", "parameters": {"type": "string"}}}]},
     "tools[1].function.parameters"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": [1]}}]},
     "tools[0].function.parameters"),
    ({"tools": [TOOLS[0], TOOLS[0]]}, "tools[1].function.name"),
    ({"tools": [{"type": "retrieval", "function": {"name": "f"}}]}, "tools[0].type"),
    ({"tools": None, "tool_choice": "required"}, "tool_choice"),
    ({"tools": [], "tool_choice": "required"}, "tool_choice"),
    ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"messages": [{"role": "tool", "content": "21"}]}, "messages[0].tool_call_id"),
    ({"messages": [{"role": "user", "content": None}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "a", "tool_calls": []}]}, "messages[0].tool_calls"),
    ({"messages": [{"role": "assistant", "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
]


@pytest.mark.parametrize("fields,param", BAD, ids=[p for _, p in BAD])
def test_bad_input_is_a_400_naming_the_field(server, fields, param):
    body = dict({"messages": ASK, "tools": TOOLS, "max_tokens": 4}, **fields)
    for stream in (False, True):
        r = httpx.post(server + "/v1/chat/completions", json=dict(body, stream=stream), timeout=60)
        assert r.status_code == 400, r.text
        e = r.json()["error"]
        assert e["param"] == param and e["type"] == "invalid_request_error", e


# ---- the parser alone: the same events whatever the pieces ----

TEXT = ('Let me check. <tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>\n'
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}</tool_call>')


def events_of(text, cuts, names=SCHEMAS, parallel=True):
    p, out, at = CallParser(names, parallel), [], 0
    for cut in list(cuts) + [len(text)]:
        out += p.feed(text[at:cut])
        at = cut
    out += p.finish()
    content = "".join(x for k, x in out if k == "content")
    calls = [(x["function"]["name"], json.loads(x["function"]["arguments"])) for k, x in out if k == "call"]
    return content, calls


def test_the_parser_gives_the_same_calls_for_any_split():
    whole = events_of(TEXT, [])
    assert whole == ("Let me check. ", [("add", {"a": 1, "b": 2}),
                                        ("get_weather", {"city": "Oslo", "unit": "celsius"})])
    for step in (1, 2, 3, 5, 11):
        assert events_of(TEXT, range(step, len(TEXT), step)) == whole, step


def test_the_parser_keeps_what_is_not_a_call_as_text():
    for text in ['<tool_call>{"name": "unknown", "arguments": {}}</tool_call>', "<tool_call>not json</tool_call>",
                 "a < b and <tool", '<tool_call>{"name": "add", "arguments": [1]}</tool_call>']:
        content, calls = split_calls(text, SCHEMAS)
        assert calls == [] and content == text, text
    # a call the text ends in without </tool_call> (the model stopped) is still a call
    content, calls = split_calls('<tool_call>{"name": "add", "arguments": "{\\"a\\": 1}"}', SCHEMAS)
    assert content is None and json.loads(calls[0]["function"]["arguments"]) == {"a": 1}
    # parallel_tool_calls false: the first call only, the rest stays text
    content, calls = split_calls(TEXT, SCHEMAS, parallel=False)
    assert [c["function"]["name"] for c in calls] == ["add"] and "get_weather" in content
