"""Tool calls on /v1/chat/completions, in a default format on top of the built-in chat templates
(the Hermes / Qwen convention): the functions are listed in a system block, and the model writes
each call as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``.

- tool_choice "auto" (the default with tools): the block is rendered and calls are parsed from the text.
- "required" or {"type": "function", "function": {"name": ...}}: the text is constrained (llguidance,
  a Lark grammar around each function's parameter schema) to one call, or with parallel_tool_calls
  true to one to MAX_PARALLEL_CALLS calls, so it always parses. Absent, parallel_tool_calls is false
  for the constraint (as in llama.cpp's server: a small model seldom ends a list of calls by itself),
  while "auto" parses every call the model writes unless it is false.
- "none" (the default without tools): no block is rendered and the text is returned as text.

History: an assistant message's tool_calls are rendered as its ``<tool_call>`` lines, and a "tool"
message as a user turn holding ``<tool_response>\\n...\\n</tool_response>`` (consecutive ones in one turn)."""
import json
import uuid

from .errors import ApiError

OPEN, CLOSE = "<tool_call>", "</tool_call>"
MAX_PARALLEL_CALLS = 8          # a constrained request with parallel_tool_calls writes at most this many calls
NO_PARAMETERS = {"type": "object", "properties": {}}


def _bad(param, message, code="invalid_value"):
    return ApiError(400, f"'{param}' {message}", param=param, code=code)


def _schema_grammar(schema):
    """trit.Grammar of a JSON schema (the structured extra); ValueError when llguidance refuses it."""
    from ..structured import Grammar
    return Grammar.json_schema(schema)


class Tools:
    """A request's tools and tool_choice, checked: `functions` (name → definition dict), `choice`
    ("auto", "none", "required" or a function's name) and `parallel` (the request's
    parallel_tool_calls: True, False or None)."""

    def __init__(self, functions, choice, parallel):
        self.functions, self.choice, self.parallel = functions, choice, parallel

    @property
    def parse_many(self):
        """Whether every call in the text is parsed (else the first; the rest stays text)."""
        return self.parallel is not False if self.choice == "auto" else self.parallel is True

    @property
    def rendered(self):
        """Whether the tools are shown to the model and its calls parsed (every choice but "none")."""
        return bool(self.functions) and self.choice != "none"

    @property
    def forced(self):
        """Whether the text is constrained to calls ("required" or a named function)."""
        return self.rendered and self.choice != "auto"

    def system_block(self):
        lines = "\n".join(json.dumps({"type": "function", "function": f}, ensure_ascii=False)
                          for f in self.functions.values())
        many = "one function" if self.parallel is False else "one or more functions"
        return (f"# Tools\n\nYou may call {many} to assist with the user query.\n\n"
                f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{lines}\n"
                "</tools>\n\nFor each function call, return a json object with function name and arguments within "
                f"{OPEN}{CLOSE} XML tags:\n{OPEN}{{\"name\": <function-name>, \"arguments\": <args-json-object>}}"
                f"{CLOSE}")

    def grammar(self):
        """The Lark grammar (trit.Grammar) of the calls a forced choice allows: `<tool_call>` around
        {"name": NAME, "arguments": <the function's parameter schema>}, laid out as json.dumps writes it.
        Each schema is its own %json rule, so its "$ref"s resolve within it as they did when it was checked."""
        from ..structured import Grammar, JSON_LAYOUT
        names = list(self.functions) if self.choice == "required" else [self.choice]
        rules = []
        for k, name in enumerate(names):
            params = dict(self.functions[name].get("parameters", NO_PARAMETERS))
            params.setdefault("x-guidance", JSON_LAYOUT)
            head = json.dumps(f'{{"name": "{name}", "arguments": ')   # a name is [A-Za-z0-9_-]{1,64}
            rules.append(f'call_{k}: {head} args_{k} "}}"\nargs_{k}: %json {json.dumps(params)}')
        alternatives = " | ".join(f"call_{k}" for k in range(len(names)))
        more = f' ("\\n" call){{0,{MAX_PARALLEL_CALLS - 1}}}' if self.parallel is True else ""
        text = (f"start: call{more}\ncall: {json.dumps(OPEN)} ({alternatives}) {json.dumps(CLOSE)}\n"
                + "\n".join(rules) + "\n")
        try:
            return Grammar.lark(text)
        except ImportError as e:
            raise _bad("tool_choice", f"needs constrained generation, which is not installed on this server ({e})",
                       code="unsupported_parameter")
        except ValueError as e:   # each schema was accepted alone: a failure here is the server's
            raise ApiError(500, f"the tool-call grammar failed: {e}", type_="server_error", code="internal_error")


