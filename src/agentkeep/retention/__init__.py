"""Task retention: snapshot transfers behind the URL guard, and the periodic sweep."""

from __future__ import annotations
