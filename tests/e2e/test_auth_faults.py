"""Authentication and authorization faults over real HTTP: codes, reasons, the SOAP 1.1 and
1.2 fault shapes (checked against the captured IPS samples), HTTP status and its override, and
the documented role table."""

from __future__ import annotations

import uuid

import pytest
import requests
from conftest import (
    COMMON_NS,
    NS,
    SHARED,
    SOAP11,
    SOAP12,
    Account,
    Server,
    auth_header,
    envelope,
    make_account,
    stored_jobs,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

from ips_jobs.store.repository import SqlJobRepository

SAMPLES = SHARED / "samples"
#: The real-service samples live in the steering repository's shared/, beside the clone.
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"{SAMPLES} is missing (a clone without shared/ beside it)"
)
XML = "text/xml; charset=UTF-8"


def param(operation: str, inner: str = "") -> str:
    return f'<{operation}Param xmlns="{NS}">{inner}</{operation}Param>'


def send(
    server: Server,
    body: bytes,
    content_type: str = XML,
    auth: tuple[str, str] | None = None,
) -> requests.Response:
    return requests.post(
        server.service_url,
        data=body,
        headers={"Content-Type": content_type},
        auth=auth,
        timeout=30,
    )


def header(user: str, password: str, extra: str = "") -> str:
    return (
        f'<authHeader xmlns="{COMMON_NS}"><user>{user}</user><password>{password}</password>'
        f"<appName>tests</appName><appVersion>1.0</appVersion>{extra}</authHeader>"
    )


def fault_parts(response: requests.Response) -> tuple[etree._Element, etree._Element]:
    """(the SOAP 1.1 Fault, the IPS fault element in its detail)."""
    assert "Traceback" not in response.text
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault is not None, response.content
    detail = fault.find("detail")
    assert detail is not None and len(detail) == 1, response.content
    return fault, detail[0]


def ips_fault(response: requests.Response) -> tuple[str, int, str]:
    """(element local name, code, reason), the element being in the common namespace."""
    _, element = fault_parts(response)
    assert etree.QName(element).namespace == COMMON_NS
    code = element.findtext(f"{{{COMMON_NS}}}code")
    reason = element.findtext(f"{{{COMMON_NS}}}reason")
    assert code is not None and reason is not None, etree.tostring(element)
    return etree.QName(element).localname, int(code), reason


def resolve(element: etree._Element) -> tuple[str | None, str]:
    """A QName-valued element's text (`soapenv:Client`) as (namespace, local name)."""
    prefix, _, local = (element.text or "").partition(":")
    return element.nsmap.get(prefix), local


def shape(element: etree._Element) -> tuple[object, ...]:
    """Tags, recursively, ignoring text and whitespace: the structure of a fault."""
    return (element.tag, tuple(shape(child) for child in element if isinstance(child.tag, str)))


def sample_fault(name: str) -> etree._Element:
    text = (SAMPLES / name).read_bytes()
    root = etree.fromstring(text[text.index(b"<?xml") :].strip())
    fault = root.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault is not None
    return fault


def scheduled_count(repository: SqlJobRepository, account: Account) -> int:
    return len(stored_jobs(repository, account.company_id))


def submit_body(account: Account, extra: str = "", company: str | None = None) -> str:
    return param(
        "submitJob",
        f"<companyHandle>{company or account.company_handle}</companyHandle>{extra}"
        f"<jobName>auth-{uuid.uuid4().hex[:8]}</jobName>{PUBLISH}",
    )


# -- authentication ---------------------------------------------------------------------------
def test_no_credentials_is_10000(server: Server) -> None:
    reply = send(server, envelope(param("getJobLogs")))
    assert reply.status_code == 500
    fault, _ = fault_parts(reply)
    assert resolve(fault.find("faultcode")) == (SOAP11, "Client")
    assert fault.findtext("faultstring") == "AuthenticationException"
    assert ips_fault(reply)[:2] == ("authenticationFault", 10000)


def test_credentials_without_password_is_10000(server: Server, account: Account) -> None:
    body = f'<authHeader xmlns="{COMMON_NS}"><user>{account.email}</user></authHeader>'
    reply = send(server, envelope(param("getJobLogs"), body))
    assert ips_fault(reply)[:2] == ("authenticationFault", 10000)


