"""``python -m bench``: agentkeep measured against baselines taken in the same run.

Real server processes on loopback (``agentkeep serve``), HTTP load from wrk (a Python
client saturates long before the server does and would measure itself), and a small Python
client only where single-event latency is measured. Every figure that matters is a ratio
to a baseline from the same run on the same machine: ``/healthz`` through the full stack
(the stack's ceiling), the raw storage floor (asyncpg / sqlite3 doing the same statements),
and the other backend.

Modules: ``servers`` (start, seed and stop servers), ``wrk`` (load phases), ``floor``
(storage floors), ``latency`` (task_updated frame latency and fan-out), ``scale`` (reads
as the table grows), ``report`` (Markdown, JSON, PNG).
"""
