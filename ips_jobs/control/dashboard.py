"""The dashboard at /_ips/: one server-rendered HTML page of what the emulator holds (companies,
scheduled jobs, active runs, job logs, assets and folders, the request journal, fault rules
and run controls) with
buttons for the control API, and /_ips/state, the JSON it polls to redraw itself.

Every section is rendered here, in Python, with everything from data escaped; the page's
little script only swaps the sections' HTML from /_ips/state and calls the JSON control API.
Nothing is loaded from elsewhere (no build step, no CDN)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from lxml import etree

from ips_jobs.control.assets import AssetBrowser, CompanyAssets
from ips_jobs.control.routes import PREFIX, Request
from ips_jobs.control.service import Controls
from ips_jobs.domain import access
from ips_jobs.domain.assets import Asset
from ips_jobs.domain.control import Effect, Exchange, FaultRule, RunControl
from ips_jobs.domain.jobs import JOB_TYPES, Company, Run, RunDetails, RunState, ScheduledJob
from ips_jobs.domain.ports import LogPage, RunQuery

Page = Callable[[Request], tuple[int, str, bytes]]

#: How many rows each list shows (newest first).
LIMIT = 50
#: Log detail rows shown for an expanded job log.
DETAIL_ROWS = 200
#: Request and response bodies are cut to this many characters on the page.
BODY_CHARS = 20_000
#: How many expanded rows one poll renders at most.
MAX_OPEN = 20
REFRESH_MS = 1000


@dataclass(frozen=True)
class Snapshot:
    """Everything one rendering of the page shows, read in one go."""

    now: datetime
    health: dict[str, Any]
    companies: Sequence[Company]
    scheduled: Sequence[ScheduledJob]
    active: Sequence[Run]
    logs: Sequence[Run]
    details: dict[int, RunDetails]
    exchanges: Sequence[tuple[int, Exchange]]
    rules: Sequence[FaultRule]
    run_controls: Sequence[RunControl]
    opened: frozenset[str]
    assets: Sequence[CompanyAssets]
    #: The expanded assets' job histories, by asset id.
    histories: dict[int, list[dict[str, Any]]]

    names: dict[int, str]

    def company_name(self, company_id: int) -> str:
        return self.names.get(company_id, f"c|{company_id}")


#: Companies whose assets the page shows (the newest), and assets shown of each.
ASSET_COMPANIES = 10
ASSETS_SHOWN = 20


class Dashboard:
    def __init__(self, controls: Controls, assets: AssetBrowser | None = None) -> None:
        self.controls = controls
        self.assets = assets

    def pages(self) -> dict[str, Page]:
        """The paths under /_ips this serves, for ControlApp's `extra`."""
        return {"/": self.page, "/state": self.state}

    def page(self, request: Request) -> tuple[int, str, bytes]:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("/")
        return 200, "text/html", render_page(self.snapshot(frozenset())).encode()

    def state(self, request: Request) -> tuple[int, str, bytes]:
        """The sections' HTML (with the rows named in ?open=log-3,req-7 expanded) and the
        active runs as data."""
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("/state")
        opened = frozenset(k for k in (request.arg("open") or "").split(",") if k)
        snapshot = self.snapshot(frozenset(sorted(opened)[:MAX_OPEN]))
        body = {
            "time": snapshot.now.isoformat(),
            "sections": render_sections(snapshot),
            "active": [
                {
                    "handle": run_handle(run),
                    "name": run.name,
                    "state": run.state.value,
                    "progress": run.progress,
                    "message": run.progress_message,
                }
                for run in snapshot.active
            ],
            "counts": snapshot.health["database"]["rows"],
        }
        return 200, "application/json", json.dumps(body).encode()

    def snapshot(self, opened: frozenset[str]) -> Snapshot:
        controls = self.controls
        repository = controls.repository
        health = controls.health()
        companies = list(repository.companies())
        ids = [c.id for c in companies]
        scheduled = sorted(repository.scheduled_jobs(ids), key=lambda j: j.id, reverse=True)
        active = list(repository.runs(RunQuery(ids, active_only=True)))
        # Runs in progress are in the logs too (as in getJobLogs); here they show above.
        recent = repository.runs(RunQuery(ids), limit=LIMIT + len(active))
        logs = [run for run in recent if run.state is RunState.DONE][:LIMIT]
        details: dict[int, RunDetails] = {}
        for run in logs:
            if f"log-{run.id}" in opened:
                page = LogPage(None, DETAIL_ROWS, 1, "Date", False)
                query = RunQuery([run.company_id], run_id=run.id)
                for found in repository.run_details(query, page):
                    details[found.run.id] = found
        listed: list[CompanyAssets] = []
        histories: dict[int, list[dict[str, Any]]] = {}
        if self.assets is not None:
            for company in sorted(companies, key=lambda c: c.id, reverse=True)[:ASSET_COMPANIES]:
                listed += self.assets.companies(company.id, ASSETS_SHOWN, trash=True)
            for key in opened:
                if key.startswith("asset-") and key[6:].isdigit():
                    found = self.assets.asset(int(key[6:]))
                    histories[int(key[6:])] = [] if found is None else found["history"]
        return Snapshot(
            now=controls.clock.now(),
            health=health,
            companies=companies,
            scheduled=scheduled,
            active=active,
            logs=logs,
            details=details,
            exchanges=controls.store.exchanges(None, None, None, LIMIT),
            rules=controls.rules(),
            run_controls=controls.controls(),
            opened=opened,
            assets=listed,
            histories=histories,
            names={c.id: c.name for c in companies},
        )


