"""LangGraph checkpoints: the three tables behind agentex-sdk's HTTP checkpointer.

Each operation is one transaction. Bytes arrive decoded (the API turns base64 into
``bytes``); ids compare bytewise (see ``tables``), so "latest" is the greatest id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import orjson
from sqlalchemy import delete, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep.store import jsonmatch
from agentkeep.store.rows import (
    CheckpointBlobRow,
    CheckpointRow,
    CheckpointTupleRow,
    CheckpointWriteRow,
    row_as,
)
from agentkeep.store.snapshot import snapshot
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import checkpoint_blobs, checkpoint_writes, checkpoints

CHECKPOINT_FIELDS: Final = (
    "thread_id",
    "checkpoint_ns",
    "checkpoint_id",
    "parent_checkpoint_id",
    "checkpoint",
    "metadata",
)


@dataclass(frozen=True, slots=True)
class CheckpointQuery:
    thread_id: str
    #: None: every namespace of the thread.
    checkpoint_ns: str | None = None
    before_checkpoint_id: str | None = None
    filter_metadata: dict[str, Any] | None = None
    limit: int = 100


class CheckpointsMixin(SqlBase):
    async def get_checkpoint_tuple(
        self, thread_id: str, checkpoint_ns: str, checkpoint_id: str | None
    ) -> CheckpointTupleRow | None:
        """The checkpoint (the latest when no id) with its blobs and pending writes."""
        stmt = select(checkpoints).where(
            checkpoints.c.thread_id == thread_id, checkpoints.c.checkpoint_ns == checkpoint_ns
        )
        if checkpoint_id is None:
            stmt = stmt.order_by(checkpoints.c.checkpoint_id.desc()).limit(1)
        else:
            stmt = stmt.where(checkpoints.c.checkpoint_id == checkpoint_id)
        async with snapshot(self) as conn:
            found = (await conn.execute(stmt)).first()
            if found is None:
                return None
            # Completed below: blobs and pending writes are read next, in the same snapshot.
            row = row_as(CheckpointTupleRow, found)
            row["blobs"] = await _blobs(conn, row)
            writes = await conn.execute(
                select(checkpoint_writes)
                .where(
                    checkpoint_writes.c.thread_id == thread_id,
                    checkpoint_writes.c.checkpoint_ns == checkpoint_ns,
                    checkpoint_writes.c.checkpoint_id == row["checkpoint_id"],
                )
                .order_by(checkpoint_writes.c.task_id, checkpoint_writes.c.idx)
            )
            row["pending_writes"] = [row_as(CheckpointWriteRow, w) for w in writes]
        return row

    async def put_checkpoint(self, values: dict[str, Any], blobs: Sequence[dict[str, Any]]) -> None:
        """Blobs inserted when absent; the checkpoint upserted (its parent kept)."""
        key = {k: values[k] for k in ("thread_id", "checkpoint_ns")}
        async with self.write() as conn:
            if blobs:
                await conn.execute(
                    self.insert(checkpoint_blobs)
                    .values([{**key, **b} for b in blobs])
                    .on_conflict_do_nothing()
                )
            ins = self.insert(checkpoints).values(values)
            await conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["thread_id", "checkpoint_ns", "checkpoint_id"],
                    set_={"checkpoint": ins.excluded.checkpoint, "metadata": ins.excluded.metadata},
                )
            )

    async def put_checkpoint_writes(
        self, key: dict[str, Any], writes: Sequence[dict[str, Any]], *, upsert: bool
    ) -> None:
        """Store a step's writes; on a key conflict ``upsert`` replaces, else keeps."""
        if not writes:
            return
        ins = self.insert(checkpoint_writes).values([{**key, **w} for w in writes])
        pk = ["thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"]
        stmt = (
            ins.on_conflict_do_update(
                index_elements=pk,
                set_={
                    "channel": ins.excluded.channel,
                    "type": ins.excluded.type,
                    "blob": ins.excluded.blob,
                },
            )
            if upsert
            else ins.on_conflict_do_nothing()
        )
        async with self.write() as conn:
            await conn.execute(stmt)

    async def list_checkpoints(self, q: CheckpointQuery) -> list[CheckpointRow]:
        """Greatest id first; the metadata filter applies before the limit."""
        stmt = select(*(checkpoints.c[f] for f in CHECKPOINT_FIELDS)).where(
            checkpoints.c.thread_id == q.thread_id
        )
        if q.checkpoint_ns is not None:
            stmt = stmt.where(checkpoints.c.checkpoint_ns == q.checkpoint_ns)
        if q.before_checkpoint_id is not None:
            stmt = stmt.where(checkpoints.c.checkpoint_id < q.before_checkpoint_id)
        if q.filter_metadata:
            stmt = stmt.where(self._metadata_contains(q.filter_metadata))
        stmt = stmt.order_by(checkpoints.c.checkpoint_id.desc(), checkpoints.c.checkpoint_ns)
        async with self.read() as conn:
            rows = await conn.execute(stmt.limit(q.limit))
            # Plain str keys: result keys are SQLAlchemy quoted_name objects.
            return [
                cast(CheckpointRow, {f: r._mapping[f] for f in CHECKPOINT_FIELDS}) for r in rows
            ]

    def _metadata_contains(self, flt: dict[str, Any]) -> Any:
        if self.dialect == "postgresql":
            return checkpoints.c.metadata.op("@>")(literal(flt, JSONB))
        fn = getattr(func, jsonmatch.SQLITE_FUNCTION)
        return fn(checkpoints.c.metadata, orjson.dumps(flt).decode()) == 1

    async def delete_checkpoint_thread(self, thread_id: str) -> int:
        """Delete a thread's writes, blobs and checkpoints, every namespace; one transaction."""
        async with self.write() as conn:
            return await delete_thread_rows(conn, thread_id)


async def delete_thread_rows(conn: AsyncConnection, thread_id: str) -> int:
    """Delete a thread's checkpoint rows inside ``conn``'s transaction; count checkpoints."""
    for table in (checkpoint_writes, checkpoint_blobs):
        await conn.execute(delete(table).where(table.c.thread_id == thread_id))
    gone = await conn.execute(
        delete(checkpoints)
        .where(checkpoints.c.thread_id == thread_id)
        .returning(checkpoints.c.checkpoint_id)
    )
    return len(gone.all())


async def _blobs(conn: AsyncConnection, row: CheckpointRow) -> list[CheckpointBlobRow]:
    """The blobs named by the checkpoint's ``channel_versions`` (versions as strings)."""
    versions = row["checkpoint"].get("channel_versions") or {}
    if not isinstance(versions, dict) or not versions:
        return []
    wanted = [(str(channel), str(version)) for channel, version in versions.items()]
    result = await conn.execute(
        select(checkpoint_blobs)
        .where(
            checkpoint_blobs.c.thread_id == row["thread_id"],
            checkpoint_blobs.c.checkpoint_ns == row["checkpoint_ns"],
            tuple_(checkpoint_blobs.c.channel, checkpoint_blobs.c.version).in_(wanted),
        )
        .order_by(checkpoint_blobs.c.channel, checkpoint_blobs.c.version)
    )
    return [row_as(CheckpointBlobRow, b) for b in result]