def tools_of(request):
    """The checked Tools of a ChatRequest; ApiError (400) naming the first wrong field."""
    functions = {}
    for i, tool in enumerate(request.tools or []):
        f = tool.function
        if f.name in functions:
            raise _bad(f"tools[{i}].function.name", f"repeats the function name {f.name!r}")
        definition = {"name": f.name}
        if f.description is not None:
            definition["description"] = f.description
        if f.parameters is not None:
            definition["parameters"] = f.parameters
        functions[f.name] = definition
    choice = request.tool_choice
    if choice is None:
        choice = "auto" if functions else "none"
    elif isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise _bad("tool_choice", f'must be "auto", "none", "required" or a named function, got {choice!r}')
    elif isinstance(choice, dict):
        extra = sorted(set(choice) - {"type", "function"})
        if extra:
            raise _bad(f"tool_choice.{extra[0]}", "is not a field of tool_choice")
        if choice.get("type") != "function":
            raise _bad("tool_choice.type", 'must be "function"')
        named = choice.get("function")
        if not isinstance(named, dict) or not isinstance(named.get("name"), str):
            raise _bad("tool_choice.function.name", "must name a function (a string)")
        if set(named) - {"name"}:
            raise _bad(f"tool_choice.function.{sorted(set(named) - {'name'})[0]}", "is not a field of tool_choice")
        if named["name"] not in functions:
            raise _bad("tool_choice.function.name",
                       f"names the function {named['name']!r}, which is not in tools")
        choice = named["name"]
    else:
        raise _bad("tool_choice", 'must be "auto", "none", "required" or {"type": "function", "function": {"name"}}')
    if not functions and choice != "none":
        raise _bad("tool_choice", f"is {choice!r} but the request has no tools")
    tools = Tools(functions, choice, request.parallel_tool_calls)
    _check_parameters(request, tools)
    return tools


def _check_parameters(request, tools):
    """Each function's parameters must be a JSON schema llguidance accepts (a constrained call is made
    from it). Without the structured extra only "auto" and "none" work (the schema cannot be checked)."""
    for i, name in enumerate(tools.functions):
        params = tools.functions[name].get("parameters")
        where = f"tools[{i}].function.parameters"
        if params is None:
            continue
        if params.get("type", "object") != "object":
            raise _bad(where, f'must be a JSON schema of an object (its "type" is {params.get("type")!r})')
        try:
            _schema_grammar(params)
        except ImportError as e:
            if tools.forced:
                raise _bad("tool_choice", f"needs constrained generation, which is not installed on this server ({e})",
                           code="unsupported_parameter")
            return
        except ValueError as e:
            raise _bad(where, f"is not a valid JSON schema: {e}")


