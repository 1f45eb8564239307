"""Bad input over real HTTP, as curl would send it: every kind gets a clear answer (an IPS
SOAP fault, or a plain-text 405/415), never a traceback or an HTML page, stores nothing, and
leaves the server answering good requests."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from conftest import (
    COMMON_NS,
    NS,
    SOAP11,
    SOAP12,
    Account,
    Reply,
    Server,
    auth_header,
    envelope,
    make_account,
    start_server,
    stop_server,
    stored_jobs,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

XML = "text/xml; charset=UTF-8"


# -- helpers ----------------------------------------------------------------------------------
def send(
    url: str,
    body: object,
    content_type: str | None = XML,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """A raw POST on a fresh connection; `body` may be bytes or a generator (chunked)."""
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update(headers or {})
    return requests.post(url, data=body, headers=all_headers, timeout=30)


def assert_plain(response: requests.Response) -> None:
    """No traceback and no HTML page, whatever the answer is."""
    text = response.content.decode("utf-8", errors="replace")
    assert "Traceback" not in text, text
    assert "<html" not in text.lower() and "<!doctype html" not in text.lower(), text


def fault_of(response: requests.Response, soap_ns: str = SOAP11) -> tuple[str, int, str]:
    """(fault element, code, reason) of a SOAP fault reply, checking the envelope shape."""
    assert_plain(response)
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{soap_ns}}}Envelope", response.content
    assert root.find(f"{{{soap_ns}}}Body/{{{soap_ns}}}Fault") is not None, response.content
    element, code, reason = Reply(response.status_code, dict(response.headers), root).fault()
    detail = root.find(f".//{{{COMMON_NS}}}{element}")
    assert detail is not None, response.content
    return element, code, reason


def soap_fault(response: requests.Response, code: int, *names: str) -> str:
    """Asserts an ipsApiFault with `code` whose reason names every one of `names`."""
    assert response.status_code == 500, response.content
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers
    element, got, reason = fault_of(response)
    assert (element, got) == ("ipsApiFault", code), (element, got, reason)
    for name in names:
        assert name in reason, (name, reason)
    return reason


def param(operation: str, inner: str, namespace: str = NS) -> str:
    return f'<{operation}Param xmlns="{namespace}">{inner}</{operation}Param>'


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- the guard every test runs under ----------------------------------------------------------
@dataclass
class Guard:
    """Posts as one account and, after the test, checks nothing changed or went wrong."""

    server: Server
    account: Account
    log_offset: int

    @property
    def url(self) -> str:
        return self.server.service_url

    def soap(self, body: str, soap_ns: str = SOAP11) -> bytes:
        return envelope(body, auth_header(self.account.email, self.account.password), soap_ns)

    def post(self, body: str, **kwargs: object) -> requests.Response:
        return send(self.url, self.soap(body), **kwargs)  # type: ignore[arg-type]

    def new_log(self) -> str:
        return self.server.log()[self.log_offset :]


def snapshot(repository: SqlJobRepository, company_id: int) -> list[tuple[object, ...]]:
    return [
        (job.id, job.name, job.trigger_state, job.next_fire_time, job.detail)
        for job in repository.scheduled_jobs([company_id])
    ]


def check_still_fine(server: Server, account: Account, baseline: str, log_offset: int) -> None:
    log = server.log()[log_offset:]
    assert "Traceback" not in log, log
    assert "unexpected error" not in log, log
    reply = send(
        server.service_url,
        envelope(
            param("getScheduledJobs", f"<companyHandle>{account.company_handle}</companyHandle>"),
            auth_header(account.email, account.password),
        ),
    )
    assert reply.status_code == 200, reply.content
    names = etree.fromstring(reply.content).findall(f".//{{{NS}}}items/{{{NS}}}name")
    assert baseline in [n.text for n in names]


@pytest.fixture(scope="module")
def bad_account(server: Server, server_repository: SqlJobRepository) -> tuple[Account, str]:
    """One company holding one job far in the future: the stored data that must not change."""
    account = make_account(server_repository)
    name = "baseline job"
    body = param(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>"
        f"<execTime>2099-01-01T00:00:00Z</execTime>{PUBLISH}",
    )
    reply = send(server.service_url, envelope(body, auth_header(account.email, account.password)))
    assert reply.status_code == 200, reply.content
    return account, name


@pytest.fixture
def guard(
    server: Server, server_repository: SqlJobRepository, bad_account: tuple[Account, str]
) -> Iterator[Guard]:
    account, baseline = bad_account
    before = snapshot(server_repository, account.company_id)
    offset = len(server.log())
    yield Guard(server, account, offset)
    assert snapshot(server_repository, account.company_id) == before
    check_still_fine(server, account, baseline, offset)


# -- not XML, or XML that is refused before it is read ----------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b"<soapenv:Envelope xmlns:soapenv='" + SOAP11.encode() + b"'><soapenv:Bo",
            id="truncated",
        ),
        pytest.param(b"<a><b></a></b>", id="mismatched-tags"),
        pytest.param(b"<?xml version='1.0' encoding='UTF-8'?><a>\xff\xfe</a>", id="bad-utf8"),
        pytest.param(b"just some text", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n  ", id="blank"),
        pytest.param(b"<a/><b/>", id="two-roots"),
    ],
)
def test_malformed_xml_is_fault_30003(guard: Guard, body: bytes) -> None:
    reply = send(guard.url, body)
    soap_fault(reply, 30003)
    assert "fault 30003" in guard.new_log()


def test_doctype_is_refused(guard: Guard) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE soapenv:Envelope>' + guard.soap(param("getJobLogs", ""))
    soap_fault(send(guard.url, body), 30003, "DOCTYPE")


def _passwd_line() -> str:
    return Path("/etc/passwd").read_text().splitlines()[0]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_external_entity_is_not_resolved(guard: Guard, encoding: str) -> None:
    """XXE in jobName: refused, and nothing of the file comes back (also in UTF-16, where a
    byte search for '<!DOCTYPE' finds nothing)."""
    inner = param(
        "submitJob",
        f"<companyHandle>{guard.account.company_handle}</companyHandle><jobName>&x;</jobName>"
        f"{PUBLISH}",
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
        '<!DOCTYPE soapenv:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + guard.soap(inner).decode()
    )
    reply = send(guard.url, text.encode(encoding))
    soap_fault(reply, 30003)
    content = reply.content.decode("utf-8", errors="replace")
    assert "root:" not in content
    assert _passwd_line() not in content


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_answers_fast(guard: Guard, encoding: str) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";" if i > 1 else "&lol;") * 10}">'
        for i in range(1, 10)
    )
    inner = param(
        "submitJob",
        f"<companyHandle>{guard.account.company_handle}</companyHandle>"
        f"<jobName>&lol9;</jobName>{PUBLISH}",
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
        f"<!DOCTYPE soapenv:Envelope [{entities}]>" + guard.soap(inner).decode()
    )
    reply = send(guard.url, text.encode(encoding))
    soap_fault(reply, 30003)
    assert len(reply.content) < 2000


# -- HTTP-level refusals ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/x-www-form-urlencoded", "text/plain", None],
)
def test_non_xml_content_type_is_415_text(guard: Guard, content_type: str | None) -> None:
    """A complete, valid submitJob sent with the wrong type (`curl -d` sends form-urlencoded)
    is refused before it is read: 415, plain text, nothing stored."""
    body = guard.soap(
        param(
            "submitJob",
            f"<companyHandle>{guard.account.company_handle}</companyHandle>"
            f"<jobName>{unique('via-form')}</jobName>{PUBLISH}",
        )
    )
    reply = send(guard.url, body, content_type=content_type)
    assert reply.status_code == 415
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert_plain(reply)
    assert "text/xml" in reply.text


def test_form_post_like_curl_dash_d_is_415(guard: Guard) -> None:
    reply = requests.post(guard.url, data={"companyHandle": "c|1"}, timeout=30)
    assert reply.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert reply.status_code == 415
    assert_plain(reply)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_without_wsdl_are_405(guard: Guard, method: str) -> None:
    reply = requests.request(method, guard.url, timeout=30)
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "POST"
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert_plain(reply)


# -- SOAP envelopes and operations ------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(param("foo", ""), "fooParam", id="unknown-operation"),
        pytest.param(param("submitJob", "", "urn:not-ips"), "urn:not-ips", id="foreign-namespace"),
        pytest.param(
            param("submitJob", "", "http://www.scene7.com/IpsApi/xsd/1999-01-01"),
            "1999-01-01",
            id="unknown-version",
        ),
        pytest.param(param("getJobLogs", "", ""), "getJobLogsParam", id="no-namespace"),
        pytest.param(f'<submitJob xmlns="{NS}"/>', "submitJob", id="no-Param-suffix"),
    ],
)
def test_unknown_operation_is_30003(guard: Guard, body: str, named: str) -> None:
    soap_fault(guard.post(body), 30003, named)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body/></soapenv:Envelope>',
            id="empty-body",
        ),
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>'
            f"{param('getJobLogs', '')}{param('getJobLogs', '')}</soapenv:Body>"
            "</soapenv:Envelope>",
            id="two-body-elements",
        ),
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Header/></soapenv:Envelope>',
            id="no-body",
        ),
        pytest.param(param("getJobLogs", ""), id="bare-param-no-envelope"),
        pytest.param(
            '<soapenv:Envelope xmlns:soapenv="urn:not-soap"><soapenv:Body>'
            f"{param('getJobLogs', '')}</soapenv:Body></soapenv:Envelope>",
            id="envelope-in-wrong-namespace",
        ),
        pytest.param(f'<soapenv:Body xmlns:soapenv="{SOAP11}"/>', id="body-as-root"),
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>{param("getJobLogs", "")}'
            f"</soapenv:Body><soapenv:Body>{param('getJobLogs', '')}</soapenv:Body>"
            "</soapenv:Envelope>",
            id="two-bodies",
        ),
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>{param("getJobLogs", "")}'
            "</soapenv:Body><soapenv:Header/></soapenv:Envelope>",
            id="body-before-header",
        ),
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>hello'
            f"{param('getJobLogs', '')}</soapenv:Body></soapenv:Envelope>",
            id="text-beside-the-payload",
        ),
        pytest.param(
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>{param("getJobLogs", "")}'
            '</soapenv:Body><x:More xmlns:x="urn:x"/></soapenv:Envelope>',
            id="element-after-body",
        ),
    ],
)
def test_broken_envelope_is_30003(guard: Guard, body: str) -> None:
    soap_fault(send(guard.url, body.encode()), 30003)


# -- payloads that do not match the schema ----------------------------------------------------
def _submit(guard: Guard, inner: str) -> requests.Response:
    return guard.post(param("submitJob", inner))


def _company(guard: Guard) -> str:
    return f"<companyHandle>{guard.account.company_handle}</companyHandle>"


def test_numrows_not_an_int_is_30001(guard: Guard) -> None:
    reply = guard.post(param("getJobLogs", "<numRows>abc</numRows>"))
    soap_fault(reply, 30001, "numRows", "abc")


def test_numrows_beyond_xsd_int_is_30001(guard: Guard) -> None:
    reply = guard.post(param("getJobLogs", "<numRows>2147483648</numRows>"))
    soap_fault(reply, 30001, "numRows")


def test_an_int_with_thousands_of_leading_zeros_is_its_value(guard: Guard) -> None:
    """The schema takes it; Python's int() alone stops at 4,300 digits."""
    reply = guard.post(param("getJobLogs", f"<numRows>{'0' * 5000}1</numRows>"))
    assert reply.status_code == 200, reply.content[:300]


