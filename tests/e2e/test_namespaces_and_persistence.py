"""One service, many dialects: every payload namespace, prefixed or default-namespace payloads,
authHeader wherever clients put it, SOAPAction ignored; and jobs that outlive the process,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import (
    COMMON_NS,
    PASSWORD,
    SOAP11,
    SOAP12,
    Account,
    Reply,
    Server,
    auth_header,
    create_postgres_database,
    drop_postgres_database,
    envelope,
    make_account,
    post,
    postgres_base_url,
    seed_run,
    start_server,
    stop_server,
)
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

LATER = "2099-01-01T00:00:00.000-08:00"
LATER_UTC = "2099-01-01T08:00:00.000Z"


def versioned(version: str) -> str:
    return f"{COMMON_NS}/{version}"


def param(operation: str, namespace: str, fields: str, prefixed: bool) -> str:
    """`<op>Param` with its children: `{p}` in `fields` is the prefix, if any."""
    p = "ns1:" if prefixed else ""
    declaration = f'xmlns:ns1="{namespace}"' if prefixed else f'xmlns="{namespace}"'
    inner = fields.replace("{p}", p)
    return f"<{p}{operation}Param {declaration}>{inner}</{p}{operation}Param>"


def submit_fields(company: str, name: str) -> str:
    return (
        f"<{{p}}companyHandle>{company}</{{p}}companyHandle><{{p}}jobName>{name}</{{p}}jobName>"
        f"<{{p}}execTime>{LATER}</{{p}}execTime>"
        "<{p}imageServingPublishJob><{p}publishType>Full</{p}publishType>"
        "<{p}emailSetting>None</{p}emailSetting></{p}imageServingPublishJob>"
    )


def send(
    server: Server,
    body: str,
    header: str,
    soap_ns: str = SOAP11,
    headers: dict[str, str] | None = None,
) -> Reply:
    content_type = "application/soap+xml; charset=UTF-8" if soap_ns == SOAP12 else None
    kwargs = {"content_type": content_type} if content_type else {}
    return post(server.service_url, envelope(body, header, soap_ns), headers=headers, **kwargs)


def as_sent(reply: Reply) -> str:
    return etree.tostring(reply.root, encoding="unicode")


def returned(reply: Reply, operation: str, namespace: str) -> etree._Element:
    """The `<op>Return`, checked to be in the request's namespace as the default namespace."""
    assert reply.status == 200, as_sent(reply)
    payload = reply.payload()
    assert payload.tag == f"{{{namespace}}}{operation}Return"
    assert payload.prefix is None
    assert f'<{operation}Return xmlns="{namespace}">' in as_sent(reply) or (
        f'<{operation}Return xmlns="{namespace}"/>' in as_sent(reply)
    )
    return payload


# -- payload namespaces -----------------------------------------------------------------------
NAMESPACES = [
    pytest.param(COMMON_NS, True, id="unversioned"),
    pytest.param(versioned("2010-01-31"), False, id="2010-01-31"),
    pytest.param(versioned("2023-01-15"), False, id="2023-01-15"),
]


