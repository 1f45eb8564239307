"""Seeding: companies, users, folders, assets and scheduled jobs from one JSON or TOML
document, idempotently (what exists is left alone; an asset is brought up to date by name), so
a test suite starts from a known state in milliseconds.

    [[companies]]            # id is optional: ask for the documented handles (c|47)
    name = "Acme"
    id = 47

    [[users]]
    email = "dev@acme.test"
    password = "secret"
    role = "IpsUser"         # default IpsUser
    companies = ["Acme"]

    [[folders]]              # a folder under the company's root (parents made too)
    company = "Acme"
    path = "products/shoes"

    [[assets]]               # made, or brought up to date, by name
    company = "Acme"
    name = "boot"
    folder = "products/shoes"
    file = "images/boot.png" # or bytes_base64 = "iVBORw0KGgo..."

    [[jobs]]                 # submitted as `user`, validated like a submitJob
    company = "Acme"
    user = "dev@acme.test"
    jobName = "nightly publish"
    execSchedule = "0 0 3 * * ?"
    imageServingPublishJob = { publishType = "Full", emailSetting = "None" }
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ips_jobs.control.assets import STYLE
from ips_jobs.control.service import only
from ips_jobs.domain import handles, validation
from ips_jobs.domain.admin import Admin
from ips_jobs.domain.assets import Asset, AssetDraft, UploadOutcome, check_name, folder_path
from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.domain.service import JobService
from ips_jobs.engine.uploads import Unusable, asset_file, asset_info, image_facts
from ips_jobs.errors import ApiError, InvalidParameter
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.files import FileStore
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.wire import codec, older, schema
from ips_jobs.wire.namespaces import CANONICAL_NS

_SUBMIT_FIELDS = ("jobName", "locale", "execTime", "execSchedule", "description", "userHandle")
_COMPANY_FIELDS = ("name", "id")
_USER_FIELDS = ("email", "password", "role", "companies")
_FOLDER_FIELDS = ("company", "path")
_ASSET_FIELDS = (
    "company",
    "name",
    "folder",
    "fileName",
    "type",
    "readyForPublish",
    "keywords",
    "file",
    "bytes_base64",
)
#: The sections, in the order they are applied (a job may name the assets seeded before it).
SECTIONS = ("companies", "users", "folders", "assets", "jobs")
#: Who a seeded asset is created and modified by.
SEEDED_BY = "ips-jobs seed"


@functools.cache
def _kinds() -> tuple[tuple[type, tuple[type, ...], str], ...]:
    """What a job's values must be, by their schema type: JSON/TOML types, not text that the
    XML would read the same ("true" for a boolean is refused, as everywhere in /_ips/)."""
    # here, not at the top: spyne is imported after ips_jobs.wire has patched it
    from spyne.model.primitive import Boolean, DateTime, Double, Integer, Unicode

    return (
        (Boolean, (bool,), "expected true or false"),
        (Integer, (int,), "an integer"),
        (Double, (int, float), "a number"),
        (DateTime, (str, datetime, date), "a date and time (ISO 8601 text, or a TOML date-time)"),
        (Unicode, (str,), "text"),
    )


def parse(body: bytes, hint: str = "") -> dict[str, Any]:
    """A seed document from JSON or TOML (by the hint, a content type or file name, when it
    names either; else by its first character)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidParameter("seed", f"not UTF-8 text: {exc}") from None
    hint = hint.lower()
    as_json = "json" in hint or ("toml" not in hint and text.lstrip().startswith("{"))
    try:
        document = json.loads(text) if as_json else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError is a ValueError too
        raise InvalidParameter(
            "seed", f"not valid {'JSON' if as_json else 'TOML'}: {exc}"
        ) from None
    if not isinstance(document, dict):
        raise InvalidParameter("seed", "the document must be an object/table")
    unknown = set(document) - set(SECTIONS)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], f"unknown section; use {', '.join(SECTIONS)}")
    return document


@dataclass
class Outcome:
    created: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SECTIONS})
    existing: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SECTIONS})

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing}


