"""Secrets that authenticate callers: configured API keys and per-agent keys.

Agent keys travel both ways. Agents present theirs in ``x-agent-api-key`` on REST calls,
and the server presents the same key on every ACP call it forwards to the agent
(agentex-sdk agents refuse calls without it). So the server must be able to produce the
plaintext again, yet the database must not hold it: the key is derived,
``HMAC-SHA256(AGENTKEEP_AGENT_KEY_SECRET, agent id + nonce)``, and the database keeps only
the nonce and ``SHA-256(key)``. Authentication looks the key up by its hash; forwarding
recomputes it from the nonce. Rotation is a new nonce. Without a configured secret the
derivation still works (with an empty secret) but then the database alone is enough to
recompute every key: production sets the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

#: Cookie the web UI keeps an API key in (``POST /auth/session``).
SESSION_COOKIE = "agentkeep_api_key"


def hash_key(key: str) -> str:
    """What the database stores and indexes for an agent key: SHA-256, 64 hex characters."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def derive(secret: bytes, agent_id: str, nonce: str) -> str:
    """The agent key for ``nonce``: 64 hex characters, like Agentex's keys."""
    message = f"agentkeep-agent-key\x00{agent_id}\x00{nonce}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def same_hash(stored: str, key: str) -> bool:
    """Whether ``key`` hashes to ``stored``, compared in constant time."""
    return hmac.compare_digest(stored.encode(), hash_key(key).encode())


class ApiKeys:
    """The configured API keys, matched without a lookup keyed by the secret itself.

    A dict lookup on the presented key would compare it with stored keys byte by byte and
    stop early, so response times would leak how much of a guess is right. Here both sides
    are SHA-256 digests, and every configured digest is compared with
    ``hmac.compare_digest`` (no early exit, whichever matches), so the time taken depends
    on the number of configured keys only.
    """

    def __init__(self, by_key: Mapping[str, str]) -> None:
        self._digests = [
            (hashlib.sha256(key.encode()).digest(), name) for key, name in by_key.items()
        ]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def name_of(self, presented: str | None) -> str | None:
        """The name of the configured key ``presented`` is, or None."""
        if presented is None or not self._digests:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: str | None = None
        for candidate, name in self._digests:
            if hmac.compare_digest(candidate, digest):
                found = name
        return found
