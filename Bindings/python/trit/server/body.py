"""Reading a request body as the endpoints expect it: at most max_body bytes of UTF-8 JSON, an
object, no lone surrogate, and a `model` that names this server's model (a 400 / 404 / 413 naming
what is wrong otherwise)."""
import json

from .errors import ApiError, type_error
from ..openai_api.schemas import lone_surrogate


async def read_json(request, max_body, alias):
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise ApiError(413, f"the request body is larger than {max_body} bytes", code="body_too_large")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not valid UTF-8", code="invalid_json")
    except (ValueError, RecursionError) as e:   # JSONDecodeError, an int of too many digits, deep nesting
        raise ApiError(400, f"the request body is not valid JSON: {e}", code="invalid_json")
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalid_json")
    bad = lone_surrogate(data)
    if bad is not None:
        raise ApiError(400, f"'{bad}' is not valid Unicode: it holds a lone surrogate escape (such as \\ud800)",
                       param=bad, code="invalid_value")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise type_error("model", "a string")
    if model not in (None, alias):
        raise ApiError(404, f"the model '{model}' does not exist (this server has '{alias}')", param="model",
                       code="model_not_found")
    return data
