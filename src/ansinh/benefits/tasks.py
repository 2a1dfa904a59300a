"""Background work of the benefits app: the detector's full run every night (set-based SQL, see
``detector``) and the daily payment run (chi trả) of the months due."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@task()
def detect_all() -> dict[str, Any]:
    from ansinh.benefits import detector

    run = detector.run()
    return {"findings": run.findings, "opened": run.opened, "feed": run.feed_events}


@task()
def pay_today() -> dict[str, Any]:
    from ansinh.benefits import services

    run = services.pay_due(timezone.localdate())
    return {"paid": run.paid, "held": run.held, "cards": run.cards}


@db_periodic_task(crontab(hour="0", minute="40"))
def nightly_detection() -> None:
    detect_all.enqueue()


@db_periodic_task(crontab(hour="6", minute="0"))
def daily_payment_run() -> None:
    pay_today.enqueue()
