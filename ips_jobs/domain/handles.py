"""IPS handles as the real service forms them; both the versioned and the legacy forms are read.

Versioned: company `c|6`, user `u|14|a@b.c`, job definition `j|110|name||`,
run `j|110||runName|5129821`, asset `a|210`, folder `f|Root/path/`. Legacy (unversioned
namespace): `47`, `70|a@b.c`, `47|name|`, `47||runName`, asset `210|1|210`, folder
`Root/path/`. The 2008-era three-part asset form `a|942|1|579` is read too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ips_jobs.errors import InvalidParameter


class HandleStyle(Enum):
    VERSIONED = "versioned"
    LEGACY = "legacy"


@dataclass(frozen=True)
class DefinitionRef:
    """A scheduled job, named by company and submitted jobName."""

    company_id: int
    name: str


@dataclass(frozen=True)
class RunRef:
    """A run (active job or job log), named by company and run name; the id when known."""

    company_id: int
    run_name: str
    run_id: int | None


JobRef = DefinitionRef | RunRef


def company(company_id: int, style: HandleStyle) -> str:
    return str(company_id) if style is HandleStyle.LEGACY else f"c|{company_id}"


def user(user_id: int, email: str, style: HandleStyle) -> str:
    return f"{user_id}|{email}" if style is HandleStyle.LEGACY else f"u|{user_id}|{email}"


def definition(company_id: int, name: str, style: HandleStyle) -> str:
    return f"{company_id}|{name}|" if style is HandleStyle.LEGACY else f"j|{company_id}|{name}||"


def run(company_id: int, run_name: str, run_id: int, style: HandleStyle) -> str:
    if style is HandleStyle.LEGACY:
        return f"{company_id}||{run_name}"
    return f"j|{company_id}||{run_name}|{run_id}"


def asset(asset_id: int, style: HandleStyle) -> str:
    """Legacy asset handles have three numbers (`24265|1|17061`, meaning undocumented): ours
    repeat the id around IPS's most common middle `1`."""
    return f"{asset_id}|1|{asset_id}" if style is HandleStyle.LEGACY else f"a|{asset_id}"


def folder(path: str, style: HandleStyle) -> str:
    """A folder's handle is its full path (so a rename or move changes it)."""
    return path if style is HandleStyle.LEGACY else f"f|{path}"


def parse_company(value: str, field: str = "companyHandle") -> int:
    text = value.strip()
    number = text[2:] if text.startswith("c|") else text
    return _id(number, field, value)


def parse_user(value: str, field: str = "userHandle") -> int:
    parts = value.strip().split("|")
    if parts[0] == "u":
        parts = parts[1:]
    if not parts or not parts[0]:
        raise InvalidParameter(field, f"'{value}' is not a user handle")
    return _id(parts[0], field, value)


def parse_job(value: str, field: str = "jobHandle") -> JobRef:
    parts = value.strip().split("|")
    if parts[0] == "j":
        parts = parts[1:]
        if len(parts) == 3 and not parts[1]:
            parts.append("")  # documented run handle without a run id: j|6||Add_2007-10-24-16:11:07
        if len(parts) != 4:
            raise InvalidParameter(field, f"'{value}' is not a job handle")
        company_id = _id(parts[0], field, value)
        name, run_name, run_id = parts[1], parts[2], parts[3]
        if name and not run_name and not run_id:
            return DefinitionRef(company_id, name)
        if run_name and not name:
            return RunRef(company_id, run_name, _id(run_id, field, value) if run_id else None)
        raise InvalidParameter(field, f"'{value}' is not a job handle")
    if len(parts) == 3:
        company_id = _id(parts[0], field, value)
        if parts[1] and not parts[2]:
            return DefinitionRef(company_id, parts[1])
        if parts[2] and not parts[1]:
            return RunRef(company_id, parts[2], None)
    raise InvalidParameter(field, f"'{value}' is not a job handle")


def parse_asset(value: str, field: str = "assetHandle") -> int:
    """The asset id of `a|210`, `a|942|1|579` or `24265|1|17061`: the first number."""
    parts = value.strip().split("|")
    if parts[0] == "a":
        parts = parts[1:]
        if len(parts) not in (1, 3):
            raise InvalidParameter(field, f"'{value}' is not an asset handle")
    elif len(parts) != 3:
        raise InvalidParameter(field, f"'{value}' is not an asset handle")
    numbers = [_id(part, field, value) for part in parts]
    return numbers[0]


def parse_folder(value: str, field: str = "folderHandle") -> str:
    """The path a folder handle (`f|Root/a/` or `Root/a/`) carries, as the client wrote it:
    assets.folder_path() makes it a full path."""
    text = value.strip()
    path = text[2:] if text.startswith("f|") else text
    if not path:
        raise InvalidParameter(field, f"'{value}' is not a folder handle")
    return path


def _id(text: str, field: str, whole: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidParameter(field, f"'{whole}' is not a valid handle")
    return int(text)
