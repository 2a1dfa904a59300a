"""Peers registered in the admin get the key id and algorithm of the key pasted in; a text
that is no key is refused on the form; the message log is read-only there."""

from __future__ import annotations

import pytest
from django.test import Client

from ansinh.access.testing import login_verified, make_user
from ansinh.exchange import keys
from ansinh.exchange.models import Peer

pytestmark = pytest.mark.django_db


def _admin(client: Client) -> Client:
    return login_verified(client, make_user("administrator", is_staff=True, is_superuser=True))


def _form(pem: str) -> dict[str, str]:
    return {
        "instance": "VN", "member_class": "GOV", "member_code": "SNV-HN",
        "subsystem": "unemployment", "name": "", "base_url": "https://snv.example",
        "public_key_pem": pem, "certificate_pem": "", "active": "on",
        "grants-TOTAL_FORMS": "1", "grants-INITIAL_FORMS": "0",
        "grants-MIN_NUM_FORMS": "0", "grants-MAX_NUM_FORMS": "1000",
        "grants-0-service": "echo", "grants-0-note": "",
    }  # fmt: skip


def test_a_peer_added_in_the_admin_gets_its_key_id(client: Client) -> None:
    admin = _admin(client)
    key = keys.new_key(keys.ECDSA_P256)
    response = admin.post("/admin/exchange/peer/add/", _form(keys.public_pem(key.public_key())))
    assert response.status_code == 302, response.content.decode()[:2000]
    peer = Peer.objects.get()
    assert peer.key_id == keys.key_id(key.public_key()) and peer.algorithm == keys.ECDSA_P256
    assert list(peer.grants.values_list("service", flat=True)) == ["echo"]


def test_a_text_that_is_no_key_is_refused(client: Client) -> None:
    admin = _admin(client)
    response = admin.post("/admin/exchange/peer/add/", _form("not a key"))
    assert response.status_code == 200 and not Peer.objects.exists()
    assert admin.get("/admin/exchange/logentry/").status_code == 200
    assert admin.get("/admin/exchange/logentry/add/").status_code == 403
