"""The developer web UI: one HTML shell and static ES modules, served by the same process.

The page is public (so a person can reach the key prompt when API keys are configured);
everything it shows comes from the public HTTP API and the task stream, called by the
browser with the person's own credentials.
"""

from __future__ import annotations

from agentkeep.web.views import router

__all__ = ["router"]
