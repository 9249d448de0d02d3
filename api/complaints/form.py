"""The complaint form's fields as pages post them (the console's form, the desk's edit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form

from api.complaints.service import ComplaintEdit

Text = Annotated[str, Form(max_length=2000)]


@dataclass(frozen=True)
class ComplaintFields:
    """The complaint form's fields, as an officer typed them."""

    category: str
    location: str
    summary: str
    notes: str
    linkedid: str

    def edit(self) -> ComplaintEdit:
        """The fields as an edit (ValidationError for a value the complaint can't take)."""
        return ComplaintEdit.model_validate(
            {
                "category": self.category or None,
                "location": self.location.strip() or None,
                "summary": self.summary.strip() or None,
                "note": self.notes.strip() or None,
            }
        )


def complaint_fields(
    category: Annotated[str, Form(max_length=32)] = "",
    location: Text = "",
    summary: Text = "",
    notes: Text = "",
    linkedid: Annotated[str, Form(max_length=64)] = "",
) -> ComplaintFields:
    return ComplaintFields(category, location, summary, notes, linkedid)


Fields = Annotated[ComplaintFields, Depends(complaint_fields)]
