"""The structured document every pipeline stage shares.

A :class:`Document` is what the PDF extractor produces and what the review
store persists: the document text (title, abstract and body in reading order,
paragraphs separated by blank lines) plus passages that point into it by
character offsets, each with page and bounding-box provenance, and sentences
that point into their passage.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Passage kinds. Only BODY_KINDS are part of ``Document.text``; the others are
# kept in the JSON (with their own text) but left out of the body text.
# "figure": text drawn on a picture (axis labels, panel letters); "boilerplate":
# journal citation lines, DOIs, keywords, licences, supplementary-file notes;
# "formula": the lines of a displayed equation; "contents": a table of contents.
BODY_KINDS = ("title", "abstract", "heading", "paragraph")
OTHER_KINDS = ("caption", "table", "footnote", "reference", "header", "footer", "author", "other",
               "figure", "boilerplate", "formula", "contents")


@dataclass
class Sentence:
    start: int  # offset into the passage text
    end: int
    text: str


@dataclass
class Passage:
    id: int
    kind: str
    text: str
    page: int  # 1-based page of the first line
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom on ``page`` (PDF points)
    start: int | None = None  # offsets into Document.text (None for non-body kinds)
    end: int | None = None
    section: str | None = None  # heading text of the section this passage sits in
    level: int | None = None  # heading level (1 = top) for kind == "heading"
    sentences: list[Sentence] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)  # all pages the passage spans
    role: str | None = None  # "box" (key points, sidebar) or "list-item" for such paragraphs
    links: list[int] = field(default_factory=list)  # a footnote: ids of passages calling it

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bbox"] = [round(v, 2) for v in self.bbox]
        return d


@dataclass
class Document:
    text: str
    passages: list[Passage]
    metadata: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    file_name: str = ""
    n_pages: int = 0

    @property
    def title(self) -> str:
        return next((p.text for p in self.passages if p.kind == "title"), "")

    def body(self) -> list[Passage]:
        return [p for p in self.passages if p.kind in BODY_KINDS]

    def sections(self) -> list[dict[str, Any]]:
        out = []
        for p in self.passages:
            if p.kind == "heading":
                out.append({"title": p.text, "level": p.level, "page": p.page, "start": p.start})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "content_hash": self.content_hash,
            "n_pages": self.n_pages,
            "metadata": self.metadata,
            "sections": self.sections(),
            "text": self.text,
            "passages": [p.to_dict() for p in self.passages],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Document":
        passages = []
        for p in d["passages"]:
            p = dict(p)
            p["bbox"] = tuple(p["bbox"])
            p["sentences"] = [Sentence(**s) for s in p.get("sentences", [])]
            passages.append(Passage(**p))
        return cls(text=d["text"], passages=passages, metadata=d.get("metadata", {}),
                   content_hash=d.get("content_hash", ""), file_name=d.get("file_name", ""),
                   n_pages=d.get("n_pages", 0))

    def to_text(self) -> str:
        """Plain text: title, abstract, body; headings start with ``#``."""
        blocks = []
        for p in self.passages:
            if p.kind == "heading":
                blocks.append("#" * (p.level or 1) + " " + p.text)
            elif p.kind in BODY_KINDS:
                blocks.append(p.text)
        return "\n\n".join(blocks) + "\n"
