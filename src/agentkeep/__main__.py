"""``python -m agentkeep`` runs the CLI."""

from __future__ import annotations

from agentkeep.cli import main

main()