def test_records_per_page_not_an_int_is_30001(guard: Guard) -> None:
    inner = f"{_company(guard)}<recordsPerPage>1.5</recordsPerPage>"
    soap_fault(guard.post(param("getJobLogDetails", inner)), 30001, "recordsPerPage")


def test_exec_time_not_a_date_is_30001(guard: Guard) -> None:
    inner = f"{_company(guard)}<jobName>{unique('t')}</jobName><execTime>yesterday</execTime>"
    soap_fault(_submit(guard, inner + PUBLISH), 30001, "execTime", "yesterday")


def test_start_date_not_a_date_is_30001(guard: Guard) -> None:
    reply = guard.post(param("getJobLogs", "<startDate>2024-13-45T99:00:00Z</startDate>"))
    soap_fault(reply, 30001, "startDate")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_exec_time_outside_the_calendar_is_30001(guard: Guard, value: str) -> None:
    """Valid xsd:dateTime text whose instant (in UTC) no datetime can hold."""
    inner = f"{_company(guard)}<jobName>{unique('t')}</jobName><execTime>{value}</execTime>"
    soap_fault(_submit(guard, inner + PUBLISH), 30001, "execTime")


def test_start_date_outside_the_calendar_is_30001(guard: Guard) -> None:
    reply = guard.post(param("getJobLogs", "<endDate>9999-12-31T23:59:59-14:00</endDate>"))
    soap_fault(reply, 30001, "endDate")


