"""Jinja chat templates, as Hugging Face ships them (GGUF ``tokenizer.chat_template``, or
tokenizer_config.json's ``chat_template``), rendered the way transformers' ``apply_chat_template``
does, in jinja2's ImmutableSandboxedEnvironment (as llama-cpp-python and transformers do: a template
cannot reach Python's internals or change its arguments).

What the environment gives templates (transformers' set): ``trim_blocks``/``lstrip_blocks``, the loop
controls extension (``{% break %}``/``{% continue %}``), ``{% generation %}`` blocks (rendered as their
body), ``raise_exception(message)``, ``strftime_now(format)`` and ``tojson`` with ``ensure_ascii=False``.
The variables: ``messages``, ``tools``, ``add_generation_prompt``, ``bos_token``, ``eos_token`` and any
keyword of the caller (e.g. ``enable_thinking``).

Which template a model uses (``for_model``): the text in ``Model.chat_template`` (the file's, or one the
caller assigned), except that the file's template of a BitNet b1.58 2B4T model is not used, since the
published one is broken (docs/formats.md §4.1): trit's built-in "bitnet" format is used instead, as by
Model.chat(). Needs jinja2 (the ``chat`` extra, also in ``server``)."""
import datetime
import json

EXTRA = "chat"
_ENV = None


class ChatTemplateError(ValueError):
    """The template failed to compile or raised while rendering (raise_exception, an undefined call,
    a sandbox violation); the message is the template's."""


def _jinja():
    try:
        import jinja2  # noqa: F401
    except ImportError as e:
        raise ImportError(f"rendering the model's Jinja chat template needs jinja2: pip install 'trit[{EXTRA}]' "
                          f"(or the server extra) ({e})") from None
    import jinja2
    return jinja2


def _environment():
    global _ENV
    if _ENV is not None:
        return _ENV
    jinja2 = _jinja()
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        """transformers' {% generation %} … {% endgeneration %} (it marks assistant text): the body."""
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.Scope(body, lineno=lineno)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.now().strftime(fmt)

    class Namespace(jinja2.utils.Namespace):
        """jinja2's namespace() refusing underscore names, as transformers' (no reaching internals)."""

        def __init__(*args, **kwargs):   # jinja2's own signature trick: namespace(self=...) still works
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                Namespace._check(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name, value):
            Namespace._check(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check(name):
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"a template's namespace cannot hold {name!r}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["namespace"] = Namespace
    _ENV = env
    return env


class ChatTemplate:
    """A compiled template: ``render(messages, tools=None, add_generation_prompt=True, **kwargs)``."""

    def __init__(self, source, bos_token="", eos_token=""):
        self.source, self.bos_token, self.eos_token = source, bos_token, eos_token
        env = _environment()
        try:
            self._template = env.from_string(source)
        except Exception as e:   # jinja2's TemplateSyntaxError and friends
            raise ChatTemplateError(f"the chat template does not compile: {e}") from None

    @property
    def thinks(self):
        """Whether the template knows <think> blocks (Qwen3, DeepSeek-R1 style reasoning)."""
        return "<think>" in self.source

    def render(self, messages, tools=None, add_generation_prompt=True, **kwargs):
        context = dict(kwargs, messages=messages, tools=tools, add_generation_prompt=add_generation_prompt,
                       bos_token=self.bos_token, eos_token=self.eos_token)
        try:
            return self._template.render(**context)
        except Exception as e:   # raise_exception's TemplateError, a SecurityError, a TypeError in the template
            raise ChatTemplateError(f"{type(e).__name__}: {e}") from None

    def renders_tools(self):
        """Whether the template shows a tool's definition to the model (its name appears)."""
        probe = [{"type": "function", "function": {"name": "trit_probe_tool_7c1", "description": "probe",
                                                   "parameters": {"type": "object", "properties": {}}}}]
        try:
            return "trit_probe_tool_7c1" in self.render([{"role": "user", "content": "hi"}], tools=probe)
        except ChatTemplateError:
            return False


def _special_text(model, token_id):
    if token_id is None or token_id < 0:
        return ""
    return model.detokenize([token_id], special=True)


def for_model(model):
    """The ChatTemplate a model's chats are rendered with, or None for trit's built-in formats (no
    template, or the 2B4T file's broken one). Compiled once per template text."""
    source = model.chat_template
    if not source:
        return None
    if source == getattr(model, "_file_chat_template", None) and _builtin_is_bitnet(model):
        return None
    cached = getattr(model, "_compiled_chat_template", None)
    if cached is not None and cached.source == source:
        return cached
    info = model.info
    t = ChatTemplate(source, _special_text(model, info.get("bos")), _special_text(model, info.get("eos")))
    model._compiled_chat_template = t
    return t


def _builtin_is_bitnet(model):
    """Whether the library formats this model's chats as BitNet 2B4T ("Role: content<|eot_id|>")."""
    return model.format_chat([("user", "x")], None, False) == "User: x<|eot_id|>"
