"""The endpoints: GET /health, /metrics, /v1/models; POST /v1/completions, /v1/chat/completions, and
llama.cpp's /apply-template (the prompt a chat request renders to). Each request is read once, made
ready by trit.openai_api.requests (checked, tokenized once; the code Model.create_chat_completion
shares) and run on the engine (streaming.py)."""
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from . import body, streaming
from ..openai_api.local import template_prompt
from ..openai_api.requests import prepare_chat, prepare_completion


def add_routes(app: FastAPI, settings, loader, metrics, alias):
    """Adds the endpoints to the app (directly: their paths are the /metrics labels)."""

    async def read_json(request):
        return await body.read_json(request, settings.max_body, alias)

    @app.get("/health")
    async def health():
        if loader.error:
            return JSONResponse({"status": "error", "error": loader.error}, status_code=500)
        if loader.engine is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus():
        text, media_type = metrics.exposition(loader.engine.stats() if loader.engine is not None else None)
        return Response(text, media_type=media_type)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": alias, "object": "model", "created": 0, "owned_by": "trit"}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        b = await read_json(request)
        eng = loader.ready()
        p = prepare_completion(loader.model, b, loader.n_ctx_slot, alias)
        return await streaming.run(eng, p, loader.n_ctx_slot, metrics, request)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        b = await read_json(request)
        eng = loader.ready()
        p = prepare_chat(loader.model, b, loader.n_ctx_slot, alias)
        return await streaming.run(eng, p, loader.n_ctx_slot, metrics, request)

    @app.post("/apply-template")
    async def apply_template(request: Request):
        """llama.cpp's: {"prompt": the text a chat request with these messages (and tools,
        chat_template_kwargs) is rendered to}, without running it."""
        b = await read_json(request)
        loader.ready()
        fields = {k: b.pop(k) for k in ("tools", "chat_template_kwargs", "model") if k in b}
        messages = b.pop("messages", None)
        if b:
            from ..openai_api.errors import ApiError
            key = sorted(b)[0]
            raise ApiError(400, f"'{key}' is not a field of /apply-template (messages, tools, chat_template_kwargs)",
                           param=key, code="unknown_parameter")
        kwargs = fields.get("chat_template_kwargs") or {}
        if not isinstance(kwargs, dict):
            from ..openai_api.errors import ApiError
            raise ApiError(400, "'chat_template_kwargs' must be an object", param="chat_template_kwargs",
                           code="invalid_type")
        return {"prompt": template_prompt(loader.model, messages, fields.get("tools"), True, kwargs)}
