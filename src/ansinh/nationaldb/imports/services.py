"""The staged import (nhập dữ liệu qua khu vực tạm): stage a file, then commit or discard it.

- :func:`stage_file` reads a source file, validates every row and stores it as an
  ``ImportRow`` with a verdict and reasons, in chunks (each chunk its own transaction, so the
  batch page shows progress). Nothing outside the staging tables is written, except the review
  pairs the linkage app opens. The same bytes again return the existing batch (a no-op).
- :func:`commit_batch` writes persons, beneficiaries and households of the batch in ONE
  transaction: any failure leaves nothing. :func:`discard_batch` marks it discarded and keeps
  every row as evidence.
- :func:`finish_reviewed_row` completes a row sent to review once an officer decides (the
  linkage app's ``pair_decided`` signal).

Verdicts: ``merged`` (an existing person: same personal ID, name and birth date, or an
automatic link), ``loaded`` (a new person), ``review``, ``rejected``, ``duplicate``. Every row
ends with one and at least one reason — never a silent drop.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ansinh.core.errors import Conflict, DomainError
from ansinh.core.text import normalise
from ansinh.nationaldb.imports.mappings import SOURCES, column_index
from ansinh.nationaldb.imports.readers import open_source
from ansinh.nationaldb.imports.validate import Checked, Context, RowChecker, check_row, reason
from ansinh.nationaldb.models import (
    BatchState,
    Beneficiary,
    BeneficiaryCategory,
    Household,
    HouseholdMember,
    ImportBatch,
    ImportRow,
    PovertyStatus,
    Programme,
    RowVerdict,
)

log = logging.getLogger(__name__)
CHUNK = 5000
_UNKNOWN = object()
Progress = Callable[[int, int], None]


def _audit(actor: Any, action: str, batch: ImportBatch, **detail: Any) -> None:
    if actor is None:
        return
    from ansinh.access.services import audit

    audit(
        actor=actor,
        action=action,
        object_type="import_batch",
        object_id=str(batch.pk),
        detail={"source": batch.source, **detail},
    )


def record_key(batch_id: int, line: int) -> str:
    return f"nationaldb:{batch_id}:{line}"


def _context(source: str, index: dict[str, int], title_names: bool) -> Context:
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem

    communes = {
        u.code: u
        for u in AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
    }
    legacy: dict[str, tuple[str, bool]] = {}
    rows = (
        UnitSuccession.objects.filter(old__system=UnitSystem.LEGACY, old__level=UnitLevel.COMMUNE)
        .values_list("old__code", "new__code", "is_default", "is_split")
        .order_by("old__code", "-is_default", "new__code")
    )
    counts: Counter[str] = Counter()
    for old, new, _default, split in rows:
        counts[old] += 1
        if old not in legacy:
            legacy[old] = (new, bool(split))
        elif split or counts[old] > 1:
            legacy[old] = (legacy[old][0], True)
    programme = "hongheo" if source == "hongheo" else source
    categories = set(
        BeneficiaryCategory.objects.filter(programme__code=programme).values_list("code", flat=True)
    )
    return Context(
        source, index, communes, legacy, categories, title_names, today=timezone.localdate()
    )


@lru_cache(maxsize=200_000)
def _name_key(name: str) -> str:
    return normalise(name)


def _identity(data: dict[str, Any]) -> tuple[str, str | None]:
    """What must agree between two rows (or a row and the registry) with one personal ID:
    the name without diacritics or case, and the birth date."""
    return _name_key(data.get("full_name") or ""), data.get("date_of_birth")


def stage_file(
    source: str,
    file_name: str,
    data: bytes,
    *,
    actor: Any = None,
    encoding: str | None = None,
    link: bool | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    reference: bool = False,
) -> ImportBatch:
    """Stage a source file; returns its batch (the existing one for the same bytes).

    Raises ``DomainError`` (nothing staged) for an unknown source, an unreadable file or
    missing required columns. ``link`` asks the linkage app about rows without an exact match
    (default: when the app is installed). ``reference`` checks every row with ``check_row``
    instead of the memoised ``RowChecker`` (the same verdicts, slower; for tests)."""
    if source not in SOURCES:
        raise DomainError(
            "source_unknown",
            "source",
            f"Nguồn dữ liệu không hỗ trợ: {source}.",
            f"Unknown source {source}; use one of {', '.join(SOURCES)}.",
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = ImportBatch.objects.filter(source=source, sha256=digest).first()
    if existing is not None and existing.state != BatchState.FAILED:
        return existing
    with _cyclic_gc_paused():
        return _stage(source, file_name, data, digest, existing, actor, encoding, link, progress,
                      now, reference)  # fmt: skip


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is staged. Staging allocates
    millions of small containers that live on (the per-file duplicate and ID maps) and creates
    no reference cycles of its own: each collection pass rescans all of them, which cost a
    third of the CPU time of a 50,000-row file. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stage(
    source: str,
    file_name: str,
    data: bytes,
    digest: str,
    existing: ImportBatch | None,
    actor: Any,
    encoding: str | None,
    link: bool | None,
    progress: Progress | None,
    now: dt.datetime | None,
    reference: bool,
) -> ImportBatch:
    src = open_source(file_name, data, encoding=encoding)
    index = column_index(source, src.header)
    ctx = _context(source, index, title_names=src.encoding == "tcvn3")
    now = now or timezone.now()
    if existing is not None:  # a failed staging is redone from scratch
        existing.rows.all().delete()
        batch = existing
    else:
        batch = ImportBatch(source=source, sha256=digest, created_at=now)
    batch.file_name = file_name[:255]
    batch.size = len(data)
    batch.file_format = src.file_format
    batch.encoding = src.encoding
    batch.delimiter = src.delimiter
    batch.headers = src.header
    batch.total_rows = src.total
    batch.processed_rows = 0
    batch.state = BatchState.STAGING
    batch.created_by = actor if getattr(actor, "is_authenticated", False) else None
    batch.error = ""
    batch.save()
    _audit(actor, "create", batch, rows=src.total, encoding=src.encoding)
    if link is None:
        link = _linkage_available()
    stager = _Stager(batch, ctx, link=link, actor=actor, reference=reference)
    try:
        chunk: list[tuple[int, list[Any]]] = []
        for item in src.rows:
            chunk.append(item)
            if len(chunk) >= CHUNK:
                stager.stage(chunk)
                chunk = []
                if progress:
                    progress(batch.processed_rows, batch.total_rows)
        if chunk:
            stager.stage(chunk)
        stager.finish()
    except Exception as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED, error=f"{type(exc).__name__}"[:300]
        )
        log.exception("import batch %s failed while staging", batch.pk)
        raise
    if progress:
        progress(batch.processed_rows, batch.total_rows)
    batch.refresh_from_db()
    return batch


def _linkage_available() -> bool:
    from django.apps import apps

    if not apps.is_installed("ansinh.linkage"):
        return False
    try:
        from ansinh.linkage import services  # noqa: F401
    except ImportError:
        return False
    return True


class _Row:
    """A row being staged (lighter than a model instance: 1M of them go through here)."""

    __slots__ = ("cells", "data", "line", "person_id", "probability", "reason", "reasons")
    __slots__ += ("verdict",)

    def __init__(self, line: int, cells: list[Any], data: dict[str, Any]) -> None:
        self.line = line
        self.cells = cells
        self.data = data
        self.verdict = ""
        self.reason = ""
        self.reasons: list[dict[str, Any]] = []
        self.person_id: int | None = None
        self.probability: float | None = None


_INSERT = (
    "INSERT INTO nationaldb_importrow (batch_id, line, raw, data, verdict, reason, reasons, "
    "person_id, probability) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_COPY = (
    "COPY nationaldb_importrow (batch_id, line, raw, data, verdict, reason, reasons, "
    "person_id, probability) FROM STDIN"
)


def _json_encoder() -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False, default=str).encode`` without building a new C
    encoder for every call (3 calls a row): the same C encoder, the same output."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False, default=str).encode
    # markers=None: no circular-reference check (rows hold plain dicts, lists and strings).
    encode = make(None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    join = "".join

    def dumps(value: Any) -> str:
        return join(encode(value, 0))

    return dumps


_dumps = _json_encoder()
_NEW_PERSON = reason("new_person")
_NEW_ONLY = [_NEW_PERSON]
_NEW_ONLY_JSON = _dumps(_NEW_ONLY)
_REVIEW_CONFLICT = (
    "UPDATE nationaldb_importrow SET verdict = %s, reasons = %s, reason = %s, person_id = NULL "
    "WHERE id = %s"
)


def _insert_rows(batch_id: int, rows: list[_Row], *, text_cells: bool = False) -> None:
    """One ``executemany`` per chunk through the DB-API (the ORM's ``bulk_create`` spends more
    per row than the whole validation); ``COPY`` on PostgreSQL. JSON columns are sent as text
    (PostgreSQL parses them into ``jsonb``). ``text_cells``: every cell is a ``str`` (CSV)."""
    from django.db import connection

    dumps = _dumps

    def cells(r: _Row) -> list[str]:
        return r.cells if text_cells else [c if isinstance(c, str) else str(c) for c in r.cells]

    params = [
        (
            batch_id,
            r.line,
            dumps(cells(r)),
            dumps(r.data),
            r.verdict,
            r.reason,
            _NEW_ONLY_JSON if r.reasons is _NEW_ONLY else dumps(r.reasons),
            r.person_id,
            r.probability,
        )
        for r in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(_COPY) as copy:
                for values in params:
                    copy.write_row(values)
        else:
            cursor.executemany(_INSERT, params)


_REGISTERED_PG = (
    "SELECT id, personal_id, name_normalised, date_of_birth FROM registry_person "
    "WHERE personal_id = ANY(%s)"
)
_REGISTERED_SQLITE = (
    "SELECT id, personal_id, name_normalised, date_of_birth FROM registry_person "
    "WHERE personal_id IN (SELECT value FROM json_each(%s))"
)


def _registered(pids: list[str]) -> dict[str, tuple[int, str, str]]:
    """Registry persons with these personal IDs: ``{pid: (pk, name key, birth date ISO)}``.
    One query per chunk with the IDs as one parameter (a JSON array on SQLite, an array on
    PostgreSQL): the ORM's ``personal_id__in`` of 900 parameters cost 2–3 µs a row."""
    from django.db import connection

    if not pids:
        return {}
    if connection.vendor == "postgresql":
        sql, param = _REGISTERED_PG, pids
    else:
        sql, param = _REGISTERED_SQLITE, _dumps(pids)
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        found = cursor.fetchall()
    return {
        pid: (pk, _name_key(name), born if isinstance(born, str) else born.isoformat())
        for pk, pid, name, born in found
    }


