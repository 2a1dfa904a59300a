"""Interoperability with the independent XML-DSig implementation ``xmlsec1`` (Debian package).

Decree 166/2016/NĐ-CP lets employers sign with the tool they already have, and has the agency
return signed receipts and results: a dossier signed by another implementation must verify
here, and our signatures must verify there — in both directions, for RSA-SHA256 and
ECDSA-SHA256 with the certificate in X509Data.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from ansinh.core.errors import DomainError
from ansinh.gateway import signing, trust, xmlsafe
from ansinh.gateway.testca import Identity, make_test_pki, write_identity
from ansinh.gateway.tests.pki import AT, NS, default_pki, document, signer, trust_ca

XMLSEC1 = Path("/usr/bin/xmlsec1")
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not XMLSEC1.exists(),
        reason="/usr/bin/xmlsec1 is not installed (Debian package xmlsec1; dev.py test installs "
        "it)",
    ),
]

DS = "http://www.w3.org/2000/09/xmldsig#"
METHODS = {
    "rsa": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "ec": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
}


@pytest.fixture(autouse=True)
def _fresh_trust_store() -> None:
    trust.invalidate()


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XMLSEC1), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def _template(key_type: str) -> bytes:
    """The dossier with an empty enveloped signature template as the root's last child, as a
    submitter prepares it for ``xmlsec1 --sign``."""
    root = etree.fromstring(document())
    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(
        signed_info,
        f"{{{DS}}}CanonicalizationMethod",
        Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    etree.SubElement(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=METHODS[key_type])
    reference = etree.SubElement(signed_info, f"{{{DS}}}Reference", URI="")
    transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
    etree.SubElement(
        transforms,
        f"{{{DS}}}Transform",
        Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    )
    etree.SubElement(
        reference, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"
    )
    etree.SubElement(reference, f"{{{DS}}}DigestValue")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    key_info = etree.SubElement(signature, f"{{{DS}}}KeyInfo")
    etree.SubElement(key_info, f"{{{DS}}}X509Data")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _xmlsec1_sign(tmp_path: Path, ident: Identity, key_type: str) -> bytes:
    cert_path, key_path = write_identity(tmp_path, f"signer-{key_type}", ident)
    template = tmp_path / f"template-{key_type}.xml"
    template.write_bytes(_template(key_type))
    out = tmp_path / f"signed-{key_type}.xml"
    result = _run("--sign", "--privkey-pem", f"{key_path},{cert_path}", "--output", out, template)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_dossier_signed_by_xmlsec1_verifies_here(tmp_path: Path, key_type: str) -> None:
    trust_ca()
    ident = signer(key_type)
    data = _xmlsec1_sign(tmp_path, ident, key_type)
    assert b"<ds:X509Certificate>" in data  # xmlsec1 filled X509Data from the certificate

    verified = signing.verify(xmlsafe.parse(data), at=AT)
    assert verified.certificate == ident.certificate
    assert verified.tax_code == "0101234567"
    assert verified.root.findtext(f".//{{{NS}}}Salary") == "9500000"
    assert verified.root.find(f"{{{DS}}}Signature") is None


def test_dossier_signed_by_xmlsec1_then_changed_is_refused(tmp_path: Path) -> None:
    trust_ca()
    data = _xmlsec1_sign(tmp_path, signer("rsa"), "rsa")
    changed = data.replace(b"<Salary>9500000</Salary>", b"<Salary>9500001</Salary>")
    with pytest.raises(DomainError) as info:
        signing.verify(xmlsafe.parse(changed), at=AT)
    assert info.value.code == "signature_invalid"


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_our_signature_verifies_with_xmlsec1(tmp_path: Path, key_type: str) -> None:
    ident = signer(key_type)
    signed = tmp_path / f"ours-{key_type}.xml"
    signed.write_bytes(signing.sign(document(), key=ident.key, certificate=ident.certificate))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(default_pki().ca.cert_pem)

    result = _run("--verify", "--trusted-pem", ca, signed)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout + result.stderr

    # Control: with another CA as the only trusted one, xmlsec1 refuses the same file.
    other = tmp_path / "other-ca.pem"
    other.write_bytes(make_test_pki("another CA", key_type="ec").ca.cert_pem)
    assert _run("--verify", "--trusted-pem", other, signed).returncode != 0


def test_agency_receipt_verifies_with_xmlsec1(tmp_path: Path) -> None:
    """A submitter checks our signed receipt with xmlsec1 and the agency's CA certificate."""
    from django.conf import settings

    receipt = tmp_path / "receipt.xml"
    receipt.write_bytes(
        signing.sign_as_agency(b"<Receipt><Code>000.00.00.H01-261102-0001</Code></Receipt>")
    )
    agency_ca = Path(settings.DATA_DIR) / "gateway" / "ca.pem"
    result = _run("--verify", "--trusted-pem", agency_ca, receipt)
    assert result.returncode == 0, result.stderr
    # And it verifies here once the agency CA is trusted.
    trust.add_authority(agency_ca.read_bytes())
    assert signing.verify(xmlsafe.parse(receipt.read_bytes()), at=dt.datetime.now(dt.UTC))
