"""POST /scene7/api/IpsApiService: the envelope-less transport AEM and its Java tools use. They
post a bare `<Request>` (an authHeader and one `<op>Param`, in their JAXB classes' namespace,
`faultHttpStatusCode` 200) and read the answer with a non-namespace-aware DOM and XPaths such
as `/submitJobReturn/jobHandle`: the answer's root is the bare `<op>Return`, a fault the bare
fault element."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from conftest import Account, Server, make_account
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

PATH = "/scene7/api/IpsApiService"
AEM_NS = "http://www.scene7.com/IpsApi/xsd/2017-10-29-beta"


@pytest.fixture(scope="module")
def account(server: Server) -> Iterator[Account]:
    database = Database(server.database_url)
    yield make_account(SqlJobRepository(database))
    database.dispose()


def request(account: Account, param: str, password: str | None = None, status: str = "200") -> str:
    """What AEM's JAXB marshalling posts: the fragments in the versioned namespace."""
    fault_status = f"<faultHttpStatusCode>{status}</faultHttpStatusCode>" if status else ""
    return (
        f'<Request xmlns="{AEM_NS}"><authHeader><user>{account.email}</user>'
        f"<password>{password or account.password}</password>{fault_status}</authHeader>"
        f"{param}</Request>"
    )


def post(server: Server, body: str | bytes) -> tuple[int, etree._Element]:
    reply = requests.post(
        server.base_url + PATH,
        data=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert reply.headers["Content-Type"].startswith("text/xml"), reply.text
    return reply.status_code, etree.fromstring(reply.content)


def xpath(root: etree._Element, path: str) -> list[str]:
    """A non-namespace-aware XPath, as AEM's DOM reads the answer: `/a/b` by local names."""
    steps = "/".join(f"*[local-name()='{step}']" for step in path.strip("/").split("/"))
    return [str(found.text) for found in root.getroottree().xpath(f"/{steps}")]


def test_get_company_info_answers_the_bare_return(server: Server, account: Account) -> None:
    status, root = post(
        server,
        request(
            account,
            f"<getCompanyInfoParam><companyHandle>{account.company_handle}</companyHandle>"
            "</getCompanyInfoParam>",
        ),
    )
    assert status == 200
    assert root.tag == f"{{{AEM_NS}}}getCompanyInfoReturn"
    assert xpath(root, "/getCompanyInfoReturn/companyInfo/companyHandle") == [
        account.company_handle
    ]
    assert root.nsmap == {None: AEM_NS}  # nothing of the envelope is left


def test_submit_an_export_then_read_its_logs(server: Server, account: Account) -> None:
    name = f"aem-{uuid.uuid4().hex[:8]}"
    job = (
        f"<submitJobParam><companyHandle>{account.company_handle}</companyHandle>"
        f"<jobName>{name}</jobName><exportJob><assetHandleArray><items>a|1</items>"
        "</assetHandleArray><fmt>orig</fmt><emailSetting>None</emailSetting></exportJob>"
        "</submitJobParam>"
    )
    status, root = post(server, request(account, job))
    assert status == 200, etree.tostring(root)
    [handle] = xpath(root, "/submitJobReturn/jobHandle")
    assert handle == f"j|{account.company_id}|{name}||"
    status, root = post(
        server,
        request(
            account,
            f"<getJobLogsParam><companyHandle>{account.company_handle}</companyHandle>"
            "</getJobLogsParam>",
        ),
    )
    assert status == 200 and etree.QName(root).localname == "getJobLogsReturn"


@pytest.mark.parametrize(("fault_status", "http_status"), [("200", 200), ("", 500)])
def test_a_wrong_password_is_the_bare_authentication_fault(
    server: Server, account: Account, fault_status: str, http_status: int
) -> None:
    param = (
        f"<getCompanyInfoParam><companyHandle>{account.company_handle}</companyHandle>"
        "</getCompanyInfoParam>"
    )
    status, root = post(server, request(account, param, "wrong", fault_status))
    assert status == http_status
    assert etree.QName(root).localname == "authenticationFault"
    assert xpath(root, "/authenticationFault/code") == ["10001"]
    assert etree.tostring(root) == SAMPLE_FAULT  # the servlet's documented error answer


#: The body of samples/adobedocs-UploadFile-http-response-error.txt, without its declaration.
SAMPLE_FAULT = (
    b'<tns:authenticationFault xmlns:tns="http://www.scene7.com/IpsApi/xsd"><tns:code>10001'
    b"</tns:code><tns:reason>Invalid username/password</tns:reason></tns:authenticationFault>"
)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<Request", "well-formed"),
        (b"<Nope/>", "<Nope>"),
        (f'<Request xmlns="{AEM_NS}"><authHeader/></Request>'.encode(), "not: none"),
        (
            f'<Request xmlns="{AEM_NS}"><aParam/><bParam/></Request>'.encode(),
            "not: aParam, bParam",
        ),
        (
            f'<Request xmlns="{AEM_NS}"><authHeader><user>x</user><password>y</password>'
            "</authHeader><noSuchOperationParam/></Request>".encode(),
            "noSuchOperation",
        ),
    ],
)
def test_what_is_not_a_request_is_the_bare_ips_api_fault(
    server: Server, body: bytes, said: str
) -> None:
    status, root = post(server, body)
    assert status == 500
    assert etree.QName(root).localname == "ipsApiFault"
    assert xpath(root, "/ipsApiFault/code") == ["30003"]
    assert said in xpath(root, "/ipsApiFault/reason")[0]


def test_only_post(server: Server) -> None:
    reply = requests.get(server.base_url + PATH, timeout=30)
    assert reply.status_code == 405 and reply.headers["Allow"] == "POST"


def test_fault_rules_and_the_journal_see_the_bare_transport(
    server: Server, account: Account
) -> None:
    control = server.base_url + "/_ips"
    rule = requests.post(
        control + "/faults",
        json={"effect": "fault", "operation": "getCompanyInfo", "code": 30000},
        timeout=30,
    )
    assert rule.status_code == 201, rule.text
    try:
        param = (
            f"<getCompanyInfoParam><companyHandle>{account.company_handle}</companyHandle>"
            "</getCompanyInfoParam>"
        )
        status, root = post(server, request(account, param))
        assert status == 200  # faultHttpStatusCode 200, as AEM sends it
        assert xpath(root, "/ipsApiFault/code") == ["30000"]
    finally:
        requests.delete(control + "/faults", timeout=30)
    journal = requests.get(control + "/requests", params={"limit": 5}, timeout=30).json()
    newest = journal[0]
    assert newest["operation"] == "getCompanyInfo" and "<Request" in newest["request"]
    assert newest["transport"] == "XML"
    assert newest["response"].startswith("<?xml") and "ipsApiFault" in newest["response"]
