"""The answer of an idempotent POST (the IVR retries from its outbox until it is taken)."""

from __future__ import annotations

from fastapi import Response, status


def created_or_known(response: Response, created: bool) -> None:
    """201 (the route's default) for a new row; 200 when the same one was already stored."""
    if not created:
        response.status_code = status.HTTP_200_OK
