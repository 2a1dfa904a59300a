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

import binascii
import datetime as dt
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
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
from signxml.algorithms import SignatureConstructionMethod
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.signer import SignatureReference

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
        certificates = [x509.load_der_x509_certificate(binascii.a2b_base64(b)) for b in blobs]
    except (ValueError, binascii.Error):
        raise DomainError(
            "certificate_invalid",
            "signature",
            "Chứng thư số kèm theo chữ ký không đọc được.",
            "The certificate included in the signature cannot be read.",
        ) from None
    return _leaf(certificates)


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
    """
    started = time.perf_counter()
    leaf, others = _check_profile(root)
    trust.check_certificate(leaf, others, at=at)
    config = replace(_CONFIG, verification_time=at)
    try:
        result = _Verifier().verify(root, x509_cert=leaf, expect_config=config)
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
    signed = result.signed_xml
    if signed is None:  # pragma: no cover - URI="" always yields an element
        raise _invalid("Không đọc được nội dung đã ký.", "The signed content cannot be read.")
    return Verified(
        root=signed,
        certificate=leaf,
        fingerprint=trust.fingerprint(leaf),
        serial=trust.serial_hex(leaf),
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        tax_code=trust.tax_code(leaf),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


class _WholeDocumentSigner(XMLSigner):
    """signxml points an enveloped reference at the root's ``Id`` when it has one; our profile
    always signs the whole document (``URI=""``)."""

    def _unpack(self, data, references):  # type: ignore[no-untyped-def]
        sig_root, doc_root, c14n_inputs, _refs = super()._unpack(data, references)
        return sig_root, doc_root, c14n_inputs, [SignatureReference(URI="")]


def sign(
    root: etree._Element | bytes,
    *,
    key: PrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign a document with an enveloped XML-DSig signature over the whole document (RSA- or
    ECDSA-SHA256 by the key's type), the certificate and ``chain`` in ``X509Data``."""
    if isinstance(root, bytes | bytearray):
        root = xmlsafe.parse(bytes(root))
    if next(root.iter(_ds("Signature")), None) is not None:
        raise ValueError("the document is already signed")
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise TypeError("only RSA and ECDSA keys are supported")
    signer = _WholeDocumentSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
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
