"""OpenAI's response_format as a trit.Grammar: {"type": "text"} (no constraint), {"type":
"json_object"} (any JSON object) and {"type": "json_schema", "json_schema": {"name", "schema",
"strict", "description"}}. Anything else is a 400 naming the field."""
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
    try:
        from ..structured import Grammar
        return Grammar.json_schema(schema)
    except ImportError as e:
        raise ApiError(400, f"'{where}': structured output is not installed on this server ({e})", param=where,
                       code="unsupported_parameter")
    except ValueError as e:
        raise _bad(where, f"is not a usable JSON schema: {e}")
