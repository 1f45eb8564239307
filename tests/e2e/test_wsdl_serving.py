"""The WSDL files in wsdl/ are what the server serves, with only the service address rewritten
to where the client reached it (or to `?serviceUrl=`)."""

from __future__ import annotations

import pytest
import requests
from conftest import ROOT, SERVICE_PATH, Server
from lxml import etree

from ips_jobs.wire.namespaces import VERSIONS

WSDL_DIR = ROOT / "wsdl"
PLACEHOLDER = b'location="http://localhost:8080/scene7/services/IpsApiService"'
SOAP_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"
WSDL_FILES = ["IpsApi.wsdl", *(f"IpsApi-{version}.wsdl" for version in VERSIONS)]


def fetch(server: Server, path: str, **kwargs: object) -> requests.Response:
    return requests.get(server.base_url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def addresses(document: bytes) -> list[str]:
    """The soap:address and soap12:address locations of a WSDL, in document order."""
    root = etree.fromstring(document)
    found = root.xpath(
        "//soap:address/@location | //soap12:address/@location",
        namespaces={"soap": SOAP_BINDING_NS, "soap12": SOAP12_BINDING_NS},
    )
    return [str(location) for location in found]


def with_address(file_name: str, address: str) -> bytes:
    """The file in wsdl/ as it should be served for `address`."""
    original = (WSDL_DIR / file_name).read_bytes()
    assert original.count(PLACEHOLDER) == 2, file_name
    quoted = address.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return original.replace(PLACEHOLDER, f'location="{quoted}"'.encode())


def test_wsdl_folder_holds_exactly_the_served_files() -> None:
    assert sorted(p.name for p in WSDL_DIR.glob("IpsApi*.wsdl")) == sorted(WSDL_FILES)


@pytest.mark.parametrize("file_name", WSDL_FILES)
def test_served_wsdl_is_the_file_with_the_address_of_the_host_asked(
    server: Server, file_name: str
) -> None:
    response = fetch(server, f"/scene7/webservice/{file_name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml;charset=UTF-8"
    host = server.base_url.removeprefix("http://")
    expected_address = f"http://{host}{SERVICE_PATH}"
    assert response.content == with_address(file_name, expected_address)
    assert addresses(response.content) == [expected_address, expected_address]
    # The leading comment quotes the placeholder; it is left as the file has it.
    assert b"    http://localhost:8080/scene7/services/IpsApiService\n" in response.content


def test_address_follows_the_host_header(server: Server) -> None:
    response = fetch(
        server,
        "/scene7/webservice/IpsApi-2014-04-03.wsdl",
        headers={"Host": "ips.example.test:8443"},
    )
    address = f"http://ips.example.test:8443{SERVICE_PATH}"
    assert response.content == with_address("IpsApi-2014-04-03.wsdl", address)


@pytest.mark.parametrize(
    ("service_url", "address"),
    [
        ("http://example.test:9000", f"http://example.test:9000{SERVICE_PATH}"),
        ("http://example.test:9000/", f"http://example.test:9000{SERVICE_PATH}"),
        ("https://ips.example.test", f"https://ips.example.test{SERVICE_PATH}"),
        (
            "https://proxy.example.test/ips/services/IpsApiService",
            "https://proxy.example.test/ips/services/IpsApiService",
        ),
        (
            "http://proxy.example.test/ips?tenant=a&zone=b",
            "http://proxy.example.test/ips?tenant=a&zone=b",
        ),
    ],
)
def test_service_url_rewrites_the_address(server: Server, service_url: str, address: str) -> None:
    for path in ("/scene7/webservice/IpsApi-2008-01-15.wsdl", "/scene7/webservice/IpsApi.wsdl"):
        response = fetch(server, path, params={"serviceUrl": service_url})
        assert response.status_code == 200
        file_name = path.rsplit("/", 1)[1]
        assert response.content == with_address(file_name, address)
        assert addresses(response.content) == [address, address]


@pytest.mark.parametrize(
    "service_url",
    [
        "ftp://example.test:9000",
        "example.test:9000",
        "javascript:alert(1)",
        "http://",
        "",
        "/x",
        "http://[::1",
    ],
)
def test_service_url_that_is_not_http_is_refused(server: Server, service_url: str) -> None:
    response = fetch(
        server, "/scene7/webservice/IpsApi-2014-04-03.wsdl", params={"serviceUrl": service_url}
    )
    assert response.status_code == 400
    assert "serviceUrl" in response.text


def test_service_endpoint_wsdl_is_the_newest_schema(server: Server) -> None:
    response = fetch(server, f"{SERVICE_PATH}?wsdl")
    assert response.status_code == 200
    host = server.base_url.removeprefix("http://")
    expected = with_address("IpsApi-2022-11-01-beta.wsdl", f"http://{host}{SERVICE_PATH}")
    assert response.content == expected
    rewritten = fetch(server, SERVICE_PATH, params={"wsdl": "", "serviceUrl": "http://a.test:1"})
    assert rewritten.content == with_address(
        "IpsApi-2022-11-01-beta.wsdl", f"http://a.test:1{SERVICE_PATH}"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/scene7/webservice/IpsApi-1999-01-01.wsdl",
        "/scene7/webservice/IpsApi-2014-04-03-beta.wsdl",
        "/scene7/webservice/IpsApi-.wsdl",
        "/scene7/webservice/ipsapi.wsdl",
        "/scene7/webservice/IpsApi-2014-04-03.xsd",
    ],
)
def test_unknown_wsdl_is_not_found(server: Server, path: str) -> None:
    assert fetch(server, path).status_code == 404


def test_get_on_the_endpoint_without_wsdl_is_not_allowed(server: Server) -> None:
    response = fetch(server, SERVICE_PATH)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    put = requests.put(server.service_url, data=b"<x/>", timeout=10)
    assert put.status_code == 405