class _Stager:
    """Validates and stores a file's rows chunk by chunk, remembering what the file already
    said about each personal ID (duplicates and conflicts inside the file)."""

    def __init__(
        self, batch: ImportBatch, ctx: Context, *, link: bool, actor: Any, reference: bool = False
    ) -> None:
        self.batch = batch
        self.ctx = ctx
        self.check: Callable[[list[Any]], Checked] = (
            (lambda cells: check_row(cells, ctx)) if reference else RowChecker(ctx).check
        )
        self.link = link
        self.actor = actor
        self.text_cells = batch.file_format == "csv"
        self.seen_rows: dict[int, int] = {}  # hash of the normalised row → first line
        self.ids: dict[str, tuple[int, tuple[str, str | None]]] = {}  # pid → (line, identity)
        self.conflicting: set[int] = set()  # lines to send to review at the end
        self.amounts: dict[tuple[str, str], Any] = {}  # (category, start) → allowance

    def stage(self, chunk: list[tuple[int, list[Any]]]) -> None:
        rows: list[_Row] = []
        pending: list[tuple[_Row, Checked]] = []
        check = self.check
        amounts = self.ctx.source in ("tgxh", "nguoicocong")
        seen_rows = self.seen_rows
        ids = self.ids
        for line, cells in chunk:
            checked = check(cells)
            data = checked.data
            fatal = checked.fatal
            if amounts and not fatal and self._check_amount(checked):
                fatal = checked.fatal
            row = _Row(line, cells, data)
            rows.append(row)
            if fatal:
                self._verdict(row, RowVerdict.REJECTED, checked.reasons)
                continue
            key = hash(tuple(map(str, data.values())))  # same source: same key order
            first = seen_rows.get(key)
            if first is not None:
                self._verdict(
                    row, RowVerdict.DUPLICATE, [reason("duplicate_row", first_line=first)]
                )
                continue
            seen_rows[key] = line
            pid = data.get("personal_id")
            if pid:
                identity = _identity(data)
                known = ids.get(pid)
                if known is None:
                    ids[pid] = (line, identity)
                elif known[1] != identity:
                    self.conflicting.add(known[0])
                    self._verdict(
                        row,
                        RowVerdict.REVIEW,
                        [
                            reason("conflicting_records", "personal_id", first_line=known[0]),
                            *checked.reasons,
                        ],
                    )
                    continue
            pending.append((row, checked))
        self._match(pending)
        with transaction.atomic():
            _insert_rows(self.batch.pk, rows, text_cells=self.text_cells)
            self.batch.processed_rows += len(chunk)
            ImportBatch.objects.filter(pk=self.batch.pk).update(
                processed_rows=self.batch.processed_rows
            )

    def _check_amount(self, checked: Checked) -> bool:
        """The rule-based allowance on the start date: no rule that day rejects the row; a
        different amount in the file is a warning (the rule-based one is stored). True when
        a reason was added."""
        data = checked.data
        key = (data["category"], data["start_date"])
        amount = self.amounts.get(key, _UNKNOWN)
        if amount is _UNKNOWN:
            from ansinh.nationaldb.programmes.services import compute_allowance

            category = BeneficiaryCategory.objects.get(programme__code=self.ctx.source, code=key[0])
            try:
                amount = compute_allowance(category, dt.date.fromisoformat(key[1])).amount
            except DomainError:
                amount = "no_rule"
            self.amounts[key] = amount
        if amount == "no_rule":
            checked.reasons.append(reason("no_rule", "start_date"))
            return True
        data["monthly_allowance"] = amount
        in_file = data.get("allowance_in_file")
        if in_file is not None and amount is not None and in_file != amount:
            checked.reasons.append(reason("amount_differs", "monthly_allowance"))
            return True
        return False

    @staticmethod
    def _verdict(row: Any, verdict: str, reasons: list[dict[str, Any]]) -> None:
        row.verdict = verdict
        row.reasons = reasons
        row.reason = reasons[0]["code"] if reasons else ""

    def _match(self, pending: list[tuple[_Row, Checked]]) -> None:
        """Exact personal ID with the same name and birth date → merged; the rest to the
        linkage app (or, without it, new persons when they have an ID, else review)."""
        pids = [c.data["personal_id"] for _r, c in pending if c.data.get("personal_id")]
        registered = _registered(pids)
        unmatched: list[tuple[_Row, Checked, list[dict[str, Any]]]] = []
        for row, checked in pending:
            pid = checked.data.get("personal_id")
            found = registered.get(pid) if pid and registered else None
            if found is not None:
                if (found[1], found[2]) == _identity(checked.data):
                    row.person_id = found[0]
                    self._verdict(row, RowVerdict.MERGED, [reason("matched_id"), *checked.reasons])
                    continue
                unmatched.append((row, checked, [reason("id_identity_mismatch", "personal_id")]))
                continue
            unmatched.append((row, checked, []))
        if self.link and unmatched:
            self._link(unmatched)
            return
        loaded = RowVerdict.LOADED.value  # a plain str binds faster than the enum member
        for row, checked, extra in unmatched:
            if extra:
                self._verdict(row, RowVerdict.REVIEW, extra + checked.reasons)
            elif checked.data.get("personal_id"):
                row.verdict = loaded
                # Most rows: the shared one-reason list, encoded once (never mutated).
                row.reasons = [_NEW_PERSON, *checked.reasons] if checked.reasons else _NEW_ONLY
                row.reason = "new_person"
            else:
                self._verdict(row, RowVerdict.REVIEW, [reason("no_personal_id"), *checked.reasons])

    def _link(self, unmatched: list[tuple[_Row, Checked, list[dict[str, Any]]]]) -> None:
        from ansinh.linkage.records import SourceRecord
        from ansinh.linkage.services import link_records

        records = []
        for row, checked, _extra in unmatched:
            d = checked.data
            records.append(
                SourceRecord(
                    key=record_key(self.batch.pk, row.line),
                    personal_id=d.get("personal_id"),
                    full_name=d.get("full_name") or "",
                    birth_date=dt.date.fromisoformat(d["date_of_birth"])
                    if d.get("date_of_birth")
                    else None,
                    sex=d.get("sex") or None,
                    commune_code=d.get("commune_code"),
                )
            )
        matches = link_records(records, actor=self.actor)
        for (row, checked, extra), record in zip(unmatched, records, strict=True):
            match = matches.get(record.key)
            band = match.band if match is not None else "none"
            if match is not None:
                row.probability = match.probability
            if band == "link" and match is not None and match.person_id:
                row.person_id = match.person_id
                self._verdict(row, RowVerdict.MERGED, [reason("linked"), *extra, *checked.reasons])
            elif band == "review":
                self._verdict(
                    row, RowVerdict.REVIEW, [reason("linkage_review"), *extra, *checked.reasons]
                )
            elif extra:
                self._verdict(row, RowVerdict.REVIEW, extra + checked.reasons)
            elif checked.data.get("full_name") and checked.data.get("date_of_birth"):
                self._verdict(row, RowVerdict.LOADED, [reason("new_person"), *checked.reasons])
            else:
                self._verdict(
                    row, RowVerdict.REVIEW, [reason("identity_incomplete"), *checked.reasons]
                )

    def finish(self) -> None:
        """Send the first row of each conflicting ID to review too; count; mark staged."""
        from django.db import connection

        batch = self.batch
        with transaction.atomic():
            lines = sorted(self.conflicting)
            field = ImportRow._meta.get_field("reasons")
            for start in range(0, len(lines), 900):
                params = [
                    (
                        RowVerdict.REVIEW,
                        field.get_db_prep_save(
                            [reason("conflicting_records", "personal_id"), *reasons], connection
                        ),
                        "conflicting_records",
                        pk,
                    )
                    for pk, reasons in ImportRow.objects.filter(
                        batch=batch, line__in=lines[start : start + 900]
                    ).values_list("pk", "reasons")
                ]
                with connection.cursor() as cursor:
                    cursor.executemany(_REVIEW_CONFLICT, params)
            ImportBatch.objects.filter(pk=batch.pk).update(
                counts=counts_of(batch), state=BatchState.STAGED, staged_at=timezone.now()
            )