@pytest.mark.parametrize("prefixed", [True, False], ids=["ns1-prefix", "default-namespace"])
@pytest.mark.parametrize(("namespace", "legacy"), NAMESPACES)
def test_submit_job_in_every_namespace_and_both_payload_styles(
    server: Server, account: Account, namespace: str, legacy: bool, prefixed: bool
) -> None:
    header = auth_header(account.email, account.password)
    company = str(account.company_id) if legacy else account.company_handle
    name = "Publish " + ("prefixed" if prefixed else "plain")

    reply = send(
        server, param("submitJob", namespace, submit_fields(company, name), prefixed), header
    )
    handle = returned(reply, "submitJob", namespace).findtext(f"{{{namespace}}}jobHandle")
    if legacy:
        assert handle == f"{account.company_id}|{name}|"
    else:
        assert handle == f"j|{account.company_id}|{name}||"

    listing = send(
        server,
        param(
            "getScheduledJobs", namespace, f"<{{p}}jobHandle>{handle}</{{p}}jobHandle>", prefixed
        ),
        header,
    )
    jobs = returned(listing, "getScheduledJobs", namespace)
    [item] = jobs.findall(f"{{{namespace}}}jobArray/{{{namespace}}}items")
    assert item.findtext(f"{{{namespace}}}jobHandle") == handle
    assert item.findtext(f"{{{namespace}}}companyHandle") == company
    assert item.findtext(f"{{{namespace}}}name") == name
    assert item.findtext(f"{{{namespace}}}nextFireTime") == LATER_UTC
    publish = item.find(f"{{{namespace}}}imageServingPublishJob")
    assert publish is not None
    assert publish.findtext(f"{{{namespace}}}publishType") == "Full"
    # Everything in the reply is in the request's namespace.
    foreign = {etree.QName(e).namespace for e in jobs.iter() if isinstance(e.tag, str)}
    assert foreign == {namespace}


def test_handles_of_either_form_are_read_in_every_namespace(
    server: Server, account: Account
) -> None:
    header = auth_header(account.email, account.password)
    modern = versioned("2014-04-03")
    reply = send(
        server,
        param("submitJob", modern, submit_fields(str(account.company_id), "Mixed"), False),
        header,
    )
    handle = returned(reply, "submitJob", modern).findtext(f"{{{modern}}}jobHandle")
    assert handle == f"j|{account.company_id}|Mixed||"
    listing = send(
        server,
        param(
            "getScheduledJobs",
            COMMON_NS,
            f"<{{p}}companyHandle>{account.company_handle}</{{p}}companyHandle>"
            f"<{{p}}jobHandle>{handle}</{{p}}jobHandle>",
            False,
        ),
        header,
    )
    jobs = returned(listing, "getScheduledJobs", COMMON_NS)
    assert [h.text for h in jobs.iter(f"{{{COMMON_NS}}}jobHandle")] == [
        f"{account.company_id}|Mixed|"
    ]


def test_unknown_payload_namespace_is_an_invalid_request(server: Server, account: Account) -> None:
    elsewhere = "http://www.scene7.com/IpsApi/xsd/1999-12-31"
    reply = send(
        server,
        param("submitJob", elsewhere, submit_fields(account.company_handle, "Nowhere"), False),
        auth_header(account.email, account.password),
    )
    assert reply.status == 500
    element, code, reason = reply.fault()
    assert (element, code) == ("ipsApiFault", 30003)
    assert elsewhere in reason


# -- authHeader -------------------------------------------------------------------------------
def shuffled_auth_header(account: Account, namespace: str, prefix: str = "") -> str:
    p = f"{prefix}:" if prefix else ""
    declaration = f'xmlns:{prefix}="{namespace}"' if prefix else f'xmlns="{namespace}"'
    return (
        f"<{p}authHeader {declaration}><{p}appVersion>2.0</{p}appVersion>"
        f"<{p}password>{account.password}</{p}password><{p}locale>en-US</{p}locale>"
        f"<{p}appName>shuffled</{p}appName><{p}user>{account.email}</{p}user></{p}authHeader>"
    )


@pytest.mark.parametrize(
    ("namespace", "prefix"),
    [
        pytest.param(COMMON_NS, "", id="common"),
        pytest.param(COMMON_NS, "auth", id="common-prefixed"),
        pytest.param(versioned("2014-04-03"), "", id="2014-04-03"),
        pytest.param(versioned("2016-01-14-beta"), "ns2", id="2016-01-14-beta-prefixed"),
        pytest.param(versioned("2023-01-15"), "", id="2023-01-15"),
    ],
)
def test_auth_header_in_any_ips_namespace_with_children_in_any_order(
    server: Server, account: Account, namespace: str, prefix: str
) -> None:
    payload_ns = versioned("2017-10-29-beta")
    reply = send(
        server,
        param("getUserInfo", payload_ns, "", False),
        shuffled_auth_header(account, namespace, prefix),
    )
    info = returned(reply, "getUserInfo", payload_ns)
    assert info.findtext(f"{{{payload_ns}}}userInfo/{{{payload_ns}}}email") == account.email


