"""The envelope-less transport of AEM and its Java tools: POST /scene7/api/IpsApiService with
a bare `<Request>` (an authHeader and one `<op>Param`, no SOAP envelope, no SOAPAction),
answered with the bare `<op>Return`, or the bare fault element, as the document's root.

A request is put into a SOAP 1.1 envelope and goes through the same Dispatcher as every SOAP
call (authentication, roles, faults, fault rules, journal); its answer is taken out again."""

from __future__ import annotations

import copy

from lxml import etree

from ips_jobs.errors import InvalidRequestXml
from ips_jobs.wire import xml
from ips_jobs.wire.envelope import XML_DECLARATION
from ips_jobs.wire.namespaces import SOAP11_NS

BARE_PATH = "/scene7/api/IpsApiService"
_ENVELOPE = f"{{{SOAP11_NS}}}Envelope"


def to_envelope(body: bytes) -> bytes:
    """The SOAP 1.1 envelope of a bare request; InvalidRequestXml if it is none."""
    root = xml.parse(body)
    if etree.QName(root).localname != "Request":
        raise InvalidRequestXml(
            f"POST {BARE_PATH} takes a <Request> holding an authHeader and one operation's "
            f"Param, not <{etree.QName(root).localname}> (SOAP goes to "
            "/scene7/services/IpsApiService)"
        )
    children = [child for child in root if isinstance(child.tag, str)]
    headers = [c for c in children if etree.QName(c).localname == "authHeader"]
    params = [c for c in children if etree.QName(c).localname != "authHeader"]
    if len(params) != 1:
        found = ", ".join(etree.QName(c).localname for c in params) or "none"
        raise InvalidRequestXml(f"A <Request> holds one operation's Param, not: {found}")
    return wrap(headers, params[0])


def wrap(headers: list[etree._Element], param: etree._Element) -> bytes:
    """A SOAP 1.1 envelope of these header elements and this `<op>Param`."""
    envelope = etree.Element(_ENVELOPE, nsmap={"soapenv": SOAP11_NS})
    etree.SubElement(envelope, f"{{{SOAP11_NS}}}Header").extend(headers)
    etree.SubElement(envelope, f"{{{SOAP11_NS}}}Body").append(param)
    return etree.tostring(envelope, encoding="utf-8")


def from_envelope(answer: bytes) -> bytes:
    """The answer's payload as a document of its own: the `<op>Return`, or for a fault the
    fault element of its detail (`<tns:authenticationFault>`), as the UploadFile servlet
    answers."""
    root = etree.fromstring(answer)
    payload = root[-1][0]
    if etree.QName(payload).localname == "Fault":
        payload = payload.find("detail")[0]  # type: ignore[index]
    alone = copy.deepcopy(payload)  # a copy keeps only the namespaces it uses: not soapenv
    etree.cleanup_namespaces(alone)
    return XML_DECLARATION + etree.tostring(alone, encoding="utf-8")
