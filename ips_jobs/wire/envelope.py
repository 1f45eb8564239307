"""SOAP 1.1 and 1.2 envelopes: taking a request apart and writing responses and faults the
way IPS (Axis2) writes them."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ips_jobs.domain.validation import UNSENDABLE
from ips_jobs.errors import InvalidRequestXml
from ips_jobs.wire.namespaces import COMMON_NS, SOAP11_NS, SOAP12_NS

XML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>"


@dataclass(frozen=True)
class Request:
    soap_ns: str
    headers: tuple[etree._Element, ...]
    body: etree._Element


def split(root: etree._Element) -> Request:
    soap_ns = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or soap_ns not in (SOAP11_NS, SOAP12_NS):
        raise InvalidRequestXml("The request is not a SOAP 1.1 or 1.2 Envelope")
    children = _elements(root)
    header_tag, body_tag = f"{{{soap_ns}}}Header", f"{{{soap_ns}}}Body"
    tags = [child.tag for child in children]
    if body_tag not in tags:
        raise InvalidRequestXml("The SOAP Envelope has no Body")
    if tags not in ([body_tag], [header_tag, body_tag]):
        found = ", ".join(etree.QName(child).localname for child in children)
        raise InvalidRequestXml(
            f"A SOAP Envelope holds an optional Header, then one Body: not {found}"
        )
    header, body = (None, children[0]) if len(children) == 1 else children
    payload = _elements(body)
    if len(payload) != 1:
        raise InvalidRequestXml(f"The SOAP Body must hold one element, not {len(payload)}")
    if (body.text or "").strip() or any((child.tail or "").strip() for child in body):
        raise InvalidRequestXml("The SOAP Body holds text beside its element")
    headers = tuple(_elements(header)) if header is not None else ()
    return Request(soap_ns, headers, payload[0])


def _elements(parent: etree._Element) -> list[etree._Element]:
    """The child elements (not comments or processing instructions)."""
    return [child for child in parent if isinstance(child.tag, str)]


def response(soap_ns: str, payload: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"soapenv": soap_ns})
    etree.SubElement(envelope, f"{{{soap_ns}}}Body").append(payload)
    return XML_DECLARATION + etree.tostring(envelope, encoding="utf-8")


def fault(
    soap_ns: str, client_side: bool, faultstring: str, element: str, code: int, reason: str
) -> bytes:
    """A fault as IPS sends it: the fault element in the common namespace with code and reason."""
    envelope = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"soapenv": soap_ns})
    body = etree.SubElement(envelope, f"{{{soap_ns}}}Body")
    fault_el = etree.SubElement(body, f"{{{soap_ns}}}Fault")
    if soap_ns == SOAP12_NS:
        code_el = etree.SubElement(fault_el, f"{{{soap_ns}}}Code")
        value = etree.SubElement(code_el, f"{{{soap_ns}}}Value")
        value.text = "soapenv:Sender" if client_side else "soapenv:Receiver"
        reason_el = etree.SubElement(fault_el, f"{{{soap_ns}}}Reason")
        text = etree.SubElement(reason_el, f"{{{soap_ns}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = _sendable(faultstring)
        detail = etree.SubElement(fault_el, f"{{{soap_ns}}}Detail")
    else:
        etree.SubElement(fault_el, "faultcode").text = (
            "soapenv:Client" if client_side else "soapenv:Server"
        )
        etree.SubElement(fault_el, "faultstring").text = _sendable(faultstring)
        detail = etree.SubElement(fault_el, "detail")
    ips = etree.SubElement(detail, f"{{{COMMON_NS}}}{element}", nsmap={"tns": COMMON_NS})
    etree.SubElement(ips, f"{{{COMMON_NS}}}code").text = str(code)
    etree.SubElement(ips, f"{{{COMMON_NS}}}reason").text = _sendable(reason)
    return XML_DECLARATION + etree.tostring(envelope, encoding="utf-8")


def _sendable(text: str) -> str:
    """A fault is the answer of last resort, so writing one cannot fail: characters XML
    cannot carry (from a fault rule's reason, say) become U+FFFD."""
    return UNSENDABLE.sub("\ufffd", text)
