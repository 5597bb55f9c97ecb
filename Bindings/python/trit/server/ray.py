"""trit.server on Ray Serve: the same FastAPI app, one trit engine per replica, requests spread
by Ray's router.

One machine:
    serve run trit.server.ray:app_builder model=Models/trit-bundled-i2_s.gguf num_replicas=2
A cluster: `ray start --head` on one machine, `ray start --address=HEAD:6379` on the others, then
`serve deploy Examples/ray_serve/serve_config.yaml` (autoscaling between min and max replicas).

Each replica loads the model once and serves with `threads` threads; give it as many CPUs."""
from ray import serve

from .app import create_app, ServerSettings


def deployment(settings: ServerSettings, num_replicas=1, num_cpus=1, autoscaling_config=None):
    """A bound Ray Serve application: `serve.run(deployment(...))`."""
    app = create_app(settings)
    opts = dict(ray_actor_options={"num_cpus": num_cpus}, max_ongoing_requests=max(8, settings.queue_limit))
    if autoscaling_config:
        opts["autoscaling_config"] = autoscaling_config
    else:
        opts["num_replicas"] = num_replicas

    @serve.deployment(**opts)
    @serve.ingress(app)
    class TritServer:
        def __init__(self):
            app.state.wait_loaded(600)   # each replica loads its own engine before it is routed to

    return TritServer.bind()


def app_builder(args: dict):
    """For `serve run trit.server.ray:app_builder key=value ...` and serve config files. Keys: model,
    num_replicas, num_cpus, threads, parallel, ctx_size, alias, api_key, queue_limit, min_replicas,
    max_replicas (the last two turn on autoscaling)."""
    s = ServerSettings(model=args.get("model"), api_key=args.get("api_key"), parallel=int(args.get("parallel", 4)),
                       n_ctx=int(args.get("ctx_size", 0)), threads=int(args.get("threads", 1)), alias=args.get("alias"),
                       queue_limit=int(args.get("queue_limit", 64)))
    auto = None
    if "min_replicas" in args or "max_replicas" in args:
        auto = {"min_replicas": int(args.get("min_replicas", 1)), "max_replicas": int(args.get("max_replicas", 2)),
                "target_ongoing_requests": int(args.get("target_ongoing_requests", 4))}
    return deployment(s, num_replicas=int(args.get("num_replicas", 1)), num_cpus=float(args.get("num_cpus", 1)),
                      autoscaling_config=auto)
