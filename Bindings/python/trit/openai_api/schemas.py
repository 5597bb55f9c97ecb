"""The request bodies the server understands, as pydantic models, and their checks as OpenAI
answers them: a 400 naming the field (`param`). A field the endpoint does not implement is refused
by name (an allow-list), never ignored; a string that is not valid Unicode is refused by name."""
from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .errors import ApiError

# Fields OpenAI (or llama.cpp's server) defines that this server does not implement: refused with
# "not supported" rather than "unrecognized". tools, tool_choice and parallel_tool_calls are fields of
# ChatRequest (so chat accepts them) and stay here for completions, which refuse them.
NOT_IMPLEMENTED = {
    "best_of", "suffix", "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls", "audio",
    "modalities", "prediction", "reasoning_effort", "service_tier", "store", "metadata", "web_search_options",
    "verbosity", "prompt_cache_key", "safety_identifier",
    "mirostat", "mirostat_tau", "mirostat_eta", "typical_p", "tfs_z", "n_probs",
    "dynatemp_range", "dynatemp_exponent", "xtc_probability", "xtc_threshold", "dry_multiplier", "dry_base",
    "dry_allowed_length", "dry_penalty_last_n", "dry_sequence_breakers", "samplers", "n_predict", "cache_prompt",
    "id_slot", "slot_id", "lora", "post_sampling_probs",
}

MAX_CHOICES = 16   # n: a request's sequences (each holds an engine slot)


class _Strict(BaseModel):
    # strict: no coercion ("1" is not a number, true is not 1, 1.0 is not an integer; an int is a float)
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class StreamOptions(_Strict):
    include_usage: Optional[bool] = None


class _Sampling(_Strict):
    """What both endpoints share: the model, streaming, the budget and the sampling fields."""
    model: Optional[str] = None
    stream: Optional[bool] = None
    stream_options: Optional[StreamOptions] = None
    max_tokens: Optional[int] = Field(None, ge=1)
    max_completion_tokens: Optional[int] = Field(None, ge=1)
    temperature: Optional[float] = Field(None, ge=0, le=2)
    top_p: Optional[float] = Field(None, ge=0, le=1)
    top_k: Optional[int] = Field(None, ge=0, le=1 << 20)          # llama.cpp's extension
    min_p: Optional[float] = Field(None, ge=0, le=1)             # llama.cpp's extension
    repeat_penalty: Optional[float] = Field(None, ge=0.01, le=10)   # llama.cpp's extension
    presence_penalty: Optional[float] = Field(None, ge=-2, le=2)
    frequency_penalty: Optional[float] = Field(None, ge=-2, le=2)
    seed: Optional[int] = None
    stop: Any = None
    logit_bias: Optional[Dict[str, float]] = None
    n: Optional[int] = Field(None, ge=1, le=MAX_CHOICES)          # choices: sequences decoded together
    ignore_eos: Optional[bool] = None                            # llama.cpp's extension
    user: Optional[str] = None                                   # an end-user id; no effect on the text
    response_format: Any = None    # text, json_object, json_schema: checked by response_format.grammar_of
    json_schema: Any = None        # llama.cpp's: a JSON schema (an object); checked by response_format.py
    grammar: Optional[str] = None  # llama.cpp's: GBNF text; checked by response_format.py

    @field_validator("stop")
    @classmethod
    def _stop(cls, v):
        if v is None:
            return None
        v = [v] if isinstance(v, str) else v
        if not isinstance(v, list) or len(v) > 16 or not all(isinstance(s, str) and s for s in v):
            raise ValueError("must be a string or a list of at most 16 non-empty strings")
        if any("\0" in s for s in v):
            raise ValueError("must not hold a NUL character")
        return v

    @field_validator("logit_bias")
    @classmethod
    def _bias(cls, v):
        if v is None:
            return None
        out = {}
        for k, b in v.items():
            try:
                out[int(k)] = float(b)
            except ValueError:
                raise ValueError("must map token ids (integers) to biases")
            if not -100 <= b <= 100:
                raise ValueError("values must be between -100 and 100")
        return out

    def sampling(self):
        """The keywords of trit.Engine.submit (OpenAI's defaults where a field is absent)."""
        seed = -1 if self.seed is None else self.seed % 2**64
        pick = lambda v, d: d if v is None else v   # noqa: E731
        return dict(temperature=pick(self.temperature, 1.0), top_p=pick(self.top_p, 1.0) or 1e-6,
                    top_k=pick(self.top_k, 0), min_p=pick(self.min_p, 0.0),
                    repeat_penalty=pick(self.repeat_penalty, 1.0),
                    presence_penalty=pick(self.presence_penalty, 0.0),
                    frequency_penalty=pick(self.frequency_penalty, 0.0), seed=seed, stop=self.stop,
                    logit_bias=self.logit_bias, ignore_eos=bool(self.ignore_eos))

    @property
    def wanted_tokens(self):
        return self.max_tokens if self.max_tokens is not None else self.max_completion_tokens


