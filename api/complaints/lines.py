"""One complaint as a line of a listing: the screen pop's tickets, the daily report's lines."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from api.complaints.models import Complaint

Line = TypeVar("Line", bound=BaseModel)


def line_of(complaint: Complaint, line: type[Line], **more: Any) -> Line:
    """``line`` filled with the complaint's own fields of the same names, and with ``more``
    (what the complaint does not hold as such, e.g. a report's one-line summary)."""
    own = {name: getattr(complaint, name) for name in line.model_fields if name not in more}
    return line(**own, **more)