def counts_of(batch: ImportBatch) -> dict[str, int]:
    counts = dict.fromkeys(RowVerdict.values, 0)
    for row in batch.rows.values("verdict").annotate(n=Count("id")).order_by():
        counts[row["verdict"]] = row["n"]
    return counts


# --- Commit and discard ------------------------------------------------------------------------


def _not_staged(batch: ImportBatch) -> Conflict:
    return Conflict(
        "batch_not_staged",
        "state",
        "Lô dữ liệu không ở trạng thái chờ duyệt.",
        f"The batch is {batch.state}, not staged.",
    )


def commit_batch(
    batch: ImportBatch, *, actor: Any = None, request: Any = None, reference: bool = False
) -> ImportBatch:
    """Write the batch's loaded and merged rows (persons, beneficiaries, households) in one
    transaction; rows in review stay there until decided. All or nothing. ``reference=True``:
    the earlier way of writing the rows' links (compared with the fast one by the tests)."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.state != BatchState.STAGED:
            raise _not_staged(locked)
        rows = list(
            locked.rows.filter(verdict__in=[RowVerdict.LOADED, RowVerdict.MERGED]).order_by("line")
        )
        # Review rows an officer already decided before the commit.
        rows += list(
            locked.rows.filter(verdict=RowVerdict.REVIEW, person__isnull=False).order_by("line")
        )
        _write_rows(locked, rows, actor=actor, reference=reference)
        locked.state = BatchState.COMMITTED
        locked.decided_at = timezone.now()
        locked.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.counts = counts_of(locked)
        locked.save(update_fields=["state", "decided_at", "decided_by", "counts"])
        if actor is not None:
            from ansinh.access.services import audit

            audit(
                actor=actor,
                action="update",
                object_type="import_batch",
                object_id=str(locked.pk),
                detail={"state": "committed", "rows": len(rows)},
                request=request,
            )
    return locked


def discard_batch(batch: ImportBatch, *, actor: Any = None, request: Any = None) -> ImportBatch:
    """Discard a staged batch; its rows stay as evidence."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.state not in (BatchState.STAGED, BatchState.FAILED):
            raise _not_staged(locked)
        locked.state = BatchState.DISCARDED
        locked.decided_at = timezone.now()
        locked.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.save(update_fields=["state", "decided_at", "decided_by"])
        if actor is not None:
            from ansinh.access.services import audit

            audit(
                actor=actor,
                action="update",
                object_type="import_batch",
                object_id=str(locked.pk),
                detail={"state": "discarded"},
                request=request,
            )
    return locked


