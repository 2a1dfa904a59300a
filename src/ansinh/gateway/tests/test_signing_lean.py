"""The lean XML-DSig paths against signxml, their reference: for the same input, the same
verdict (code and message) or the same signed content; our own signatures byte for byte what
signxml's ``XMLSigner`` makes (Law on E-transactions 20/2023/QH15 Art. 22–25: only a valid
signature over the whole dossier counts; Decree 166/2016/NĐ-CP Art. 7)."""

from __future__ import annotations

import base64
import hashlib
import re
from contextlib import nullcontext
from typing import Any
from unittest import mock

import pytest
from lxml import etree

from ansinh.core.errors import DomainError
from ansinh.gateway import client, signing, xmlsafe
from ansinh.gateway.tests.pki import AT, NS, default_pki, document, signer, trust_ca

pytestmark = pytest.mark.django_db

DS = signing.DS


@pytest.fixture(autouse=True)
def _trusted() -> None:
    trust_ca()


def _outcome(data: bytes, *, lean: bool) -> tuple[Any, ...]:
    """What ``verify`` answers, through the lean path or (``lean=False``) through signxml."""
    calls: list[int] = []
    real = signing._verify_signxml

    def spy(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    patches = [mock.patch.object(signing, "_verify_signxml", spy)]
    if not lean:
        patches.append(
            mock.patch.object(signing, "_verify_lean", lambda *a: signing._OUTSIDE_PROFILE)
        )
    with patches[0], patches[1] if len(patches) > 1 else nullcontext():
        try:
            verified = signing.verify(xmlsafe.parse(data), at=AT)
        except DomainError as exc:
            return ("refused", exc.code, exc.first.message_en, bool(calls))
    signed = etree.tostring(verified.root, method="c14n")
    return ("verified", signed, verified.fingerprint, bool(calls))


def _same(data: bytes, *, in_profile: bool = True) -> tuple[Any, ...]:
    lean, reference = _outcome(data, lean=True), _outcome(data, lean=False)
    assert lean[:-1] == reference[:-1]
    assert reference[-1], "the reference went through signxml"
    # In our profile the lean path decided alone; outside it, signxml did.
    assert lean[-1] is (not in_profile)
    return lean


def _ours(key_type: str = "rsa", doc: bytes | None = None) -> bytes:
    ident = signer(key_type)
    return signing.sign(doc or document(), key=ident.key, certificate=ident.certificate)


def _resign(data: bytes, key_type: str = "rsa", edit: Any = None) -> bytes:
    """Re-sign after ``edit(signature)`` changed the SignedInfo: the digest and the signature
    value are computed afresh (by hand, as another tool would)."""
    ident = signer(key_type)
    root = etree.fromstring(data)
    signature = root[-1]
    if edit is not None:
        edit(signature)
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    transforms = [t.get("Algorithm") for t in signed_info.iter(f"{{{DS}}}Transform")]
    c14n = next((signing._C14N[t] for t in transforms if t in signing._C14N), None)
    copy = etree.fromstring(etree.tostring(root))
    copy.remove(copy[-1])
    payload = signing._c14n(copy, c14n or signing.CanonicalizationMethod.CANONICAL_XML_1_0)
    digest = signed_info.find(f".//{{{DS}}}DigestValue")
    digest.text = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    method = signing.CanonicalizationMethod(
        signed_info.find(f"{{{DS}}}CanonicalizationMethod").get("Algorithm")
    )
    standalone = etree.fromstring(etree.tostring(signature)).find(f"{{{DS}}}SignedInfo")
    value = signing._signature_value(ident.key, signing._c14n(standalone, method))
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
    return etree.tostring(root)


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_our_signatures_and_signxml_client_signatures_verify_alike(key_type: str) -> None:
    assert _same(_ours(key_type))[0] == "verified"
    ident = signer(key_type)
    # The client tool (signxml's defaults: C14N 1.1) — what I-VANs and the benchmark send.
    by_client = client.sign(document(3), ident.key_pem, ident.cert_pem)
    assert _same(by_client)[0] == "verified"


def _sub(pattern: bytes, replacement: bytes, count: int = 1) -> Any:
    return lambda data: re.sub(pattern, replacement, data, count=count)


def _value(edit: Any) -> Any:
    def change(data: bytes) -> bytes:
        root = etree.fromstring(data)
        node = root[-1].find(f"{{{DS}}}SignatureValue")
        node.text = edit(node.text)
        return etree.tostring(root)

    return change


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_sub(rb"9500000", rb"9500001"), id="content changed"),
        pytest.param(_sub(rb"<Salary>9500000", rb"<Salary>95<!-- x -->00000"), id="comment"),
        pytest.param(_sub(rb"<Salary>", rb"<Salary >"), id="tag whitespace"),
        pytest.param(_sub(rb"<DigestValue>.", rb"<DigestValue>A"), id="digest value"),
        pytest.param(_sub(rb"(<ds:DigestValue>[^<]{10})", rb"\1<!--c-->"), id="comment in digest"),
        pytest.param(_value(lambda t: ("A" if t[0] != "A" else "B") + t[1:]), id="value"),
        pytest.param(_value(lambda t: t[:-8]), id="value truncated"),
        pytest.param(_value(lambda t: "%%%"), id="value not base64"),
        pytest.param(_value(lambda t: ""), id="value empty"),
        pytest.param(
            _sub(rb"xml-exc-c14n#\"/><ds:SignatureMethod", rb"unknown\"/><ds:SignatureMethod"),
            id="unknown c14n",
        ),
        pytest.param(
            _sub(rb"</ds:SignedInfo>", rb"<ds:Foo/></ds:SignedInfo>"), id="not the schema"
        ),
        pytest.param(_sub(rb"rsa-sha256", rb"ecdsa-sha256"), id="method not the key's"),
        pytest.param(_sub(rb"</Dossier>", rb"</Dossier><!-- after -->"), id="comment after"),
        pytest.param(_sub(rb"<Dossier ", rb"<!-- before --><Dossier "), id="comment before"),
    ],
)
@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_changed_dossiers_get_the_same_verdict(key_type: str, mutate: Any) -> None:
    data = mutate(_ours(key_type))
    _same(data)