def _not_allowed(path: str) -> tuple[int, str, bytes]:
    body = {"error": f"use GET on {PREFIX}{path}"}
    return 405, "application/json", json.dumps(body).encode()


# -- helpers ------------------------------------------------------------------------------
def e(value: object) -> str:
    """Text from data, safe in element content and in quoted attributes."""
    return escape("" if value is None else str(value), quote=True)


def run_handle(run: Run) -> str:
    return f"j|{run.company_id}||{run.name}|{run.id}"


def job_handle(job: ScheduledJob) -> str:
    return f"j|{job.company_id}|{job.name}||"


def when(moment: datetime | None, millis: bool = False) -> str:
    """A time in UTC, with its full ISO form as a tooltip."""
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M:%S")
    if millis:
        text += f".{utc.microsecond // 1000:03d}"
    return f'<time datetime="{e(utc.isoformat())}" title="{e(utc.isoformat())}">{text}</time>'


def span(seconds: float) -> str:
    """A duration as a person says it: 4 s, 3 min, 2 h 5 min, 3 d."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"
    return f"{seconds // 86400:.0f} d"


def relative(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    delta = (moment - now).total_seconds()
    return f"in {span(delta)}" if delta >= 0 else f"{span(delta)} ago"


def badge(text: str, kind: str | None = None) -> str:
    cls = "".join(ch for ch in (kind or text).lower() if ch.isalnum() or ch == "-")
    return f'<span class="badge b-{cls}">{e(text)}</span>'


def button(label: str, action: str, title: str = "", **data: object) -> str:
    attrs = "".join(f' data-{name}="{e(value)}"' for name, value in data.items())
    hint = f' title="{e(title)}"' if title else ""
    return f'<button type="button" data-action="{e(action)}"{attrs}{hint}>{e(label)}</button>'


def table(headers: Sequence[str], rows: Iterable[str], empty: str, cls: str = "") -> str:
    body = "".join(rows)
    if not body:
        body = f'<tr class="empty"><td colspan="{len(headers)}">{e(empty)}</td></tr>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def heading(title: str, shown: int, total: int | None = None) -> str:
    count = f"{shown}" if total is None or total == shown else f"{shown} of {total}"
    return f'<h2>{e(title)} <span class="count">({count})</span></h2>'


def pretty(body: str) -> str:
    """An XML body indented, when it parses; as it is otherwise (e.g. when cut)."""
    try:
        parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
        root = etree.fromstring(body.encode(), parser)
        text = etree.tostring(root, pretty_print=True, encoding="unicode")
    except (etree.XMLSyntaxError, ValueError):
        text = body
    if len(text) > BODY_CHARS:
        more = len(text) - BODY_CHARS
        text = text[:BODY_CHARS] + f"\n... [{more} more characters: GET {PREFIX}/requests]"
    return text


# -- sections -----------------------------------------------------------------------------
def render_sections(s: Snapshot) -> dict[str, str]:
    return {
        "summary": summary(s),
        "active": active_runs(s),
        "scheduled": scheduled_jobs(s),
        "logs": job_logs(s),
        "assets": assets_section(s),
        "journal": journal(s),
        "rules": fault_rules(s),
        "controls": run_controls(s),
        "companies": companies(s),
    }


def summary(s: Snapshot) -> str:
    engine = s.health["engine"]
    processes = engine["processes"]
    if engine["running"]:
        pids = ", ".join(f"pid {p['pid']} on {p['host']}" for p in processes)
        engine_text = badge("engine running", "ok") + f" <small>{e(pids)}</small>"
    else:
        engine_text = badge("engine not running", "warn")
    rows = s.health["database"]["rows"]
    counts = " · ".join(
        f"{e(n)} {e(label)}"
        for label, n in (
            ("companies", rows.get("companies")),
            ("users", rows.get("users")),
            ("scheduled jobs", rows.get("scheduled_jobs")),
            ("runs", rows.get("job_runs")),
            ("journal entries", rows.get("journal")),
        )
    )
    return (
        f"<span>ips-jobs {e(s.health['version'])}</span>"
        f"<span>{e(s.health['database']['dialect'])}</span>"
        f"<span>{engine_text}</span><span>{counts}</span>"
        f"<span>{when(s.now)} UTC</span>"
    )


def progress_bar(value: int, state: str) -> str:
    percent = max(0, min(100, int(value)))
    return (
        f'<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{percent}" data-state="{e(state)}">'
        f'<div class="fill" style="width:{percent}%"></div>'
        f'<span class="pct">{percent}%</span></div>'
    )


def active_runs(s: Snapshot) -> str:
    rows = []
    for run in s.active:
        handle = run_handle(run)
        movable = run.state in (RunState.NEW, RunState.RUNNING)  # not waiting, not stopping
        flags = []
        if run.manual:
            flags.append(badge("manual", "info"))
        if run.injected:
            flags.append(badge(f"fault: {run.injected.get('effect')}", "warn"))
        if run.stop_requested_at is not None:
            flags.append(badge("stop requested", "warn"))
        disabled = "" if movable else " disabled"
        actions = (
            f'<form class="advance" data-handle="{e(handle)}">'
            f'<input name="progress" type="number" min="0" max="100" step="1" '
            f'placeholder="%" aria-label="progress to advance to"{disabled}>'
            f'<button type="submit" data-role="advance"{disabled}>advance</button></form>'
            + (
                button(
                    "success",
                    "outcome",
                    "end the run now, successfully",
                    handle=handle,
                    outcome="success",
                )
                + button(
                    "failure",
                    "outcome",
                    "end the run now with a FatalError",
                    handle=handle,
                    outcome="failure",
                )
                if movable
                else ""
            )
        )
        rows.append(
            f'<tr data-run="{run.id}" data-handle="{e(handle)}">'
            f'<td class="handle">{e(handle)}</td>'
            f"<td>{e(run.original_name)} {''.join(flags)}</td>"
            f"<td>{e(s.company_name(run.company_id))}</td>"
            f"<td>{e(run.type)}</td>"
            f'<td class="state">{badge(run.state.value)}</td>'
            f"<td>{progress_bar(run.progress, run.state.value)}</td>"
            f'<td class="message">{e(run.progress_message)}</td>'
            f"<td>{when(run.start_date)}</td>"
            f'<td class="actions">{actions}</td></tr>'
        )
    return heading("Active runs", len(s.active)) + table(
        ["Run", "Job", "Company", "Type", "State", "Progress", "Message", "Started", "Control"],
        rows,
        "No run in progress.",
        "runs",
    )


def scheduled_jobs(s: Snapshot) -> str:
    rows = []
    for job in s.scheduled[:LIMIT]:
        handle = job_handle(job)
        if job.exec_schedule:
            plan = f"<code>{e(job.exec_schedule)}</code> <small>{e(job.time_zone)}</small>"
        elif job.exec_time:
            plan = f"once at {when(job.exec_time)}"
        else:
            plan = "once, at once"
        next_fire = ""
        if job.next_fire_time is not None:
            next_fire = (
                f"{when(job.next_fire_time)} <small>{e(relative(job.next_fire_time, s.now))}"
                "</small>"
            )
        rows.append(
            f'<tr data-job="{job.id}" data-handle="{e(handle)}">'
            f'<td class="handle">{e(handle)}</td>'
            f"<td>{e(job.name)}</td>"
            f"<td>{e(s.company_name(job.company_id))}</td>"
            f"<td>{e(job.type)}</td>"
            f"<td>{badge(job.trigger_state.value)}</td>"
            f"<td>{plan}</td><td>{next_fire}</td>"
            f"<td>{e(job.submit_user_email)}</td>"
            f'<td class="actions">'
            f"{button('fire now', 'fire', 'make a run now (like executeJob)', handle=handle)}"
            "</td></tr>"
        )
    shown = min(len(s.scheduled), LIMIT)
    return heading("Scheduled jobs", shown, len(s.scheduled)) + table(
        ["Job", "Name", "Company", "Type", "Trigger", "Runs", "Next fire", "Submitted by", ""],
        rows,
        "No scheduled job.",
        "scheduled",
    )


def _outcome(run: Run) -> str:
    if run.fatal_error:
        return badge("FatalError", "error")
    if run.stop_requested_at is not None:
        return badge("Stopped", "warn")
    return badge(run.state.value)


def job_logs(s: Snapshot) -> str:
    rows = []
    columns = 10
    for run in s.logs:
        key = f"log-{run.id}"
        is_open = key in s.opened
        took = ""
        if run.end_date is not None:
            took = span((run.end_date - run.start_date).total_seconds())
        counts = run.counts
        files = (
            f'<span class="ok">{counts.file_success}</span> / '
            f'<span class="err">{counts.file_error}</span> / '
            f"{counts.file_warning} of {counts.total_file}"
        )
        log_type = run.log_type + (f" ({run.job_sub_type})" if run.job_sub_type else "")
        rows.append(
            f'<tr data-run="{run.id}" data-handle="{e(run_handle(run))}">'
            f"<td>{_toggle(key, is_open)}</td>"
            f'<td class="handle">{e(run_handle(run))}</td>'
            f"<td>{e(s.company_name(run.company_id))}</td>"
            f"<td>{e(run.type)}</td><td>{e(log_type)}</td>"
            f'<td class="state">{_outcome(run)}</td>'
            f"<td>{when(run.start_date)}</td><td>{when(run.end_date)}</td>"
            f"<td>{e(took)}</td><td>{files}</td></tr>"
        )
        if is_open:
            rows.append(
                f'<tr class="sub" data-sub="{e(key)}"><td colspan="{columns}">'
                f"{_details(s.details.get(run.id))}</td></tr>"
            )
    return heading("Job logs", len(s.logs)) + table(
        [
            "",
            "Run",
            "Company",
            "Type",
            "Log type",
            "Result",
            "Started",
            "Ended",
            "Took",
            "Files ok / failed / warnings",
        ],
        rows,
        "No finished run yet.",
        "logs",
    )


def _toggle(key: str, is_open: bool) -> str:
    label = "\u25be" if is_open else "\u25b8"
    return (
        f'<button type="button" class="toggle" data-action="toggle" data-key="{e(key)}" '
        f'aria-expanded="{"true" if is_open else "false"}" aria-label="details" '
        f'title="show or hide the details">{label}</button>'
    )


def _details(found: RunDetails | None) -> str:
    if found is None:
        return "<p>No detail rows.</p>"
    rows = []
    for d in found.details:
        aux = "".join(f"<div><b>{e(a.log_type)}</b> {e(a.log_message)}</div>" for a in d.aux)
        rows.append(
            f"<tr><td>{when(d.date_created, millis=True)}</td><td>{e(d.log_type)}</td>"
            f"<td>{e(d.log_message)}</td><td>{e(d.asset_name)}</td>"
            f"<td>{e(d.asset_type)}</td><td>{e(d.asset_handle)}</td><td>{aux}</td></tr>"
        )
    more = ""
    if found.total_rows > len(found.details):
        more = f"<p>{len(found.details)} of {found.total_rows} rows; getJobLogDetails has all.</p>"
    run = found.run
    shown = run.progress_message not in ("", "Done")
    message = f"<p>{e(run.progress_message)}</p>" if shown else ""
    return (
        message
        + table(
            ["Time", "Log type", "Message", "Asset", "Asset type", "Asset handle", "More"],
            rows,
            "No detail rows.",
            "details",
        )
        + more
    )


def assets_section(s: Snapshot) -> str:
    """Per company: its folder tree and its newest assets, each with its job history."""
    shown = [c for c in s.assets if c.total or len(c.folders) > 1]
    parts = [heading("Assets", sum(len(c.newest) for c in shown), sum(c.total for c in shown))]
    if not shown:
        return parts[0] + "<p>No asset or folder yet: upload jobs and seeds make them.</p>"
    for listed in shown:
        company = listed.company
        parts.append(
            f'<h3 class="company">c|{company.id} {e(company.name)} '
            f"<small>{listed.total} asset(s), {len(listed.folders)} folder(s)</small></h3>"
            f'<div class="assets">{_folder_tree(listed)}{_asset_table(s, listed)}</div>'
        )
    return "".join(parts)


def _folder_tree(listed: CompanyAssets) -> str:
    """The folders as nested lists, each under its parent (paths sort parents first)."""
    root = listed.company.root_path
    items = []
    for folder in listed.folders:
        depth = folder.path[len(root) :].count("/") if folder.path.startswith(root) else 0
        name = (folder.path if folder.path == root else folder.name).rstrip("/")
        items.append(f'<li style="margin-left:{depth}em">{e(name)}/</li>')
    return f'<ul class="folders">{"".join(items)}</ul>'


def _asset_table(s: Snapshot, listed: CompanyAssets) -> str:
    rows = []
    columns = 10
    for asset in listed.newest:
        key = f"asset-{asset.id}"
        is_open = key in s.opened
        info = asset.info
        size = "" if info.width is None else f"{info.width}\u00d7{info.height}"
        state = asset.trash_state.value
        if asset.ready_for_publish:
            state += " \u00b7 ready for publish"
        rows.append(
            f'<tr><td>{_toggle(key, is_open)}</td><td class="handle">a|{asset.id}</td>'
            f'<td class="thumb">{_thumbnail(asset, listed)}</td>'
            f"<td>{e(asset.name)}</td><td>{e(asset.type)}</td><td>{e(asset.folder)}</td>"
            f"<td>{e(asset.file_name)}</td><td>{e(info.file_size)}</td><td>{e(size)}</td>"
            f"<td>{e(state)}</td></tr>"
        )
        if is_open:
            history = [
                f'<tr><td>{e(h["date"])}</td><td class="handle">{e(h["job_handle"])}</td>'
                f"<td>{e(h['log_type'])}</td><td>{e(h['message'])}</td></tr>"
                for h in s.histories.get(asset.id, [])
            ]
            rows.append(
                f'<tr class="sub" data-sub="{e(key)}"><td colspan="{columns}">'
                + table(["Time", "Run", "Log type", "Message"], history, "No job touched it.")
                + "</td></tr>"
            )
    return table(
        ["", "Handle", "", "Name", "Type", "Folder", "File", "Bytes", "Size", "State"],
        rows,
        "No asset.",
        "asset-list",
    )


def _thumbnail(asset: Asset, listed: CompanyAssets) -> str:
    """A small picture of an Image asset with a stored file, loaded as it scrolls into view
    (the browser sends the dashboard's cookie with it)."""
    if asset.type != "Image" or asset.id not in listed.stored:
        return ""
    return f'<img src="{PREFIX}/assets/{asset.id}/file" alt="" loading="lazy">'


def journal(s: Snapshot) -> str:
    rows = []
    columns = 8
    for entry_id, x in s.exchanges:
        key = f"req-{entry_id}"
        is_open = key in s.opened
        status = badge(str(x.status), "ok" if x.status < 400 else "error")
        rows.append(
            f'<tr data-request="{entry_id}">'
            f"<td>{_toggle(key, is_open)}</td>"
            f"<td>{when(x.at, millis=True)}</td><td>{e(x.transport)}</td>"
            f"<td>{e(x.operation or '?')}</td><td>{e(x.caller)}</td>"
            f"<td>{status}</td><td>{e(x.fault_code)}</td>"
            f'<td class="num">{x.duration_ms:.1f}</td></tr>'
        )
        if is_open:
            rows.append(
                f'<tr class="sub" data-sub="{e(key)}"><td colspan="{columns}">'
                '<div class="bodies">'
                f"<div><h3>Request</h3><pre>{e(pretty(x.request))}</pre></div>"
                f"<div><h3>Response</h3><pre>{e(pretty(x.response))}</pre></div>"
                "</div></td></tr>"
            )
    return heading("Request journal", len(s.exchanges)) + table(
        ["", "Time", "Transport", "Operation", "Caller", "HTTP", "Fault code", "Took (ms)"],
        rows,
        "No SOAP request recorded.",
        "journal",
    )


def fault_rules(s: Snapshot) -> str:
    rows = []
    for rule in s.rules:
        where = []
        for label, value in (
            ("operation", rule.operation),
            ("company", f"c|{rule.company_id}" if rule.company_id is not None else None),
            ("job name", rule.job_name),
            ("job type", rule.job_type),
            ("probability", rule.probability),
        ):
            if value is not None:
                where.append(f"{e(label)} <b>{e(value)}</b>")
        what = []
        for label, value in (
            ("code", rule.code),
            ("reason", rule.reason),
            ("HTTP", rule.http_status),
            ("latency ms", rule.latency_ms),
        ):
            if value is not None:
                what.append(f"{e(label)} <b>{e(value)}</b>")
        remaining = "always" if rule.remaining is None else str(rule.remaining)
        rows.append(
            f'<tr data-rule="{rule.id}"><td class="num">{rule.id}</td>'
            f"<td>{badge(rule.effect.value, 'info')}</td>"
            f"<td>{', '.join(where) or 'every call'}</td><td>{', '.join(what)}</td>"
            f'<td class="num">{e(remaining)}</td><td class="num">{rule.hits}</td>'
            f'<td class="actions">{button("delete", "delete-rule", id=rule.id)}</td></tr>'
        )
    return heading("Fault rules", len(s.rules)) + table(
        ["#", "Effect", "Applies to", "Answer", "Calls left", "Hits", ""],
        rows,
        "No fault rule: every call is answered normally.",
        "rules",
    )


def run_controls(s: Snapshot) -> str:
    rows = []
    for control in s.run_controls:
        timing = "manual" if control.manual else f"{control.seconds:g} s"
        rows.append(
            f'<tr data-control="{control.id}"><td class="num">{control.id}</td>'
            f"<td>{e(control.job_type or 'any')}</td><td>{e(control.job_name or 'any')}</td>"
            f"<td>{e(timing)}</td>"
            f'<td class="actions">{button("delete", "delete-control", id=control.id)}</td></tr>'
        )
    return heading("Run controls", len(s.run_controls)) + table(
        ["#", "Job type", "Job name", "Runs take", ""],
        rows,
        "No run control: runs take IPS_RUN_SECONDS.",
        "controls",
    )


def companies(s: Snapshot) -> str:
    newest = sorted(s.companies, key=lambda c: c.id, reverse=True)[:LIMIT]
    rows = [
        f'<tr><td class="handle">c|{c.id}</td><td>{e(c.name)}</td><td>{e(c.root_path)}</td>'
        f"<td>{when(c.created_at)}</td></tr>"
        for c in newest
    ]
    return heading("Companies", len(newest), len(s.companies)) + table(
        ["Handle", "Name", "Root path", "Created"], rows, "No company.", "companies"
    )


# -- the page -----------------------------------------------------------------------------
SECTIONS = (
    ("active", "Active runs"),
    ("scheduled", "Scheduled jobs"),
    ("logs", "Job logs"),
    ("assets", "Assets"),
    ("journal", "Request journal"),
    ("rules", "Fault rules"),
    ("controls", "Run controls"),
    ("companies", "Companies"),
)


def _options(values: Collection[str], blank: str | None = None) -> str:
    first = f'<option value="">{e(blank)}</option>' if blank is not None else ""
    return first + "".join(f'<option value="{e(v)}">{e(v)}</option>' for v in values)


def rule_form() -> str:
    effects = _options([effect.value for effect in Effect])
    operations = _options(sorted(access.ALLOWED_ROLES))
    return (
        '<form id="rule-form" class="inline">'
        f'<label>effect <select name="effect">{effects}</select></label>'
        '<label>operation <input name="operation" list="operations" placeholder="any"></label>'
        f'<datalist id="operations">{operations}</datalist>'
        '<label>job name <input name="job_name" placeholder="any"></label>'
        '<label>code <input name="code" type="number" placeholder="30001"></label>'
        '<label>reason <input name="reason" placeholder="text of the fault"></label>'
        '<label>HTTP status <input name="http_status" type="number" placeholder="503"></label>'
        '<label>latency ms <input name="latency_ms" type="number" placeholder="2000"></label>'
        '<label>calls <input name="remaining" type="number" min="1" placeholder="always">'
        "</label>"
        '<button type="submit">add rule</button>' + button("delete all", "clear-rules") + "</form>"
    )


def control_form() -> str:
    types = _options(sorted(JOB_TYPES.values()), "any")
    return (
        '<form id="control-form" class="inline">'
        f'<label>job type <select name="job_type">{types}</select></label>'
        '<label>job name <input name="job_name" placeholder="any"></label>'
        '<label>seconds <input name="seconds" type="number" min="0" step="any"></label>'
        '<label><input name="manual" type="checkbox"> manual (advance by hand)</label>'
        '<button type="submit">add control</button>'
        "</form>"
    )


def render_page(s: Snapshot) -> str:
    sections = render_sections(s)
    forms = {"rules": rule_form(), "controls": control_form()}
    journal_tools = button("clear journal", "clear-journal")
    filters = {
        "scheduled": '<input type="search" class="filter" data-filter="scheduled" '
        'placeholder="filter by name, handle, company, type…" aria-label="filter scheduled jobs">'
    }
    body = "".join(
        f'<section id="{name}">'
        f"{filters.get(name, '')}"
        f'<div class="section-body" data-section="{name}">{sections[name]}</div>'
        f"{forms.get(name, '')}"
        f"{journal_tools if name == 'journal' else ''}"
        "</section>"
        for name, _title in SECTIONS
    )
    nav = " ".join(f'<a href="#{name}">{e(title)}</a>' for name, title in SECTIONS)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>ips-jobs dashboard</title>"
        f"<style>{CSS}</style></head>"
        f'<body data-prefix="{e(PREFIX)}" data-refresh="{REFRESH_MS}">'
        "<header>"
        '<h1>ips-jobs <span class="sub">control dashboard</span></h1>'
        f'<div class="summary" data-section="summary">{sections["summary"]}</div>'
        '<div class="tools">'
        '<span id="live" class="live" title="refreshes every second">live</span>'
        + button("reset…", "reset", "empty jobs, runs, logs, rules and the journal")
        + "</div></header>"
        f"<nav>{nav}</nav>"
        '<div id="flash" role="status" aria-live="polite"></div>'
        f"<main>{body}</main>"
        f"<script>{SCRIPT}</script>"
        "</body></html>"
    )


