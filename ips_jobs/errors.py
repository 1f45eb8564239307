"""The one error root. Each error carries its stable IPS code; none knows about SOAP or XML."""

from __future__ import annotations


class IpsJobsError(Exception):
    """An error in ips-jobs."""

    code: int = 30000

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class ConfigError(IpsJobsError):
    """The configuration is not valid."""


#: `ips-jobs worker` exits with this status on EngineBusy (its supervisor reads it).
ENGINE_BUSY_EXIT = 3


class EngineBusy(IpsJobsError):
    """Another process already runs the engine for this SQLite database."""


class StoreError(IpsJobsError):
    """The database could not complete the request."""


class AuthenticationError(IpsJobsError):
    """The request could not be authenticated."""

    code = 10001


class NoCredentials(AuthenticationError):
    """No credentials were provided."""

    code = 10000


class InvalidCredentials(AuthenticationError):
    """Invalid username/password"""

    code = 10001


class InvalidUser(AuthenticationError):
    """The user is not allowed to log in."""

    code = 10002


class AuthorizationError(IpsJobsError):
    """The user is not allowed to do this."""

    code = 20000


class NoOperationPermission(AuthorizationError):
    """User does not have permission to access this operation."""

    code = 20003

    def __init__(self, operation: str) -> None:
        super().__init__(f"User does not have permission to access operation '{operation}'")


class IllegalCompany(AuthorizationError):
    """User does not have access to this company."""

    code = 20006

    def __init__(self, handle: str) -> None:
        super().__init__(f"User does not have access to company '{handle}'")


class IllegalRequestUser(AuthorizationError):
    """The user handle does not belong to the company."""

    code = 20007

    def __init__(self, handle: str) -> None:
        super().__init__(f"User '{handle}' is not a member of the company (userHandle)")


class ApiError(IpsJobsError):
    """The request could not be carried out."""

    code = 30000


class InvalidParameter(ApiError):
    """A parameter has an invalid value."""

    code = 30001

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(f"Invalid value for '{field}': {detail}")


class MissingParameter(ApiError):
    """A required parameter is missing."""

    code = 30002

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"Missing required parameter '{field}'")


class InvalidRequestXml(ApiError):
    """The request XML is not valid."""

    code = 30003


class NameInUse(ApiError):
    """The name is already in use."""

    code = 30000

    def __init__(self, job_name: str) -> None:
        super().__init__(f"Job name '{job_name}' is already in use.")


class NotFound(ApiError):
    """The handle refers to nothing the caller can see."""

    code = 30001

    def __init__(self, field: str, handle: str) -> None:
        self.field = field
        super().__init__(f"Invalid value for '{field}': no such job '{handle}'")


class WrongState(ApiError):
    """The job is not in a state that allows this operation."""

    code = 30000
