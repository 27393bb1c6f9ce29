"""A small LangGraph agent persisted through agentex-sdk's own checkpointer.

Run by the Python 3.12 virtualenv of ``.ci/sdk-venv`` (agentex-sdk needs 3.12), never
imported by pytest. ``AGENTEX_BASE_URL`` and ``AGENT_API_KEY`` point it at the server,
exactly as in a deployed SDK agent. It reads commands from stdin, one per line
(``run <thread_id>`` or ``read <thread_id>``), and answers each with one JSON line. Each
command builds a fresh saver (a new client, new connections): the process stays up only
because importing the SDK takes many seconds.
"""

from __future__ import annotations

import asyncio
import json
import operator
import sys
from typing import Annotated, Any, TypedDict

from agentex.lib.adk import create_checkpointer
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    count: int
    log: Annotated[list[str], operator.add]


def step(state: State) -> State:
    count = state.get("count", 0) + 1
    return {"count": count, "log": [f"step {count}"]}


def shout(state: State) -> State:
    return {"log": [state["log"][-1].upper()]}


def build(checkpointer: Any) -> Any:
    graph = StateGraph(State)
    graph.add_node("step", step)
    graph.add_node("shout", shout)
    graph.add_edge(START, "step")
    graph.add_edge("step", "shout")
    graph.add_edge("shout", END)
    return graph.compile(checkpointer=checkpointer)


async def main(mode: str, thread_id: str) -> dict[str, Any]:
    # A fresh saver on every run: nothing survives in this process between runs.
    saver = await create_checkpointer()
    graph = build(saver)
    config = {"configurable": {"thread_id": thread_id}}
    if mode == "run":
        return dict(await graph.ainvoke({"log": ["input"]}, config))
    state = await graph.aget_state(config)
    history = [t.config["configurable"]["checkpoint_id"] async for t in saver.alist(config)]
    return {"values": state.values, "next": list(state.next), "checkpoints": history}


if __name__ == "__main__":
    for line in sys.stdin:
        mode, thread_id = line.split()
        print(json.dumps(asyncio.run(main(mode, thread_id))), flush=True)
