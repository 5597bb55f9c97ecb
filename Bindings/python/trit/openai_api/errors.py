"""Errors in OpenAI's shape {"error": {"message", "type", "param", "code"}}: raised by the request
checks and the response code, answered by the server as JSON with the HTTP status, and raised as they
are by Model.create_chat_completion / create_completion (a ValueError)."""


def printable(text):
    """text that JSON can always encode: a lone surrogate becomes its escape."""
    return None if text is None else str(text).encode("utf-8", "backslashreplace").decode("utf-8")


class ApiError(ValueError):
    """An OpenAI-shaped error: HTTP status, message, type, param, code."""

    def __init__(self, status, message, type_="invalid_request_error", param=None, code=None, headers=None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_
        self.param, self.code, self.headers = param, code, headers

    def body(self):
        return {"error": {"message": printable(self.message), "type": self.type, "param": printable(self.param),
                          "code": self.code}}

    def response(self):
        """The server's answer (fastapi is the server extra's)."""
        from fastapi.responses import JSONResponse
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def context_length_error(n_ctx, n_prompt, n_completion):
    """OpenAI's answer to a request longer than the context."""
    return ApiError(400, f"This model's maximum context length is {n_ctx} tokens. However, you requested "
                         f"{n_prompt + n_completion} tokens ({n_prompt} in the prompt, {n_completion} in the "
                         f"completion). Please reduce the length of the prompt or completion.",
                    param="max_tokens", code="context_length_exceeded")
