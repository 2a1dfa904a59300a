"""Daily sequence numbers of dossier codes (Decree 61/2018 Art. 26): one ``UPDATE … RETURNING``
per number, unique under concurrent receptions."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction

from ansinh.onestop import services
from ansinh.onestop.models import DailySequence
from ansinh.onestop.testing import make_office


@pytest.mark.django_db
def test_numbers_follow_each_other_from_one() -> None:
    office = make_office()
    day = dt.date(2026, 11, 2)
    assert [services._next_sequence(office, day) for _ in range(3)] == [1, 2, 3]
    assert services._next_sequence(office, dt.date(2026, 11, 3)) == 1
    assert DailySequence.objects.get(office=office, day=day).last == 3


@pytest.mark.django_db(transaction=True)
def test_two_threads_never_get_the_same_number() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database")
    office = make_office()
    day = dt.date(2026, 11, 4)
    got: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work() -> None:
        try:
            start.wait()
            for _ in range(25):
                with transaction.atomic():
                    got.append(services._next_sequence(office, day))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == list(range(1, 51))
