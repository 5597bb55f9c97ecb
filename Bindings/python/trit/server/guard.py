"""The ASGI layer in front of the routes: the API key and body-size checks, the replica header and
the request counter (plain ASGI: a BaseHTTPMiddleware would add a task and a copy per request)."""
import hmac
import os
import socket

from .errors import ApiError
from .metrics import route_template


class Guard:
    def __init__(self, app, server, settings, metrics):
        """app: the ASGI app inside; server: the FastAPI app (for its routes)."""
        self.inner, self.server, self.settings, self.metrics = app, server, settings, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        settings = self.settings
        status = [500]
        # computed here, in the serving process (a Ray Serve replica unpickles the app)
        replica = (settings.replica or f"{socket.gethostname()}:{os.getpid()}").encode()

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + [(b"x-trit-replica", replica)]
            await send(message)
        try:
            if scope["path"].startswith("/v1"):
                headers = dict(scope["headers"])
                if settings.api_key:
                    auth = headers.get(b"authorization", b"").decode("latin-1")
                    given = auth[7:] if auth.lower().startswith("bearer ") else ""
                    if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
                        raise ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)",
                                       type_="authentication_error", code="invalid_api_key")
                length = headers.get(b"content-length")
                if length is not None and (not length.isdigit() or int(length) > settings.max_body):
                    raise ApiError(413, f"the request body is larger than {settings.max_body} bytes",
                                   code="body_too_large")
            await self.inner(scope, receive, send_with_header)
        except ApiError as e:
            await e.response()(scope, receive, send_with_header)
        finally:
            self.metrics.count_request(route_template(self.server, scope["path"]), status[0])
