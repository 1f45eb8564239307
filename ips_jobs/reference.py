"""Generated reference pages: docs/parity.md (what of the IPS job API ips-jobs implements) and
docs/configuration.md (every setting). Both are built from the code: the operation handlers,
the job types and their run plans, the HTTP routes, the Settings dataclass and the CLI options.
The only hand-written facts here are what IPS itself has, cited from the spec
(the project's `ips-job-api.md`, kept outside this repository), and, in
`ips_jobs/parameters.py`, how each operation's parameters are honoured (the tests hold that
table to the schema and to the handlers).

    python -m ips_jobs.reference            # rewrite both pages
    python -m ips_jobs.reference --check    # exit 1 naming a page that is stale
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import click

from ips_jobs import cli, parameters
from ips_jobs.config import CONFIG_ENV, Settings, env_name
from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.domain.named_assets import HANDLE_FIELDS
from ips_jobs.engine.asset_jobs import PUBLISH_CONTEXTS
from ips_jobs.engine.runners import FAMILIES
from ips_jobs.resources import wsdl_folder
from ips_jobs.wire.operations import HANDLERS
from ips_jobs.wire.wsgi import WsgiApp

PARITY_PAGE = Path("docs/parity.md")
CONFIGURATION_PAGE = Path("docs/configuration.md")

FULL = "full"
PARTIAL = "partial"
#: Job types whose runs act on the asset store (app.engine): uploads make assets, publish jobs
#: mark them published, exports zip their files, the others check their handles.
ACTING = frozenset(
    {"uploadUrlsJob", "uploadDirectoryJob", "uploadPostJob", *PUBLISH_CONTEXTS, *HANDLE_FIELDS}
)
SIMULATED = "simulated"
NOT_IMPLEMENTED = "not implemented"


class ReferenceDocError(Exception):
    """The code lacks something a reference page needs (e.g. a setting without help text)."""


class KnownOperation(NamedTuple):
    name: str
    section: str
    note: str


#: Every job operation that exists in IPS, in the order of the spec's list: ips-job-api.md §3
#: ("Complete list of job-related operations that exist"), with the section describing each.
#: Whether ips-jobs implements one is read from wire.operations.HANDLERS, not from here.
KNOWN_OPERATIONS: tuple[KnownOperation, ...] = (
    KnownOperation("submitJob", "§3.1", ""),
    KnownOperation("getScheduledJobs", "§3.2", ""),
    KnownOperation("getActiveJobs", "§3.3", ""),
    KnownOperation("getJobLogs", "§3.4", ""),
    KnownOperation("getJobLogDetails", "§3.5", ""),
    KnownOperation("getAssetJobLogs", "§3.6", ""),
    KnownOperation("stopJob", "§3.7", ""),
    KnownOperation("pauseJob", "§3.7", ""),
    KnownOperation("resumeJob", "§3.7", ""),
    KnownOperation("executeJob", "§3.7", ""),
    KnownOperation("deleteJob", "§3.7", ""),
    KnownOperation(
        "getArchivedJobLogDetails", "§3.8", "undocumented; 2021-01-11-beta and later betas"
    ),
    KnownOperation(
        "getAssetArchivedJobLogs", "§3.9", "undocumented; 2021-01-11-beta and later betas"
    ),
    KnownOperation("getUploadTaskStatus", "§3.10", "undocumented; 2017-10-29-beta and later"),
    KnownOperation("uploadPost", "§3.14", "SOAP operation in the beta WSDLs"),
)


class KnownEndpoint(NamedTuple):
    path: str
    method: str
    section: str
    what: str


#: The HTTP endpoints of IPS's job API: ips-job-api.md §1.1 (and §1.7, §3.14). Whether ips-jobs
#: serves one is found by asking its WSGI routing (see `_routed`).
KNOWN_ENDPOINTS: tuple[KnownEndpoint, ...] = (
    KnownEndpoint("/scene7/services/IpsApiService", "POST", "§1.1, §1.3", "SOAP 1.1/1.2 service"),
    KnownEndpoint("/scene7/webservice/IpsApi.wsdl", "GET", "§1.1, §1.2", "WSDL servlet"),
    KnownEndpoint("/scene7/api/IpsApiService", "POST", "§1.7", "AEM envelope-less XML transport"),
    KnownEndpoint("/scene7/UploadFile", "POST", "§3.14", "UploadFile servlet (multipart upload)"),
)

#: The job `type` strings IPS documents (ActiveJob/type, ScheduledJob/type): ips-job-api.md §5,
#: "Job Types". A JOB_TYPES value outside this list is our choice (docs/differences.md).
DOCUMENTED_TYPE_STRINGS: tuple[str, ...] = (
    "ImageServingPublish",
    "ImageRenderingPublish",
    "ServerDirectoryPublish",
    "ServerDirectoryPublishWithTemplate",
    "VideoPublish",
    "UploadFromServerDirectory",
    "UrlUpload",
    "MetadataUpload",
    "ImageOptimization",
    "Cleanup",
)

#: Job detail types of ips-job-api.md §4.9 that are not submitJob elements, so not JOB_TYPES
#: keys: the job uploadPost / the UploadFile servlet create. (Its type string is ours; it is the
#: one domain.jobs.Run.type falls back to.)
OTHER_JOB_TYPES: dict[str, tuple[str, str]] = {
    "uploadPostJob": ("UploadPost", "§4.9, §3.14: created by uploadPost, not by submitJob"),
}

#: Settings that deliberately have no command-line flag (environment variable or config file
#: only), with their one-line description. Every other Settings field takes its description
#: from the help of its CLI option.
WITHOUT_FLAG: dict[str, str] = {}


# --------------------------------------------------------------------------------------------
# Parity


class OperationRow(NamedTuple):
    name: str
    section: str
    support: str
    note: str


class EndpointRow(NamedTuple):
    endpoint: KnownEndpoint
    support: str


class JobTypeRow(NamedTuple):
    element: str
    type: str
    documented: bool
    support: str
    family: tuple[str, str, str, str] | None


def operation_rows() -> list[OperationRow]:
    """The known IPS job operations, then every other operation a handler exists for. One with
    a handler is full only if it honours every parameter; the note names those it does not."""
    _check_parameter_table()
    known = {op.name for op in KNOWN_OPERATIONS}
    rows = [_operation_row(op.name, op.section, op.note) for op in KNOWN_OPERATIONS]
    rows += [
        _operation_row(name, "not in §3", "non-job IPS operation")
        for name in HANDLERS
        if name not in known
    ]
    return rows


def _operation_row(name: str, section: str, note: str) -> OperationRow:
    if name not in HANDLERS:
        return OperationRow(name, section, NOT_IMPLEMENTED, note)
    missing = parameters.not_honoured(name)
    if not missing:
        return OperationRow(name, section, FULL, note)
    listed = [f"`{p.name}`: {p.support}" for p in missing]
    return OperationRow(name, section, PARTIAL, "; ".join(filter(None, [note, *listed])))


def _check_parameter_table() -> None:
    """The table must cover every handled operation and name no other (the unit tests also
    hold it to the schema, parameter by parameter)."""
    tabled = {p.operation for p in parameters.PARAMETERS}
    problems = [
        f"operation {name!r} has a handler but no parameters in ips_jobs/parameters.py"
        for name in HANDLERS
        if name not in tabled
    ]
    problems += [
        f"ips_jobs/parameters.py lists parameters of {name!r}, which has no handler"
        for name in sorted(tabled - set(HANDLERS))
    ]
    problems += [
        f"ips_jobs/parameters.py: {p.operation}/{p.name} has support {p.support!r}, not one of "
        f"{', '.join(parameters.SUPPORT_LEVELS)}"
        for p in parameters.PARAMETERS
        if p.support not in parameters.SUPPORT_LEVELS
    ]
    if problems:
        raise ReferenceDocError("\n".join(problems))


def endpoint_rows() -> list[EndpointRow]:
    return [
        EndpointRow(e, FULL if _routed(e.path, e.method) else NOT_IMPLEMENTED)
        for e in KNOWN_ENDPOINTS
    ]


def job_type_rows() -> list[JobTypeRow]:
    rows = []
    others = {element: type_string for element, (type_string, _) in OTHER_JOB_TYPES.items()}
    for element, type_string in {**JOB_TYPES, **others}.items():
        family = FAMILIES.get(element)
        parts = None if family is None else (family.begin, family.success, family.error, family.end)
        rows.append(
            JobTypeRow(
                element,
                type_string,
                type_string in DOCUMENTED_TYPE_STRINGS,
                PARTIAL if element in ACTING else SIMULATED,
                parts,
            )
        )
    return rows


@functools.cache
def _probe_app() -> WsgiApp:
    return WsgiApp(dispatcher=None, wsdl_dir=wsdl_folder(), max_body_bytes=1024)


def _routed(path: str, method: str) -> bool:
    """Whether the WSGI app routes `path` anywhere but its catch-all 404. The probe carries no
    SOAP (an empty text/plain body), so no dispatcher is needed."""
    app = _probe_app()
    statuses: list[str] = []
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "0",
        "wsgi.input": io.BytesIO(b""),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8080",
        "wsgi.url_scheme": "http",
    }
    try:
        b"".join(app(environ, lambda status, headers: statuses.append(status)))
    except Exception:  # a route that needs more than the probe still is a route
        return True
    return not statuses[0].startswith("404")


_SUPPORT_TEXT: dict[str, str] = {
    parameters.HONOURED: "does what IPS documents (within `docs/differences.md`).",
    parameters.PARTLY: "read and used, but part of what IPS documents is missing (see the note).",
    parameters.NO_EFFECT: "read and checked (a bad value is a fault), but it cannot change the "
    "answer yet.",
    parameters.IGNORED: "accepted, never read.",
}


def parity_markdown() -> str:
    """The whole text of docs/parity.md."""
    out = [
        _generated_banner(),
        "# Parity with the IPS job API",
        "",
        "What ips-jobs implements of the job part of Adobe Scene7's IPS SOAP API, by operation,",
        "endpoint and job type. The spec sections (§) are those of the project's IPS fact sheet",
        "(`ips-job-api.md`, kept outside this repository);",
        "`docs/differences.md` lists every way an implemented part knowingly differs from IPS.",
        "",
        "Support levels:",
        "",
        f"- **{FULL}**: implemented as IPS documents it (within `docs/differences.md`), every",
        "  parameter honoured.",
        f"- **{PARTIAL}**: implemented, but some parameters are not (or not fully) honoured;",
        "  the note names them, and the Parameters table below says how each is treated.",
        f"- **{SIMULATED}**: accepted and run like on IPS (scheduled, active, logged), but the",
        "  effect is simulated: nothing is uploaded, published or exported.",
        f"- **{NOT_IMPLEMENTED}**: IPS has it, ips-jobs does not: a request for it gets a fault",
        "  (`Unknown operation`), or HTTP 404 at an endpoint.",
        "",
        "## Operations",
        "",
        "| operation | spec | support | note |",
        "|---|---|---|---|",
    ]
    out += [_row(f"`{r.name}`", r.section, r.support, r.note) for r in operation_rows()]
    out += [
        "",
        "IPS has no `deleteJobLogs`, `getJobs`, `getJobStatus` or `cancelJob` operation (§3).",
        "",
        "## Parameters",
        "",
        "Every parameter (`<op>Param` element) of every implemented operation, in schema order:",
        "those of the job operations as §3 documents them, the others as the schema declares",
        "them.",
        "",
        *(f"- **{level}**: {text}" for level, text in _SUPPORT_TEXT.items()),
        "",
        "| operation | parameter | support | note |",
        "|---|---|---|---|",
        *(
            _row(f"`{p.operation}`", f"`{p.name}`", p.support, p.note)
            for p in parameters.PARAMETERS
        ),
        "",
        "## Endpoints",
        "",
        "| endpoint | spec | support | what |",
        "|---|---|---|---|",
    ]
    out += [
        _row(
            f"`{r.endpoint.method} {r.endpoint.path}`",
            r.endpoint.section,
            r.support,
            r.endpoint.what,
        )
        for r in endpoint_rows()
    ]
    rows = job_type_rows()
    out += [
        "",
        "## Job types",
        "",
        "The `type` string is what `getScheduledJobs`, `getActiveJobs` and `getJobLogs` report.",
        "IPS documents type strings for some job types only (§5); the others are ours.",
        "A run writes its Begin row, `OriginalJobName` and `JobClient`, one success or error",
        "row per item, and its End row; the JobLog's `logType` is the Begin type. The **partial**",
        "ones act on the asset store for real: uploads fetch files and make or update assets,",
        "publish jobs mark ready assets published, exports zip the stored files, the others",
        "check their asset handles; what IPS does to the images themselves (conversion, masks,",
        'crops, serving) is not done (docs/engine.md, "Jobs that act on assets").',
        "",
        "| job (submitJob element) | `type` | type string | support | Begin / success / error "
        "/ End log types |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        family = (
            " / ".join(f"`{t}`" for t in r.family)
            if r.family
            else ("generic (`uploadUrlsJob`'s)" if r.support == SIMULATED else "—")
        )
        out.append(
            _row(
                f"`{r.element}`",
                f"`{r.type}`",
                "documented by IPS" if r.documented else "chosen by ips-jobs",
                r.support,
                family,
            )
        )
    reported = {r.type for r in rows}
    unused = [t for t in DOCUMENTED_TYPE_STRINGS if t not in reported]
    if unused:
        out += [
            "",
            "Documented type strings no job of ips-jobs reports: "
            + ", ".join(f"`{t}`" for t in unused)
            + ".",
        ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Configuration


class CliOption(NamedTuple):
    flags: str
    help: str
    commands: tuple[str, ...]


class SettingRow(NamedTuple):
    field: str
    variable: str
    type: str
    default: str
    flags: str
    commands: tuple[str, ...]
    description: str


_ENV_SUFFIX = re.compile(r"\s*\[env: [^\]]*\]\s*$")


def _commands(group: click.Group, prefix: str = "ips-jobs") -> Iterator[tuple[str, click.Command]]:
    for name in sorted(group.commands):
        command = group.commands[name]
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def settings_fields() -> tuple[dataclasses.Field[Any], ...]:
    """The fields the configuration page documents."""
    return dataclasses.fields(Settings)


def cli_options(group: click.Group | None = None) -> dict[str, CliOption]:
    """Settings field -> its flag(s), help and the commands taking it, read from the click
    commands (`serve`, `worker`, and every other command of the `ips-jobs` group)."""
    names = {f.name for f in settings_fields()}
    found: dict[str, CliOption] = {}
    for path, command in _commands(group or cli.cli):
        for param in command.params:
            if not isinstance(param, click.Option) or param.name not in names:
                continue
            flags = "/".join([*param.opts, *param.secondary_opts])
            text = _ENV_SUFFIX.sub("", param.help or "").strip()
            seen = found.get(param.name)
            if seen is None:
                found[param.name] = CliOption(flags, text, (path,))
                continue
            if (seen.flags, seen.help) != (flags, text):
                raise ReferenceDocError(
                    f"setting {param.name!r}: {path} has option {flags} {text!r} but "
                    f"{seen.commands[0]} has {seen.flags} {seen.help!r}; make them the same"
                )
            found[param.name] = seen._replace(commands=(*seen.commands, path))
    return found


def setting_rows(
    fields: Sequence[dataclasses.Field[Any]] | None = None,
    options: dict[str, CliOption] | None = None,
    without_flag: dict[str, str] | None = None,
) -> list[SettingRow]:
    """One row per Settings field. Raises ReferenceDocError naming any field that has no
    description (neither CLI help nor a WITHOUT_FLAG entry)."""
    fields = settings_fields() if fields is None else fields
    options = cli_options() if options is None else options
    without_flag = WITHOUT_FLAG if without_flag is None else without_flag
    problems = []
    rows = []
    names = {f.name for f in fields}
    for name in sorted(set(without_flag) - names):
        problems.append(
            f"WITHOUT_FLAG in ips_jobs/reference.py names {name!r}, not a Settings field"
        )
    for field in fields:
        variable = env_name(field.name)
        option = options.get(field.name)
        if option is not None and field.name in without_flag:
            problems.append(
                f"{field.name} ({variable}) has the CLI option {option.flags}: remove it from "
                "WITHOUT_FLAG in ips_jobs/reference.py"
            )
            continue
        if option is not None and option.help:
            description, flags, commands = option.help, option.flags, option.commands
        elif option is None and without_flag.get(field.name):
            description, flags, commands = without_flag[field.name], "", ()
        else:
            where = f"its option {option.flags} has no help" if option else "it has no CLI option"
            problems.append(
                f"Settings field {field.name!r} ({variable}) has no description: {where}. Give "
                "it an option with help= in ips_jobs/cli.py (serve and/or worker), or, if it is "
                "deliberately without a flag, a line in WITHOUT_FLAG in ips_jobs/reference.py"
            )
            continue
        rows.append(
            SettingRow(
                field.name,
                variable,
                getattr(field.type, "__name__", str(field.type)),
                _default(field),
                flags,
                commands,
                description,
            )
        )
    if problems:
        raise ReferenceDocError("\n".join(problems))
    return rows


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "(required)"
    if isinstance(value, bool):  # as Settings.to_env writes it
        return f"`{str(value).lower()}`"
    return f"`{value}`" if value != "" else "(empty)"


def configuration_markdown() -> str:
    """The whole text of docs/configuration.md."""
    out = [
        _generated_banner(),
        "# Configuration reference",
        "",
        "Every setting of ips-jobs (`ips_jobs.config.Settings`) with its environment variable,",
        "config file key, type, default and command-line flag.",
        "",
        "Precedence, a later source winning: the default, the `IPS_*` environment variable, the",
        f"TOML config file (`ips-jobs --config FILE <command>`, or the file `{CONFIG_ENV}` names;",
        "its keys are the setting names, e.g. `port = 8081`), then the command's flag. So",
        "**flags win over environment variables** (and over the config file). A flag left out,",
        "or a variable left unset, overrides nothing.",
        "Values are checked on start; a bad one ends the command with a one-line error.",
        "Booleans take `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off` in the environment.",
        "",
        "| variable | config key | type | default | flag | meaning |",
        "|---|---|---|---|---|---|",
    ]
    rows = setting_rows()
    for r in rows:
        flag = f"`{r.flags}`" if r.flags else "(none)"
        out.append(_row(f"`{r.variable}`", f"`{r.field}`", r.type, r.default, flag, r.description))
    out += ["", "## Which commands take which flags", ""]
    for r in rows:
        if r.commands:
            commands = ", ".join(f"`{c}`" for c in r.commands)
            out.append(f"- `{r.flags}`: {commands}")
    no_flag = [r.variable for r in rows if not r.commands]
    if no_flag:
        names = ", ".join(f"`{v}`" for v in no_flag)
        out += ["", f"No flag (environment variable or config file only): {names}."]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Shared, and the script


def _generated_banner() -> str:
    return "<!-- Generated by `python -m ips_jobs.reference` from the code; do not edit. -->\n"


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def pages() -> dict[Path, str]:
    return {PARITY_PAGE: parity_markdown(), CONFIGURATION_PAGE: configuration_markdown()}


def main(argv: Sequence[str] | None = None, root: Path | None = None) -> int:
    """Writes (or with --check compares) the pages under `root`, the checkout's root: by
    default the current folder."""
    root = Path.cwd() if root is None else root
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    unknown = [a for a in args if a != "--check"]
    if unknown:
        print(
            f"usage: python -m ips_jobs.reference [--check] (unknown: {unknown})", file=sys.stderr
        )
        return 2
    try:
        wanted = pages()
    except ReferenceDocError as error:
        print(f"error: cannot build the reference pages:\n{error}", file=sys.stderr)
        return 1
    stale = []
    for relative, text in wanted.items():
        path = root / relative
        current = path.read_text("utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(relative)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            print(f"wrote {relative}")
    for relative in stale:
        print(f"{relative} is stale: run `python -m ips_jobs.reference`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
