"""The two value types of the linkage interface: a record from a source system and its match.

Callers (the import pipeline of ``nationaldb``) build ``SourceRecord``s from their staged rows
and get one ``Match`` per record key from :func:`ansinh.linkage.services.link_records`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

BANDS = ("link", "review", "none")


@dataclass(frozen=True)
class SourceRecord:
    """One person as a source system (bản ghi nguồn) holds it, before linkage."""

    key: str  # unique across sources, e.g. "tgxh:batch12:row345"
    personal_id: str | None
    full_name: str
    birth_date: dt.date | None
    sex: str | None  # "M" | "F" | None
    commune_code: str | None

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready copy, kept on a review pair as the source side."""
        data = asdict(self)
        data["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> SourceRecord:
        born = data.get("birth_date")
        return cls(
            key=data["key"],
            personal_id=data.get("personal_id"),
            full_name=data.get("full_name") or "",
            birth_date=dt.date.fromisoformat(born) if born else None,
            sex=data.get("sex"),
            commune_code=data.get("commune_code"),
        )


@dataclass(frozen=True)
class Match:
    """The verdict for one source record: band ``link`` (automatic), ``review`` (a ReviewPair
    is open) or ``none``; ``person_id`` is the best registry candidate, if any."""

    key: str
    band: str  # "link" | "review" | "none"
    person_id: int | None
    probability: float
