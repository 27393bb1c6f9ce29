"""LangGraph checkpoint routes through the official ``agentex-client`` (0.28.4) against a
live ``agentkeep serve`` process, on every database."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import agentex
import httpx
import pytest

from tests.conftest import ServerProcess


@pytest.fixture
def client(server: ServerProcess) -> Iterator[agentex.Agentex]:
    with agentex.Agentex(base_url=server.url, max_retries=0, timeout=30) as c:
        yield c


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def checkpoint(cid: str, **versions: str) -> dict[str, Any]:
    return {"v": 4, "id": cid, "channel_values": {"n": 1}, "channel_versions": versions}


def put_two_checkpoints(client: agentex.Agentex) -> str:
    """A new thread with two checkpoints (the second with pending writes)."""
    thread = str(uuid.uuid4())
    blobs = [
        {"channel": "messages", "version": "1", "type": "msgpack", "blob": b64(b"\x00one")},
        {"channel": "messages", "version": "2", "type": "msgpack", "blob": b64(b"\xfftwo")},
        {"channel": "empty", "version": "1", "type": "empty", "blob": None},
    ]
    put = client.checkpoints.put(
        thread_id=thread,
        checkpoint_id="0001",
        checkpoint=checkpoint("0001", messages="1", empty="1"),
        metadata={"step": 1, "source": "input"},
        blobs=blobs,
    )
    assert (put.thread_id, put.checkpoint_ns, put.checkpoint_id) == (thread, "", "0001")
    client.checkpoints.put(
        thread_id=thread,
        checkpoint_id="0002",
        parent_checkpoint_id="0001",
        checkpoint=checkpoint("0002", messages="2"),
        metadata={"step": 2, "source": "loop", "tags": ["a", "b"]},
    )
    writes = [
        {"task_id": "t2", "idx": 0, "channel": "c", "type": "msgpack", "blob": b64(b"w")},
        {"task_id": "t1", "idx": 1, "channel": "c", "type": None, "blob": b64(b"")},
        {"task_id": "t1", "idx": 0, "channel": "c", "type": "msgpack", "blob": b64(b"v")},
    ]
    assert (
        client.checkpoints.put_writes(thread_id=thread, checkpoint_id="0002", writes=writes) is None
    )
    return thread


def assert_get_tuple(client: agentex.Agentex, thread: str) -> None:
    latest = client.checkpoints.get_tuple(thread_id=thread)
    assert latest is not None and latest.checkpoint_id == "0002"
    assert latest.parent_checkpoint_id == "0001" and latest.metadata["step"] == 2
    # Only the blob versions the checkpoint names, bytes intact.
    assert [(b.channel, b.version, base64.b64decode(b.blob or "")) for b in latest.blobs or []] == [
        ("messages", "2", b"\xfftwo")
    ]
    assert [(w.task_id, w.idx, w.type, w.blob) for w in latest.pending_writes or []] == [
        ("t1", 0, "msgpack", b64(b"v")),
        ("t1", 1, None, ""),
        ("t2", 0, "msgpack", b64(b"w")),
    ]
    first = client.checkpoints.get_tuple(thread_id=thread, checkpoint_id="0001")
    assert first is not None and first.parent_checkpoint_id is None
    assert {(b.channel, b.type, b.blob) for b in first.blobs or []} == {
        ("messages", "msgpack", b64(b"\x00one")),
        ("empty", "empty", None),
    }
    assert first.pending_writes == []


def assert_list(client: agentex.Agentex, thread: str) -> None:
    listed = client.checkpoints.list(thread_id=thread)
    assert [c.checkpoint_id for c in listed] == ["0002", "0001"]
    assert listed[0].model_dump().keys() == {
        "thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "checkpoint",
        "metadata",
    }  # fmt: skip
    assert [c.checkpoint_id for c in client.checkpoints.list(thread_id=thread, limit=1)] == ["0002"]
    before = client.checkpoints.list(thread_id=thread, before_checkpoint_id="0002")
    assert [c.checkpoint_id for c in before] == ["0001"]
    tagged = client.checkpoints.list(thread_id=thread, filter_metadata={"tags": ["b"]})
    assert [c.checkpoint_id for c in tagged] == ["0002"]
    # The filter applies before the limit.
    step1 = client.checkpoints.list(thread_id=thread, filter_metadata={"step": 1}, limit=1)
    assert [c.checkpoint_id for c in step1] == ["0001"]


def test_put_get_list_delete(client: agentex.Agentex) -> None:
    thread = put_two_checkpoints(client)
    assert_get_tuple(client, thread)
    assert_list(client, thread)
    assert client.checkpoints.delete_thread(thread_id=thread) is None
    assert client.checkpoints.get_tuple(thread_id=thread) is None
    assert client.checkpoints.list(thread_id=thread) == []


def test_namespaces_and_bytewise_order(client: agentex.Agentex) -> None:
    thread = str(uuid.uuid4())
    # Bytewise, "a" (0x61) > "B" (0x42) > "1" and "é" (0xC3…) is the greatest of all; a
    # locale collation would sort "B" after "a".
    for cid in ("a", "B", "1"):
        client.checkpoints.put(thread_id=thread, checkpoint_id=cid, checkpoint=checkpoint(cid))
    client.checkpoints.put(
        thread_id=thread, checkpoint_ns="child", checkpoint_id="é", checkpoint=checkpoint("é")
    )
    latest = client.checkpoints.get_tuple(thread_id=thread, checkpoint_ns="")
    assert latest is not None and latest.checkpoint_id == "a"
    root = client.checkpoints.list(thread_id=thread, checkpoint_ns="")
    assert [c.checkpoint_id for c in root] == ["a", "B", "1"]
    everywhere = client.checkpoints.list(thread_id=thread)  # checkpoint_ns omitted: all
    assert [(c.checkpoint_ns, c.checkpoint_id) for c in everywhere] == [
        ("child", "é"), ("", "a"), ("", "B"), ("", "1")
    ]  # fmt: skip
    child = client.checkpoints.get_tuple(thread_id=thread, checkpoint_ns="child")
    assert child is not None and child.checkpoint_id == "é"
    assert client.checkpoints.get_tuple(thread_id=thread, checkpoint_id="zzz") is None
    client.checkpoints.delete_thread(thread_id=thread)  # every namespace
    assert client.checkpoints.list(thread_id=thread) == []


def test_upserts(client: agentex.Agentex) -> None:
    thread = str(uuid.uuid4())
    blob = {"channel": "c", "version": "1", "type": "msgpack", "blob": b64(b"first")}
    client.checkpoints.put(
        thread_id=thread,
        checkpoint_id="1",
        parent_checkpoint_id="0",
        checkpoint=checkpoint("1", c="1"),
        metadata={"m": 1},
        blobs=[blob],
    )
    # Same checkpoint again: new checkpoint and metadata, parent kept; the blob keeps bytes.
    client.checkpoints.put(
        thread_id=thread,
        checkpoint_id="1",
        parent_checkpoint_id="other",
        checkpoint={**checkpoint("1", c="1"), "extra": True},
        metadata={"m": 2},
        blobs=[{**blob, "blob": b64(b"second")}],
    )
    got = client.checkpoints.get_tuple(thread_id=thread)
    assert got is not None and got.parent_checkpoint_id == "0" and got.metadata == {"m": 2}
    assert got.checkpoint["extra"] is True
    assert [b.blob for b in got.blobs or []] == [b64(b"first")]

    def write(data: bytes, channel: str = "c") -> list[Any]:
        return [{"task_id": "t", "idx": 0, "channel": channel, "type": "x", "blob": b64(data)}]

    client.checkpoints.put_writes(thread_id=thread, checkpoint_id="1", writes=write(b"one"))
    client.checkpoints.put_writes(
        thread_id=thread, checkpoint_id="1", writes=write(b"two", "d"), upsert=False
    )
    kept = client.checkpoints.get_tuple(thread_id=thread)
    assert kept is not None and [(w.channel, w.blob) for w in kept.pending_writes or []] == [
        ("c", b64(b"one"))
    ]
    client.checkpoints.put_writes(
        thread_id=thread, checkpoint_id="1", writes=write(b"three", "d"), upsert=True
    )
    replaced = client.checkpoints.get_tuple(thread_id=thread)
    assert replaced is not None
    assert [(w.channel, w.blob) for w in replaced.pending_writes or []] == [("d", b64(b"three"))]


def test_bad_input_is_422_and_changes_nothing(
    client: agentex.Agentex, server: ServerProcess
) -> None:
    thread = str(uuid.uuid4())
    client.checkpoints.put(thread_id=thread, checkpoint_id="1", checkpoint=checkpoint("1"))
    before = client.checkpoints.get_tuple(thread_id=thread)
    bad_blob = [{"channel": "c", "version": "1", "type": "x", "blob": "not base64!"}]
    with pytest.raises(agentex.UnprocessableEntityError) as bad:
        client.checkpoints.put(
            thread_id=thread, checkpoint_id="2", checkpoint=checkpoint("2"), blobs=bad_blob
        )
    assert bad.value.body["code"] == 422 and "base64" in bad.value.body["message"]
    bad_write = [{"task_id": "t", "idx": 0, "channel": "c", "blob": "@@@"}]
    with pytest.raises(agentex.UnprocessableEntityError):
        client.checkpoints.put_writes(thread_id=thread, checkpoint_id="1", writes=bad_write)
    with pytest.raises(agentex.UnprocessableEntityError):
        client.checkpoints.list(thread_id=thread, limit=1001)
    with pytest.raises(agentex.UnprocessableEntityError):
        client.checkpoints.list(thread_id=thread, limit=0)
    for route in ("get-tuple", "put", "put-writes", "list", "delete-thread"):
        # A missing thread_id (the SDK's alist(None) sends none) is 422 everywhere.
        r = httpx.post(f"{server.url}/checkpoints/{route}", json={}, timeout=10)
        assert r.status_code == 422 and r.json()["code"] == 422, (route, r.text)
    assert client.checkpoints.get_tuple(thread_id=thread) == before
    assert [c.checkpoint_id for c in client.checkpoints.list(thread_id=thread)] == ["1"]
