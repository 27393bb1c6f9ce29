"""Run schedules: agents that run on a clock (platform.md, "Schedules").

- ``cadence``: cron and interval arithmetic (the one home of time zones and DST);
- ``model``: a stored schedule's meaning (next fire, wire shape, fire ids);
- ``edits``: request bodies and the edits they make, recomputed inside the row's lock;
- ``loop``: the scheduler every server process runs (claims, leases, retries);
- ``fire``: what one fire does, through the JSON-RPC dispatch (``rpc.dispatch.invoke``);
- ``metrics``: what ``/metrics`` shows of it.

Storage is ``store.schedules`` and ``store.fires``; the routes are ``api.schedules``.
"""
