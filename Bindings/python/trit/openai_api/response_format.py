"""A request's constraint as a trit.Grammar: OpenAI's response_format ({"type": "text"}: no
constraint, {"type": "json_object"}: any JSON object, {"type": "json_schema", "json_schema": {"name",
"schema", "strict", "description"}}) or llama.cpp's request fields json_schema (a JSON schema) and
grammar (GBNF text). At most one of them constrains a request; anything else is a 400 naming the field."""
from .errors import ApiError

ANY_OBJECT = {"type": "object"}


def _bad(param, message):
    return ApiError(400, f"'{param}' {message}", param=param, code="invalid_value")


def grammar_of(response_format):
    """The grammar of a request's response_format, or None for plain text."""
    rf = response_format
    if rf is None:
        return None
    if not isinstance(rf, dict) or not isinstance(rf.get("type"), str):
        raise _bad("response_format", 'must be an object with a "type" ("text", "json_object" or "json_schema")')
    kind = rf["type"]
    extra = sorted(set(rf) - {"type", "json_schema"})
    if extra or (kind != "json_schema" and "json_schema" in rf):
        field = extra[0] if extra else "json_schema"
        raise _bad(f"response_format.{field}", f"is not a field of a {kind!r} response_format")
    if kind == "text":
        return None
    if kind == "json_object":
        schema, where = ANY_OBJECT, "response_format"
    elif kind == "json_schema":
        js = rf.get("json_schema")
        if not isinstance(js, dict):
            raise _bad("response_format.json_schema", "must be an object with a name and a schema")
        unknown = sorted(set(js) - {"name", "schema", "strict", "description"})
        if unknown:
            raise _bad(f"response_format.json_schema.{unknown[0]}", "is not a field of json_schema")
        name = js.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise _bad("response_format.json_schema.name", "must be a non-empty string of at most 64 characters")
        if "strict" in js and js["strict"] is not None and not isinstance(js["strict"], bool):
            raise _bad("response_format.json_schema.strict", "must be a boolean")
        schema = js.get("schema", ANY_OBJECT)
        if not isinstance(schema, dict):
            raise _bad("response_format.json_schema.schema", "must be a JSON schema (an object)")
        where = "response_format.json_schema.schema"
    else:
        raise _bad("response_format.type", f'must be "text", "json_object" or "json_schema", got {kind!r}')
    return _built(where, "json_schema", schema)


def _built(where, kind, value):
    """Grammar.json_schema(value) or Grammar.gbnf(value); its errors as 400s naming `where`."""
    try:
        from ..structured import Grammar
        return Grammar.json_schema(value) if kind == "json_schema" else Grammar.gbnf(value)
    except ImportError as e:
        raise ApiError(400, f"'{where}': structured output is not installed on this server ({e})", param=where,
                       code="unsupported_parameter")
    except ValueError as e:
        what = "a usable JSON schema" if kind == "json_schema" else "a GBNF grammar that parses"
        raise _bad(where, f"is not {what}: {e}")


def _conflict(param, message):
    return ApiError(400, f"'{param}' {message}", param=param, code="invalid_value")


def request_grammar(r, tools=None):
    """The grammar of a request's response_format, json_schema or grammar (at most one constrains),
    or None. With tools rendered into the prompt (``tools.rendered``) none of them may be given."""
    fields = [k for k in ("json_schema", "grammar") if getattr(r, k) is not None]
    if len(fields) > 1:
        raise _conflict("grammar", "and 'json_schema' cannot be combined: give one of them")
    grammar = grammar_of(r.response_format)
    if fields and grammar is not None:
        raise _conflict(fields[0], "cannot be combined with 'response_format' (give one of them)")
    if (fields or grammar is not None) and tools is not None and tools.rendered:
        param = fields[0] if fields else "response_format"
        raise _conflict(param, 'cannot be combined with tools (unless tool_choice is "none")')
    if not fields:
        return grammar
    if fields[0] == "json_schema":
        if not isinstance(r.json_schema, dict):
            raise _bad("json_schema", "must be a JSON schema (an object)")
        return _built("json_schema", "json_schema", r.json_schema)
    return _built("grammar", "gbnf", r.grammar)