@pytest.mark.parametrize("who", ["wrong-password", "unknown-user"])
def test_bad_credentials_are_10001(server: Server, account: Account, who: str) -> None:
    user, password = (
        (account.email, "not-the-password")
        if who == "wrong-password"
        else (f"nobody-{uuid.uuid4().hex[:6]}@example.test", account.password)
    )
    reply = send(server, envelope(param("getJobLogs"), auth_header(user, password)))
    assert reply.status_code == 500
    fault, _ = fault_parts(reply)
    assert resolve(fault.find("faultcode")) == (SOAP11, "Client")
    assert fault.findtext("faultstring") == "AuthenticationException"
    assert ips_fault(reply) == ("authenticationFault", 10001, "Invalid username/password")


def test_http_basic_is_checked(server: Server, account: Account) -> None:
    body = envelope(param("getJobLogs"))
    wrong = send(server, body, auth=(account.email, "not-the-password"))
    assert ips_fault(wrong) == ("authenticationFault", 10001, "Invalid username/password")
    right = send(server, body, auth=(account.email, account.password))
    assert right.status_code == 200, right.content


def test_http_basic_in_latin_1_is_read(server: Server, account: Account) -> None:
    """RFC 7617 leaves the charset open and requests, curl and browsers send Latin-1: a wrong
    password with an umlaut is a wrong password, not "no credentials"."""
    reply = send(server, envelope(param("getJobLogs")), auth=(account.email, "pässwörd"))
    assert ips_fault(reply) == ("authenticationFault", 10001, "Invalid username/password")


@pytest.mark.parametrize("value", ["Basic é", "Basic !!!", "Basic", "Bearer abc"])
def test_unreadable_http_basic_is_no_credentials(server: Server, value: str) -> None:
    offset = len(server.log())
    reply = requests.post(
        server.service_url,
        data=envelope(param("getJobLogs")),
        headers={"Content-Type": XML, "Authorization": value.encode("latin-1")},
        timeout=30,
    )
    assert ips_fault(reply)[:2] == ("authenticationFault", 10000)
    assert "Traceback" not in server.log()[offset:]


def test_legacy_headers_wrong_password_is_10001(server: Server, account: Account) -> None:
    legacy = (
        f'<AuthUser xmlns="http://www.scene7.com/IpsApi">{account.email}</AuthUser>'
        '<AuthPassword xmlns="http://www.scene7.com/IpsApi">nope</AuthPassword>'
    )
    reply = send(server, envelope(param("getJobLogs"), legacy))
    assert ips_fault(reply) == ("authenticationFault", 10001, "Invalid username/password")


def test_bad_credentials_store_nothing(
    server: Server, server_repository: SqlJobRepository, account: Account
) -> None:
    reply = send(server, envelope(submit_body(account), auth_header(account.email, "nope")))
    assert ips_fault(reply)[1] == 10001
    assert scheduled_count(server_repository, account) == 0


# -- the fault shapes of the captured samples -------------------------------------------------
@needs_samples
def test_ips_api_fault_has_the_shape_of_the_real_one(server: Server, account: Account) -> None:
    """`samples/jdart-renameAsset-ipsApiFault-response.xml`, captured from IPS."""
    body = envelope(
        param("getJobLogs", "<numRows>abc</numRows>"), auth_header(account.email, account.password)
    )
    reply = send(server, body)
    assert reply.status_code == 500
    assert reply.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    fault, element = fault_parts(reply)
    sample = sample_fault("jdart-renameAsset-ipsApiFault-response.xml")
    assert shape(fault) == shape(sample)
    assert fault.findtext("faultcode") == sample.findtext("faultcode") == "soapenv:Server"
    assert resolve(fault.find("faultcode")) == (SOAP11, "Server")
    assert fault.findtext("faultstring") == sample.findtext("faultstring") == "ipsApiFault"
    assert etree.QName(element).localname == "ipsApiFault"
    assert ips_fault(reply)[1] == 30001


