"""Dispatch of one SOAP request: parse, authenticate, validate, call, answer. Every error
becomes an IPS fault here, in one place; nothing else escapes."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Protocol

from lxml import etree

from ips_jobs.domain import handles
from ips_jobs.domain.asset_service import AssetService
from ips_jobs.domain.control import Effect, FaultRule, InjectedFault, Target
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.domain.service import JobService
from ips_jobs.domain.upload_posts import IncomingFile, UploadPosts
from ips_jobs.errors import InvalidParameter, InvalidRequestXml, IpsJobsError
from ips_jobs.wire import (
    asset_operations,
    auth,
    codec,
    envelope,
    faults,
    schema,
    upload_operations,
    xml,
)
from ips_jobs.wire.call import Call
from ips_jobs.wire.namespaces import VERSION_BY_NS, has_operation
from ips_jobs.wire.operations import HANDLERS

log = logging.getLogger("ips_jobs.wire")

#: The most characters of a name (a user, an operation) a log line or the request journal
#: keeps, and of a fault reason a log line keeps: a request may send a megabyte of `<user>`.
MAX_NAME_CHARS = 256
MAX_REASON_CHARS = 1024


def clip(text: str | None, limit: int = MAX_NAME_CHARS) -> str | None:
    """`text` cut to `limit` characters, the last of them an ellipsis, when it is longer."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    soap_ns: str
    operation: str | None = None
    user: str | None = None
    fault_code: int | None = None
    fault_reason: str | None = None
    #: A fault rule asked for a bare HTTP answer, or for no answer at all.
    plain: bool = False
    drop: bool = False


class FaultSource(Protocol):
    def pick(self, target: Target) -> FaultRule | None:
        """The fault rule that applies to this call, if any (using up one of its calls)."""
        ...


class Dispatcher:
    def __init__(
        self,
        service: JobService,
        zone: tzinfo,
        faults: FaultSource | None = None,
        *,
        assets: AssetService,
        uploads: UploadPosts,
    ) -> None:
        self.service = service
        #: The services of the asset and folder operations and of the uploadPost ones; the
        #: job service answers the others and authenticates every call.
        self.services: dict[str, Any] = {
            **dict.fromkeys(asset_operations.HANDLERS, assets),
            **dict.fromkeys(upload_operations.HANDLERS, uploads),
        }
        self.zone = zone
        self.faults = faults

    def dispatch(
        self,
        body: bytes,
        soap_ns: str,
        environ: Mapping[str, Any],
        files: Sequence[IncomingFile] | None = None,
    ) -> Outcome:
        """One call. `files`: the files of an UploadFile post, whose uploadPostParam may be
        in any namespace (the servlet is not a WSDL's operation)."""
        operation: str | None = None
        creds = auth.Credentials()
        try:
            request = envelope.split(xml.parse(body))
            soap_ns = request.soap_ns
            creds = auth.read(request.headers, environ)
            qname = etree.QName(request.body)
            operation = _operation(qname, servlet=files is not None)
            namespace = qname.namespace or ""
            caller = self.service.login(creds.user, creds.password, operation)
            codec.normalize(request.body, namespace)
            params = codec.read(operation, request.body, namespace)
            injected = self._inject(operation, params, soap_ns, creds)
            if injected is not None:
                return injected
            style = (
                HandleStyle.LEGACY if VERSION_BY_NS[namespace] is None else HandleStyle.VERSIONED
            )
            locale = creds.locale or auth.accept_language(environ)
            call = Call(
                self.services.get(operation, self.service),
                caller,
                params,
                style,
                locale,
                environ.get("REMOTE_ADDR") or None,
                files or (),
                namespace,
            )
            result = HANDLERS[operation](call)
            payload = codec.Writer(namespace, self.zone).element(
                f"{operation}Return", schema.return_type(operation, namespace), result
            )
            return Outcome(200, envelope.response(soap_ns, payload), soap_ns, operation, creds.user)
        except Exception as error:  # the one place every failure becomes a fault
            return self.fault(error, soap_ns, operation, creds)

    def _inject(
        self, operation: str, params: dict[str, Any], soap_ns: str, creds: auth.Credentials
    ) -> Outcome | None:
        """Applies a fault rule, if one matches: raises its fault, waits, or answers badly."""
        if self.faults is None:
            return None
        kinds = [kind for kind in JOB_TYPES if params.get(kind) is not None]
        rule = self.faults.pick(
            Target(
                operation,
                _company_id(params.get("companyHandle")),
                params.get("jobName") or params.get("originalName"),
                JOB_TYPES[kinds[0]] if kinds else None,
            )
        )
        if rule is None:
            return None
        if rule.effect is Effect.LATENCY:
            time.sleep((rule.latency_ms or 0) / 1000)
            return None
        if rule.effect is Effect.FAULT:
            raise InjectedFault(rule.code or 30000, rule.reason or "Injected fault")
        if rule.effect is Effect.HTTP_STATUS:
            status = rule.http_status or 500
            body = (rule.reason or f"Injected HTTP {status}").encode()
            return Outcome(status, body, soap_ns, operation, creds.user, plain=True)
        return Outcome(0, b"", soap_ns, operation, creds.user, drop=True)

    def too_large(self, soap_ns: str, limit: int) -> Outcome:
        error = InvalidRequestXml(f"The request body is larger than {limit} bytes")
        return self._refused(413, error, soap_ns)

    def body_stalled(self, soap_ns: str, seconds: float) -> Outcome:
        error = InvalidRequestXml(
            f"The request body stopped arriving (nothing for {seconds:g} s): "
            "is its Content-Length larger than the body?"
        )
        return self._refused(408, error, soap_ns)

    def _refused(self, status: int, error: InvalidRequestXml, soap_ns: str) -> Outcome:
        """A request refused before it was read: a fault with an HTTP status of its own."""
        outcome = self.fault(error, soap_ns, None, auth.Credentials())
        return Outcome(status, outcome.body, soap_ns, None, None, error.code, error.message)

    def fault(
        self, error: Exception, soap_ns: str, operation: str | None, creds: auth.Credentials
    ) -> Outcome:
        if not isinstance(error, IpsJobsError):
            log.exception("unexpected error in %s", operation or "a request")
        fault = faults.to_fault(error)
        body = envelope.fault(
            soap_ns, fault.client_side, fault.faultstring, fault.element, fault.code, fault.reason
        )
        status = creds.fault_http_status or 500
        return Outcome(status, body, soap_ns, operation, creds.user, fault.code, fault.reason)


def _company_id(handle: Any) -> int | None:
    try:
        return handles.parse_company(handle) if isinstance(handle, str) else None
    except InvalidParameter:
        return None


def _operation(qname: etree.QName, servlet: bool = False) -> str:
    if qname.namespace not in VERSION_BY_NS:
        raise InvalidRequestXml(f"Unknown namespace '{qname.namespace}' for {qname.localname}")
    name = qname.localname
    operation = name[: -len("Param")] if name.endswith("Param") else ""
    if servlet:
        if operation != "uploadPost":
            raise InvalidRequestXml(f"The uploadParams part holds an uploadPostParam, not {name}")
        return operation
    if operation not in HANDLERS or not has_operation(qname.namespace or "", operation):
        raise InvalidRequestXml(f"Unknown operation '{name}'")
    return operation
