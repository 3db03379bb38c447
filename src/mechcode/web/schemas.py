"""Request bodies of the reviewer API (pydantic; unknown fields are refused)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(max_length=4000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_Body):
    """``POST /api/decisions``: one reviewer decision on one unit."""

    unit_id: int
    action: Literal["accept", "correct", "reject", "skip", "adjudicate"]
    reviewer: Name | None = None
    mechanisms: list[Code] = Field(default_factory=list, max_length=50)
    role: Code | None = None
    polarity: Code | None = None
    note: Note | None = None
    model_version: Annotated[str, StringConstraints(max_length=200)] | None = None


class UndoIn(_Body):
    """``POST /api/decisions/{id}/undo`` (body optional)."""

    reviewer: Name | None = None


class SpanIn(_Body):
    """``POST /api/spans``: code a reviewer-selected span of a paper."""

    document_id: int
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    reviewer: Name | None = None
    mechanisms: list[Code] = Field(default_factory=list, max_length=50)
    role: Code | None = None
    polarity: Code | None = None
    note: Note | None = None


class RangeRejectIn(_Body):
    """``POST /api/reject-range``: reject a section and/or page range of a paper as not evidence."""

    document_id: int
    section: Annotated[str, StringConstraints(max_length=500)] | None = None
    page_from: int | None = Field(None, ge=0)
    page_to: int | None = Field(None, ge=0)
    note: Note | None = None
    reviewer: Name | None = None
