"""What a handler gets: one authenticated call to one service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import User
from ips_jobs.domain.upload_posts import IncomingFile
from ips_jobs.wire.namespaces import CANONICAL_NS

Data = dict[str, Any]
#: The service that answers the operation: JobService, or AssetService for the asset and
#: folder operations.
S = TypeVar("S")


def items(array: Data | None) -> list[Any] | None:
    """The `items` of an array (StringArray, HandleArray, …); None if it is absent."""
    return None if array is None else list(array.get("items") or [])


@dataclass(frozen=True)
class Call(Generic[S]):
    """One authenticated call: who, with which parameters, answered in which handle style,
    the request's locale (authHeader, else Accept-Language), if it had one, where it came
    from, the files it posted (the UploadFile servlet's) and its payload namespace."""

    service: S
    caller: User
    params: Data
    style: HandleStyle
    locale: str | None = None
    client_address: str | None = None
    files: Sequence[IncomingFile] = ()
    namespace: str = CANONICAL_NS

    def get(self, name: str) -> Any:
        return self.params.get(name)

    def items(self, name: str) -> list[Any] | None:
        return items(self.params.get(name))

    def job_ref(self) -> dict[str, Any]:
        return {"company_handle": self.get("companyHandle"), "job_handle": self.get("jobHandle")}
