"""IPS client code in other languages works against ips-jobs unchanged: PHP's SoapClient
(Debian's php-cli and php-soap) and node `soap` (tests/clients/node, `npm ci`), each built
from the served WSDL, submit a job, get the duplicate name's fault with its IPS detail, read
the job back and get the authentication fault of a wrong password. Outside CI a missing
runtime skips its test; CI installs both and runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import Account, Server

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
IN_CI = bool(os.environ.get("CI"))


def _php_missing() -> str | None:
    if shutil.which("php") is None:
        return "php is missing (apt-get install php-cli php-soap)"
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout
    if "soap" not in modules.split():
        return "php has no soap extension (apt-get install php-soap)"
    return None


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is missing"
    if not (NODE_DIR / "node_modules" / "soap").is_dir():
        return f"node soap is not installed (npm ci --prefix {NODE_DIR})"
    return None


CLIENTS = {
    "php SoapClient": (["php", str(HERE / "soapclient.php")], _php_missing),
    "node soap": (["node", str(NODE_DIR / "client.js")], _node_missing),
}


def _run(name: str, server: Server, account: Account, job_name: str) -> dict[str, Any]:
    command, missing = CLIENTS[name]
    reason = missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{name}: {reason}; CI installs it (.ci/run)")
        pytest.skip(f"{reason}; CI installs it and runs this")
    config = {
        "wsdl": f"{server.base_url}/scene7/webservice/IpsApi-2014-04-03.wsdl",
        "user": account.email,
        "password": account.password,
        "company": account.company_handle,
        "jobName": job_name,
    }
    done = subprocess.run(
        [*command, json.dumps(config)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_a_client_built_from_the_served_wsdl_works_unchanged(
    name: str, server: Server, account: Account
) -> None:
    job_name = f"{name} nightly {uuid.uuid4().hex[:6]}"

    result = _run(name, server, account, job_name)

    assert result["jobHandle"] == f"j|{account.company_id}|{job_name}||"
    duplicate = result["duplicate"]
    assert duplicate is not None, "the same jobName twice must be refused"
    assert duplicate["faultstring"] == "ipsApiFault"
    assert duplicate["detail"]["ipsApiFault"]["code"] == "30000"
    assert job_name in duplicate["detail"]["ipsApiFault"]["reason"]
    assert result["scheduled"] == [
        {
            "jobHandle": result["jobHandle"],
            "name": job_name,
            "execSchedule": "0 0 3 * * ?",
            "publishType": "Full",
        }
    ]
    wrong = result["wrongPassword"]
    assert wrong is not None, "a wrong password must be refused"
    assert wrong["detail"]["authenticationFault"]["code"] == "10001"