def _person_item(data: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "personal_id": data.get("personal_id"),
        "full_name": data["full_name"],
        "date_of_birth": dt.date.fromisoformat(data["date_of_birth"]),
        "sex": data["sex"],
    }
    if data.get("legacy_commune_code"):  # the registry opens its address review if split
        item["legacy_address_unit_code"] = data["legacy_commune_code"]
    elif data.get("commune_code"):
        item["address_unit_code"] = data["commune_code"]
    if data.get("legacy_number"):
        item["legacy_numbers"] = [data["legacy_number"]]
    return item


def _register(rows: list[ImportRow], *, actor: Any) -> None:
    """Register the new persons of ``rows`` (one per personal ID) and set ``row.person_id``."""
    from ansinh.registry.models import ReviewSource
    from ansinh.registry.services import register_persons

    new = [r for r in rows if r.person_id is None]
    by_pid: dict[str, list[ImportRow]] = {}
    singles: list[ImportRow] = []
    for row in new:
        pid = row.data.get("personal_id")
        if pid:
            by_pid.setdefault(pid, []).append(row)
        else:
            singles.append(row)
    groups = [*by_pid.values(), *([r] for r in singles)]
    for start in range(0, len(groups), 2000):
        part = groups[start : start + 2000]
        results = register_persons(
            [_person_item(g[0].data) for g in part], actor=actor, review_source=ReviewSource.IMPORT
        )
        for group, result in zip(part, results, strict=True):
            if isinstance(result, DomainError):
                first = result.first
                raise Conflict(
                    "commit_row_failed",
                    f"rows[{group[0].line}].{first.field or ''}",
                    f"Dòng {group[0].line}: {first.message_vi} Không có gì được ghi.",
                    f"Row {group[0].line}: {first.message_en} Nothing was written.",
                ) from result
            for row in group:
                row.person_id = result.pk