def test_auth_header_in_a_foreign_namespace_is_not_credentials(
    server: Server, account: Account
) -> None:
    reply = send(
        server,
        param("getUserInfo", versioned("2014-04-03"), "", False),
        shuffled_auth_header(account, "urn:somewhere-else"),
    )
    assert reply.fault()[:2] == ("authenticationFault", 10000)


# -- dispatch on the body ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-SOAPAction"),
        pytest.param({"SOAPAction": '"deleteJob"'}, id="wrong-SOAPAction"),
        pytest.param({"SOAPAction": "urn:nonsense#op"}, id="odd-SOAPAction"),
        pytest.param({"SOAPAction": '""'}, id="empty-SOAPAction"),
    ],
)
def test_soap_action_is_advisory_the_body_decides(
    server: Server, account: Account, headers: dict[str, str]
) -> None:
    namespace = versioned("2014-04-03")
    reply = send(
        server,
        param(
            "getCompanyInfo", namespace, f"<companyName>{account.company_name}</companyName>", False
        ),
        auth_header(account.email, account.password),
        headers=headers,
    )
    info = returned(reply, "getCompanyInfo", namespace)
    company = info.find(f"{{{namespace}}}companyInfo")
    assert company is not None
    assert company.findtext(f"{{{namespace}}}companyHandle") == account.company_handle


def test_soap12_action_parameter_is_advisory_too(server: Server, account: Account) -> None:
    namespace = versioned("2016-01-14-beta")
    reply = post(
        server.service_url,
        envelope(
            param("getUserInfo", namespace, "", False),
            auth_header(account.email, account.password, namespace),
            SOAP12,
        ),
        content_type='application/soap+xml; charset=UTF-8; action="deleteJob"',
    )
    assert reply.root.tag == f"{{{SOAP12}}}Envelope"
    assert reply.headers["Content-Type"] == "application/soap+xml;charset=UTF-8"
    info = returned(reply, "getUserInfo", namespace)
    assert info.findtext(f"{{{namespace}}}userInfo/{{{namespace}}}email") == account.email


# -- the legacy run handle --------------------------------------------------------------------
LEGACY_START = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("namespace", "legacy_reply"),
    [
        pytest.param(COMMON_NS, True, id="unversioned"),
        pytest.param(versioned("2010-01-31"), False, id="2010-01-31"),
    ],
)
def test_legacy_run_handle_is_accepted_by_get_active_jobs(
    server: Server,
    account: Account,
    server_repository: SqlJobRepository,
    namespace: str,
    legacy_reply: bool,
) -> None:
    run = seed_run(server_repository, account, "Legacy run", LEGACY_START)
    seed_run(server_repository, account, "Another run", LEGACY_START)
    legacy_handle = f"{account.company_id}||{run.name}"
    reply = send(
        server,
        param(
            "getActiveJobs",
            namespace,
            f"<companyHandle>{account.company_id}</companyHandle>"
            f"<jobHandle>{legacy_handle}</jobHandle>",
            False,
        ),
        auth_header(account.email, account.password),
    )
    active = returned(reply, "getActiveJobs", namespace)
    [item] = active.findall(f"{{{namespace}}}jobArray/{{{namespace}}}items")
    expected = legacy_handle if legacy_reply else f"j|{account.company_id}||{run.name}|{run.id}"
    assert item.findtext(f"{{{namespace}}}jobHandle") == expected
    assert item.findtext(f"{{{namespace}}}name") == run.name
    assert item.findtext(f"{{{namespace}}}originalName") == "Legacy run"
    assert item.findtext(f"{{{namespace}}}state") == "Running"


