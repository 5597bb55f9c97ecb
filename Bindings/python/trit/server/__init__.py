"""An OpenAI-compatible HTTP server on trit's continuous-batching engine.

    pip install "./Bindings/python[server]"
    python -m trit.server --model Models/trit-bundled-i2_s.gguf --port 8080

Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (streamed as SSE with
"stream": true), POST /v1/embeddings, GET /health (503 while the model loads), GET /metrics (Prometheus). Errors have
OpenAI's shape {"error": {"message", "type", "param", "code"}}; a request field the server does not
implement (tools, response_format other than text, grammar, ...) is a 400 naming it, never ignored.
`python -m trit.server` exits non-zero when the model cannot be loaded."""
from .app import create_app, ServerSettings

__all__ = ["create_app", "ServerSettings"]
