"""The choice labels of the models: English msgids, translated into Vietnamese by the catalogue,
so that pages show one language, not "indefinite term (không xác định thời hạn)" in both."""

from __future__ import annotations

import importlib
import inspect

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from ansinh.access.testing import login_verified, make_user
from ansinh.law.services import sync_rules

APPS = ("law", "places", "access", "registry", "contributions")


def _choice_enums() -> list[type[models.Choices]]:
    enums = []
    for app in APPS:
        module = importlib.import_module(f"ansinh.{app}.models")
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            is_choices = issubclass(obj, models.Choices) and obj is not models.Choices
            if is_choices and obj.__module__ == module.__name__:
                enums.append(obj)
    return enums


ENUMS = _choice_enums()


def _is_english(text: str) -> bool:
    """No Vietnamese letters: every letter is ASCII (dashes and the like may not be)."""
    return all(ord(c) < 128 for c in text if c.isalpha())


def test_the_enums_of_every_app_are_found() -> None:
    names = {e.__name__ for e in ENUMS}
    assert {"ContractType", "Sex", "SchemePart", "OrganisationKind", "UnitLevel"} <= names
    assert {"RowKind", "ChangeKind", "BillStatus", "ReferenceKind", "PayScale"} <= names
    assert {e.__module__.split(".")[1] for e in ENUMS} == set(APPS)


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_choice_label_is_lazy_english_and_translated_into_vietnamese(
    enum: type[models.Choices],
) -> None:
    for member in enum:
        assert isinstance(member.label, Promise), f"{member!r}: label is not gettext_lazy"
        with translation.override("en"):
            english = str(member.label)
        with translation.override("vi"):
            vietnamese = str(member.label)
        assert _is_english(english), f"{member!r}: {english!r} is not English"
        assert vietnamese != english, f"{member!r}: {english!r} has no Vietnamese translation"


def test_key_labels_use_the_administrative_terms() -> None:
    from ansinh.law.models import Payer, ReferenceKind, SchemePart
    from ansinh.registry.models import ContractType, Sex

    expected = {
        ContractType.INDEFINITE: "Hợp đồng không xác định thời hạn",
        Sex.MALE: "Nam",
        Sex.FEMALE: "Nữ",
        SchemePart.SICKNESS_MATERNITY: "Ốm đau, thai sản",
        SchemePart.OCCUPATIONAL: "Tai nạn lao động, bệnh nghề nghiệp",
        SchemePart.RETIREMENT: "Hưu trí, tử tuất",
        Payer.EMPLOYER: "Người sử dụng lao động",
        Payer.EMPLOYEE: "Người lao động",
        ReferenceKind.BASE_SALARY: "Lương cơ sở",
        ReferenceKind.REGIONAL_MINIMUM_WAGE: "Lương tối thiểu vùng",
    }
    with translation.override("vi"):
        assert {m: str(m.label) for m in expected} == expected
    with translation.override("en"):
        assert str(ContractType.INDEFINITE.label) == "Indefinite-term contract"
        assert str(Sex.MALE.label) == "Male"


@pytest.mark.django_db
def test_rule_tables_page_shows_labels_in_one_language(client: Client) -> None:
    sync_rules()
    login_verified(client, make_user("officer"))
    url = reverse("contributions:rules")
    vi = client.get(url, {"on": "2025-03-01"}).content.decode()
    assert "Hưu trí, tử tuất" in vi and "Người sử dụng lao động" in vi
    assert "Retirement and survivors" not in vi and "BHXH –" not in vi
    client.post("/i18n/setlang/", {"language": "en", "next": url})
    en = client.get(url, {"on": "2025-03-01"}).content.decode()
    assert "Retirement and survivors" in en and "Employer" in en
    assert "Hưu trí" not in en and "người sử dụng lao động" not in en.lower()
