"""The outbox relay: every server process moves committed ``task_updated`` rows to the bus.

At least once, in order per task. Two modes:

* **Fast** (normal): the lifecycle's after-commit hook hands the relay the committed row
  and its outbox row id (``on_commit``, no I/O); the relay loop publishes what is queued
  in outbox id order, then deletes the delivered rows in one statement, off the path of
  the change that is being announced. A viewer sees a transition about one bus round
  trip after its commit.
* **Backlog** (at startup, and after a publish failed): the database is the queue. The
  relay claims the oldest rows (``claim_outbox``), publishes them and deletes them, with
  backoff while the bus is away, until the outbox is empty; then it returns to fast mode.
  Changes committed meanwhile are left to these claims, so none overtakes an older one.

Every claimed row is checked against its task's stream tail first and only published if
its version is newer than the newest there: a row published by a process that died before
deleting it (kill -9), or whose publish had an unknown outcome, is not published again.
Each SSE connection still drops a version that is not newer than the last it sent.

A periodic poll picks up rows no live relay took (their process died before relaying, or
its bus failed). In fast mode it only claims rows older than ``grace_seconds``: younger
ones belong to the fast paths of live processes, and claiming them too would routinely
publish them twice. The fast path never overtakes such a row: a change that does not
follow the last version this process published waits while an older row of its task is
in the outbox (``_in_order``).
"""

from __future__ import annotations

from agentkeep.relay.base import Mode, Queued
from agentkeep.relay.loop import Relay

__all__ = ["Mode", "Queued", "Relay"]
