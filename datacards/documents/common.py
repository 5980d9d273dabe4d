"""What the card documents are made from."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..canonical import iso
from ..models import CurationNote, DatasetVersion


@dataclass(frozen=True)
class DataFile:
    """One file the documents describe: its path in the folder, split, rows, SHA-256."""

    path: str
    split: str
    rows: int
    sha256: str
    encoding: str  # a MIME type: application/x-parquet, application/jsonlines, text/csv


@dataclass(frozen=True)
class CardInput:
    number: int
    status: str
    content_hash: str
    frozen_at: str | None
    published_at: str | None
    published_by: str
    card: dict
    sections: dict
    notes: list[dict] = field(default_factory=list)

    @property
    def project(self) -> dict:
        return self.card.get("project", {})

    @property
    def slug(self) -> str:
        return self.project.get("slug", "dataset")

    @property
    def title(self) -> str:
        return f"{self.project.get('name', 'Dataset')} v{self.number}"

    @property
    def base_name(self) -> str:
        return f"{self.slug}-v{self.number}"

    @property
    def category_names(self) -> list[str]:
        return [c["name"] for c in self.card.get("schema", [])]

    @property
    def license(self) -> str:
        return self.sections.get("license") or "other"

    @property
    def languages(self) -> list[str]:
        raw = self.sections.get("languages") or ""
        return [code.strip() for code in raw.split(",") if code.strip()]


def card_input(*, version: DatasetVersion, notes: list[CurationNote] | None = None) -> CardInput:
    """The documents' input for a version. `notes` default: for a published version the notes
    up to its publication (so its exports never change), for a draft all notes so far."""
    if notes is None:
        queryset = CurationNote.objects.filter(version=version).order_by("id")
        if version.status == DatasetVersion.Status.PUBLISHED:
            queryset = queryset.filter(id__lte=version.published_note_id or 0)
        notes = list(queryset)
    return CardInput(
        number=version.number,
        status=version.status,
        content_hash=version.content_hash,
        frozen_at=iso(version.frozen_at),
        published_at=iso(version.published_at),
        published_by=version.published_by_name,
        card=version.card or {},
        sections={name: getattr(version, name) for name in DatasetVersion.SECTION_FIELDS},
        notes=[
            {"created_at": iso(n.created_at), "author": n.author_name, "text": n.text}
            for n in notes
        ],
    )


def pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return label
    return "10M<n<100M"