def _write_rows(
    batch: ImportBatch, rows: list[ImportRow], *, actor: Any, reference: bool = False
) -> None:
    """Inside the commit transaction: persons, then the programme records, then the rows.

    ``reference=True`` keeps the earlier, slower way of writing the rows' links (the ORM's
    ``bulk_update``, one commune query per code): the tests compare both."""
    from ansinh.nationaldb.programmes.services import allowance_snapshot, compute_allowance

    _register(rows, actor=actor)
    programme = Programme.objects.filter(code=batch.source).first()
    if programme is not None:
        if not reference:
            _read_communes({r.data.get("commune_code") for r in rows})
        categories = {c.code: c for c in BeneficiaryCategory.objects.filter(programme=programme)}
        households = (
            _households(batch, rows, reference=reference) if batch.source == "hongheo" else {}
        )
        existing = _existing_beneficiaries(rows, categories)
        allowances: dict[tuple[str, str], tuple[int | None, Any, str]] = {}
        new: list[Beneficiary] = []
        owners: list[ImportRow] = []
        created: dict[tuple[int | None, int, dt.date], Beneficiary] = {}
        sharers: list[tuple[ImportRow, Beneficiary]] = []
        for row in rows:
            d = row.data
            category = categories[d["category"]]
            if batch.source == "hongheo":
                start = dt.date(d["year"], 1, 1)
                end = dt.date(d["year"], 12, 31)
            else:
                start = dt.date.fromisoformat(d["start_date"])
                end = dt.date.fromisoformat(d["end_date"]) if d.get("end_date") else None
            found = existing.get((row.person_id, category.pk, start))
            if found is not None:
                row.beneficiary_id = found
                continue
            if (row.person_id, category.pk, start) in created:  # a second row of one record
                sharers.append((row, created[(row.person_id, category.pk, start)]))
                continue
            key = (category.code, start.isoformat())
            if key not in allowances:
                allowance = compute_allowance(category, start)
                allowances[key] = (
                    allowance.amount,
                    allowance_snapshot(allowance),
                    allowance.citation,
                )
            amount, snapshot, citation = allowances[key]
            commune = batch_commune(d)
            new.append(
                Beneficiary(
                    person_id=row.person_id,
                    programme=programme,
                    category=category,
                    household=households.get(d.get("household_code") or ""),
                    monthly_allowance=amount,
                    rule_snapshot=snapshot,
                    legal_basis=citation or category.legal_basis,
                    start=start,
                    end=end,
                    paying_unit=commune,
                    paying_office=d.get("paying_office") or "",
                    source_batch=batch,
                )
            )
            owners.append(row)
            created[(row.person_id, category.pk, start)] = new[-1]
        Beneficiary.objects.bulk_create(new, batch_size=1000)
        for row, ben in zip(owners, new, strict=True):
            row.beneficiary_id = ben.pk
        for row, ben in sharers:  # the beneficiary written for the earlier row, not a second
            row.beneficiary_id = ben.pk
    for row in rows:
        if row.verdict == RowVerdict.REVIEW:  # decided before the commit
            row.verdict = RowVerdict.MERGED
    if reference:
        ImportRow.objects.bulk_update(rows, ["person", "beneficiary", "verdict"], batch_size=1000)
    else:
        _save_links(rows)