def test_documented_run_handle_without_run_id_is_accepted(
    server: Server, account: Account, server_repository: SqlJobRepository
) -> None:
    """The 2008 docs show versioned run handles without the run id (`j|6||Add_...`)."""
    run = seed_run(server_repository, account, "No id", LEGACY_START)
    namespace = versioned("2008-01-15")
    reply = send(
        server,
        param(
            "getActiveJobs",
            namespace,
            f"<jobHandle>j|{account.company_id}||{run.name}</jobHandle>",
            False,
        ),
        auth_header(account.email, account.password),
    )
    active = returned(reply, "getActiveJobs", namespace)
    assert [h.text for h in active.iter(f"{{{namespace}}}jobHandle")] == [
        f"j|{account.company_id}||{run.name}|{run.id}"
    ]


# -- persistence ------------------------------------------------------------------------------
def submit_and_list(server: Server, account: Account, name: str) -> tuple[str, etree._Element]:
    namespace = versioned("2014-04-03")
    header = auth_header(account.email, account.password)
    submitted = send(
        server,
        param("submitJob", namespace, submit_fields(account.company_handle, name), False),
        header,
    )
    handle = returned(submitted, "submitJob", namespace).findtext(f"{{{namespace}}}jobHandle")
    assert handle == f"j|{account.company_id}|{name}||"
    return handle, list_job(server, account, handle)


def list_job(server: Server, account: Account, handle: str) -> etree._Element:
    namespace = versioned("2014-04-03")
    reply = send(
        server,
        param("getScheduledJobs", namespace, f"<jobHandle>{handle}</jobHandle>", False),
        auth_header(account.email, account.password),
    )
    items = returned(reply, "getScheduledJobs", namespace).findall(
        f"{{{namespace}}}jobArray/{{{namespace}}}items"
    )
    assert len(items) == 1, as_sent(reply)
    return items[0]


@pytest.fixture
def dedicated(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test starts itself; any still running at the end are stopped."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            stop_server(server)


def account_on(url: str) -> Account:
    database = Database(url)
    try:
        return make_account(SqlJobRepository(database))
    finally:
        database.dispose()


def test_submitted_job_survives_a_restart(tmp_path: Path, dedicated: list[Server]) -> None:
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    first = start_server(url, tmp_path / "first.log", IPS_ENGINE="false")
    dedicated.append(first)
    account = account_on(url)
    handle, before = submit_and_list(first, account, "Survivor")

    stop_server(first)  # SIGTERM, as a service manager stops it
    assert first.process.returncode == 0, first.log()
    assert "Empty database" in first.log()

    second = start_server(url, tmp_path / "second.log", IPS_ENGINE="false")
    dedicated.append(second)
    after = list_job(second, account, handle)
    assert etree.tostring(after) == etree.tostring(before)
    assert "Empty database" not in second.log()


@pytest.mark.postgres
@pytest.mark.skipif(postgres_base_url() is None, reason="IPS_TEST_DATABASE_URL is not set")
def test_server_on_postgresql_submits_and_lists(tmp_path: Path, dedicated: list[Server]) -> None:
    base = postgres_base_url()
    assert base is not None
    url = create_postgres_database(base)
    try:
        server = start_server(url, tmp_path / "server.log", IPS_ENGINE="false")
        dedicated.append(server)
        account = account_on(url)
        _, job = submit_and_list(server, account, "On PostgreSQL")
        namespace = versioned("2014-04-03")
        assert job.findtext(f"{{{namespace}}}submitUserEmail") == account.email
        assert job.findtext(f"{{{namespace}}}nextFireTime") == LATER_UTC
        checked = send(
            server,
            param(
                "checkLogin",
                namespace,
                f"<email>{account.email}</email><password>{PASSWORD}</password>",
                False,
            ),
            auth_header(account.email, account.password),
        )
        status = returned(checked, "checkLogin", namespace).findtext(f"{{{namespace}}}status")
        assert status == "ValidLogin"
        stop_server(server)
        assert server.process.returncode == 0, server.log()
    finally:
        drop_postgres_database(base, url)
