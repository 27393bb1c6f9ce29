"""A tiny object store over real HTTPS on loopback, standing in for S3 presigned URLs.

The certificate comes from a throwaway CA made by ``trustme``; tests point OpenSSL at
that CA with ``SSL_CERT_FILE``, the way an operator adds a private CA.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import free_port


@dataclass
class ObjectStore:
    url: str = ""
    ca_file: Path = Path()
    objects: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)

    async def _object(self, request: Request) -> Response:
        key = request.path_params["key"]
        if key.startswith("fail"):
            return Response("storage is down", status_code=500)
        if key.startswith("redirect"):
            return RedirectResponse("https://127.0.0.1:9/elsewhere", status_code=302)
        if request.method == "PUT":
            self.objects[key] = await request.body()
            self.content_types[key] = request.headers.get("content-type", "")
            return Response(status_code=200)
        if key not in self.objects:
            return Response("NoSuchKey", status_code=404)
        return Response(self.objects[key], media_type="application/json")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bucket/{key}", self._object, methods=["GET", "PUT"])])


@contextlib.asynccontextmanager
async def object_store(tmp: Path) -> AsyncIterator[ObjectStore]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    store = ObjectStore(ca_file=tmp / "ca.pem")
    ca.cert_pem.write_to_path(str(store.ca_file))
    key_file = tmp / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(key_file))
    port = free_port()
    config = uvicorn.Config(
        store.app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(key_file),
        ssl_keyfile=str(key_file),
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn has no "listening" event: poll its flag
        if serving.done():
            await serving
            raise RuntimeError("object store exited before it started")
        await asyncio.sleep(0.01)
    store.url = f"https://127.0.0.1:{port}/bucket"
    try:
        yield store
    finally:
        server.should_exit = True
        await serving
