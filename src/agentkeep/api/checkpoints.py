"""LangGraph checkpoints: ``/checkpoints/{get-tuple,put,put-writes,list,delete-thread}``.

The storage behind agentex-sdk's ``HttpCheckpointSaver``. All POST with JSON bodies;
bytes travel as standard base64 and bad base64 is 422 [fix] (Agentex: 500). "None" is a
200 with body ``null``, never a 404: the SDK and the client read ``null`` as "no
checkpoint".

Authorization: ``thread_id`` is by convention a task id. An agent key (with API keys
configured) may only touch threads whose id is a task it reaches; any other thread
answers exactly like an unknown task, so a foreign agent learns nothing.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, BeforeValidator, Field

from agentkeep.api import platform_wire as pw
from agentkeep.api import responses
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.domain.limits import CheckedBody
from agentkeep.store.checkpoints import CHECKPOINT_FIELDS, CheckpointQuery
from agentkeep.store.rows import CheckpointTupleRow

router = APIRouter(prefix="/checkpoints", tags=["checkpoints"])


def _decode(value: object) -> bytes:
    if not isinstance(value, str):
        # ValueError, not TypeError: pydantic turns only the former into a 422 detail.
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("must be standard base64") from None


def _encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


#: Standard base64 on the wire, bytes once validated.
B64 = Annotated[bytes, BeforeValidator(_decode)]


class BlobIn(BaseModel):
    channel: str
    version: str
    type: str
    blob: B64 | None = None


class WriteIn(BaseModel):
    task_id: str
    idx: int
    channel: str
    type: str | None = None
    blob: B64
    task_path: str = ""


class GetTupleBody(CheckedBody):
    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None


class PutBody(CheckedBody):
    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str
    parent_checkpoint_id: str | None = None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)
    blobs: list[BlobIn] = Field(default_factory=list)


class PutWritesBody(CheckedBody):
    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str
    writes: list[WriteIn]
    upsert: bool = False


class ListBody(CheckedBody):
    thread_id: str
    checkpoint_ns: str | None = None
    before_checkpoint_id: str | None = None
    filter_metadata: dict[str, Any] | None = None
    limit: int = Field(100, ge=1, le=1000)


class DeleteThreadBody(CheckedBody):
    thread_id: str


def _tuple_wire(row: CheckpointTupleRow) -> dict[str, Any]:
    out: dict[str, Any] = {f: row[f] for f in CHECKPOINT_FIELDS}
    out["blobs"] = [
        {
            "channel": b["channel"],
            "version": b["version"],
            "type": b["type"],
            "blob": _encode(b["blob"]),
        }
        for b in row["blobs"]
    ]
    out["pending_writes"] = [
        {
            "task_id": w["task_id"],
            "idx": w["idx"],
            "channel": w["channel"],
            "type": w["type"],
            "blob": _encode(w["blob"]),
        }
        for w in row["pending_writes"]
    ]
    return out


@router.post("/get-tuple", response_model=pw.CheckpointTuple | None)
async def get_tuple(body: GetTupleBody, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.require(body.thread_id)
    row = await store.get_checkpoint_tuple(body.thread_id, body.checkpoint_ns, body.checkpoint_id)
    return responses.json(None if row is None else _tuple_wire(row))


@router.post("/put", response_model=pw.CheckpointKey)
async def put(body: PutBody, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.require(body.thread_id)
    key = {"thread_id": body.thread_id, "checkpoint_ns": body.checkpoint_ns}
    values = {
        **key,
        "checkpoint_id": body.checkpoint_id,
        "parent_checkpoint_id": body.parent_checkpoint_id,
        "checkpoint": body.checkpoint,
        "metadata": body.metadata,
    }
    # ``b.blob`` is already bytes: the validator decoded it.
    await store.put_checkpoint(values, [b.model_dump() for b in body.blobs])
    return responses.json({**key, "checkpoint_id": body.checkpoint_id})


@router.post("/put-writes", status_code=204)
async def put_writes(body: PutWritesBody, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.require(body.thread_id)
    key = {
        "thread_id": body.thread_id,
        "checkpoint_ns": body.checkpoint_ns,
        "checkpoint_id": body.checkpoint_id,
    }
    writes = [w.model_dump() for w in body.writes]
    await store.put_checkpoint_writes(key, writes, upsert=body.upsert)
    return Response(status_code=204)


@router.post("/list", response_model=list[pw.Checkpoint])
async def list_checkpoints(body: ListBody, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.require(body.thread_id)
    query = CheckpointQuery(
        thread_id=body.thread_id,
        checkpoint_ns=body.checkpoint_ns,
        before_checkpoint_id=body.before_checkpoint_id,
        filter_metadata=body.filter_metadata,
        limit=body.limit,
    )
    return responses.json(await store.list_checkpoints(query))


@router.post("/delete-thread", status_code=204)
async def delete_thread(body: DeleteThreadBody, store: StoreDep, access: TaskAccessDep) -> Response:
    await access.require(body.thread_id)
    await store.delete_checkpoint_thread(body.thread_id)
    return Response(status_code=204)
