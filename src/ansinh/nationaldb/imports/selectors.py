"""Reads of import batches and their rows, for the pages and the command."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet

from ansinh.nationaldb.models import ImportBatch, ImportRow, RowVerdict

PAGE_SIZE = 100


def batches() -> QuerySet[ImportBatch]:
    return ImportBatch.objects.select_related("created_by", "decided_by").order_by("-created_at")


def rows_page(
    batch: ImportBatch, *, verdict: str = "", reason: str = "", page: int = 1
) -> Page[ImportRow]:
    rows = batch.rows.select_related("person").order_by("line")
    if verdict in RowVerdict.values:
        rows = rows.filter(verdict=verdict)
    if reason:
        rows = rows.filter(reason=reason)
    return Paginator(rows, PAGE_SIZE).get_page(page)


def reason_counts(batch: ImportBatch) -> list[tuple[str, int]]:
    """(first reason code, rows) of a batch, most frequent first."""
    rows = batch.rows.values("reason").annotate(n=Count("id")).order_by("-n", "reason")
    return [(r["reason"], r["n"]) for r in rows]


@dataclass(frozen=True)
class Bar:
    verdict: str
    label: str
    count: int
    width: float
    y: int


def verdict_bars(batch: ImportBatch, width: int = 400) -> list[Bar]:
    """Horizontal bars of the rows per verdict (inline SVG on the batch page)."""
    counts = batch.counts or {}
    top = max([*counts.values(), 1])
    return [
        Bar(v, str(label), counts.get(v, 0), round(width * counts.get(v, 0) / top, 1), i * 28)
        for i, (v, label) in enumerate(RowVerdict.choices)
    ]