@needs_samples
def test_authorization_fault_has_the_shape_of_the_documented_one(
    server: Server, server_repository: SqlJobRepository
) -> None:
    """`samples/adobedocs-authorizationFault-http-response.txt`, with our operation's name."""
    user = make_account(server_repository, role="WebServiceUser")
    reply = send(server, envelope(submit_body(user), auth_header(user.email, user.password)))
    documented = (SAMPLES / "adobedocs-authorizationFault-http-response.txt").read_text()
    assert reply.status_code == int(documented.split()[1]) == 500
    fault, _ = fault_parts(reply)
    sample = sample_fault("adobedocs-authorizationFault-http-response.txt")
    assert shape(fault) == shape(sample)
    assert fault.findtext("faultcode") == sample.findtext("faultcode") == "soapenv:Client"
    assert resolve(fault.find("faultcode")) == (SOAP11, "Client")
    assert fault.findtext("faultstring") == sample.findtext("faultstring")
    sample_reason = " ".join(sample.findtext(f".//{{{COMMON_NS}}}reason").split())
    element, code, reason = ips_fault(reply)
    assert (element, code) == ("authorizationFault", 20003)
    assert reason == sample_reason.replace("'addCompany'", "'submitJob'")


# -- HTTP status ------------------------------------------------------------------------------
def test_fault_http_status_code_200_overrides_500(
    server: Server, server_repository: SqlJobRepository, account: Account
) -> None:
    override = "<faultHttpStatusCode>200</faultHttpStatusCode>"
    portal = make_account(server_repository, role="ImagePortalUser")
    cases = [
        (header(f"nobody-{uuid.uuid4().hex[:6]}@example.test", "x", override), "getJobLogs", 10001),
        (header(portal.email, portal.password, override), "submitJob", 20003),
        (header(account.email, account.password, override), "getJobLogs", 30001),
    ]
    for auth, operation, code in cases:
        inner = "<numRows>abc</numRows>" if operation == "getJobLogs" else ""
        body = submit_body(portal) if operation == "submitJob" else param(operation, inner)
        reply = send(server, envelope(body, auth))
        assert reply.status_code == 200, (operation, reply.content)
        assert ips_fault(reply)[1] == code
        without = send(server, envelope(body, auth.replace(override, "")))
        assert without.status_code == 500
        assert ips_fault(without)[1] == code


def test_fault_http_status_code_in_versioned_header_order(server: Server) -> None:
    """The versioned authHeader is a sequence ending in gzipResponse, faultHttpStatusCode."""
    auth = (
        f'<authHeader xmlns="{NS}"><user>nobody@example.test</user><password>x</password>'
        "<appName>t</appName><appVersion>1</appVersion><gzipResponse>false</gzipResponse>"
        "<faultHttpStatusCode>200</faultHttpStatusCode></authHeader>"
    )
    reply = send(server, envelope(param("getJobLogs"), auth))
    assert reply.status_code == 200
    assert ips_fault(reply)[1] == 10001


@pytest.mark.parametrize("status", ["204", "304"])
def test_fault_http_status_without_a_body_is_ignored(server: Server, status: str) -> None:
    """A status that cannot carry a body would swallow the fault: the default 500 is used."""
    override = f"<faultHttpStatusCode>{status}</faultHttpStatusCode>"
    reply = send(
        server, envelope(param("getJobLogs"), header("nobody@example.test", "x", override))
    )
    assert reply.status_code == 500
    assert ips_fault(reply)[:2] == ("authenticationFault", 10001)


# -- authorization ----------------------------------------------------------------------------
def test_web_service_user_may_not_submit(
    server: Server, server_repository: SqlJobRepository
) -> None:
    user = make_account(server_repository, role="WebServiceUser")
    reply = send(server, envelope(submit_body(user), auth_header(user.email, user.password)))
    assert reply.status_code == 500
    fault, _ = fault_parts(reply)
    assert resolve(fault.find("faultcode")) == (SOAP11, "Client")
    assert fault.findtext("faultstring") == "AuthorizationException"
    assert ips_fault(reply) == (
        "authorizationFault",
        20003,
        "User does not have permission to access operation 'submitJob'",
    )
    assert scheduled_count(server_repository, user) == 0


