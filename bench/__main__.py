"""``python -m bench [--quick] [--phases …] [--backends sqlite,postgres] [--out DIR]``."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bench import flame, floor, latency, report, scale, servers, wrk

ALL_PHASES = ("health", "create", "get", "trans", "floor", "sse", "fanout", "scale")
console = Console(stderr=True)
app = typer.Typer(add_completion=False, help=__doc__)


def _phase(
    name: str, srv: servers.Server, b: servers.Backend, agent: str, opts: dict[str, Any]
) -> Any:
    duration, conns = opts["duration"], opts["connections"]
    if name == "health":
        paths = wrk.paths_file(["/healthz"])
        return wrk.run(
            srv.url, "get", duration=duration, connections=conns, env={"PATHS_FILE": paths}
        ).as_dict()
    if name == "create":
        return wrk.run(
            srv.url,
            "create",
            duration=duration,
            connections=conns,
            env={"RPC_PATH": f"/agents/name/{agent}/rpc"},
        ).as_dict()
    if name == "get":
        ids = servers.create_tasks(srv, agent, opts["pool"])
        paths = wrk.paths_file([f"/tasks/{i}" for i in ids])
        return wrk.run(
            srv.url, "get", duration=duration, connections=conns, env={"PATHS_FILE": paths}
        ).as_dict()
    if name == "trans":
        return wrk.run(
            srv.url,
            "trans",
            duration=duration,
            connections=conns,
            pairs=True,
            env={"RPC_PATH": f"/agents/name/{agent}/rpc"},
        ).as_dict()
    if name == "floor":
        if b.name == "postgres":
            rate = asyncio.run(floor.postgres(b.asyncpg_dsn, duration, workers=conns))
        else:
            rate = floor.sqlite(Path(tempfile.mkdtemp()) / "floor.db", duration)
        return {"rps": round(rate, 1)}
    if name == "sse":
        return latency.frame_latency(srv, agent, opts["rounds"])
    if name == "fanout":
        return [_fanout(srv, agent, n) for n in opts["viewers"]]
    if name == "scale":
        levels = opts["levels"][b.name]
        return scale.measure(srv, b, levels, duration=max(1.0, duration / 2))
    raise typer.BadParameter(f"unknown phase {name}")


def _fanout(srv: servers.Server, agent: str, viewers: int) -> dict[str, Any]:
    before = srv.connections_to(6379)
    row = latency.fanout(srv, agent, viewers)
    row["redis_connections"] = srv.connections_to(6379)
    row["redis_connections_before"] = before
    return row


def _run_backend(
    name: str, phases: list[str], opts: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with servers.backend(name, workdir) as b:
        # A viewer cap above the fan-out size: the phase measures delivery, not refusal.
        env = {"AGENTKEEP_MAX_VIEWERS": str(max(opts["viewers"]) * 2)}
        with servers.server(b, env) as srv:
            agent = servers.register_agent(srv)
            for phase in phases:
                with console.status(f"{name}: {phase} …"), _profiled(name, phase, srv, opts):
                    results[phase] = _phase(phase, srv, b, agent, opts)
                console.print(f"{name}: {phase} done")
            if "scale" in phases:
                results["explain"] = scale.explain(b)
    return results


def _profiled(
    backend: str, phase: str, srv: servers.Server, opts: dict[str, Any]
) -> contextlib.AbstractContextManager[None]:
    if not opts["profile"] or phase not in flame.PROFILED:
        return contextlib.nullcontext()
    svg = opts["out"] / f"flame-{backend}-{phase}.svg"
    return flame.recording(srv.proc.pid, svg, opts["duration"])


@app.command()
def main(
    quick: Annotated[
        bool, typer.Option(help="A few seconds per phase (CI: proves the harness).")
    ] = False,
    phases: Annotated[str, typer.Option(help="Comma-separated phases.")] = ",".join(ALL_PHASES),
    backends: Annotated[str, typer.Option(help="sqlite,postgres")] = "sqlite,postgres",
    duration: Annotated[float, typer.Option(help="Seconds per load phase.")] = 10.0,
    connections: Annotated[int, typer.Option(help="wrk connections.")] = 32,
    out: Annotated[Path, typer.Option(help="Where bench.md/json/png go.")] = Path("bench/out"),
    profile: Annotated[
        bool, typer.Option(help="A py-spy flame graph of the server per load phase.")
    ] = False,
) -> None:
    """Run the phases on each backend and write the table, JSON and plot."""
    try:
        wrk.require_wrk()
        if profile:
            flame.require()
    except (wrk.WrkMissing, flame.PySpyMissing) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    chosen = [p.strip() for p in phases.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(ALL_PHASES))
    if unknown:
        console.print(f"[red]error:[/red] unknown phases {unknown}; known: {', '.join(ALL_PHASES)}")
        raise typer.Exit(2)
    opts: dict[str, Any] = {
        "duration": 2.0 if quick else duration,
        "profile": profile,
        "out": out,
        "connections": connections,
        "pool": 200 if quick else 1000,
        "rounds": 20 if quick else 200,
        "viewers": [100] if quick else [1000, 5000],
        "levels": {
            "sqlite": [1000] if quick else [1000, 100_000],
            "postgres": [1000] if quick else [1000, 100_000, 1_000_000],
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="agentkeep-bench-"))
    results = {
        name: _run_backend(name, chosen, opts, workdir)
        for name in (b.strip() for b in backends.split(","))
        if name
    }
    meta = report.machine()
    files = report.write(out, results, meta)
    print(report.markdown(results, meta))
    console.print("wrote " + ", ".join(str(f) for f in files))


if __name__ == "__main__":
    app()
