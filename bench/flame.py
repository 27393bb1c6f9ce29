"""``--profile``: a py-spy flame graph of the server process during each load phase.

py-spy samples the running server from outside (no instrumentation, so the figures of a
profiled run stay close to an unprofiled one); it is not a dependency of agentkeep:
``pip install py-spy``. Sampling another process needs ptrace rights (root, or
``kernel.yama.ptrace_scope`` at 0).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

#: Phases worth a flame graph: the server under steady load from wrk.
PROFILED = frozenset({"health", "create", "get", "trans"})


class PySpyMissing(RuntimeError):
    pass


def require() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise PySpyMissing("--profile needs py-spy: pip install py-spy")
    return found


@contextlib.contextmanager
def recording(pid: int, svg: Path, seconds: float) -> Iterator[None]:
    """Sample ``pid`` for ``seconds`` into ``svg`` while the block runs the load."""
    svg.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            require(),
            "record",
            "--pid",
            str(pid),
            "--output",
            str(svg),
            "--format",
            "flamegraph",
            "--duration",
            str(max(1, int(seconds))),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield
    finally:
        _, err = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