CSS = """
:root { --line: #d8dde3; --head: #f3f5f7; --accent: #2563eb; --muted: #6b7280; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #111827; background: #fff; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 18px;
  padding: 8px 16px; background: #111827; color: #e5e7eb; position: sticky; top: 0; z-index: 2; }
header h1 { font-size: 16px; margin: 0; }
header h1 .sub { font-weight: normal; color: #9ca3af; }
.summary { display: flex; flex-wrap: wrap; gap: 4px 14px; flex: 1; }
.summary small { color: #9ca3af; }
.tools { display: flex; gap: 8px; align-items: center; }
.live { font-size: 12px; color: #9ca3af; }
.live::before { content: "\\25cf "; color: #22c55e; }
.live.down::before { color: #ef4444; }
.live.down { color: #fca5a5; }
nav { padding: 6px 16px; border-bottom: 1px solid var(--line); background: var(--head); }
nav a { color: var(--accent); margin-right: 12px; text-decoration: none; }
main { padding: 0 16px 32px; }
section { margin-top: 18px; }
h2 { font-size: 15px; margin: 0 0 6px; }
h2 .count { color: var(--muted); font-weight: normal; }
h3 { font-size: 12px; margin: 4px 0; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left;
  vertical-align: middle; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even):not(.sub) { background: #fafbfc; }
tr.empty td { color: var(--muted); font-style: italic; }
tr.sub > td { background: #f8fafc; padding: 8px 10px 10px 28px; }
td.handle { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  word-break: break-all; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.actions { white-space: nowrap; }
td.message { max-width: 260px; }
td.thumb img { display: block; max-width: 48px; max-height: 48px; }
time { white-space: nowrap; font-variant-numeric: tabular-nums; }
small { color: var(--muted); }
code { font-size: 12px; }
.ok { color: #15803d; } .err { color: #b91c1c; }
.badge { display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 11px;
  background: #e5e7eb; color: #374151; white-space: nowrap; }
.b-running, .b-info { background: #dbeafe; color: #1e40af; }
.b-new, .b-normal { background: #e0e7ff; color: #3730a3; }
.b-stopping, .b-blocked, .b-paused, .b-warn, .b-stopped { background: #fef3c7; color: #92400e; }
.b-done, .b-ok, .b-complete { background: #dcfce7; color: #166534; }
.b-error, .b-fatalerror { background: #fee2e2; color: #991b1b; }
.bar { position: relative; width: 150px; height: 16px; background: #e5e7eb;
  border-radius: 3px; overflow: hidden; }
.bar .fill { position: absolute; inset: 0 auto 0 0; background: #60a5fa;
  transition: width .4s ease; }
.bar .pct { position: relative; display: block; text-align: center; font-size: 11px;
  line-height: 16px; font-variant-numeric: tabular-nums; }
button { font: inherit; font-size: 12px; padding: 1px 8px; border: 1px solid #9ca3af;
  border-radius: 3px; background: #fff; cursor: pointer; }
button:hover:not(:disabled) { background: #f3f4f6; }
button:disabled { cursor: default; opacity: .5; }
button[data-action="reset"] { background: #7f1d1d; color: #fff; border-color: #7f1d1d; }
button[data-outcome="success"] { border-color: #16a34a; color: #166534; }
button[data-outcome="failure"] { border-color: #dc2626; color: #991b1b; }
button.toggle { border: none; background: none; padding: 0 4px; font-size: 13px; }
form.advance { display: inline-flex; gap: 3px; margin-right: 4px; }
form.advance input { width: 56px; }
td.actions button + button { margin-left: 3px; }
form.inline { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center;
  margin-top: 6px; padding: 6px 8px; background: var(--head); border: 1px solid var(--line); }
form.inline input:not([type=checkbox]) { width: 120px; }
input, select { font: inherit; font-size: 12px; }
input.filter { float: right; width: 22em; }
section > button { margin-top: 6px; }
.bodies { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
pre { margin: 0; padding: 6px; background: #fff; border: 1px solid var(--line);
  max-height: 360px; overflow: auto; font-size: 11px; white-space: pre-wrap;
  word-break: break-all; }
table.details th, table.details td { font-size: 12px; }
#flash { position: fixed; right: 16px; bottom: 16px; max-width: 480px; z-index: 3; }
#flash div { padding: 6px 10px; margin-top: 6px; border-radius: 4px; background: #ecfdf5;
  border: 1px solid #86efac; box-shadow: 0 2px 6px rgba(0,0,0,.12); }
#flash div.error { background: #fef2f2; border-color: #fca5a5; }
"""