class Seeder:
    def __init__(
        self,
        admin: Admin,
        service: JobService,
        repository: SqlJobRepository,
        files: FileStore,
        progress: Callable[[str], None] | None = None,
        base: Path | None = None,
        confined: bool = False,
    ) -> None:
        """`files` is the uploads' file store (seeded assets' files go there too); `base` the
        folder relative `file` paths start from (the seed file's; None: the working folder).
        `confined` (seeds over HTTP, which anyone reaching the control plane may send): a
        `file` must lie inside `base`, the server directory, and without one none is read,
        so that a seed cannot make the server's own files (`/proc/self/environ`) assets."""
        self.admin = admin
        self.service = service
        self.repository = repository
        self.assets = SqlAssetRepository(repository.db)
        self.files = files
        self.progress = progress
        self.base = base or Path()
        self.confined = confined
        self._confined_base = base.resolve() if confined and base is not None else None

    def apply(self, document: Mapping[str, Any]) -> Outcome:
        outcome = Outcome()
        adders = {
            "companies": self._company,
            "users": self._user,
            "folders": self._folder,
            "assets": self._asset,
            "jobs": self._job,
        }
        for section in SECTIONS:
            add = adders[section]
            items = _items(document, section)
            for i, item in enumerate(items):
                created = len(outcome.created[section])
                add(f"{section}[{i}]", item, outcome)
                if self.progress is not None:
                    made = len(outcome.created[section]) > created
                    what = outcome.created[section] if made else outcome.existing[section]
                    state = "created" if made else "already there"
                    self.progress(f"{section} {i + 1}/{len(items)}: {what[-1]} {state}")
        return outcome

    def _company(self, where: str, item: Mapping[str, Any], outcome: Outcome) -> None:
        only(item, *_COMPANY_FIELDS, where=where)
        name = _text(item, "name", where)
        wanted = item.get("id")
        if wanted is not None and (
            not isinstance(wanted, int)
            or isinstance(wanted, bool)
            or wanted not in validation.INT32
        ):
            raise InvalidParameter(f"{where}.id", "an integer (32-bit)")
        found = self.repository.company_by_name(name)
        if found is not None:
            if wanted is not None and found.id != wanted:
                raise InvalidParameter(f"{where}.id", f"'{name}' already exists as c|{found.id}")
            outcome.existing["companies"].append(f"c|{found.id}")
            return
        company = self.admin.add_company(name, wanted)
        outcome.created["companies"].append(f"c|{company.id}")

    def _user(self, where: str, item: Mapping[str, Any], outcome: Outcome) -> None:
        only(item, *_USER_FIELDS, where=where)
        email = _text(item, "email", where)
        found = self.repository.user_by_email(email)
        if found is not None:
            outcome.existing["users"].append(f"u|{found.id}|{email}")
            return
        companies = item.get("companies", [])
        if not isinstance(companies, list) or not all(isinstance(c, str) for c in companies):
            raise InvalidParameter(f"{where}.companies", "a list of company names")
        role = _text(item, "role", where) if "role" in item else "IpsUser"
        user = self.admin.add_user(email, _text(item, "password", where), role, companies)
        outcome.created["users"].append(f"u|{user.id}|{email}")

    def _folder(self, where: str, item: Mapping[str, Any], outcome: Outcome) -> None:
        only(item, *_FOLDER_FIELDS, where=where)
        company, root = self._company_root(item, where)
        path = folder_path(root, _text(item, "path", where), f"{where}.path")
        handle = handles.folder(path, STYLE)
        if self.assets.folder(company, path) is not None:
            outcome.existing["folders"].append(handle)
            return
        self.assets.add_folder(company, path, self.admin.clock.now())
        outcome.created["folders"].append(handle)

    def _asset(self, where: str, item: Mapping[str, Any], outcome: Outcome) -> None:
        """Everything is checked before the file is stored: a bad entry keeps nothing. The
        file's facts are read as an upload reads them; an asset of the name that differs from
        the entry is updated in place (it keeps its handle), one that does not is left."""
        only(item, *_ASSET_FIELDS, where=where)
        company, root = self._company_root(item, where)
        name = check_name(_text(item, "name", where), f"{where}.name")
        given = _text(item, "folder", where) if "folder" in item else ""
        folder = folder_path(root, given, f"{where}.folder")
        ready = item.get("readyForPublish", False)
        if not isinstance(ready, bool):
            raise InvalidParameter(f"{where}.readyForPublish", "expected true or false")
        keywords = item.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise InvalidParameter(f"{where}.keywords", "a list of text")
        asset_type = _text(item, "type", where) if "type" in item else ""
        data, source, hint = self._bytes(item, where)
        file_name = check_name(
            _text(item, "fileName", where) if "fileName" in item or not hint else hint,
            f"{where}.fileName",
        )
        image = image_facts(io.BytesIO(data))
        try:
            file_name, asset_type = asset_file(folder, file_name, hint, image, asset_type)
        except Unusable as unusable:
            raise InvalidParameter(f"{where}.{source}", str(unusable)) from None
        stored = self.files.put([data], len(data))
        draft = AssetDraft(
            name=name,
            type=asset_type,
            folder=folder,
            file_name=file_name,
            ready_for_publish=ready,
            info=asset_info(folder, file_name, name, stored, image),
            keywords=tuple(validation.sendable(k, f"{where}.keywords") for k in keywords),
        )
        found = self.assets.assets_by_name(company, [name])
        if found and _unchanged(found[0], draft):
            outcome.existing["assets"].append(handles.asset(found[0].id, STYLE))
            return
        now = self.admin.clock.now()
        uploaded = self.assets.upload(
            company, draft, overwrite=True, keep_publish_state=False, now=now, by=SEEDED_BY
        )
        made = uploaded.outcome is UploadOutcome.CREATED
        (outcome.created if made else outcome.existing)["assets"].append(
            handles.asset(uploaded.asset.id, STYLE)
        )

    def _bytes(self, item: Mapping[str, Any], where: str) -> tuple[bytes, str, str]:
        """The asset's bytes, the field they came from, and the local file's name ("" for
        inline bytes)."""
        if ("file" in item) == ("bytes_base64" in item):
            raise InvalidParameter(f"{where}.file", "give file or bytes_base64 (one of them)")
        if "bytes_base64" in item:
            try:
                data = base64.b64decode(_text(item, "bytes_base64", where), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidParameter(
                    f"{where}.bytes_base64", f"not valid base64: {exc}"
                ) from None
            return data, "bytes_base64", ""
        base = self._confined_base
        path = self.base / _text(item, "file", where)
        if self.confined and (base is None or not path.resolve().is_relative_to(base)):
            raise InvalidParameter(
                f"{where}.file",
                "a seed sent over HTTP reads files inside IPS_SERVER_DIRECTORY only"
                + ("" if base is not None else " (not set): send bytes_base64 instead"),
            )
        try:
            return path.read_bytes(), "file", path.name
        except OSError as exc:
            raise InvalidParameter(
                f"{where}.file", f"cannot read {path}: {exc.strerror or exc}"
            ) from None

    def _company_root(self, item: Mapping[str, Any], where: str) -> tuple[int, str]:
        """The company an entry names (by name or handle) and its root folder's path."""
        company_id = self._company_id(_text(item, "company", where), where)
        company = self.repository.company(company_id)
        if company is None:
            raise InvalidParameter(f"{where}.company", f"no company c|{company_id}")
        return company_id, company.root_path

    def _job(self, where: str, item: Mapping[str, Any], outcome: Outcome) -> None:
        company = self._company_id(_text(item, "company", where), where)
        user = self.repository.user_by_email(_text(item, "user", where))
        if user is None:
            raise InvalidParameter(f"{where}.user", "no such user (seed users first)")
        name = _text(item, "jobName", where)
        existing = self.repository.scheduled_job(company, name)
        if existing is not None and existing.trigger_state.value != "Complete":
            outcome.existing["jobs"].append(f"j|{company}|{name}||")
            return
        unknown = set(item) - {"company", "user", *_SUBMIT_FIELDS, *JOB_TYPES}
        if unknown:
            raise InvalidParameter(f"{where}.{sorted(unknown)[0]}", "unknown field")
        submitted = {k: v for k, v in item.items() if k not in ("company", "user")}
        _check_shape(schema.param_type("submitJob"), submitted, where)
        params = self._validated(where, {"companyHandle": f"c|{company}", **_plain(item)})
        job = self.service.submit(
            user,
            company_handle=params.get("companyHandle"),
            user_handle=params.get("userHandle"),
            job_name=params.get("jobName"),
            locale=params.get("locale"),
            exec_time=params.get("execTime"),
            exec_schedule=params.get("execSchedule"),
            description=params.get("description"),
            job_types={kind: params.get(kind) for kind in JOB_TYPES},
        )
        outcome.created["jobs"].append(f"j|{company}|{job.name}||")

    def _company_id(self, value: str, where: str) -> int:
        if value.startswith("c|") or value.isdigit():
            return handles.parse_company(value, f"{where}.company")
        found = self.repository.company_by_name(value)
        if found is None:
            raise InvalidParameter(f"{where}.company", f"no company named '{value}'")
        return found.id

    def _validated(self, where: str, data: dict[str, Any]) -> dict[str, Any]:
        """The job as a submitJobParam, checked by the same schema as a SOAP request."""
        data.pop("company", None)
        data.pop("user", None)
        try:
            element = codec.Writer(CANONICAL_NS, UTC).element(
                "submitJobParam", schema.param_type("submitJob"), data
            )
            return codec.read("submitJob", element)
        except ApiError as error:
            raise InvalidParameter(where, error.message) from None
        except (AttributeError, TypeError, ValueError) as error:
            raise InvalidParameter(where, f"does not fit the submitJob shape: {error}") from None


def _check_shape(model: Any, data: Any, where: str) -> None:
    """Checks a job's values against the submitJob schema's types, field by field, naming
    the first one that is wrong: the XML writer would take 5 for text and "true" for a
    boolean, and leave out fields it does not know (a misspelt one was silently lost)."""
    if not isinstance(data, dict):
        raise InvalidParameter(where, "an object (a TOML table)")
    if model.__type_name__ in older.converters(CANONICAL_NS):
        return  # written in more than one shape; the schema checks it once written
    members = model._type_info
    for name, value in data.items():
        member = members.get(name)
        field_name = f"{where}.{name}"
        if member is None:
            raise InvalidParameter(field_name, "unknown field")
        if value is None:
            continue
        if member.Attributes.max_occurs > 1:
            if not isinstance(value, list):
                raise InvalidParameter(field_name, "a list")
            for i, item in enumerate(value):
                _check_value(member, item, f"{field_name}[{i}]")
        else:
            _check_value(member, value, field_name)


def _check_value(member: Any, value: Any, where: str) -> None:
    if hasattr(member, "_type_info"):  # a complex type
        _check_shape(member, value, where)
        return
    for kind, types, expected in _kinds():
        if issubclass(member, kind):
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise InvalidParameter(where, expected)
            return


def _unchanged(asset: Asset, draft: AssetDraft) -> bool:
    """Whether seeding `draft` would change nothing of `asset` (keywords are only ever set,
    as an overwriting upload sets them)."""
    return (asset.type, asset.folder, asset.file_name, asset.ready_for_publish, asset.info) == (
        draft.type,
        draft.folder,
        draft.file_name,
        draft.ready_for_publish,
        draft.info,
    ) and (not draft.keywords or set(asset.keywords) == set(draft.keywords))


def _items(document: Mapping[str, Any], section: str) -> list[Mapping[str, Any]]:
    items = document.get(section, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidParameter(section, "a list of objects")
    return items


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter(f"{where}.{name}", "required text")
    return validation.sendable(value.strip(), f"{where}.{name}")


def _plain(value: Any) -> Any:
    """TOML dates become ISO text, as the schema expects."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
