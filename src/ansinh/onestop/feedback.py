"""Satisfaction ratings (đánh giá mức độ hài lòng) given by the applicant with the dossier code.

Decision 766/QĐ-TTg (2022) counts satisfaction among the service-quality indicators and lets
citizens rate by dossier code, without an account: the code printed on the receipt is the key.
A dossier is rated once, after processing ended (result ready, returned, or rejected).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from ansinh.core.errors import Conflict, DomainError, ErrorCollector, NotFound
from ansinh.onestop.models import RESOLVED_STATES, Dossier, Satisfaction, SatisfactionRating
from ansinh.onestop.selectors import valid_code

#: Longest comment kept (characters): enough for a remark, too short for a document dump.
COMMENT_MAX = 1000


def _already_rated() -> Conflict:
    return Conflict(
        "already_rated",
        "code",
        "Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần.",
        "This dossier has already been rated; each dossier is rated once.",
    )


def _when(at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at) or at > now + dt.timedelta(minutes=5):
        raise DomainError(
            "invalid_time",
            "at",
            "Thời điểm đánh giá không hợp lệ.",
            "The rating time is not valid.",
        )
    return at


def rate_dossier(
    code: str, level: str, comment: str = "", at: dt.datetime | None = None
) -> SatisfactionRating:
    """Record the applicant's rating of a resolved dossier. Raises NotFound for an unknown
    code, Conflict ``not_resolved`` / ``already_rated``, DomainError for a bad level or an
    over-long comment; nothing is written on error."""
    comment = (comment or "").strip()
    errors = ErrorCollector()
    if level not in Satisfaction.values:
        errors.add(
            "invalid_level",
            "level",
            "Chọn một mức độ hài lòng.",
            "Choose a satisfaction level.",
        )
    if len(comment) > COMMENT_MAX:
        errors.add(
            "comment_too_long",
            "comment",
            f"Ý kiến tối đa {COMMENT_MAX} ký tự.",
            f"The comment may have at most {COMMENT_MAX} characters.",
        )
    if "\x00" in comment:
        errors.add(
            "invalid_character",
            "comment",
            "Ý kiến chứa ký tự không hợp lệ.",
            "The comment contains an invalid character.",
        )
    dossier = Dossier.objects.filter(code=code).first() if valid_code(code) else None
    if dossier is None:
        raise NotFound(
            "unknown_dossier", "code", "Không tìm thấy hồ sơ.", "The dossier was not found."
        )
    errors.raise_if_any()
    if dossier.state not in RESOLVED_STATES:
        raise Conflict(
            "not_resolved",
            "code",
            "Chỉ đánh giá được khi hồ sơ đã có kết quả hoặc đã được trả lời.",
            "A dossier can be rated only once it has a result or an answer.",
        )
    when = _when(at)
    if SatisfactionRating.objects.filter(dossier=dossier).exists():
        raise _already_rated()
    try:
        with transaction.atomic():
            return SatisfactionRating.objects.create(
                dossier=dossier, level=level, comment=comment, rated_at=when
            )
    except IntegrityError as exc:  # a concurrent rating of the same dossier won
        raise _already_rated() from exc
