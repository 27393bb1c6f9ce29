"""The run's outputs: a Markdown table (printed), JSON, and a PNG plot."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each target of the benchmark issue as a ratio of two figures from this run."""
    out: dict[str, float] = {}

    def rps(backend: str, phase: str) -> float | None:
        value = results.get(backend, {}).get(phase)
        return value.get("rps") if isinstance(value, dict) else None

    for phase in ("create", "get", "trans"):
        lite, pg = rps("sqlite", phase), rps("postgres", phase)
        if lite and pg:
            out[f"sqlite/postgres {phase}"] = lite / pg
    for backend in results:
        trans, floor, get, health = (rps(backend, p) for p in ("trans", "floor", "get", "health"))
        if trans and floor:
            out[f"{backend} trans/floor"] = trans / floor
        if get and health:
            out[f"{backend} get/health"] = get / health
    return {k: round(v, 3) for k, v in out.items()}


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Machine: {meta['cores']} cores, load average {meta['load_average']}, "
        f"{meta['platform']}, Python {meta['python']}",
        "",
        "| backend | phase | rate (/s) | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for backend, phases in results.items():
        for phase, value in phases.items():
            if phase in ("scale", "fanout", "explain") or not isinstance(value, dict):
                continue
            lines.append(
                f"| {backend} | {phase} | {_fmt(value.get('rps'))} | {_fmt(value.get('p50_ms'))}"
                f" | {_fmt(value.get('p99_ms'))} | {value.get('errors', '')} |"
            )
    for backend, phases in results.items():
        for row in phases.get("fanout", []):
            lines.append(
                f"| {backend} | fanout {row['viewers']} viewers | delivered {row['delivered']}"
                f" | {_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | RSS {row['server_rss_mb']:.0f}"
                f" MB, {row['server_open_files']} fds, {row.get('redis_connections', '-')} redis |"
            )
        for row in phases.get("scale", []):
            for q in ("get", "list", "filtered"):
                v = row[q]
                lines.append(
                    f"| {backend} | scale {row['tasks']:,} {q} | {_fmt(v['rps'])} |"
                    f" {_fmt(v['p50_ms'])} | {_fmt(v['p99_ms'])} | {v['errors']} |"
                )
    lines += ["", "| ratio (same run) | value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in ratios(results).items()]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"
    return "" if value is None else str(value)


def write(out: Path, results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(results, meta)
    (out / "bench.md").write_text(table + "\n")
    payload = {"machine": meta, "results": results, "ratios": ratios(results)}
    (out / "bench.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    written = [out / "bench.md", out / "bench.json"]
    png = _plot(out / "bench.png", results, meta)
    return written + ([png] if png else [])


def _plot(path: Path, results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = ["health", "create", "get", "trans", "floor"]
    backends = list(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(1, len(backends))
    for i, backend in enumerate(backends):
        rates = [results[backend].get(p, {}).get("rps") or 0 for p in phases]
        left.bar([x + i * width for x in range(len(phases))], rates, width, label=backend)
        lat = [p for p in ("create", "get", "trans", "sse") if p in results[backend]]
        p50 = [results[backend][p].get("p50_ms") or 0 for p in lat]
        p99 = [results[backend][p].get("p99_ms") or 0 for p in lat]
        xs = [x + i * width for x in range(len(lat))]
        right.bar(xs, p99, width, label=f"{backend} p99", alpha=0.5)
        right.bar(xs, p50, width, label=f"{backend} p50")
        right.set_xticks([x + width * (len(backends) - 1) / 2 for x in range(len(lat))], lat)
    left.set_xticks([x + width * (len(backends) - 1) / 2 for x in range(len(phases))], phases)
    left.set_ylabel("requests (pairs for trans) per second")
    left.set_yscale("log")
    right.set_ylabel("latency, ms")
    left.legend()
    right.legend()
    fig.suptitle(f"agentkeep bench — {meta['cores']} cores, load {meta['load_average'][0]}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
