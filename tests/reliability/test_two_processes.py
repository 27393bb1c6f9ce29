"""Two server processes on one database and Redis race transitions, and their sweepers
race the deadline, on one task per round: exactly one winner per round."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.reliability.kit import Server, create_task, register_agent
from tests.reliability.services import PrivateRedis, wait_for

pytestmark = pytest.mark.timeout(300)

ROUNDS = 5
#: Clients per round, split between the two processes.
RACERS = 16
VERBS = ("complete", "fail", "cancel", "terminate")
TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


def test_two_processes_race_transitions_and_sweepers(
    pg_url: str, redis_srv: PrivateRedis, servers: list[Server], tmp_path: Path
) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": pg_url,
        "AGENTKEEP_REDIS_URL": redis_srv.url,
        "AGENTKEEP_SWEEP_INTERVAL_SECONDS": "0.05",
    }
    pair = [Server(env, tmp_path / f"server{i}.log") for i in range(2)]
    servers.extend(pair)
    for server in pair:
        server.start()
    clients = [httpx.Client(base_url=s.url, timeout=30) for s in pair]
    try:
        agent = register_agent(clients[0], "race")
        for _ in range(ROUNDS):
            # The deadline falls while the transitions are in flight: sweepers race too.
            task_id = create_task(clients[0], agent["id"], timeout_seconds=0.3)["id"]

            def race(n: int, task_id: str = task_id) -> int:
                http = clients[n % 2]
                return http.post(f"/tasks/{task_id}/{VERBS[n % len(VERBS)]}").status_code

            with ThreadPoolExecutor(RACERS) as pool:
                codes = list(pool.map(race, range(RACERS)))
            wait_for(
                lambda task_id=task_id: (
                    clients[1].get(f"/tasks/{task_id}").json()["status"] in TERMINAL
                ),
                30,
                "the round to end",
            )
            history = clients[1].get(f"/tasks/{task_id}/history").json()
            ends = [h for h in history if h["to_status"] in TERMINAL]
            swept = ends[0]["actor"] == "system:deadline" if ends else False
            assert set(codes) <= {200, 400}
            assert len(ends) == 1
            assert codes.count(200) + swept == 1
    finally:
        for c in clients:
            c.close()
