"""Background work of the gateway, run by the huey worker through django-tasks.

``process_submission`` decides the rows of one accepted submission and answers it; it is
enqueued when the submission commits and is safe to run twice. It is a plain huey task, not a
django-tasks one: django-tasks' huey backend keeps a result record per task (a write when
enqueued, a read after, two writes when run) that nobody reads here — the submission itself
records its processing — and at intake's rate (issue 4: 200 dossiers/s) those were a tenth of
the CPU of a submission. ``deliver_callback`` pushes one
signed receipt or result to the submitter's URL; ``retry_callbacks`` (every minute) re-sends
those that failed, on the backoff schedule of ``callbacks``. ``probe_ivans`` (every 5 minutes)
records whether each active I-VAN answers — they must be reachable around the clock;
``expire_ivan_contracts`` (daily) marks ended the contracts whose end date has passed.
"""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(name="gateway.process_submission")
def process_submission(submission_id: int) -> dict[str, int]:
    from ansinh.gateway import services

    sub = services.process_submission(submission_id)
    return {
        "accepted": sub.rows_accepted,
        "rejected": sub.rows_rejected,
        "queued": sub.rows_queued,
    }


@task()
def deliver_callback(delivery_id: int) -> bool:
    from ansinh.gateway import callbacks

    return callbacks.deliver(delivery_id)


@db_periodic_task(crontab(minute="*"))
def retry_callbacks() -> None:
    from ansinh.gateway import callbacks

    callbacks.retry_due(timezone.now())


@db_periodic_task(crontab(minute="*/5"))
def probe_ivans() -> None:
    from ansinh.gateway import submitters

    submitters.probe_ivans(timezone.now())


@db_periodic_task(crontab(hour="0", minute="5"))
def expire_ivan_contracts() -> None:
    """An I-VAN whose contract end (set ahead) has passed shows as ended."""
    from ansinh.gateway import submitters

    submitters.expire_contracts()
