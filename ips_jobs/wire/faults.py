"""The one table from domain errors to IPS faults."""

from __future__ import annotations

from dataclasses import dataclass

from ips_jobs.domain.control import InjectedFault
from ips_jobs.errors import (
    AuthenticationError,
    AuthorizationError,
    IpsJobsError,
)


@dataclass(frozen=True)
class Fault:
    element: str
    faultstring: str
    client_side: bool
    code: int
    reason: str


INTERNAL_REASON = "Internal server error; the emulator's log has the details"

#: error class -> (fault element, faultstring, the client is to blame)
FAULTS: dict[type[IpsJobsError], tuple[str, str, bool]] = {
    AuthenticationError: ("authenticationFault", "AuthenticationException", True),
    AuthorizationError: ("authorizationFault", "AuthorizationException", True),
    IpsJobsError: ("ipsApiFault", "ipsApiFault", False),
}


def _class_for_code(code: int) -> type[IpsJobsError]:
    """An injected fault takes the fault element its code belongs to."""
    if 10000 <= code < 20000:
        return AuthenticationError
    if 20000 <= code < 30000:
        return AuthorizationError
    return IpsJobsError


def to_fault(error: BaseException) -> Fault:
    """Any exception becomes a fault; ones we did not raise on purpose say only 'internal'."""
    if not isinstance(error, IpsJobsError):
        return Fault("ipsApiFault", "ipsApiFault", False, 30000, INTERNAL_REASON)
    if isinstance(error, InjectedFault):
        element, faultstring, client_side = FAULTS[_class_for_code(error.code)]
        return Fault(element, faultstring, client_side, error.code, error.message)
    for cls in type(error).__mro__:
        if cls in FAULTS:
            element, faultstring, client_side = FAULTS[cls]
            return Fault(element, faultstring, client_side, error.code, error.message)
    raise AssertionError("IpsJobsError is in FAULTS")  # pragma: no cover
