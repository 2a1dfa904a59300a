"""XML-DSig signatures (chữ ký số) on dossiers, receipts and results.

A dossier is accepted only under one profile, so that what the signature covers is never in
doubt (Decree 166/2016/NĐ-CP Art. 7: dossiers are signed by the employer or by the I-VAN on its
behalf; Law on E-transactions 20/2023/QH15 Art. 22-25 on valid digital signatures):

* exactly one ``ds:Signature``, the last child of the root element;
* enveloped: one ``Reference`` with ``URI=""`` (the whole document) whose transforms are the
  enveloped-signature transform and at most a canonicalisation — nothing that selects part of
  the document (XPath, XSLT, ``#id`` references);
* RSA or ECDSA with SHA-256 (or longer), the signer's X.509 certificate in ``X509Data``;
* the certificate chains to the gateway's own trust store and is fit and valid at ``at``
  (see ``trust.check_certificate``).

signxml checks digest and signature value, and ``Verified.root`` is the document *as signed*
(signxml's ``signed_xml``, re-parsed from the canonical bytes the digest covers): callers must
read only that tree, which is what defeats signature wrapping.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.algorithms import SignatureConstructionMethod, digest_algorithm_implementations
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.signer import SignatureReference
from signxml.util import strip_pem_header

from ansinh.core.errors import DomainError
from ansinh.gateway import testca, trust, xmlsafe

# signxml logs the canonical bytes it digests at DEBUG level: that is the dossier itself, with
# personal data. Keep its loggers quiet whatever LOG_LEVEL says.
for _name in ("signxml", "signxml.processor", "signxml.verifier", "signxml.signer"):
    logging.getLogger(_name).setLevel(logging.WARNING)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DS = "http://www.w3.org/2000/09/xmldsig#"
ENVELOPED = SignatureConstructionMethod.enveloped.value
SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
DIGEST_METHODS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
C14N_METHODS = frozenset(m.value for m in CanonicalizationMethod)
# The reference is canonicalised with C14N 1.0 when it names no canonicalisation transform, as
# XML-DSig (and xmlsec1) do.
_CONFIG = SignatureConfiguration(
    location="./",
    expect_references=1,
    signature_methods=SIGNATURE_METHODS,
    digest_algorithms=DIGEST_METHODS,
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)
# What we sign with: exclusive C14N, understood by every XML-DSig tool.
SIGN_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0


@dataclass(frozen=True)
class Verified:
    root: etree._Element  # the signed document as the signature covers it (use only this)
    certificate: x509.Certificate
    fingerprint: str  # SHA-256 hex, lower case
    serial: str  # hex lower, no leading zeros
    subject: str  # RFC 4514
    issuer: str
    tax_code: str  # from the subject (UID=MST:…), "" if absent
    elapsed_ms: float


def _ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def _placement(message_vi: str, message_en: str) -> DomainError:
    return DomainError("signature_placement", "signature", message_vi, message_en)


def _partial(message_vi: str, message_en: str) -> DomainError:
    return DomainError("signature_partial", "signature", message_vi, message_en)


def _invalid(message_vi: str, message_en: str) -> DomainError:
    return DomainError("signature_invalid", "signature", message_vi, message_en)


def _algorithm(uri: str | None) -> DomainError:
    return DomainError(
        "signature_algorithm",
        "signature",
        f"Thuật toán ký hoặc băm không được chấp nhận ({uri or 'không có'}); dùng RSA-SHA256 "
        "hoặc ECDSA-SHA256.",
        f"Signature or digest algorithm not accepted ({uri or 'none'}); use RSA-SHA256 or "
        "ECDSA-SHA256.",
    )


def _check_profile(root: etree._Element) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """Where the signature sits and what it references; returns the signer's certificate and
    any other certificates sent along (candidate intermediates)."""
    if root.tag == _ds("Signature"):
        raise _placement(
            "Chữ ký phải nằm trong hồ sơ (enveloped), không bao bọc hồ sơ.",
            "The signature must be enveloped in the dossier, not enveloping it.",
        )
    signatures = list(root.iter(_ds("Signature")))
    if not signatures:
        raise DomainError(
            "signature_missing",
            "signature",
            "Hồ sơ chưa được ký số (không có phần tử ds:Signature).",
            "The dossier is not signed (no ds:Signature element).",
        )
    if len(signatures) > 1:
        raise _placement(
            f"Hồ sơ có {len(signatures)} chữ ký; chỉ chấp nhận đúng một chữ ký.",
            f"The dossier carries {len(signatures)} signatures; exactly one is accepted.",
        )
    signature = signatures[0]
    if (
        signature.getparent() is not root
        or signature.getnext() is not None
        or (signature.tail and signature.tail.strip())
    ):
        raise _placement(
            "Chữ ký phải là phần tử con cuối cùng của phần tử gốc hồ sơ.",
            "The signature must be the last child of the dossier's root element.",
        )
    signed_info = signature.find(_ds("SignedInfo"))
    if signed_info is None:
        raise _invalid("Chữ ký thiếu phần SignedInfo.", "The signature has no SignedInfo.")
    method = signed_info.find(_ds("SignatureMethod"))
    method_uri = method.get("Algorithm") if method is not None else None
    if method_uri not in {m.value for m in SIGNATURE_METHODS}:
        raise _algorithm(method_uri)
    references = signed_info.findall(_ds("Reference"))
    if len(references) != 1 or references[0].get("URI") != "":
        raise _partial(
            'Chữ ký phải bao trùm toàn bộ hồ sơ: đúng một tham chiếu với URI="".',
            'The signature must cover the whole dossier: exactly one Reference with URI="".',
        )
    reference = references[0]
    transforms = [t.get("Algorithm") for t in reference.findall(f"{_ds('Transforms')}/*")]
    if ENVELOPED not in transforms:
        raise _placement(
            "Chữ ký phải là chữ ký nằm trong hồ sơ (thiếu phép biến đổi enveloped-signature).",
            "The signature must be enveloped (the enveloped-signature transform is missing).",
        )
    if any(t != ENVELOPED and t not in C14N_METHODS for t in transforms) or len(transforms) > 2:
        raise _partial(
            "Chữ ký dùng phép biến đổi có thể loại bỏ một phần hồ sơ (chỉ chấp nhận "
            "enveloped-signature và chuẩn hoá C14N).",
            "The signature uses a transform that can leave part of the dossier unsigned (only "
            "enveloped-signature and C14N canonicalisation are accepted).",
        )
    digest = reference.find(_ds("DigestMethod"))
    digest_uri = digest.get("Algorithm") if digest is not None else None
    if digest_uri not in {d.value for d in DIGEST_METHODS}:
        raise _algorithm(digest_uri)
    blobs = [
        (el.text or "").strip()
        for el in signature.findall(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    ]
    if not blobs:
        raise DomainError(
            "certificate_missing",
            "signature",
            "Chữ ký không kèm chứng thư số (ds:X509Data/ds:X509Certificate).",
            "The signature does not include the signer's certificate "
            "(ds:X509Data/ds:X509Certificate).",
        )
    try:
        certificates = [_certificate(b) for b in blobs]
    except (ValueError, binascii.Error):
        raise DomainError(
            "certificate_invalid",
            "signature",
            "Chứng thư số kèm theo chữ ký không đọc được.",
            "The certificate included in the signature cannot be read.",
        ) from None
    return _leaf(certificates)


#: Certificates as parsed from X509Data, by their base64 text: the same few signers send the
#: same certificates all day. Parsing only (public, immutable data): trust, dates, key usage
#: and revocation are still judged on every signature by ``trust.check_certificate``.
_parsed: dict[str, x509.Certificate] = {}


def _certificate(blob: str) -> x509.Certificate:
    cert = _parsed.get(blob)
    if cert is None:
        cert = x509.load_der_x509_certificate(binascii.a2b_base64(blob))
        if len(_parsed) >= 1000:
            _parsed.clear()
        _parsed[blob] = cert
    return cert


@functools.lru_cache(maxsize=1000)
def _described(cert: x509.Certificate) -> tuple[str, str, str, str, str]:
    """Fingerprint, serial, subject, issuer and tax code of a certificate (pure functions of
    its bytes, remembered with the parsed certificate)."""
    return (
        trust.fingerprint(cert),
        trust.serial_hex(cert),
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        trust.tax_code(cert),
    )


def _leaf(certificates: list[x509.Certificate]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """XML-DSig sets no order in X509Data: the signer is the certificate that issued none of the
    others (the first such one)."""
    for cert in certificates:
        if not any(other is not cert and other.issuer == cert.subject for other in certificates):
            return cert, [c for c in certificates if c is not cert]
    return certificates[0], certificates[1:]


class _Verifier(XMLVerifier):
    """signxml's verifier, minus its own validity check of the certificate we pass in:
    ``trust.check_certificate`` has judged it already, with our error codes (and signxml's
    check formats the subject into a message on every call, even when valid)."""

    def _check_cert_validity(self, cert, cert_source):  # type: ignore[no-untyped-def]
        return None


def verify(root: etree._Element, *, at: dt.datetime) -> Verified:
    """Verify a dossier's signature as of ``at`` (normally the receipt time) and return what it
    covers. Every refusal is a ``DomainError`` with a documented code (docs/gateway-security.md).

    Signatures of our fixed profile are checked by ``_verify_lean`` (lxml and ``cryptography``
    directly, the same steps as signxml without its copies and look-ups); anything outside it
    by signxml itself. Both raise signxml's exceptions, mapped to our codes here, and return the
    signed document re-parsed from the canonical bytes the digest covers."""
    started = time.perf_counter()
    leaf, others = _check_profile(root)
    trust.check_certificate(leaf, others, at=at)
    try:
        signed = _verify_lean(root, leaf)
        if signed is _OUTSIDE_PROFILE:
            signed = _verify_signxml(root, leaf, at)
    except InvalidDigest:
        raise _invalid(
            "Nội dung hồ sơ đã bị thay đổi sau khi ký (giá trị băm không khớp).",
            "The dossier was changed after it was signed (digest mismatch).",
        ) from None
    except InvalidSignature:
        raise _invalid(
            "Giá trị chữ ký không đúng với chứng thư số kèm theo.",
            "The signature value does not match the included certificate.",
        ) from None
    except (
        InvalidInput,
        etree.LxmlError,
        ValueError,
        binascii.Error,
        # Hostile KeyValue contents can surface these from signxml's key matching.
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        NotImplementedError,
    ) as exc:
        if "forbidden by configuration" in str(exc):
            raise _algorithm(None) from None
        raise _invalid(
            "Phần tử chữ ký không đúng cấu trúc XML-DSig.",
            "The signature element is not well-formed XML-DSig.",
        ) from None
    except SignXMLException:
        raise _invalid(
            "Không kiểm tra được chữ ký số.", "The signature could not be verified."
        ) from None
    if signed is None:  # pragma: no cover - URI="" always yields an element
        raise _invalid("Không đọc được nội dung đã ký.", "The signed content cannot be read.")
    fingerprint, serial, subject, issuer, tax_code = _described(leaf)
    return Verified(
        root=signed,
        certificate=leaf,
        fingerprint=fingerprint,
        serial=serial,
        subject=subject,
        issuer=issuer,
        tax_code=tax_code,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _verify_signxml(root: etree._Element, leaf: x509.Certificate, at: dt.datetime) -> Any:
    """signxml's verification (the reference, and the path for signatures outside the fixed
    profile, e.g. with a KeyValue or an InclusiveNamespaces prefix list)."""
    config = replace(_CONFIG, verification_time=at)
    return _Verifier().verify(root, x509_cert=leaf, expect_config=config).signed_xml


#: ``_verify_lean`` declines: the signature is outside the fixed profile.
_OUTSIDE_PROFILE: Any = object()
_DSIG11 = "http://www.w3.org/2009/xmldsig11#"
_EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_C14N = {m.value: m for m in CanonicalizationMethod}
_SIGNATURE_METHODS = {m.value: m for m in SIGNATURE_METHODS}
_DIGESTS = {d.value: d for d in DigestAlgorithm}


def _c14n(node: etree._Element, method: CanonicalizationMethod) -> bytes:
    # As signxml's XMLSignatureProcessor._c14n: exclusive and with-comments from the URI (it
    # canonicalises C14N 1.1 as 1.0, and so do we: the same verdicts).
    return etree.tostring(
        node,
        method="c14n",
        exclusive=method.value.startswith(_EC_NS),
        with_comments=method.value.endswith("#WithComments"),
    )


def _copy(node: etree._Element) -> etree._Element:
    """A separate document holding ``node`` (signxml's ``_fromstring(_tostring(node))``)."""
    return etree.fromstring(etree.tostring(node), parser=xmlsafe._parser())


def _required(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.find(_ds(tag))
    if found is None:
        raise InvalidInput(f"Expected to find XML element {tag}")
    return found


def _verify_lean(root: etree._Element, leaf: x509.Certificate) -> Any:
    """Our fixed profile (``_check_profile`` passed: one enveloped signature, last child of the
    root, one Reference to the whole document), checked in signxml's order with the same
    inputs: the Signature in a document of its own, validated against the XML-DSig schema;
    SignedInfo canonicalised and its signature checked with the certificate's key; the
    Reference read from the *verified* SignedInfo; the document copied, the signature removed
    (enveloped transform), canonicalised and digested; the signed document re-parsed from those
    canonical bytes — the only tree callers read (the guard against signature wrapping).
    Returns ``_OUTSIDE_PROFILE`` for anything else: KeyValue / DEREncodedKeyValue next to the
    certificate (signxml matches them against it) or an InclusiveNamespaces prefix list."""
    signature = _copy(root[-1])
    if (
        signature.find(f"{_ds('KeyInfo')}/{_ds('KeyValue')}") is not None
        or signature.find(f"{_ds('KeyInfo')}/{{{_DSIG11}}}DEREncodedKeyValue") is not None
        or next(signature.iter(f"{{{_EC_NS}}}InclusiveNamespaces"), None) is not None
    ):
        return _OUTSIDE_PROFILE
    XMLVerifier().validate_schema(signature)
    signed_info = _required(signature, "SignedInfo")
    c14n_method = CanonicalizationMethod(
        _required(signed_info, "CanonicalizationMethod").get("Algorithm")
    )
    method = SignatureMethod(_required(signed_info, "SignatureMethod").get("Algorithm"))
    if method not in SIGNATURE_METHODS:
        raise InvalidInput(f"Signature method {method.name} forbidden by configuration")
    raw_signature = base64.b64decode(_required(signature, "SignatureValue").text)
    signed_info_c14n = _c14n(signed_info, c14n_method)
    _check_signature_value(leaf, method, raw_signature, signed_info_c14n)
    verified = etree.fromstring(signed_info_c14n, parser=xmlsafe._parser())
    references = verified.findall(_ds("Reference"))
    if len(references) != 1 or references[0].get("URI") != "":
        return _OUTSIDE_PROFILE  # pragma: no cover - _check_profile refused it already
    reference = references[0]
    transforms = [
        t.get("Algorithm") for t in reference.findall(f"{_ds('Transforms')}/{_ds('Transform')}")
    ]
    digest_method = DigestAlgorithm(_required(reference, "DigestMethod").get("Algorithm"))
    digest_value = _required(reference, "DigestValue")
    document = _copy(root)
    if ENVELOPED in transforms:
        _remove_signature(document)
    c14n_transforms = [_C14N[t] for t in transforms if t in _C14N]
    if len(c14n_transforms) > 1 or any(t != ENVELOPED and t not in _C14N for t in transforms):
        return _OUTSIDE_PROFILE  # pragma: no cover - _check_profile refused it already
    document = _copy(document)  # as signxml, before canonicalising
    payload = _c14n(
        document, c14n_transforms[0] if c14n_transforms else _CONFIG.default_reference_c14n_method
    )
    if digest_method not in DIGEST_METHODS:
        raise InvalidInput(f"Digest algorithm {digest_method.name} forbidden by configuration")
    digest = hashlib.new(digest_algorithm_implementations[digest_method].name, payload).digest()
    if base64.b64decode(digest_value.text) != digest:
        raise InvalidDigest("Digest mismatch for reference 0")
    try:
        return etree.fromstring(payload, parser=xmlsafe._parser())
    except etree.XMLSyntaxError:  # pragma: no cover - canonical XML of a parsed tree
        return None


def _check_signature_value(
    leaf: x509.Certificate, method: SignatureMethod, raw: bytes, signed_info_c14n: bytes
) -> None:
    """The SignatureValue over the canonical SignedInfo, with the certificate's key: PKCS#1
    v1.5 for RSA, the XML-DSig ``r || s`` encoding for ECDSA (as signxml checks them)."""
    key = leaf.public_key()
    hash_alg = digest_algorithm_implementations[method]()
    try:
        if method.name.startswith("ECDSA_"):
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise InvalidInput("The certificate's key does not match the signature method")
            size = (key.key_size + 7) // 8
            if len(raw) != 2 * size:
                raise InvalidSignature(f"Expected {2 * size} byte SignatureValue, got {len(raw)}")
            der = utils.encode_dss_signature(
                int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
            )
            key.verify(der, signed_info_c14n, ec.ECDSA(hash_alg))
        elif method.name.startswith("RSA_"):
            if not isinstance(key, rsa.RSAPublicKey):
                raise InvalidInput("The certificate's key does not match the signature method")
            key.verify(raw, signed_info_c14n, padding.PKCS1v15(), hash_alg)
        else:  # pragma: no cover - SIGNATURE_METHODS holds only RSA and ECDSA
            raise InvalidInput(f"Unsupported signature method {method.name}")
    except _CryptoInvalidSignature:
        raise InvalidSignature("Signature verification failed") from None


def _remove_signature(document: etree._Element) -> None:
    """The enveloped-signature transform: drop the root's ds:Signature, keeping its tail text
    (signxml's ``_remove_sig``)."""
    signature = document.find(_ds("Signature"))
    if signature is None:
        return
    if signature.tail is not None:
        previous = signature.getprevious()
        if previous is None:
            document.text = (document.text or "") + signature.tail
        else:
            previous.tail = (previous.tail or "") + signature.tail
    document.remove(signature)


def sign(
    root: etree._Element | bytes,
    *,
    key: PrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign a document with an enveloped XML-DSig signature over the whole document (RSA- or
    ECDSA-SHA256 by the key's type), the certificate and ``chain`` in ``X509Data``.

    Built directly with lxml and ``cryptography`` — the very bytes signxml's ``XMLSigner``
    makes for this profile (exclusive C14N, enveloped, SHA-256; ``sign_signxml``, the reference
    in the tests), without its copies of the document; verified by ``xmlsec1`` in the tests."""
    if isinstance(root, bytes | bytearray):
        root = xmlsafe.parse(bytes(root))
    if next(root.iter(_ds("Signature")), None) is not None:
        raise ValueError("the document is already signed")
    method = _method_of(key)
    # A document of its own (as signxml's get_root): the caller's tree is left untouched.
    document = _copy(root)
    digest = hashlib.sha256(_c14n(document, SIGN_C14N)).digest()
    nsmap = {"ds": DS}
    signature = etree.SubElement(document, _ds("Signature"), nsmap=nsmap)
    signed_info = etree.SubElement(signature, _ds("SignedInfo"), nsmap=nsmap)
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=SIGN_C14N.value)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method.value)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, _ds("Transform"), Algorithm=SIGN_C14N.value)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=DigestAlgorithm.SHA256.value)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    value = etree.SubElement(signature, _ds("SignatureValue"))
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    x509_data = etree.SubElement(key_info, _ds("X509Data"))
    for cert in (certificate, *chain):
        etree.SubElement(x509_data, _ds("X509Certificate")).text = _cert_text(cert)
    value.text = base64.b64encode(_signature_value(key, _c14n(signed_info, SIGN_C14N))).decode()
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")


def _method_of(key: PrivateKey) -> SignatureMethod:
    if isinstance(key, rsa.RSAPrivateKey):
        return SignatureMethod.RSA_SHA256
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return SignatureMethod.ECDSA_SHA256
    raise TypeError("only RSA and ECDSA keys are supported")


@functools.lru_cache(maxsize=64)
def _cert_text(cert: x509.Certificate) -> str:
    """The certificate's base64 as signxml writes it in X509Certificate (PEM body, its line
    breaks kept)."""
    return strip_pem_header(cert.public_bytes(Encoding.PEM))


def _signature_value(key: PrivateKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 for RSA; ECDSA as the XML-DSig ``r || s`` of fixed length."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    size = (key.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


class _WholeDocumentSigner(XMLSigner):
    """signxml points an enveloped reference at the root's ``Id`` when it has one; our profile
    always signs the whole document (``URI=""``)."""

    def _unpack(self, data, references):  # type: ignore[no-untyped-def]
        sig_root, doc_root, c14n_inputs, _refs = super()._unpack(data, references)
        return sig_root, doc_root, c14n_inputs, [SignatureReference(URI="")]


def sign_signxml(
    root: etree._Element | bytes,
    *,
    key: PrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """``sign`` through signxml's ``XMLSigner``: the reference ``sign`` is tested against."""
    if isinstance(root, bytes | bytearray):
        root = xmlsafe.parse(bytes(root))
    if next(root.iter(_ds("Signature")), None) is not None:
        raise ValueError("the document is already signed")
    signer = _WholeDocumentSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=_method_of(key),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=SIGN_C14N,
    )
    signed = signer.sign(root, key=key, cert=[certificate, *chain])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


# --- The agency's own signing identity ---------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _agency(
    key_file: str, cert_file: str, password: str, data_dir: str
) -> tuple[testca.Identity, tuple[x509.Certificate, ...]]:
    if key_file and cert_file:
        identity = testca.load_identity(
            Path(cert_file), Path(key_file), password.encode() if password else None
        )
        chain = tuple(x509.load_pem_x509_certificates(Path(cert_file).read_bytes())[1:])
        return identity, chain
    return testca.agency_identity(Path(data_dir) / "gateway"), ()


def _agency_identity() -> tuple[testca.Identity, tuple[x509.Certificate, ...]]:
    return _agency(
        str(getattr(settings, "GATEWAY_AGENCY_KEY_FILE", "") or ""),
        str(getattr(settings, "GATEWAY_AGENCY_CERT_FILE", "") or ""),
        str(getattr(settings, "GATEWAY_AGENCY_KEY_PASSWORD", "") or ""),
        str(settings.DATA_DIR),
    )


def agency_certificate() -> x509.Certificate:
    """The certificate receipts and results are signed with."""
    return _agency_identity()[0].certificate


def agency_chain() -> tuple[x509.Certificate, ...]:
    """Intermediate certificates sent along with the agency's (from its certificate file)."""
    return _agency_identity()[1]


def sign_as_agency(root: etree._Element | bytes) -> bytes:
    """Sign a receipt or result with the agency's key (settings ``GATEWAY_AGENCY_KEY_FILE`` /
    ``GATEWAY_AGENCY_CERT_FILE``; a demo key under ``DATA_DIR/gateway/`` when unset)."""
    identity, chain = _agency_identity()
    return sign(root, key=identity.key, certificate=identity.certificate, chain=chain)
