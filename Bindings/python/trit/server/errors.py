"""The one table that turns a libtrit status into an HTTP answer (ApiError, OpenAI's error shape, is
trit.openai_api.errors's)."""
import trit
from trit import _trit

from ..openai_api.errors import ApiError, context_length_error, printable  # noqa: F401 (re-exported)

# trit_status (trit.h) → (HTTP status, OpenAI error type, code). Every status has a row; a status
# this table does not know (a newer library) is a 500.
STATUS_HTTP = {
    _trit.ERR_ARG: (400, "invalid_request_error", "invalid_value"),
    _trit.ERR_IO: (500, "server_error", "io_error"),
    _trit.ERR_FORMAT: (400, "invalid_request_error", "invalid_value"),
    _trit.ERR_UNSUPPORTED: (400, "invalid_request_error", "unsupported"),
    _trit.ERR_OOM: (503, "server_error", "out_of_memory"),
    _trit.ERR_STATE: (503, "server_error", "unavailable"),          # e.g. the engine is shutting down
    _trit.ERR_CONTEXT_FULL: (400, "invalid_request_error", "context_length_exceeded"),
    _trit.ERR_CANCELLED: (503, "server_error", "cancelled"),
    _trit.ERR_BUFFER_TOO_SMALL: (500, "server_error", "internal_error"),   # a bug of the binding
    _trit.ERR_INTERNAL: (500, "server_error", "internal_error"),
    _trit.ERR_BUSY: (429, "rate_limit_error", "rate_limited"),
}
UNKNOWN_STATUS = (500, "server_error", "internal_error")
RETRY = {429, 503}   # answers that say Retry-After


def from_trit_error(e: trit.TritError, n_ctx=None, n_prompt=None, n_completion=None):
    """The HTTP answer to a libtrit error, by STATUS_HTTP; a full context gets OpenAI's message
    when the counts are known."""
    http, type_, code = STATUS_HTTP.get(e.status, UNKNOWN_STATUS)
    if e.status == _trit.ERR_CONTEXT_FULL and None not in (n_ctx, n_prompt, n_completion):
        return context_length_error(n_ctx, n_prompt, n_completion)
    message = e.message or e.status_name
    if http == 429:
        message = f"the server is busy: too many requests are waiting ({message})"
    return ApiError(http, message, type_=type_, code=code, headers={"Retry-After": "1"} if http in RETRY else None)


def type_error(param, want):
    return ApiError(400, f"'{param}' must be {want}", param=param, code="invalid_type")
