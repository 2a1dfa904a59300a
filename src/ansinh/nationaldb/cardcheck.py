"""Checking an e-card token: the verdict shared by the public page, the API and the offline
command (``ansinh ecard verify``). No Django and no database here: the caller passes the
published keys (a JWKS) and, when it has one, the revocation list.

Verdicts, strongest first: ``forged`` (không hợp lệ: bad signature, unknown key, altered or
malformed token, claims missing), ``revoked`` (đã thu hồi), ``expired`` (hết hạn), ``valid``.
A forged token's claims are never shown: nothing in it can be trusted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ansinh.nationaldb import jws

CARD_TYP = "ecard+jwt"
REVOCATION_TYP = "ecard-rl+jwt"
#: Clock skew tolerated between the issuer and a verifier (seconds).
LEEWAY = 300
SCHEMES = ("bhxh", "bhyt", "bhtn")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}")

VALID, REVOKED, EXPIRED, FORGED = "valid", "revoked", "expired", "forged"


@dataclass(frozen=True)
class CardClaims:
    """The claims an e-card carries (see docs/nationaldb.md, "Claims")."""

    card_id: str
    ss_number: str
    name: str
    date_of_birth: dt.date
    issued_at: dt.datetime
    expires_at: dt.datetime
    coverage: tuple[str, ...]
    programmes: tuple[str, ...]
    issuer: str

    @property
    def masked_number(self) -> str:
        """All but the last four characters hidden, for pages anyone can open."""
        return "•" * max(len(self.ss_number) - 4, 0) + self.ss_number[-4:]


@dataclass(frozen=True)
class CardCheck:
    status: str
    reason: str = ""
    claims: CardClaims | None = None
    kid: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == VALID


def _utc(ts: Any, name: str) -> dt.datetime:
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise jws.JwsError("bad_claims", f"{name} is not a NumericDate")
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise jws.JwsError("bad_claims", f"{name} out of range") from exc


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise jws.JwsError("bad_claims", f"{name} is not a list of strings")
    return tuple(value)


def parse_claims(payload: Mapping[str, Any]) -> CardClaims:
    """Claims of a verified payload; raises ``JwsError('bad_claims')`` when one is missing."""
    for name in ("jti", "sub", "name", "dob", "iss"):
        if not isinstance(payload.get(name), str) or not payload.get(name):
            raise jws.JwsError("bad_claims", f"{name} missing")
    try:
        dob = dt.date.fromisoformat(payload["dob"])
    except ValueError as exc:
        raise jws.JwsError("bad_claims", "dob") from exc
    coverage = _strings(payload.get("cov", []), "cov")
    if not set(coverage) <= set(SCHEMES):
        raise jws.JwsError("bad_claims", "cov")
    return CardClaims(
        card_id=payload["jti"],
        ss_number=payload["sub"],
        name=payload["name"],
        date_of_birth=dob,
        issued_at=_utc(payload.get("iat"), "iat"),
        expires_at=_utc(payload.get("exp"), "exp"),
        coverage=coverage,
        programmes=_strings(payload.get("prg", []), "prg"),
        issuer=payload["iss"],
    )


def check_token(
    token: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    now: dt.datetime,
    revoked: Iterable[str] = (),
    issuer: str | None = None,
) -> CardCheck:
    """The verdict on one token at ``now`` (aware), given the published keys by kid and the
    ids of revoked cards."""
    try:
        header, payload = jws.verify(token, keys, typ=CARD_TYP)
        claims = parse_claims(payload)
        if issuer is not None and claims.issuer != issuer:
            raise jws.JwsError("bad_issuer", claims.issuer[:40])
        if claims.issued_at > now + dt.timedelta(seconds=LEEWAY):
            raise jws.JwsError("bad_claims", "issued in the future")
    except jws.JwsError as exc:
        return CardCheck(FORGED, reason=exc.code)
    kid = str(header.get("kid", ""))
    if claims.card_id in set(revoked):
        return CardCheck(REVOKED, reason="revoked", claims=claims, kid=kid)
    if claims.expires_at <= now - dt.timedelta(seconds=LEEWAY):
        return CardCheck(EXPIRED, reason="expired", claims=claims, kid=kid)
    return CardCheck(VALID, claims=claims, kid=kid)


def revoked_ids(
    list_token: str, keys: Mapping[str, Ed25519PublicKey], *, issuer: str | None = None
) -> tuple[set[str], dt.datetime]:
    """The card ids of a signed revocation list and when it was issued. A list that does not
    verify raises ``JwsError``: a verifier must not trust an altered list."""
    _header, payload = jws.verify(list_token.strip(), keys, typ=REVOCATION_TYP)
    if issuer is not None and payload.get("iss") != issuer:
        raise jws.JwsError("bad_issuer")
    ids = _strings(payload.get("rev", []), "rev")
    return set(ids), _utc(payload.get("iat"), "iat")


def find_token(text: str) -> str:
    """The token in what a scanner or a person gives: the bare token, or the check page's URL
    (token after ``#``), surrounded by whitespace. Empty when there is none."""
    text = (text or "").strip()
    if "#" in text:
        text = text.rsplit("#", 1)[1]
    text = "".join(text.split())
    match = _TOKEN_RE.fullmatch(text) or _TOKEN_RE.search(text)
    return match.group(0) if match else ""