class CompletionRequest(_Sampling):
    prompt: Any
    echo: Optional[bool] = None
    logprobs: Any = 0

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v):
        if isinstance(v, list) and len(v) == 1 and isinstance(v[0], str):
            v = v[0]
        if isinstance(v, str):
            return v
        if isinstance(v, list) and v and all(isinstance(t, int) and not isinstance(t, bool) for t in v):
            return v
        raise ValueError("must be a string or a non-empty list of token ids")

    @field_validator("logprobs")
    @classmethod
    def _logprobs(cls, v):
        if v is None or v is False:
            return 0
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 20:
            raise ValueError("must be an integer between 0 and 20")
        return v


class TextPart(_Strict):
    type: Literal["text"]
    text: str


def _field_error(field, message):
    """A message-level check's error, naming the message's field (parse() appends it to the path)."""
    return PydanticCustomError("message_field", message, {"field": field})


class FunctionCall(_Strict):
    name: str
    arguments: str   # OpenAI's form: the arguments as JSON text


class ToolCall(_Strict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class Message(_Strict):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: Union[str, List[TextPart], None] = None   # null or absent only on an assistant message with tool_calls
    tool_calls: Optional[List[ToolCall]] = None              # an assistant's calls (history)
    tool_call_id: Optional[str] = None                       # a tool message answers this call
    reasoning_content: Optional[str] = None                  # an assistant's <think> text, as returned (history)

    @field_validator("content")
    @classmethod
    def _content(cls, v):
        if v is None:
            return None
        text = v if isinstance(v, str) else "".join(p.text for p in v)
        if "\0" in text:
            raise ValueError("must not hold a NUL character")
        return text

    @model_validator(mode="after")
    def _fields_of_the_role(self):
        if self.tool_calls is not None and self.role != "assistant":
            raise _field_error("tool_calls", "'tool_calls' is a field of assistant messages only")
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise _field_error("content", "'content' may be null or absent only on an assistant message with "
                                          "tool_calls")
        if self.role == "tool" and not self.tool_call_id:
            raise _field_error("tool_call_id", "a tool message needs 'tool_call_id' (the call it answers)")
        if self.reasoning_content is not None and self.role != "assistant":
            raise _field_error("reasoning_content", "'reasoning_content' is a field of assistant messages only")
        if self.role != "tool" and self.tool_call_id is not None:
            raise _field_error("tool_call_id", "'tool_call_id' is a field of tool messages only")
        return self


class FunctionDefinition(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: Optional[str] = None
    parameters: Optional[Dict[str, Any]] = None   # a JSON schema; checked by tools.py
    strict: Optional[bool] = None


class Tool(_Strict):
    type: Literal["function"]
    function: FunctionDefinition


class ChatRequest(_Sampling):
    messages: List[Message] = Field(min_length=1)
    logprobs: Optional[bool] = None
    top_logprobs: Optional[int] = Field(None, ge=0, le=20)
    tools: Optional[List[Tool]] = None
    tool_choice: Any = None          # "auto", "none", "required" or a named function: checked by tools.py
    parallel_tool_calls: Optional[bool] = None
    chat_template_kwargs: Optional[Dict[str, Any]] = None   # vLLM's / llama.cpp's: the Jinja template's variables


def _path(body, loc, missing=False):
    """OpenAI's param for a pydantic error location: field names and [i] indices as they occur in
    the body (pydantic's union-member tags are left out); a missing field's name ends it."""
    out, node = "", body
    for k, part in enumerate(loc):
        last_missing = missing and k == len(loc) - 1 and isinstance(part, str)
        if isinstance(node, dict) and isinstance(part, str) and (part in node or last_missing):
            out, node = (f"{out}.{part}" if out else part), node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out, node = f"{out}[{part}]", node[part]
    return out or None


def _refuse_unknown(schema, body):
    for key in body:
        if key not in schema.model_fields:
            if key in NOT_IMPLEMENTED:
                raise ApiError(400, f"'{key}' is not supported by this server", param=key, code="unsupported_parameter")
            raise ApiError(400, f"Unrecognized request argument supplied: {key}", param=key, code="unknown_parameter")


def parse(schema, body):
    """The request as `schema`, or ApiError (400) naming the first field that is wrong."""
    _refuse_unknown(schema, body)
    try:
        return schema.model_validate(body)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        param = _path(body, err["loc"], missing=err["type"] == "missing")
        if err["type"] == "message_field":
            param = f"{param}.{err['ctx']['field']}"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not supported by this server"
        raise ApiError(400, f"'{param}' {msg}" if msg[:1].islower() else f"'{param}': {msg}", param=param,
                       code="invalid_value")


def lone_surrogate(body):
    """The path of the first string (or object key) in parsed JSON that holds a lone surrogate
    (legal JSON like "\\ud800", not valid Unicode), or None. Iterative: any depth json accepts."""
    stack = [(body, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _has_surrogate(node):
                return path or "body"
        elif isinstance(node, dict):
            for k in node:
                if _has_surrogate(k):
                    return f"{path}.{k}" if path else k
            stack.extend(reversed([(v, f"{path}.{k}" if path else k) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([(v, f"{path}[{i}]") for i, v in enumerate(node)]))
    return None


def _has_surrogate(s):
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