@pytest.mark.parametrize(
    ("c14n", "transform"),
    [
        ("http://www.w3.org/TR/2001/REC-xml-c14n-20010315", None),
        ("http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", None),
        ("http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/2006/12/xml-c14n11"),
        (
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        ),
    ],
)
def test_other_canonicalisations_of_the_profile_verify_alike(c14n: str, transform: Any) -> None:
    """xmlsec1 templates name no reference canonicalisation (C14N 1.0 applies); other tools
    use C14N 1.1 or keep comments."""

    def edit(signature: etree._Element) -> None:
        signed_info = signature.find(f"{{{DS}}}SignedInfo")
        signed_info.find(f"{{{DS}}}CanonicalizationMethod").set("Algorithm", c14n)
        transforms = signed_info.find(f".//{{{DS}}}Transforms")
        last = transforms[-1]
        if transform is None:
            transforms.remove(last)
        else:
            last.set("Algorithm", transform)

    doc = document().replace(b"<Rows>", b"<Rows><!-- rows -->")
    data = _resign(_ours("rsa", doc), edit=edit)
    verdict = _same(data)
    assert verdict[0] == "verified"
    tampered = data.replace(b"<!-- rows -->", b"<!-- other -->")
    _same(tampered)


def test_signatures_outside_the_profile_are_left_to_signxml() -> None:
    """A KeyValue beside the certificate (signxml matches it against the certificate) or an
    InclusiveNamespaces prefix list: signxml decides, as before."""

    def key_value(signature: etree._Element) -> None:
        key_info = signature.find(f"{{{DS}}}KeyInfo")
        etree.SubElement(etree.SubElement(key_info, f"{{{DS}}}KeyValue"), f"{{{DS}}}RSAKeyValue")

    _same(_resign(_ours("rsa"), edit=key_value), in_profile=False)

    def prefixes(signature: etree._Element) -> None:
        method = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod")
        etree.SubElement(method, f"{{{signing._EC_NS}}}InclusiveNamespaces", PrefixList="ds")

    _same(_resign(_ours("rsa"), edit=prefixes), in_profile=False)


def test_only_the_signed_content_is_returned() -> None:
    """Comments the signature does not cover are not in the tree callers read."""
    data = _ours("rsa").replace(b"<Salary>9500000", b"<Salary>95<!-- x -->00000")
    verified = signing.verify(xmlsafe.parse(data), at=AT)
    assert verified.root.findtext(f".//{{{NS}}}Salary") == "9500000"
    assert verified.root.find(f"{{{DS}}}Signature") is None


@pytest.mark.parametrize(
    "doc",
    [
        document(),
        document(3),
        b"<Receipt xmlns='urn:ansinh:gateway:receipt:1.0' version='1.0'><Code>A&amp;B</Code>"
        b"<Note>\xc4\x90\xc3\xa0 &lt;x&gt; \r\n</Note></Receipt>",
        b"<!-- top --><a Id='root' xmlns:p='urn:p'><?pi data?><p:b p:c='1'>x</p:b><!--c-->"
        b"<d/>\n</a>",
    ],
    ids=["dossier", "three rows", "receipt", "comments, PI, Id, prefixes"],
)
def test_our_signature_is_the_one_signxml_makes(doc: bytes) -> None:
    """RSA PKCS#1 v1.5 is deterministic: the same bytes; with an intermediate in X509Data."""
    ident = signer("rsa")
    chain = [default_pki().ca.certificate]
    for extra in ([], chain):
        ours = signing.sign(doc, key=ident.key, certificate=ident.certificate, chain=extra)
        reference = signing.sign_signxml(
            doc, key=ident.key, certificate=ident.certificate, chain=extra
        )
        assert ours == reference


def test_our_ecdsa_signature_has_the_same_form_and_verifies_both_ways() -> None:
    ident = signer("ec")
    ours = signing.sign(document(), key=ident.key, certificate=ident.certificate)
    reference = signing.sign_signxml(document(), key=ident.key, certificate=ident.certificate)
    mask = re.compile(rb"<ds:SignatureValue>[^<]*</ds:SignatureValue>")
    assert mask.sub(b"", ours) == mask.sub(b"", reference)
    assert _same(ours)[0] == "verified"


def test_signing_leaves_the_callers_tree_alone() -> None:
    root = xmlsafe.parse(document())
    before = etree.tostring(root)
    ident = signer("ec")
    signing.sign(root, key=ident.key, certificate=ident.certificate)
    assert etree.tostring(root) == before
    with pytest.raises(ValueError):
        signing.sign(_ours("ec"), key=ident.key, certificate=ident.certificate)