def _save_links(rows: list[ImportRow]) -> None:
    """Write ``person``, ``beneficiary`` and ``verdict`` of ``rows``: one prepared UPDATE by
    primary key, sent with ``executemany`` per chunk. The ORM's ``bulk_update`` builds a
    ``CASE WHEN id = … THEN …`` per row and field and compiles it in Python, which was half of
    the commit's time."""
    from django.db import connection

    table = connection.ops.quote_name(ImportRow._meta.db_table)
    sql = f"UPDATE {table} SET person_id = %s, beneficiary_id = %s, verdict = %s WHERE id = %s"  # noqa: S608 - table name from the model, values bound
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(
                sql,
                [
                    (r.person_id, r.beneficiary_id, r.verdict, r.pk)
                    for r in rows[start : start + CHUNK]
                ],
            )


_COMMUNES: dict[str, Any] = {}


def _read_communes(codes: Iterable[str | None]) -> None:
    """Fill :func:`batch_commune`'s cache for ``codes`` with one query per 500 codes
    (unknown codes are cached as None, as the one-by-one look-up does)."""
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    missing = sorted({c for c in codes if c and c not in _COMMUNES})
    for start in range(0, len(missing), 500):
        part = missing[start : start + 500]
        found: dict[str, Any] = {}
        for unit in AdminUnit.objects.filter(
            system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, code__in=part
        ).order_by("pk"):
            found.setdefault(unit.code, unit)
        for code in part:
            _COMMUNES[code] = found.get(code)


