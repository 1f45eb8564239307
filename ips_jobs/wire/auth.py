"""Reading credentials off a request: the authHeader SOAP header (common or any versioned
namespace, children in any order), the legacy AuthUser/AuthPassword headers, or HTTP Basic."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from ips_jobs.wire.namespaces import COMMON_NS, VERSION_BY_NS, WSDL_NS


@dataclass(frozen=True)
class Credentials:
    user: str | None = None
    password: str | None = None
    locale: str | None = None
    app_name: str | None = None
    fault_http_status: int | None = None


def read(headers: Iterable[etree._Element], environ: Mapping[str, object]) -> Credentials:
    auth_header: etree._Element | None = None
    legacy: dict[str, str] = {}
    for header in headers:
        qname = etree.QName(header)
        if qname.localname == "authHeader" and (
            qname.namespace == COMMON_NS or qname.namespace in VERSION_BY_NS
        ):
            auth_header = header
        elif qname.namespace == WSDL_NS and qname.localname in ("AuthUser", "AuthPassword"):
            legacy[qname.localname] = (header.text or "").strip()
    if auth_header is not None:
        fields = {
            etree.QName(child).localname: (child.text or "")
            for child in auth_header
            if isinstance(child.tag, str)
        }
        creds = Credentials(
            user=fields.get("user"),
            password=fields.get("password"),
            locale=fields.get("locale"),
            app_name=fields.get("appName"),
            fault_http_status=_status(fields.get("faultHttpStatusCode")),
        )
        if creds.user is not None:
            return creds
        basic = _basic(environ)
        return Credentials(
            basic.user, basic.password, creds.locale, creds.app_name, creds.fault_http_status
        )
    if legacy:
        return Credentials(legacy.get("AuthUser"), legacy.get("AuthPassword"))
    return _basic(environ)


def accept_language(environ: Mapping[str, object]) -> str | None:
    """The most wanted language of the HTTP `Accept-Language` header, written as IPS writes
    locales (`fr-FR`): IPS falls back to it when the authHeader has no locale."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(str(environ.get("HTTP_ACCEPT_LANGUAGE") or "").split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        lang, _, country = tag.replace("_", "-").partition("-")
        quality = _quality(params)
        if lang.isalpha() and len(lang) <= 8 and quality > 0:
            locale = f"{lang.lower()}-{country.upper()}" if country else lang.lower()
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def _quality(params: Iterable[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _basic(environ: Mapping[str, object]) -> Credentials:
    header = str(environ.get("HTTP_AUTHORIZATION") or "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return Credentials()
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:  # not Base64, or not even ASCII
        return Credentials()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:  # RFC 7617 leaves the charset open; older clients send Latin-1
        decoded = raw.decode("latin-1")
    user, sep, password = decoded.partition(":")
    return Credentials(user, password) if sep else Credentials()


def _status(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        status = int(raw.strip())
    except ValueError:
        return None
    # 204, 205 and 304 cannot carry a body: the fault would be lost, so the default is kept
    return status if 200 <= status <= 599 and status not in (204, 205, 304) else None