def render(messages, tools):
    """(role, content) pairs for a template that knows no tools (the built-in formats, or a Jinja
    template that does not render them): tool calls and results in the default format, and the tools'
    system block when they are rendered. ``messages``: checked dicts (schemas.Message.model_dump)."""
    pairs, after_tool = [], False
    for m in messages:
        role, content = m["role"], m.get("content")
        role = "system" if role == "developer" else role
        if role == "tool":
            block = f"<tool_response>\n{content}\n</tool_response>"
            if after_tool:
                pairs[-1] = ("user", pairs[-1][1] + "\n" + block)
            else:
                pairs.append(("user", block))
            after_tool = True
            continue
        after_tool = False
        if role == "assistant" and m.get("tool_calls"):
            calls = "\n".join(call_text(c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"])
            pairs.append(("assistant", f"{content}\n{calls}" if content else calls))
        else:
            pairs.append((role, content))
    if tools is not None and tools.rendered:
        if pairs and pairs[0][0] == "system":
            pairs[0] = ("system", pairs[0][1] + "\n\n" + tools.system_block())
        else:
            pairs.insert(0, ("system", tools.system_block()))
    return pairs


def definitions(tools):
    """The request's tools as OpenAI's list ({"type": "function", "function": {...}}), for a template."""
    return [{"type": "function", "function": f} for f in tools.functions.values()]


def call_text(name, arguments):
    """A call as the model writes it; arguments (OpenAI's JSON text) are embedded as JSON when they parse."""
    try:
        args = json.loads(arguments)
    except (ValueError, RecursionError):
        args = arguments
    return OPEN + json.dumps({"name": name, "arguments": args}, ensure_ascii=False) + CLOSE


def _call_of(body, names):
    """The OpenAI tool call of a <tool_call> body, or None when it is not a call of a known function."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("name") not in names:
        return None
    args = obj.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except (ValueError, RecursionError):
            return None
    if not isinstance(args, dict):
        return None
    return {"id": "call_" + uuid.uuid4().hex[:24], "type": "function",
            "function": {"name": obj["name"], "arguments": json.dumps(args, ensure_ascii=False)}}


class CallParser:
    """Splits the model's text, piece by piece, into content and tool calls: feed() and finish()
    return events ("content", text) and ("call", call). Text that may begin a <tool_call> is held back
    until it does or does not; a call's body is held until its </tool_call> (or the end of the text).
    A body that is not a call of a known function is returned as content, as written."""

    def __init__(self, names, parallel=True):
        self.names, self.parallel = set(names), parallel
        self.held, self.in_call, self.n_calls = "", False, 0

    def feed(self, piece):
        self.held += piece
        events = []
        while True:
            if self.in_call:
                j = self.held.find(CLOSE)
                if j < 0:
                    return events
                self._close(self.held[:j], events)
                self.held = self.held[j + len(CLOSE):]
                continue
            i = self.held.find(OPEN)
            if i >= 0:
                self._content(self.held[:i], events)
                self.held, self.in_call = self.held[i + len(OPEN):], True
                continue
            keep = next((n for n in range(min(len(OPEN) - 1, len(self.held)), 0, -1)
                         if OPEN.startswith(self.held[-n:])), 0)
            self._content(self.held[:len(self.held) - keep], events)
            self.held = self.held[len(self.held) - keep:]
            return events

    def finish(self):
        events = []
        if self.in_call:   # a call the text ended in (the model stopped before </tool_call>)
            call = _call_of(self.held, self.names) if self._wanted() else None
            if call is not None:
                self.n_calls += 1
                events.append(("call", call))
            else:
                self._content(OPEN + self.held, events)
        else:
            self._content(self.held, events)
        self.held, self.in_call = "", False
        return events

    def _wanted(self):
        return self.parallel or self.n_calls == 0

    def _close(self, body, events):
        self.in_call = False
        call = _call_of(body, self.names) if self._wanted() else None
        if call is None:
            self._content(OPEN + body + CLOSE, events)
        else:
            self.n_calls += 1
            events.append(("call", call))

    def _content(self, text, events):
        if text and not (self.n_calls and text.isspace()):   # the blank lines between calls are not content
            events.append(("content", text))


def split_calls(text, names, parallel=True):
    """(content or None, the calls) of a whole text."""
    p = CallParser(names, parallel)
    events = p.feed(text) + p.finish()
    calls = [x for kind, x in events if kind == "call"]
    content = "".join(x for kind, x in events if kind == "content")
    if calls:
        content = content.strip() or None
    return content, calls