SCRIPT = """
(function () {
  "use strict";
  var prefix = document.body.dataset.prefix;
  var every = Number(document.body.dataset.refresh) || 1000;
  var opened = new Set();
  var shown = {};
  var timer = null;
  var busy = false;
  var again = false;

  function flash(text, isError) {
    var box = document.getElementById("flash");
    var item = document.createElement("div");
    item.textContent = text;
    if (isError) item.className = "error";
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, isError ? 8000 : 3000);
  }

  function editing(section) {
    var focused = document.activeElement;
    return focused && section.contains(focused) &&
      focused.matches("input, select, textarea");
  }

  function live(ok, text) {
    var el = document.getElementById("live");
    el.classList.toggle("down", !ok);
    el.textContent = ok ? "live" : "disconnected";
    el.title = text;
  }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    clearTimeout(timer);
    try {
      var url = prefix + "/state?open=" + encodeURIComponent(Array.from(opened).join(","));
      var response = await fetch(url, { cache: "no-store" });
      var data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      Object.keys(data.sections).forEach(function (name) {
        var html = data.sections[name];
        var el = document.querySelector('[data-section="' + name + '"]');
        if (!el || shown[name] === html || editing(el)) return;
        el.innerHTML = html;
        shown[name] = html;
      });
      filter();
      live(true, "updated " + data.time);
    } catch (err) {
      live(false, String(err));
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
      else if (!document.hidden) timer = setTimeout(refresh, every);
    }
  }

  // Calls the control API; `what` says what was done, for the message shown after.
  async function call(what, method, path, body) {
    var options = { method: method, headers: {} };
    if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
    try {
      var response = await fetch(prefix + path, options);
      var data = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        flash(what + " failed: " + (data.error || response.statusText), true);
        return null;
      }
      flash(what + ": done", false);
      return data;
    } catch (err) {
      flash(what + " failed: " + err, true);
      return null;
    } finally {
      refresh();
    }
  }

  function quoted(handle) { return encodeURIComponent(handle); }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button[data-action]");
    if (!target) return;
    var d = target.dataset;
    switch (d.action) {
      case "toggle":
        if (opened.has(d.key)) opened.delete(d.key); else opened.add(d.key);
        refresh();
        break;
      case "fire":
        call("fire " + d.handle, "POST", "/schedules/" + quoted(d.handle) + "/fire");
        break;
      case "outcome":
        call(d.outcome + ": " + d.handle, "POST", "/jobs/" + quoted(d.handle) + "/advance",
             { outcome: d.outcome });
        break;
      case "delete-rule":
        call("delete fault rule " + d.id, "DELETE", "/faults/" + d.id);
        break;
      case "clear-rules":
        if (confirm("Delete every fault rule?")) call("delete all rules", "DELETE", "/faults");
        break;
      case "delete-control":
        call("delete run control " + d.id, "DELETE", "/run-controls/" + d.id);
        break;
      case "clear-journal":
        call("clear journal", "DELETE", "/requests");
        break;
      case "reset":
        if (confirm("Reset: empty all jobs, runs, logs, fault rules, run controls and " +
                    "the journal? Companies and users stay.")) {
          opened.clear();
          call("reset", "POST", "/reset", {});
        }
        break;
    }
  });

  function fields(form) {
    var data = {};
    Array.from(form.elements).forEach(function (input) {
      if (!input.name) return;
      if (input.type === "checkbox") { if (input.checked) data[input.name] = true; return; }
      if (input.value === "") return;
      data[input.name] = input.type === "number" ? Number(input.value) : input.value;
    });
    return data;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    event.preventDefault();
    if (form.classList.contains("advance")) {
      var input = form.elements.progress;
      if (input.value === "") { input.focus(); return; }
      var progress = Number(input.value);
      input.blur();
      call("advance to " + progress + "%: " + form.dataset.handle, "POST",
           "/jobs/" + quoted(form.dataset.handle) + "/advance", { progress: progress });
    } else if (form.id === "rule-form") {
      call("add fault rule", "POST", "/faults", fields(form)).then(function (ok) {
        if (ok) form.reset();
      });
    } else if (form.id === "control-form") {
      call("add run control", "POST", "/run-controls", fields(form)).then(function (ok) {
        if (ok) form.reset();
      });
    }
  });

  // Hides the rows of a filtered table that do not hold the filter's text.
  function filter() {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      var needle = input.value.trim().toLowerCase();
      var rows = document.querySelectorAll(
        '[data-section="' + input.dataset.filter + '"] tbody tr:not(.empty)');
      rows.forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches("input[data-filter]")) filter();
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });

  refresh();
})();
"""