def test_boolean_maybe_is_30001(guard: Guard) -> None:
    inner = (
        f"{_company(guard)}<jobName>{unique('b')}</jobName>"
        "<metadataPublishJob><forcePublish>maybe</forcePublish></metadataPublishJob>"
    )
    soap_fault(_submit(guard, inner), 30001, "forcePublish", "maybe")


@pytest.mark.parametrize("value", ["INF", "-INF", "NaN"])
def test_non_finite_double_is_30001(guard: Guard, value: str) -> None:
    """xsd:double allows INF and NaN; as a resolution they are nonsense and cannot be stored as
    JSON or echoed back as a valid xsd:double by getScheduledJobs."""
    inner = (
        f"{_company(guard)}<jobName>{unique('d')}</jobName><uploadUrlsJob><urlArray><items>"
        "<sourceUrl>http://example.test/a.jpg</sourceUrl><destPath>a.jpg</destPath>"
        "</items></urlArray><overwrite>true</overwrite><readyForPublish>true</readyForPublish>"
        f"<createMask>false</createMask><postScriptOptions><resolution>{value}</resolution>"
        "</postScriptOptions><emailSetting>None</emailSetting></uploadUrlsJob>"
    )
    soap_fault(_submit(guard, inner), 30001, "resolution")


def test_missing_company_handle_is_30002(guard: Guard) -> None:
    reply = _submit(guard, f"<jobName>{unique('m')}</jobName>{PUBLISH}")
    soap_fault(reply, 30002, "companyHandle")


