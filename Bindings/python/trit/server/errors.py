"""Errors in OpenAI's shape {"error": {"message", "type", "param", "code"}}, and the one table
that turns a libtrit status into an HTTP answer."""
from fastapi.responses import JSONResponse

import trit
from trit import _trit

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


def printable(text):
    """text that JSON can always encode: a lone surrogate becomes its escape."""
    return None if text is None else str(text).encode("utf-8", "backslashreplace").decode("utf-8")


class ApiError(Exception):
    """An OpenAI-shaped error: HTTP status, message, type, param, code."""

    def __init__(self, status, message, type_="invalid_request_error", param=None, code=None, headers=None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_
        self.param, self.code, self.headers = param, code, headers

    def response(self):
        body = {"error": {"message": printable(self.message), "type": self.type, "param": printable(self.param),
                          "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def context_length_error(n_ctx, n_prompt, n_completion):
    """OpenAI's answer to a request longer than the context."""
    return ApiError(400, f"This model's maximum context length is {n_ctx} tokens. However, you requested "
                         f"{n_prompt + n_completion} tokens ({n_prompt} in the prompt, {n_completion} in the "
                         f"completion). Please reduce the length of the prompt or completion.",
                    param="max_tokens", code="context_length_exceeded")


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
