"""The FastAPI application: OpenAI's request and response shapes over trit.Engine, put together from
settings.py (what it runs with), loader.py (the model, loaded in the background), routes.py (the
endpoints; the requests and answers are trit.openai_api's, shared with Model.create_chat_completion),
streaming.py (SSE), errors.py (the status → HTTP table), metrics.py and guard.py (key, body size,
request counts)."""
import contextlib
import os

from fastapi import FastAPI

import trit

from .embeddings import add_embedding_routes
from .errors import ApiError, from_trit_error
from .guard import Guard
from .loader import Loader
from .metrics import Metrics
from .routes import add_routes
from .settings import ServerSettings

__all__ = ["create_app", "ServerSettings"]


def create_app(settings: ServerSettings = None):
    settings = settings or ServerSettings()
    loader = Loader(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loader.start()   # uvicorn: load the model once the server runs
        yield

    app = FastAPI(title="trit", version=trit.__version__, lifespan=lifespan)
    metrics = Metrics()
    alias = settings.alias or os.path.basename(os.path.normpath(settings.model or "trit-bundled-i2_s.gguf"))

    if settings.cors:
        from fastapi.middleware.cors import CORSMiddleware
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors, allow_methods=["*"], allow_headers=["*"])
    app.add_middleware(Guard, server=app, settings=settings, metrics=metrics)

    @app.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        return e.response()

    @app.exception_handler(trit.TritError)
    async def trit_error(request, e: trit.TritError):
        return from_trit_error(e).response()

    add_routes(app, settings, loader, metrics, alias)
    add_embedding_routes(app, settings, loader, alias)
    app.state.loader = loader
    app.state.start = loader.start
    app.state.wait_loaded = loader.wait
    return app