@pytest.mark.parametrize("job_name", ["", "<jobName></jobName>", "<jobName>   </jobName>"])
def test_missing_or_blank_job_name_is_30002(guard: Guard, job_name: str) -> None:
    soap_fault(_submit(guard, f"{_company(guard)}{job_name}{PUBLISH}"), 30002, "jobName")


def test_missing_job_type_is_30002(guard: Guard) -> None:
    reply = _submit(guard, f"{_company(guard)}<jobName>{unique('m')}</jobName>")
    soap_fault(reply, 30002, "imageServingPublishJob", "uploadUrlsJob")


def test_missing_required_field_of_job_type_is_30002(guard: Guard) -> None:
    inner = (
        f"{_company(guard)}<jobName>{unique('m')}</jobName>"
        "<imageServingPublishJob><publishType>Full</publishType></imageServingPublishJob>"
    )
    soap_fault(_submit(guard, inner), 30002, "emailSetting")


def test_missing_company_handle_of_job_log_details_is_30002(guard: Guard) -> None:
    soap_fault(guard.post(param("getJobLogDetails", "")), 30002, "companyHandle")


@pytest.mark.parametrize(
    ("inner", "named"),
    [
        pytest.param("<bogus>1</bogus>", "bogus", id="top-level"),
        pytest.param(
            "<imageServingPublishJob><publishType>Full</publishType>"
            "<emailSetting>None</emailSetting><colour>red</colour></imageServingPublishJob>",
            "colour",
            id="inside-job-type",
        ),
        pytest.param(
            '<ext:priority xmlns:ext="urn:ext">1</ext:priority>', "priority", id="foreign-ns"
        ),
        pytest.param("<uploadPostJob/>", "uploadPostJob", id="not-a-submit-job-type"),
    ],
)
def test_unknown_element_is_30003(guard: Guard, inner: str, named: str) -> None:
    """Unknown elements placed after jobName, where only optional elements may follow."""
    reply = _submit(guard, f"{_company(guard)}<jobName>{unique('u')}</jobName>{inner}{PUBLISH}")
    soap_fault(reply, 30003, named)


