"""Linkage writes: link source records to the registry, deduplicate the registry, decide pairs.

Bands (ngưỡng): probability ≥ ``LINKAGE_LINK_THRESHOLD`` → automatic link, ≥
``LINKAGE_REVIEW_THRESHOLD`` → clerical review (a ``ReviewPair``), below → no link. Decisions are
remembered per pair: a source record (by the fingerprint of its normalised fields) or a person
once separated from a registry person is not proposed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ansinh.core.errors import Conflict, DomainError, Forbidden, NotFound
from ansinh.linkage import engine, signals
from ansinh.linkage.models import (
    DecisionKind,
    LinkDecision,
    PairSource,
    PairState,
    PersonLink,
    ReviewPair,
)
from ansinh.linkage.normalise import model_row, name_parts, swap_day_month
from ansinh.linkage.records import Match, SourceRecord
from ansinh.registry.models import Person, PersonStatus

DEFAULT_LINK_THRESHOLD = engine.DEFAULT_LINK_THRESHOLD
DEFAULT_REVIEW_THRESHOLD = engine.DEFAULT_REVIEW_THRESHOLD
#: Above this many source records the whole registry is loaded instead of querying candidates.
FULL_SCAN_AT = 2_000
_CHUNK = 500


def thresholds() -> tuple[float, float]:
    """(link, review) probability thresholds from settings."""
    hi = float(getattr(settings, "LINKAGE_LINK_THRESHOLD", DEFAULT_LINK_THRESHOLD))
    lo = float(getattr(settings, "LINKAGE_REVIEW_THRESHOLD", DEFAULT_REVIEW_THRESHOLD))
    return hi, lo


def band_for(probability: float) -> str:
    hi, lo = thresholds()
    if probability >= hi:
        return "link"
    if probability >= lo:
        return "review"
    return "none"


def fingerprint(record: SourceRecord) -> str:
    """SHA-256 of the record's normalised fields: the same person re-sent in a later batch (a
    new key) meets the decisions taken on the earlier copy."""
    row = model_row(
        "", record.personal_id, record.full_name, record.birth_date, record.sex, record.commune_code
    )
    text = "|".join("" if v is None else str(v) for v in row[1:])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _person_uid(pk: int) -> str:
    return f"P{pk}"


def _person_rows(qs: Any) -> list[tuple]:
    rows = []
    for pk, pid, name, dob, sex, commune in qs.values_list(
        "pk", "personal_id", "full_name", "date_of_birth", "sex", "address_unit__code"
    ).iterator(chunk_size=5000):
        rows.append((_person_uid(pk), pid, name, dob, sex, commune))
    return rows


def _linkable() -> Any:
    return Person.objects.exclude(status=PersonStatus.MERGED)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _name_shares(rows: Sequence[tuple], population: int) -> dict[str, float]:
    """name key → share of the registry holding it, for the names of the candidate rows: counted
    in the registry (``name_normalised`` is the folded name in its written order; keys that
    differ only by order are summed)."""
    from django.db.models import Count

    names = sorted({name_parts(r[2] or "")[1] for r in rows if r[2]})
    counts: dict[str, int] = {}
    for chunk in _chunks(names):
        for norm, n in (
            _linkable()
            .filter(name_normalised__in=chunk)
            .values_list("name_normalised")
            .annotate(n=Count("pk"))
        ):
            key = name_parts(norm)[2]
            counts[key] = counts.get(key, 0) + n
    total = max(population, 1)
    return {k: n / total for k, n in counts.items()}


def _candidate_rows(records: Sequence[SourceRecord]) -> list[tuple]:
    """Registry rows that can share a block with the records: the same ID, the same folded
    name, or the same (or day/month-swapped) birth date. A large batch reads the registry."""
    if len(records) > FULL_SCAN_AT:
        return _person_rows(_linkable())
    ids = sorted(
        {r for r in (model_row("", x.personal_id, "", None, None, None)[1] for x in records) if r}
    )
    names = sorted({name_parts(x.full_name)[1] for x in records if x.full_name})
    dates: set[dt.date] = set()
    for x in records:
        if x.birth_date:
            dates.add(x.birth_date)
            swapped = swap_day_month(x.birth_date)
            if swapped:
                dates.add(swapped)
    pks: set[int] = set()
    base = _linkable()
    for chunk in _chunks(ids):
        pks.update(base.filter(personal_id__in=chunk).values_list("pk", flat=True))
    for chunk in _chunks(names):
        pks.update(base.filter(name_normalised__in=chunk).values_list("pk", flat=True))
    for chunk in _chunks(sorted(dates)):
        pks.update(base.filter(date_of_birth__in=chunk).values_list("pk", flat=True))
    rows: list[tuple] = []
    for chunk in _chunks(sorted(pks)):
        rows.extend(_person_rows(Person.objects.filter(pk__in=chunk)))
    return rows


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def _actor_name(actor: Any) -> str:
    return actor.get_username() if actor is not None and actor.is_authenticated else ""


def _audit(
    actor: Any,
    action: str,
    object_type: str,
    object_id: str,
    *,
    request: Any = None,
    detail: dict | None = None,
    purpose: str = "",
) -> None:
    from ansinh.access.services import audit

    if actor is None and request is None:
        channel = "task"
    else:
        channel = None
    audit(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request=request,
        detail=detail,
        purpose=purpose,
        channel=channel,
    )


def link_records(
    records: Sequence[SourceRecord], *, actor: Any = None, at: dt.datetime | None = None
) -> dict[str, Match]:
    """Link source records against the registry persons (đối sánh với CSDL): one ``Match`` per
    record key. Band ``review`` opens a ``ReviewPair`` (or finds the one already open); a pair
    once separated is skipped and the next candidate taken; a pair once linked links again."""
    if len({r.key for r in records}) != len(records):
        raise DomainError(
            "duplicate_key",
            "key",
            "Khoá bản ghi nguồn bị trùng trong lô.",
            "Source record keys must be unique within a batch.",
        )
    if not records:
        return {}
    now = _now(at)
    left = [
        (r.key, r.personal_id, r.full_name, r.birth_date, r.sex, r.commune_code) for r in records
    ]
    right = _candidate_rows(records)
    population = max(_linkable().count(), len(right))
    hi, lo = thresholds()
    # A sample of the registry (a small batch's candidates) would make every name look common:
    # give the model the registry's own name frequencies instead.
    shares = _name_shares(right, population) if len(right) < population else None
    scored = engine.predict_link(
        left, right, prior=_prior(), population=population, name_frequencies=shares
    )
    by_key: dict[str, list[engine.Scored]] = {}
    for sc in scored:
        by_key.setdefault(sc.left, []).append(sc)
    prints = {r.key: fingerprint(r) for r in records}
    memory: dict[tuple[int, str], ReviewPair] = {}
    fps = sorted(set(prints.values()))
    for chunk in _chunks(fps):
        for pair in ReviewPair.objects.filter(source=PairSource.LINK, fingerprint__in=chunk):
            memory[(pair.person_id, pair.fingerprint)] = pair
    out: dict[str, Match] = {}
    to_open: list[ReviewPair] = []
    for rec in records:
        fp = prints[rec.key]
        candidates = sorted(by_key.get(rec.key, []), key=lambda s: (-s.probability, s.right))
        best: engine.Scored | None = None
        for sc in candidates:
            known = memory.get((int(sc.right[1:]), fp))
            if known is not None and known.state == PairState.SEPARATED:
                continue
            best = sc
            break
        if best is None:
            out[rec.key] = Match(rec.key, "none", None, 0.0)
            continue
        person_id = int(best.right[1:])
        known = memory.get((person_id, fp))
        band = band_for(best.probability)
        if known is not None and known.state == PairState.LINKED:
            band = "link"
        elif band == "review" and known is None:
            to_open.append(
                ReviewPair(
                    source=PairSource.LINK,
                    person_id=person_id,
                    record_key=rec.key[:120],
                    record=rec.snapshot(),
                    fingerprint=fp,
                    probability=best.probability,
                    match_weight=best.weight,
                    evidence=engine.evidence(best),
                    created_at=now,
                )
            )
        elif band == "review" and known is not None and known.state == PairState.OPEN:
            pass  # already waiting for an officer
        out[rec.key] = Match(rec.key, band, person_id, best.probability)
    with transaction.atomic():
        ReviewPair.objects.bulk_create(to_open, batch_size=500, ignore_conflicts=True)
        counts = {
            b: sum(1 for m in out.values() if m.band == b) for b in ("link", "review", "none")
        }
        _audit(
            actor,
            "create",
            "linkage_batch",
            str(len(records)),
            detail={
                "records": len(records),
                **counts,
                "pairs_opened": len(to_open),
                "thresholds": [hi, lo],
            },
        )
    return out


def _prior() -> float:
    return float(getattr(settings, "LINKAGE_PRIOR", 0.9))


@dataclass
class DedupeSummary:
    persons: int = 0
    scored_pairs: int = 0
    linked: int = 0
    opened: int = 0
    skipped_known: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def dedupe_registry(
    *, actor: Any = None, at: dt.datetime | None = None, persons: Any = None
) -> DedupeSummary:
    """Find registry persons who are the same person (trùng lặp). Band ``link`` links them
    (a ``PersonLink``, decided automatically and undoable), ``review`` opens a pair. Pairs
    already known (in any state) are left as they are."""
    import time

    now = _now(at)
    summary = DedupeSummary()
    t0 = time.perf_counter()
    rows = _person_rows(persons if persons is not None else _linkable())
    summary.persons = len(rows)
    summary.seconds["read"] = time.perf_counter() - t0
    hi, lo = thresholds()
    t0 = time.perf_counter()
    floor = math.log2(lo / (1 - lo)) if 0 < lo < 1 else -10.0
    scored = engine.predict_dedupe(rows, floor_weight=floor)
    summary.seconds["predict"] = time.perf_counter() - t0
    candidates = []
    for sc in scored:
        if sc.probability < lo:
            continue
        a, b = sorted((int(sc.left[1:]), int(sc.right[1:])))
        candidates.append((a, b, sc))
    summary.scored_pairs = len(scored)
    known: set[tuple[int, int]] = set()
    firsts = sorted({a for a, _, _ in candidates})
    for chunk in _chunks(firsts):
        known.update(
            ReviewPair.objects.filter(person_id__in=chunk, other_person__isnull=False).values_list(
                "person_id", "other_person_id"
            )
        )
    t0 = time.perf_counter()
    with transaction.atomic():
        for a, b, sc in candidates:
            if (a, b) in known:
                summary.skipped_known += 1
                continue
            known.add((a, b))
            auto = sc.probability >= hi
            pair = ReviewPair.objects.create(
                source=PairSource.DEDUPE,
                person_id=a,
                other_person_id=b,
                probability=sc.probability,
                match_weight=sc.weight,
                evidence=engine.evidence(sc),
                state=PairState.LINKED if auto else PairState.OPEN,
                created_at=now,
                decided_at=now if auto else None,
            )
            if auto:
                LinkDecision.objects.create(
                    pair=pair,
                    decision=DecisionKind.LINK,
                    state_before=PairState.OPEN,
                    state_after=PairState.LINKED,
                    automatic=True,
                    note="automatic",
                    at=now,
                )
                PersonLink.objects.create(person_a_id=a, person_b_id=b, pair=pair, created_at=now)
                summary.linked += 1
            else:
                summary.opened += 1
        _audit(
            actor,
            "create",
            "linkage_dedupe",
            str(summary.persons),
            detail={
                "persons": summary.persons,
                "linked": summary.linked,
                "opened": summary.opened,
                "thresholds": [hi, lo],
            },
        )
    summary.seconds["write"] = time.perf_counter() - t0
    return summary


# --- decisions ---------------------------------------------------------------------------------


def authorize_decision(user: Any, pair: ReviewPair, *, request: Any = None) -> None:
    """Role (``linkage.decide_pair``) and scope (every registry person of the pair within the
    user's area); a denial is audited."""
    from ansinh.access.selectors import person_in_scope

    reason = ""
    if user is None or not user.has_perm("linkage.decide_pair"):
        reason = "permission_denied"
    else:
        persons = [pair.person] + ([pair.other_person] if pair.other_person_id else [])
        if not all(person_in_scope(user, p) for p in persons):
            reason = "out_of_scope"
    if reason:
        _audit(
            user, "denied", "review_pair", str(pair.pk), request=request, detail={"reason": reason}
        )
        raise Forbidden(
            reason,
            None,
            "Bạn không có quyền quyết định cặp hồ sơ này.",
            "You may not decide on this pair of records.",
        )


def _effective(decisions: Sequence[LinkDecision]) -> list[LinkDecision]:
    """The decisions still in force: each undo cancels the latest one not yet cancelled."""
    stack: list[LinkDecision] = []
    for d in decisions:
        if d.decision == DecisionKind.UNDO:
            if stack:
                stack.pop()
        else:
            stack.append(d)
    return stack


def _send(pair: ReviewPair, decision: str) -> None:
    person_id = pair.person_id if decision == "link" else None
    record_key = pair.record_key or None
    transaction.on_commit(
        lambda: signals.pair_decided.send(
            sender=ReviewPair,
            record_key=record_key,
            person_id=person_id,
            decision=decision,
            pair=pair,
        )
    )


def decide_pair(
    pair_id: int,
    *,
    decision: str,
    actor: Any,
    note: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
    request: Any = None,
) -> ReviewPair:
    """An officer's decision on an open pair: ``link`` (same person) or ``separate``
    (different persons), or ``undo`` of the decision in force. Audited; ``pair_decided`` is
    sent after commit when the linked state changes."""
    if decision not in DecisionKind.values:
        raise DomainError(
            "decision_invalid",
            "decision",
            "Quyết định phải là 'link', 'separate' hoặc 'undo'.",
            "The decision must be 'link', 'separate' or 'undo'.",
        )
    now = _now(at)
    if now > timezone.now() + dt.timedelta(minutes=5):
        raise DomainError(
            "in_future",
            "at",
            "Thời điểm không được ở tương lai.",
            "The time cannot be in the future.",
        )
    pair = ReviewPair.objects.select_related("person", "other_person").filter(pk=pair_id).first()
    if pair is None:
        raise NotFound(
            "pair_not_found", None, "Không tìm thấy cặp hồ sơ.", "No such pair of records."
        )
    authorize_decision(actor, pair, request=request)  # outside the transaction: a denial stays
    with transaction.atomic():
        pair = (
            ReviewPair.objects.select_for_update(of=("self",))
            .select_related("person", "other_person")
            .get(pk=pair_id)
        )
        if expected_version is not None and expected_version != pair.version:
            raise Conflict(
                "stale_version",
                "version",
                "Cặp hồ sơ đã được người khác xử lý; hãy tải lại trang.",
                "Someone else changed this pair; reload the page.",
            )
        before = pair.state
        if decision == DecisionKind.UNDO:
            stack = _effective(list(pair.decisions.order_by("at", "id")))
            if not stack:
                raise Conflict(
                    "nothing_to_undo",
                    "decision",
                    "Không có quyết định để hoàn tác.",
                    "There is no decision to undo.",
                )
            after = stack[-1].state_before
        else:
            if before != PairState.OPEN:
                raise Conflict(
                    "pair_decided",
                    "decision",
                    "Cặp hồ sơ đã được quyết định; hãy hoàn tác trước.",
                    "This pair is already decided; undo first.",
                )
            after = PairState.LINKED if decision == DecisionKind.LINK else PairState.SEPARATED
        LinkDecision.objects.create(
            pair=pair,
            decision=decision,
            state_before=before,
            state_after=after,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_name=_actor_name(actor),
            note=(note or "")[:500],
            at=now,
        )
        if pair.other_person_id:
            a, b = sorted((pair.person_id, pair.other_person_id))
            if after == PairState.LINKED and before != PairState.LINKED:
                PersonLink.objects.create(person_a_id=a, person_b_id=b, pair=pair, created_at=now)
            elif before == PairState.LINKED and after != PairState.LINKED:
                PersonLink.objects.filter(pair=pair, active=True).update(
                    active=False, undone_at=now
                )
        pair.state = after
        pair.decided_at = None if after == PairState.OPEN else now
        pair.version += 1
        pair.save(update_fields=["state", "decided_at", "version"])
        _audit(
            actor,
            "update",
            "review_pair",
            str(pair.pk),
            request=request,
            detail={"decision": decision, "from": before, "to": after},
        )
        if after == PairState.LINKED and before != PairState.LINKED:
            _send(pair, "link")
        elif before == PairState.LINKED or after == PairState.SEPARATED:
            _send(pair, "separate")
    return pair