def test_image_portal_user_may_read_logs_but_not_submit(
    server: Server, server_repository: SqlJobRepository
) -> None:
    user = make_account(server_repository, role="ImagePortalUser")
    auth = auth_header(user.email, user.password)
    logs = send(
        server,
        envelope(
            param("getJobLogs", f"<companyHandle>{user.company_handle}</companyHandle>"), auth
        ),
    )
    assert logs.status_code == 200, logs.content
    assert etree.fromstring(logs.content).find(f".//{{{NS}}}jobLogArray") is not None
    submit = send(server, envelope(submit_body(user), auth))
    assert ips_fault(submit) == (
        "authorizationFault",
        20003,
        "User does not have permission to access operation 'submitJob'",
    )
    assert scheduled_count(server_repository, user) == 0


ROLES = (
    "IpsUser",
    "IpsAdmin",
    "IpsCompanyAdmin",
    "TrialSiteAdmin",
    "TrialSiteUser",
    "ImagePortalAdmin",
    "ImagePortalUser",
    "ImagePortalContrib",
    "ImagePortalContribUser",
)
#: The documented table (ips-job-api.md §2.2), column order = ROLES; WebServiceUser: never.
TABLE = {
    "submitJob": "✓✓—✓✓✓—✓✓",
    "getScheduledJobs": "✓✓✓✓✓✓—✓✓",
    "getActiveJobs": "✓✓✓✓✓✓—✓✓",
    "getJobLogs": "✓✓✓✓✓✓✓✓✓",
    "getJobLogDetails": "✓✓✓—✓✓✓✓✓",
    "getAssetJobLogs": "✓✓✓✓✓✓✓✓✓",
    "stopJob": "✓✓✓✓✓✓—✓✓",
    "pauseJob": "✓✓✓✓✓✓—✓✓",
    "resumeJob": "✓✓✓✓✓✓—✓✓",
    "deleteJob": "✓✓✓✓✓✓—✓✓",
    "executeJob": "✓✓—✓✓✓—✓✓",
}


@pytest.fixture(scope="module")
def role_accounts(server_repository: SqlJobRepository) -> dict[str, Account]:
    return {role: make_account(server_repository, role) for role in (*ROLES, "WebServiceUser")}


@pytest.mark.parametrize("operation", sorted(TABLE))
def test_documented_role_table(
    server: Server, role_accounts: dict[str, Account], operation: str
) -> None:
    """Every role against every job operation. The request holds only companyHandle, so an
    allowed role gets a 200 or an ipsApiFault about the parameters, never an auth fault."""
    allowed = {role for role, mark in zip(ROLES, TABLE[operation], strict=True) if mark == "✓"}
    wrong = {}
    for role, user in role_accounts.items():
        body = param(operation, f"<companyHandle>{user.company_handle}</companyHandle>")
        reply = send(server, envelope(body, auth_header(user.email, user.password)))
        if reply.status_code == 200:
            got: tuple[str, int, str] = ("ok", 0, "")
        else:
            got = ips_fault(reply)
        if role in allowed:
            if got[0] not in ("ok", "ipsApiFault"):
                wrong[role] = got
        elif got != (
            "authorizationFault",
            20003,
            f"User does not have permission to access operation '{operation}'",
        ):
            wrong[role] = got
    assert wrong == {}


def test_other_company_is_20006(
    server: Server, server_repository: SqlJobRepository, account: Account
) -> None:
    other = make_account(server_repository)
    job = send(server, envelope(submit_body(other), auth_header(other.email, other.password)))
    assert job.status_code == 200
    handle = etree.fromstring(job.content).findtext(f".//{{{NS}}}jobHandle")
    before = [
        (j.name, j.trigger_state) for j in server_repository.scheduled_jobs([other.company_id])
    ]
    auth = auth_header(account.email, account.password)
    company = f"<companyHandle>{other.company_handle}</companyHandle>"
    requests_ = [
        submit_body(account, company=other.company_handle),
        param("getScheduledJobs", company),
        param("getJobLogs", company),
        param("pauseJob", f"{company}<jobHandle>{handle}</jobHandle>"),
        param("deleteJob", f"{company}<jobHandle>{handle}</jobHandle>"),
    ]
    for body in requests_:
        reply = send(server, envelope(body, auth))
        element, code, reason = ips_fault(reply)
        assert (element, code) == ("authorizationFault", 20006), (body, reason)
        assert other.company_handle in reason
        fault, _ = fault_parts(reply)
        assert resolve(fault.find("faultcode")) == (SOAP11, "Client")
    after = [
        (j.name, j.trigger_state) for j in server_repository.scheduled_jobs([other.company_id])
    ]
    assert after == before