@pytest.mark.parametrize(
    ("inner", "named"),
    [
        pytest.param(
            "{company}<jobName>{name}</jobName>{publish}<execTime>2099-01-01T00:00:00Z</execTime>",
            "execTime",
            id="execTime-after-job-type",
        ),
        pytest.param(
            "<jobName>{name}</jobName>{company}{publish}", "companyHandle", id="name-before-company"
        ),
        pytest.param(
            "{company}{publish}<jobName>{name}</jobName>", "jobName", id="job-type-before-name"
        ),
        pytest.param(
            "{company}<jobName>{name}</jobName><jobName>{name}</jobName>{publish}",
            "jobName",
            id="repeated-jobName",
        ),
        pytest.param(
            "{company}<jobName>{name}</jobName><imageServingPublishJob>"
            "<emailSetting>None</emailSetting><publishType>Full</publishType>"
            "</imageServingPublishJob>",
            "publishType",
            id="swapped-inside-job-type",
        ),
    ],
)
def test_element_order_violation_is_30003(guard: Guard, inner: str, named: str) -> None:
    """Every element was sent, just not in schema order: the fault says so (it must not claim
    that a field which is there is missing)."""
    body = inner.format(company=_company(guard), name=unique("o"), publish=PUBLISH)
    reason = soap_fault(_submit(guard, body), 30003, named)
    assert "order" in reason


@pytest.mark.parametrize(
    "namespace",
    ["", "http://www.scene7.com/IpsApi/xsd/2010-01-31"],
    ids=["none", "another-version"],
)
def test_a_field_in_another_namespace_is_30003_saying_so(guard: Guard, namespace: str) -> None:
    inner = f'{_company(guard)}<jobName xmlns="{namespace}">{unique("n")}</jobName>{PUBLISH}'
    reason = soap_fault(_submit(guard, inner), 30003, "jobName")
    assert "namespace" in reason
    assert "order" not in reason


def test_fault_in_soap12_for_bad_payload(guard: Guard) -> None:
    body = guard.soap(param("getJobLogs", "<numRows>abc</numRows>"), SOAP12)
    reply = send(guard.url, body, content_type="application/soap+xml; charset=UTF-8")
    assert reply.status_code == 500
    assert reply.headers["Content-Type"].startswith("application/soap+xml")
    assert fault_of(reply, SOAP12)[:2] == ("ipsApiFault", 30001)


# -- the body size limit, on a server of its own ----------------------------------------------
@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("small-server")
    running = start_server(
        f"sqlite:///{folder / 'ips.db'}",
        folder / "server.log",
        "--max-body-bytes",
        "4096",
        "--body-timeout",
        "1",
        "--no-engine",
    )
    yield running
    stop_server(running)


@pytest.fixture
def small(small_server: Server) -> Iterator[tuple[Server, SqlJobRepository]]:
    """The small server's demo company: no job may appear, the log stays clean."""
    database = Database(small_server.database_url)
    repository = SqlJobRepository(database)
    before = snapshot(repository, 1)
    offset = len(small_server.log())
    yield small_server, repository
    assert snapshot(repository, 1) == before
    log = small_server.log()[offset:]
    assert "Traceback" not in log, log
    good = send(small_server.service_url, _demo_request(param("getJobLogs", "")))
    assert good.status_code == 200, good.content
    database.dispose()


def _demo_request(body: str) -> bytes:
    return envelope(body, auth_header("demo@example.com", "demo"))


