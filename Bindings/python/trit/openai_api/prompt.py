"""The prompt of a chat request. With a Jinja template (trit.chat_template.for_model): the template
renders the messages, ``tools`` and ``chat_template_kwargs``; when it shows tools itself and writes calls
as ``<tool_call>`` blocks (Qwen, Hermes), the messages go to it as OpenAI gave them (a call's arguments
parsed into an object, as vLLM and llama.cpp's server do; ``reasoning_content`` kept) and the request's
tools in its ``tools`` (unless tool_choice is "none"); otherwise the tools' default system block and the
calls / results in the default format (tools.render) go to it as plain messages. Without a template:
trit's built-in format (Model.format_chat), which takes no ``chat_template_kwargs`` and, like most
templates for past turns, does not show a history message's ``reasoning_content``."""
import copy
import dataclasses
import json

from ..chat_template import ChatTemplateError, for_model
from .errors import ApiError
from .tools import OPEN, definitions, render

RESERVED = {"messages", "tools", "add_generation_prompt", "bos_token", "eos_token"}


@dataclasses.dataclass
class ChatPrompt:
    text: str
    tokens: list
    template: object        # the ChatTemplate, or None (a built-in format)
    reasoning: bool         # the output may start with a <think> block, returned as reasoning_content
    thinking_open: bool     # the prompt itself opened <think> (the output starts inside it)


def _with_reasoning_aliases(m):
    """transformers' aliases of an assistant's reasoning: ``thinking`` too (gpt-oss templates read it)."""
    r = m.get("reasoning_content")
    return m if r is None else {"thinking": r, **m}


def _native_messages(messages):
    out = [_with_reasoning_aliases(m) for m in copy.deepcopy(messages)]
    for m in out:
        if m.get("content") is None:
            m["content"] = ""   # an assistant message holding only calls: templates test `in content`
        for call in m.get("tool_calls") or []:
            try:
                call["function"]["arguments"] = json.loads(call["function"]["arguments"])
            except (ValueError, RecursionError):   # RecursionError: nested past Python's limit
                pass   # kept as written: a template prints a string argument as it is
    return out


def _plain_messages(messages, tools):
    """Messages for a template without tools (tools.render's pairs); an assistant turn keeps its
    reasoning_content (templates that show past reasoning read it)."""
    pairs = render(messages, tools)
    reasoning = [m.get("reasoning_content") for m in messages if m["role"] == "assistant"]
    out = []
    for role, content in pairs:
        m = {"role": role, "content": content}
        if role == "assistant" and reasoning:
            r = reasoning.pop(0)
            if r is not None:
                m = _with_reasoning_aliases(dict(m, reasoning_content=r))
        out.append(m)
    return out


def template_error(e):
    return ApiError(400, f"the model's chat template failed: {e}", param="messages", code="chat_template_error")


def render_chat(model, messages, tools, kwargs=None, add_generation_prompt=True, raw_tools=None):
    """(text, template or None) of the messages (checked dicts) and the request's Tools. ``raw_tools``:
    the request's tools as sent (checked), handed to a template as they are: its tojson then writes
    their keys in the client's order, as transformers does."""
    kwargs = kwargs or {}
    bad = sorted(set(kwargs) & RESERVED)
    if bad:
        raise ApiError(400, f"'chat_template_kwargs.{bad[0]}' is set by the request itself",
                       param=f"chat_template_kwargs.{bad[0]}", code="invalid_value")
    try:
        template = for_model(model)
    except ImportError as e:
        raise ApiError(500, str(e), type_="server_error", code="missing_dependency")
    except ChatTemplateError as e:
        raise ApiError(500, f"the model's chat template cannot be used: {e}", type_="server_error",
                       code="chat_template_error")
    if template is None:
        if kwargs:
            raise ApiError(400, "'chat_template_kwargs' needs a Jinja chat template; this model's chats use trit's "
                                "built-in format", param="chat_template_kwargs", code="unsupported_parameter")
        return model.format_chat(render(messages, tools), None, add_generation_prompt), None
    rendered = tools is not None and tools.rendered
    if tools_native(template):   # the template writes calls and results itself; tools only when rendered
        msgs, tool_list = _native_messages(messages), None
        if rendered:
            tool_list = copy.deepcopy(raw_tools) if raw_tools is not None else definitions(tools)
    else:
        msgs, tool_list = _plain_messages(messages, tools), None
    try:
        return template.render(msgs, tools=tool_list, add_generation_prompt=add_generation_prompt, **kwargs), template
    except ChatTemplateError as e:
        raise template_error(e)


def tools_native(template):
    """Whether a template renders tools itself in the <tool_call> convention trit parses."""
    cached = getattr(template, "_tools_native", None)
    if cached is None:
        cached = OPEN in template.source and template.renders_tools()
        template._tools_native = cached
    return cached


def chat_prompt(model, messages, tools, kwargs=None, raw_tools=None):
    """The ChatPrompt of a request, tokenized (specials parsed; BOS unless the template wrote it)."""
    text, template = render_chat(model, messages, tools, kwargs, raw_tools=raw_tools)
    add_bos = template is None or not (template.bos_token and text.startswith(template.bos_token))
    tokens = model.tokenize(text, add_bos=add_bos, special=True)
    reasoning = template is not None and template.thinks
    return ChatPrompt(text, tokens, template, reasoning, reasoning and text.rstrip().endswith("<think>"))