def test_user_handle_outside_the_company_is_20007(
    server: Server, server_repository: SqlJobRepository, account: Account
) -> None:
    outsider = make_account(server_repository)
    auth = auth_header(account.email, account.password)
    foreign = f"<userHandle>u|{outsider.user_id}|{outsider.email}</userHandle>"
    reply = send(server, envelope(submit_body(account, foreign), auth))
    element, code, reason = ips_fault(reply)
    assert (element, code) == ("authorizationFault", 20007)
    assert "userHandle" in reason
    assert scheduled_count(server_repository, account) == 0
    member = f"<userHandle>u|{account.user_id}|{account.email}</userHandle>"
    assert send(server, envelope(submit_body(account, member), auth)).status_code == 200
    assert scheduled_count(server_repository, account) == 1


# -- SOAP 1.2 ---------------------------------------------------------------------------------
def soap12_fault(response: requests.Response) -> tuple[tuple[str | None, str], str, str, int]:
    """((Code/Value namespace, local), Reason/Text, fault element, code) of a SOAP 1.2 fault."""
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{SOAP12}}}Envelope"
    fault = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    assert fault is not None, response.content
    assert fault.find("faultcode") is None and fault.find("faultstring") is None
    assert [etree.QName(c).localname for c in fault] == ["Code", "Reason", "Detail"]
    value = fault.find(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value")
    text = fault.find(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text")
    assert text is not None and text.get("{http://www.w3.org/XML/1998/namespace}lang")
    detail = fault.find(f"{{{SOAP12}}}Detail")
    assert detail is not None and len(detail) == 1
    element = detail[0]
    assert etree.QName(element).namespace == COMMON_NS
    assert element.findtext(f"{{{COMMON_NS}}}reason")
    code = int(element.findtext(f"{{{COMMON_NS}}}code") or 0)
    return resolve(value), text.text or "", etree.QName(element).localname, code


@pytest.mark.parametrize(
    "content_type", ["application/soap+xml; charset=UTF-8", 'application/soap+xml; action="x"']
)
def test_soap12_faults(
    server: Server, server_repository: SqlJobRepository, account: Account, content_type: str
) -> None:
    portal = make_account(server_repository, role="WebServiceUser")
    cases = [
        ("", param("getJobLogs"), "Sender", "AuthenticationException", "authenticationFault"),
        (
            auth_header(account.email, "wrong"),
            param("getJobLogs"),
            "Sender",
            "AuthenticationException",
            "authenticationFault",
        ),
        (
            auth_header(portal.email, portal.password),
            submit_body(portal),
            "Sender",
            "AuthorizationException",
            "authorizationFault",
        ),
        (
            auth_header(account.email, account.password),
            param("getJobLogs", "<numRows>abc</numRows>"),
            "Receiver",
            "ipsApiFault",
            "ipsApiFault",
        ),
    ]
    for auth, body, value, text, element in cases:
        reply = send(server, envelope(body, auth, SOAP12), content_type)
        assert reply.status_code == 500
        got = soap12_fault(reply)
        assert got[:3] == ((SOAP12, value), text, element), reply.content
    assert scheduled_count(server_repository, portal) == 0


def test_soap12_good_request_is_answered_in_soap12(server: Server, account: Account) -> None:
    body = envelope(
        param("getJobLogs", f"<companyHandle>{account.company_handle}</companyHandle>"),
        auth_header(account.email, account.password),
        SOAP12,
    )
    reply = send(server, body, "application/soap+xml; charset=UTF-8")
    assert reply.status_code == 200
    assert etree.fromstring(reply.content).tag == f"{{{SOAP12}}}Envelope"
