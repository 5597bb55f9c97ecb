"""Makes Tests/Fixtures/chat-templates/qwen3-expected.json: prompts rendered by transformers'
apply_chat_template (the outside reference) from Qwen3's published chat template (qwen3.jinja, as in
Qwen/Qwen3-0.6B's tokenizer_config.json), for conversations with tools, tool calls, tool results and
<think>; and features-expected.json: small templates, each using one thing of the Jinja environment
transformers gives templates (loop controls, tojson, trim/lstrip blocks, {% generation %}, namespace, dict,
raise_exception, the caller's keywords). trit's renderer (trit.chat_template) must give the same text byte for byte.

The requests are kept in OpenAI's form (a call's arguments as JSON text); the messages handed to
transformers have the arguments parsed into objects, as vLLM and llama.cpp's server do before rendering.

    /work/fixvenv/bin/python scripts/make_chat_template_fixture.py   (transformers, tokenizers, jinja2)"""
import copy
import json
import os

import jinja2
import transformers
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "chat-templates")

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city, in °C (température).",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a time zone.",
    "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}

CASES = [
    {"name": "tools_calls_results", "tools": [WEATHER, TIME], "add_generation_prompt": True, "kwargs": {},
     "messages": [
         {"role": "system", "content": "You are a helpful assistant."},
         {"role": "user", "content": "Weather in Zürich and the time in Tokyo?"},
         {"role": "assistant", "content": "", "tool_calls": [
             {"id": "call_1", "type": "function",
              "function": {"name": "get_weather", "arguments": "{\"city\": \"Zürich\", \"unit\": \"celsius\"}"}},
             {"id": "call_2", "type": "function",
              "function": {"name": "get_time", "arguments": "{\"zone\": \"Asia/Tokyo\"}"}}]},
         {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
         {"role": "tool", "tool_call_id": "call_2", "content": "09:30"},
     ]},
    {"name": "tools_no_system_thinking_off", "tools": [WEATHER], "add_generation_prompt": True,
     "kwargs": {"enable_thinking": False},
     "messages": [{"role": "user", "content": "Is it raining in Oslo?"}]},
    {"name": "reasoning_history", "tools": None, "add_generation_prompt": True, "kwargs": {},
     "messages": [
         {"role": "system", "content": "Be brief."},
         {"role": "user", "content": "2+2?"},
         {"role": "assistant", "content": "<think>\nSimple sum.\n</think>\n\n4"},
         {"role": "user", "content": "And 3+3?"},
     ]},
    {"name": "reasoning_content_before_a_call", "tools": [WEATHER], "add_generation_prompt": True, "kwargs": {},
     "messages": [
         {"role": "user", "content": "Weather in Oslo?"},
         {"role": "assistant", "content": None, "reasoning_content": "I should call get_weather.",
          "tool_calls": [{"id": "call_9", "type": "function",
                          "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
         {"role": "tool", "tool_call_id": "call_9", "content": "rain"},
     ]},
    {"name": "tools_as_the_client_wrote_them", "add_generation_prompt": True, "kwargs": {},
     "tools": [{"function": {"parameters": {"type": "object", "properties": {}}, "strict": True, "name": "now",
                             "description": "Now."}, "type": "function"}],
     "messages": [{"role": "user", "content": "Time?"}]},
    {"name": "no_generation_prompt", "tools": None, "add_generation_prompt": False, "kwargs": {},
     "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
]


# What the Jinja environment gives templates (transformers' set), each in a small template of its own
# (features-expected.json); `expected_error`: the TemplateError's message instead of a text.
CHAT = [{"role": "system", "content": "Sois bref."}, {"role": "user", "content": "Où est Zürich? €"},
        {"role": "assistant", "content": "En Suisse."}, {"role": "user", "content": "Et Genève?"}]
FEATURES = [
    {"name": "loop_controls", "kwargs": {}, "add_generation_prompt": False, "messages": CHAT, "tools": None,
     "template": "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}"
                 "{% if loop.index > 3 %}{% break %}{% endif %}[{{ loop.index }}:{{ m.role }}]{{ m.content }}"
                 "{% endfor %}"},
    {"name": "tojson_unicode_indent", "kwargs": {}, "add_generation_prompt": False, "messages": CHAT,
     "tools": [WEATHER],
     "template": "{{ messages | tojson }}\n{{ tools[0] | tojson(indent=2) }}\n{{ messages[1] | tojson(sort_keys=true, "
                 "separators=(',', ':')) }}"},
    {"name": "trim_and_lstrip_blocks", "kwargs": {}, "add_generation_prompt": True, "messages": CHAT, "tools": None,
     "template": "{% for m in messages %}\n    {% if m.role == 'user' %}\nU: {{ m.content }}\n    {% else %}\n"
                 "{{ m.role[0] | upper }}: {{ m.content }}\n    {% endif %}\n{% endfor %}\n"
                 "{% if add_generation_prompt %}\nA:{% endif %}"},
    {"name": "generation_block", "kwargs": {}, "add_generation_prompt": False, "messages": CHAT, "tools": None,
     "template": "{% for m in messages %}{% if m.role == 'assistant' %}<a>{% generation %}{{ m.content }}"
                 "{% endgeneration %}</a>{% else %}<{{ m.role }}>{{ m.content }}{% endif %}{% endfor %}"},
    {"name": "kwargs_and_namespace", "kwargs": {"enable_thinking": False, "persona": "Ada"},
     "add_generation_prompt": True, "messages": CHAT, "tools": None,
     "template": "{% set ns = namespace(users=0) %}{% for m in messages %}{% if m.role == 'user' %}"
                 "{% set ns.users = ns.users + 1 %}{% endif %}{% endfor %}{{ persona }} {{ ns.users }} "
                 "{% if enable_thinking is defined and enable_thinking is false %}no-think{% else %}think{% endif %}"
                 "{% if add_generation_prompt %}>{% endif %}{{ dict(a=1) | tojson }}"},
    {"name": "raise_exception", "kwargs": {}, "add_generation_prompt": True, "messages": CHAT, "tools": None,
     "template": "{% if messages[0].role == 'system' %}{{ raise_exception('System messages are not supported: "
                 "' + messages[0].content) }}{% endif %}ok"},
]


def parsed_arguments(messages):
    out = copy.deepcopy(messages)
    for m in out:
        if m.get("content") is None:
            # OpenAI's null content of a call-only turn: transformers hands Qwen3's template no `content`
            # then (an UndefinedError); trit, as vLLM, gives templates "" instead
            m["content"] = ""
        for call in m.get("tool_calls") or []:
            call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    return out


def main():
    template = open(os.path.join(HERE, "qwen3.jinja"), encoding="utf-8").read()
    vocab = Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    tok = PreTrainedTokenizerFast(tokenizer_object=vocab, chat_template=template, eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>")
    for case in CASES:
        case["expected"] = tok.apply_chat_template(parsed_arguments(case["messages"]), tools=case["tools"],
                                                   tokenize=False, add_generation_prompt=case["add_generation_prompt"],
                                                   **case["kwargs"])
    out = {"made_by": f"transformers {transformers.__version__} apply_chat_template (scripts/"
                      "make_chat_template_fixture.py)", "template": "qwen3.jinja", "cases": CASES}
    write("qwen3-expected.json", out)
    for case in FEATURES:
        try:
            case["expected"] = tok.apply_chat_template(case["messages"], tools=case["tools"], tokenize=False,
                                                       chat_template=case["template"],
                                                       add_generation_prompt=case["add_generation_prompt"],
                                                       **case["kwargs"])
        except jinja2.exceptions.TemplateError as e:
            case["expected_error"] = str(e)
    write("features-expected.json", {"made_by": out["made_by"], "cases": FEATURES})


def write(name, out):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
