"""Scale-out on Ray Serve: a local Ray instance (2 CPUs) with 2 replicas of the bundled model;
8 concurrent chat requests through the openai client all succeed and both replicas serve some."""
import asyncio
import os

import openai
import pytest
import trit

import ray  # the [ray] extra (make python installs it); missing is a failure, not a skip
from ray import serve  # noqa: E402

from server_process import free_port
from conftest import FIX  # noqa: E402
from trit.server import ServerSettings  # noqa: E402
from trit.server.ray import deployment  # noqa: E402




def test_two_replicas_share_the_requests():
    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        bundled = os.path.join(os.path.dirname(os.path.dirname(FIX)), "Models", "trit-bundled-i2_s.gguf")
        s = ServerSettings(model=bundled, parallel=4, n_ctx=128, threads=1, alias="bundled")
        serve.run(deployment(s, num_replicas=2, num_cpus=1), name="trit", route_prefix="/")
        base = f"http://127.0.0.1:{port}"

        async def main():
            c = openai.AsyncOpenAI(base_url=base + "/v1", api_key="none", max_retries=10, timeout=120)

            async def one(i):
                raw = await c.chat.completions.with_raw_response.create(
                    model="bundled", messages=[{"role": "user", "content": f"Tell me of the sea {i}"}], max_tokens=24,
                    temperature=0)
                return raw.headers["x-trit-replica"], raw.parse().choices[0].message.content
            # 8 concurrent requests, a few times over: the router spreads them over both replicas
            seen = set()
            for _ in range(4):
                got = await asyncio.wait_for(asyncio.gather(*[one(i) for i in range(8)]), 300)
                assert len(got) == 8 and all(isinstance(t, str) and t for _, t in got)
                seen |= {r for r, _ in got}
                if len(seen) >= 2:
                    break
            return seen
        replicas = asyncio.run(main())
        assert len(replicas) == 2, replicas
    finally:
        serve.shutdown()
        ray.shutdown()