def batch_commune(data: dict[str, Any]) -> Any:
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    code = data.get("commune_code")
    if not code:
        return None
    if code not in _COMMUNES:
        _COMMUNES[code] = AdminUnit.objects.filter(
            system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, code=code
        ).first()
    return _COMMUNES[code]


def _existing_beneficiaries(
    rows: list[ImportRow], categories: dict[str, BeneficiaryCategory]
) -> dict[tuple[int, int, dt.date], int]:
    persons = sorted({r.person_id for r in rows if r.person_id})
    out: dict[tuple[int, int, dt.date], int] = {}
    cat_ids = [c.pk for c in categories.values()]
    for start in range(0, len(persons), 900):
        for pk, person, category, begin in Beneficiary.objects.filter(
            person_id__in=persons[start : start + 900], category_id__in=cat_ids
        ).values_list("pk", "person_id", "category_id", "start"):
            out[(person, category, begin)] = pk
    return out


def _households(
    batch: ImportBatch, rows: Iterable[ImportRow], *, reference: bool = False
) -> dict[str, Household]:
    """Households, members and the year's poverty status of a poverty file. The new
    households, statuses and the heads are written in bulk (``reference=True``: one query
    each, as before; the tests compare both)."""
    rows = list(rows)
    if not reference:
        return _households_bulk(batch, rows)
    codes = sorted({r.data["household_code"] for r in rows})
    households = {h.code: h for h in Household.objects.filter(code__in=codes)}
    for code in codes:
        if code not in households:
            first = next(r for r in rows if r.data["household_code"] == code)
            households[code] = Household.objects.create(
                code=code, commune=batch_commune(first.data), source_batch=batch
            )
    members = set(
        HouseholdMember.objects.filter(household__code__in=codes).values_list(
            "household_id", "person_id"
        )
    )
    statuses = set(
        PovertyStatus.objects.filter(household__code__in=codes).values_list("household_id", "year")
    )
    new_members = []
    for row in rows:
        d = row.data
        household = households[d["household_code"]]
        if (household.pk, row.person_id) not in members:
            members.add((household.pk, row.person_id))
            new_members.append(
                HouseholdMember(
                    household=household, person_id=row.person_id, relation=d["relation"]
                )
            )
        if d["relation"] == "head" and household.head_id != row.person_id:
            household.head_id = row.person_id
            household.save(update_fields=["head"])
        if (household.pk, d["year"]) not in statuses:
            statuses.add((household.pk, d["year"]))
            PovertyStatus.objects.create(
                household=household, year=d["year"], level=d["category"], source_batch=batch
            )
    HouseholdMember.objects.bulk_create(new_members, batch_size=1000)
    return households


def _households_bulk(batch: ImportBatch, rows: list[ImportRow]) -> dict[str, Household]:
    """:func:`_households` with bulk writes: the same households (commune of the code's first
    row), members (first row of a person in a household), statuses (first row of a household
    and year) and heads (the last head row of a household)."""
    from django.db import connection

    codes = sorted({r.data["household_code"] for r in rows})
    households: dict[str, Household] = {}
    for start in range(0, len(codes), 500):
        households.update(
            (h.code, h) for h in Household.objects.filter(code__in=codes[start : start + 500])
        )
    first: dict[str, ImportRow] = {}
    for row in rows:
        first.setdefault(row.data["household_code"], row)
    fresh = [
        Household(code=code, commune=batch_commune(first[code].data), source_batch=batch)
        for code in codes
        if code not in households
    ]
    Household.objects.bulk_create(fresh, batch_size=1000)
    households.update((h.code, h) for h in fresh)
    ids = [h.pk for h in households.values()]
    members: set[tuple[int, int | None]] = set()
    statuses: set[tuple[int, Any]] = set()
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        members.update(
            HouseholdMember.objects.filter(household_id__in=part).values_list(
                "household_id", "person_id"
            )
        )
        statuses.update(
            PovertyStatus.objects.filter(household_id__in=part).values_list("household_id", "year")
        )
    new_members: list[HouseholdMember] = []
    new_statuses: list[PovertyStatus] = []
    heads: dict[int, Household] = {}
    for row in rows:
        d = row.data
        household = households[d["household_code"]]
        if (household.pk, row.person_id) not in members:
            members.add((household.pk, row.person_id))
            new_members.append(
                HouseholdMember(
                    household=household, person_id=row.person_id, relation=d["relation"]
                )
            )
        if d["relation"] == "head" and household.head_id != row.person_id:
            household.head_id = row.person_id
            heads[household.pk] = household
        if (household.pk, d["year"]) not in statuses:
            statuses.add((household.pk, d["year"]))
            new_statuses.append(
                PovertyStatus(
                    household=household, year=d["year"], level=d["category"], source_batch=batch
                )
            )
    if heads:
        table = connection.ops.quote_name(Household._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET head_id = %s WHERE id = %s",  # noqa: S608 - table name from the model, values bound
                [(h.head_id, h.pk) for h in heads.values()],
            )
    PovertyStatus.objects.bulk_create(new_statuses, batch_size=1000)
    HouseholdMember.objects.bulk_create(new_members, batch_size=1000)
    return households


