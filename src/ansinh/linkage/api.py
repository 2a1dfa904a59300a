"""Linkage API, mounted at /api/v1/linkage: the review queue and decisions. Thin: reads in
selectors, writes in services (role, scope and audit there)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ansinh.access.services import audit
from ansinh.core.errors import Forbidden, NotFound
from ansinh.linkage import selectors, services
from ansinh.linkage.models import ReviewPair

router = Router(tags=["linkage"])


class PairOut(Schema):
    id: int
    source: str
    state: str
    probability: float
    match_weight: float
    person_ss_number: str
    other_ss_number: str | None
    record_key: str | None
    evidence: dict[str, Any]
    version: int
    created_at: dt.datetime
    decided_at: dt.datetime | None


class QueueFilter(Schema):
    state: str | None = "open"
    band: str | None = None
    min_probability: float | None = None
    max_probability: float | None = None
    limit: int = 50
    offset: int = 0


class DecisionIn(Schema):
    decision: str
    note: str = ""
    version: int | None = None


def _out(pair: ReviewPair) -> dict[str, Any]:
    return {
        "id": pair.pk,
        "source": pair.source,
        "state": pair.state,
        "probability": pair.probability,
        "match_weight": pair.match_weight,
        "person_ss_number": pair.person.ss_number,
        "other_ss_number": pair.other_person.ss_number if pair.other_person_id else None,
        "record_key": pair.record_key or None,
        "evidence": pair.evidence or {},
        "version": pair.version,
        "created_at": pair.created_at,
        "decided_at": pair.decided_at,
    }


def _require_view(request: HttpRequest) -> None:
    if not request.user.has_perm("linkage.view_reviewpair"):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xem các cặp hồ sơ cần đối sánh.",
            "Your role is not allowed to see linkage review pairs.",
        )


@router.get("/pairs", response=list[PairOut])
def list_pairs(request: HttpRequest, filters: Query[QueueFilter]) -> list[dict[str, Any]]:
    """Pairs in the caller's scope, most probable first (no names in the answer)."""
    _require_view(request)
    qs = selectors.review_queue(
        user=request.user,
        state=None if filters.state in (None, "all") else filters.state,
        band=filters.band,
        min_probability=filters.min_probability,
        max_probability=filters.max_probability,
    )
    limit = max(1, min(filters.limit, 500))
    offset = max(0, filters.offset)
    pairs = list(qs[offset : offset + limit])
    audit(
        actor=request.user,
        action="search",
        object_type="review_pair",
        request=request,
        detail={"state": filters.state or "", "results": len(pairs)},
    )
    return [_out(p) for p in pairs]


@router.post("/pairs/{pair_id}/decision", response=PairOut)
def decide(request: HttpRequest, pair_id: int, body: DecisionIn) -> dict[str, Any]:
    """``link``, ``separate`` or ``undo``; ``version`` guards against a concurrent decision."""
    if selectors.get_pair(pair_id) is None:
        raise NotFound("pair_not_found", None, "Không tìm thấy cặp hồ sơ.", "No such pair.")
    pair = services.decide_pair(
        pair_id,
        decision=body.decision,
        actor=request.user,
        note=body.note,
        expected_version=body.version,
        request=request,
    )
    found = selectors.get_pair(pair.pk)
    assert found is not None
    return _out(found)
