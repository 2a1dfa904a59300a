"""The Vietnamese catalogue: complete, and the compiled .mo (shipped, since the test and
production machines have no gettext) matches the .po it was compiled from."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

LC = Path(settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES"
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(parts: list[str]) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), "".join(parts))


def _po_entries() -> dict[str, str]:
    """msgid → msgstr (msgstr[0] for plurals) of the non-obsolete, non-header entries; an
    entry with a context is keyed ``context\x04msgid`` as in the compiled catalogue."""
    entries: dict[str, str] = {}
    for block in (LC / "django.po").read_text(encoding="utf-8").split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln and not ln.startswith("#")]
        fields: dict[str, list[str]] = {}
        key = ""
        for line in lines:
            if not line.startswith('"'):
                key = line.split(" ", 1)[0]
            fields.setdefault(key, []).extend(_STRING.findall(line))
        msgid = _unescape(fields.get("msgid", []))
        context = _unescape(fields.get("msgctxt", []))
        if msgid:
            if context:
                msgid = f"{context}\x04{msgid}"
            entries[msgid] = _unescape(fields.get("msgstr", fields.get("msgstr[0]", [])))
    return entries


def test_every_string_has_a_vietnamese_translation() -> None:
    entries = _po_entries()
    assert len(entries) > 100
    untranslated = [msgid for msgid, msgstr in entries.items() if not msgstr]
    assert untranslated == []
    assert "#, fuzzy" not in (LC / "django.po").read_text(encoding="utf-8")


def test_compiled_catalogue_is_up_to_date_with_the_po() -> None:
    with (LC / "django.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    entries = _po_entries()
    stale = [msgid for msgid, msgstr in entries.items() if mo.gettext(msgid) != msgstr]
    assert stale == [], "run: ansinh compilemessages (django.mo is older than django.po)"
    # The .mo holds no string the .po lost (header and plural forms aside).
    compiled = {k if isinstance(k, str) else k[0] for k in mo._catalog if k}  # type: ignore[attr-defined]
    assert compiled <= set(entries)


def test_key_strings_translate_at_runtime() -> None:
    with translation.override("vi"):
        assert translation.gettext("Search persons") == "Tra cứu người"
        assert translation.gettext("Contribution history") == "Quá trình đóng"
    with translation.override("en"):
        assert translation.gettext("Search persons") == "Search persons"