# --- Rows decided in the linkage review --------------------------------------------------------


def finish_reviewed_row(
    record_key_: str, *, person_id: int | None, decision: str, actor: Any = None
) -> ImportRow | None:
    """Complete a row an officer decided in the linkage review. ``link`` → the row is merged
    into ``person_id``; ``separate`` → a new person. In a committed batch the programme
    records are written now; in a staged one, at the commit. Rows of other apps' keys, or of
    discarded batches, are ignored (returns None)."""
    parts = record_key_.split(":") if record_key_ else []
    if len(parts) != 3 or parts[0] != "nationaldb":
        return None
    with transaction.atomic():
        row = (
            ImportRow.objects.select_for_update()
            .select_related("batch")
            .filter(batch_id=int(parts[1]), line=int(parts[2]))
            .first()
        )
        if row is None or row.verdict != RowVerdict.REVIEW:
            return None
        batch = row.batch
        if batch.state == BatchState.DISCARDED:
            return None
        if decision == "link" and person_id:
            row.person_id = person_id
            row.reasons = [reason("review_linked"), *row.reasons]
            verdict = RowVerdict.MERGED
        else:
            row.person_id = None
            row.reasons = [reason("review_separated"), *row.reasons]
            verdict = RowVerdict.LOADED
        row.reason = row.reasons[0]["code"]
        if batch.state == BatchState.COMMITTED:
            row.verdict = verdict
            _write_rows(batch, [row], actor=actor)
            row.save(update_fields=["reasons", "reason"])
        else:
            row.verdict = verdict
            row.save(update_fields=["person", "verdict", "reasons", "reason"])
        ImportBatch.objects.filter(pk=batch.pk).update(counts=counts_of(batch))
    return row


def decide_row(
    row: ImportRow,
    *,
    decision: str,
    ss_number: str = "",
    actor: Any = None,
    request: Any = None,
) -> ImportRow:
    """An officer decides a row in review that has no linkage pair (conflicting records, an ID
    registered with another identity, no personal ID): ``link`` to the registry person
    ``ss_number``, ``separate`` (a new person) or ``reject``. Audited."""
    from ansinh.registry.models import Person

    if row.verdict != RowVerdict.REVIEW or row.batch.state == BatchState.DISCARDED:
        raise Conflict(
            "row_not_in_review",
            "verdict",
            "Dòng này không ở trạng thái chờ đối chiếu.",
            "This row is not waiting for a review.",
        )
    if decision not in ("link", "separate", "reject"):
        raise DomainError(
            "decision_invalid",
            "decision",
            "Quyết định phải là gộp, tạo mới hoặc loại.",
            "The decision must be link, separate or reject.",
        )
    person_id = None
    if decision == "link":
        person_id = (
            Person.objects.filter(ss_number=(ss_number or "").strip())
            .values_list("pk", flat=True)
            .first()
        )
        if person_id is None:
            raise DomainError(
                "person_unknown",
                "ss_number",
                "Không có người mang mã số này trong sổ đăng ký.",
                "No registered person has this number.",
            )
    with transaction.atomic():
        if decision == "reject":
            locked = ImportRow.objects.select_for_update().get(pk=row.pk)
            locked.verdict = RowVerdict.REJECTED
            locked.reasons = [reason("review_rejected"), *locked.reasons]
            locked.reason = "review_rejected"
            locked.save(update_fields=["verdict", "reasons", "reason"])
            ImportBatch.objects.filter(pk=row.batch_id).update(counts=counts_of(row.batch))
        else:
            finish_reviewed_row(
                record_key(row.batch_id, row.line),
                person_id=person_id,
                decision=decision,
                actor=actor,
            )
        if actor is not None:
            from ansinh.access.services import audit

            audit(
                actor=actor,
                action="update",
                object_type="import_batch",
                object_id=str(row.batch_id),
                detail={"line": row.line, "decision": decision},
                request=request,
            )
    row.refresh_from_db()
    return row
