"""HTTP load phases driven by wrk (Debian package ``wrk``), one Lua script per phase."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).parent / "lua"


class WrkMissing(RuntimeError):
    pass


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu).")
    return path


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    rps: float  #: requests per second (for ``trans``: completed pairs per second)
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  #: socket errors plus non-2xx answers

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "errors": self.errors,
        }


def run(
    url: str,
    script: str,
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    env: dict[str, str] | None = None,
    pairs: bool = False,
) -> Load:
    """Run ``lua/<script>.lua`` against ``url``; ``pairs``: rate counts completed pairs."""
    cmd = [
        require_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / f"{script}.lua"),
        url,
    ]
    full_env = {**os.environ, "BENCH_LUA": str(LUA), **(env or {})}
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    data = json.loads(line.removeprefix("BENCHJSON "))
    seconds = data["duration_us"] / 1e6
    count = data["pairs"] if pairs else data["requests"]
    return Load(
        rps=count / seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=data["socket_errors"] + data["non2xx"],
    )


def paths_file(paths: list[str]) -> str:
    """Write the request paths a ``get`` run cycles through; return the file name."""
    fd, name = tempfile.mkstemp(prefix="agentkeep-bench-", suffix=".paths")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(paths) + "\n")
    return name
