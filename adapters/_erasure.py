"""What every store keeps of a user it erased (shared by the SQL and in-memory adapters)."""

from __future__ import annotations

import hashlib


def user_digest(user_id: str) -> str:
    """What ``user_erasures`` keeps of an erased user: the SHA-256 of the id's UTF-8 bytes, in hex. It says
    whether a given id was erased, never which ids were."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()
