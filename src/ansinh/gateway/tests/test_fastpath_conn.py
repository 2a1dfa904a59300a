"""The lean intake route folds the connection health check into the token look-up: no
``SELECT 1`` before each submission, yet a connection the server dropped while idle is still
replaced before the request fails, as ``CONN_HEALTH_CHECKS`` would do (Decree 166/2016/NĐ-CP
Art. 9–11: who may submit is read from the database on every request)."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import OperationalError, connection

from ansinh.gateway import api, fastpath
from ansinh.gateway import testing as gw

pytestmark = pytest.mark.django_db(transaction=True)  # the connection is closed: no test atomic

needs_pg = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server-side connection loss needs PostgreSQL"
)


@pytest.fixture
def checked() -> Iterator[None]:
    """The connection as ``close_old_connections`` leaves it at the start of a request."""
    enabled = connection.health_check_enabled
    connection.ensure_connection()
    connection.health_check_enabled = True
    connection.health_check_done = False
    yield
    connection.health_check_enabled = enabled


def test_the_same_user_as_the_reference_and_no_separate_check(checked) -> None:
    ivan = gw.make_ivan()
    connection.health_check_done = False
    with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as usable:
        user = fastpath.authenticate(ivan.token)
    assert user == api.token_user(ivan.token) == ivan.user
    assert usable.call_count == 0
    assert connection.health_check_done  # no SELECT 1 later in this request either
    assert fastpath.authenticate("not-a-token") is None


def test_a_dead_connection_is_replaced_and_the_look_up_run_again(checked) -> None:
    ivan = gw.make_ivan()
    connection.health_check_done = False
    failing = mock.Mock(side_effect=[OperationalError("server closed the connection"), ivan.user])
    with (
        mock.patch.object(api, "token_user", failing),
        mock.patch.object(connection, "close", wraps=connection.close) as close,
    ):
        assert fastpath.authenticate(ivan.token) == ivan.user
    assert failing.call_count == 2
    assert close.call_count == 1


def test_a_second_failure_is_raised(checked) -> None:
    failing = mock.Mock(side_effect=OperationalError("down"))
    with mock.patch.object(api, "token_user", failing), pytest.raises(OperationalError):
        fastpath.authenticate("x")
    assert failing.call_count == 2


def test_without_health_checks_nothing_is_retried(checked) -> None:
    connection.health_check_enabled = False
    failing = mock.Mock(side_effect=OperationalError("down"))
    with mock.patch.object(api, "token_user", failing), pytest.raises(OperationalError):
        fastpath.authenticate("x")
    assert failing.call_count == 1


@needs_pg
def test_a_connection_terminated_by_the_server_is_replaced(checked) -> None:
    ivan = gw.make_ivan()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        # What an idle timeout or a server restart does to a kept connection.
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    connection.errors_occurred = False  # as if it had died between two requests
    connection.health_check_done = False
    assert fastpath.authenticate(ivan.token) == ivan.user
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
