"""Schema errors name the right field even when many threads validate at once."""

from concurrent.futures import ThreadPoolExecutor

from lxml import etree

from ips_jobs.errors import InvalidParameter
from ips_jobs.wire import codec
from ips_jobs.wire.namespaces import CANONICAL_NS

GOOD = f'<getJobLogsParam xmlns="{CANONICAL_NS}"><numRows>5</numRows></getJobLogsParam>'
BAD = f'<getJobLogsParam xmlns="{CANONICAL_NS}"><numRows>many</numRows></getJobLogsParam>'


def read(text: str) -> str:
    try:
        codec.read("getJobLogs", etree.fromstring(text))
    except InvalidParameter as error:
        return error.field
    return "ok"


def test_concurrent_validations_keep_their_own_errors() -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, [BAD if n % 3 == 0 else GOOD for n in range(3000)]))
    assert results.count("numRows") == 1000
    assert results.count("ok") == 2000