def _padded_submit(size: int) -> bytes:
    """A valid submitJob for the demo company, padded with whitespace to exactly `size`."""
    inner = param(
        "submitJob",
        f"<companyHandle>c|1</companyHandle><jobName>{unique('big')}</jobName>{PUBLISH}",
    )
    request = _demo_request(inner)
    cut = request.index(b"</soapenv:Body>")
    return request[:cut] + b" " * (size - len(request)) + request[cut:]


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _too_large(reply: requests.Response) -> None:
    assert reply.status_code == 413
    assert reply.headers["Content-Type"].startswith("text/xml")
    element, code, reason = fault_of(reply)
    assert (element, code) == ("ipsApiFault", 30003)
    assert "4096" in reason


def test_body_at_the_limit_is_read(small_server: Server) -> None:
    """The boundary: exactly 4096 bytes is a normal request (and does store its job)."""
    database = Database(small_server.database_url)
    before = len(stored_jobs(SqlJobRepository(database), 1))
    body = _padded_submit(4096)
    assert len(body) == 4096
    reply = send(small_server.service_url, body)
    assert reply.status_code == 200, reply.content
    assert len(stored_jobs(SqlJobRepository(database), 1)) == before + 1
    database.dispose()


def test_body_over_the_limit_with_content_length_is_413(
    small: tuple[Server, SqlJobRepository],
) -> None:
    server, _ = small
    reply = send(server.service_url, _padded_submit(4097))
    _too_large(reply)


def test_body_over_the_limit_chunked_is_413(small: tuple[Server, SqlJobRepository]) -> None:
    server, _ = small
    reply = send(server.service_url, _chunks(_padded_submit(20_000)))
    assert reply.request.headers["Transfer-Encoding"] == "chunked"
    _too_large(reply)


def test_much_larger_body_is_413_and_the_connection_stays_usable(
    small: tuple[Server, SqlJobRepository],
) -> None:
    """A keep-alive client (zeep, a requests Session) can go on after a refused body."""
    server, _ = small
    with requests.Session() as session:
        for body in (b"<a>" + b"x" * 3_000_000 + b"</a>", _chunks(b"y" * 500_000, 65536)):
            reply = session.post(
                server.service_url, data=body, headers={"Content-Type": "text/xml"}
            )
            _too_large(reply)
            assert session.get(server.base_url + "/").status_code == 200


def _raw_post(server: Server, content_length: int, body: bytes) -> tuple[float, int, str]:
    """A POST as a broken client sends it, over a bare socket: (seconds until the answer and
    the closed connection, HTTP status, reason of the fault)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    head = (
        f"POST /scene7/services/IpsApiService HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: text/xml\r\nContent-Length: {content_length}\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head.encode() + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    root = etree.fromstring(rest.partition(b"\r\n\r\n")[2])
    reason = root.findtext(f".//{{{COMMON_NS}}}reason") or ""
    return time.monotonic() - started, int(status_line.split()[1]), reason


def test_a_body_shorter_than_its_content_length_is_408_not_a_hung_request(
    small: tuple[Server, SqlJobRepository],
) -> None:
    """It used to hold a worker thread for good: a handful of such clients stopped the
    service. --body-timeout is 1 s here (30 s by default)."""
    server, _ = small
    seconds, status, reason = _raw_post(server, 500, b"<a/>")
    assert status == 408
    assert "Content-Length" in reason
    assert seconds < 10


def test_an_announced_body_over_the_limit_that_never_comes_is_413(
    small: tuple[Server, SqlJobRepository],
) -> None:
    server, _ = small
    seconds, status, reason = _raw_post(server, 10**9, b"<a/>")
    assert status == 413  # "Content Too Large" since Python 3.13
    assert "4096" in reason
    assert seconds < 10


def test_over_the_limit_in_soap12_gets_soap12_fault(small: tuple[Server, SqlJobRepository]) -> None:
    server, _ = small
    reply = send(server.service_url, _padded_submit(5000), content_type="application/soap+xml")
    assert reply.status_code == 413
    assert fault_of(reply, SOAP12)[:2] == ("ipsApiFault", 30003)
