"""Check that client stub generators accept every WSDL in wsdl/, as Java and .NET users run them.

For each IpsApi*.wsdl file:
- JAX-WS: `wsimport -XadditionalHeaders`, then javac on the stubs. wsimport also compiles the
  schemas with JAXB, so it catches clashing class names that lxml and zeep let through.
- .NET: Mono's `wsdl` makes the proxy, and `mcs` compiles it.

zeep only reads a WSDL, so it never notices such a clash. tests/clients drives one version
end to end with these generators; this checks all the others. Two files are checked at a
time (the JVM starts slowly).

    python wsdl/check_client_stubs.py    # exit 1 naming every file a generator rejects

Needs wsimport, javac (Debian's jaxws, libjaxws-java, a JDK), wsdl and mcs (mono-devel).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

WSDL_DIR = Path(__file__).resolve().parent
JAXWS_RT = Path("/usr/share/java/jaxws-rt.jar")
TOOLS = ("wsimport", "javac", "wsdl", "mcs")


def _run(command: list[str]) -> str | None:
    """None if the command succeeded, else its error lines (or the end of what it printed)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode == 0:
        return None
    lines = (done.stdout + done.stderr).strip().splitlines()
    errors = [line for line in lines if "error" in line.lower() and not line.startswith("\tat ")]
    return "\n".join(errors[:10] or lines[-15:])


def check_jaxws(wsdl: Path, folder: Path) -> str | None:
    sources, classes = folder / "src", folder / "classes"
    sources.mkdir()
    classes.mkdir()
    failure = _run([
        "wsimport", "-quiet", "-XadditionalHeaders", "-Xnocompile", "-keep",
        "-s", str(sources), "-d", str(sources), str(wsdl),
    ])  # fmt: skip
    if failure:
        return f"wsimport: {failure}"
    files = [str(path) for path in sources.rglob("*.java")]
    failure = _run(["javac", "-nowarn", "-cp", str(JAXWS_RT), "-d", str(classes), *files])
    return f"javac: {failure}" if failure else None


def check_mono(wsdl: Path, folder: Path) -> str | None:
    proxy = folder / "proxy.cs"
    failure = _run(["wsdl", "-nologo", f"-out:{proxy}", str(wsdl)])
    if failure:
        return f"wsdl: {failure}"
    failure = _run([
        "mcs", "-nologo", "-nowarn:414,649", "-target:library", f"-out:{folder / 'proxy.dll'}",
        "-r:System.Web.Services", "-r:System.Xml", str(proxy),
    ])  # fmt: skip
    return f"mcs: {failure}" if failure else None


def check(wsdl: Path) -> list[str]:
    """What each generator said of one file that it rejected."""
    failures = []
    for name, checker in (("JAX-WS", check_jaxws), ("Mono", check_mono)):
        with tempfile.TemporaryDirectory(prefix="ips-stubs-") as folder:
            failure = checker(wsdl, Path(folder))
        if failure:
            failures.append(f"{wsdl.name}: {name}: {failure}")
    return failures


def main() -> int:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or not JAXWS_RT.is_file():
        print(
            f"missing: {', '.join(missing) or JAXWS_RT} "
            "(apt-get install jaxws libjaxws-java default-jdk-headless mono-devel)",
            file=sys.stderr,
        )
        return 2
    files = sorted(WSDL_DIR.glob("IpsApi*.wsdl"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [failure for found in pool.map(check, files) for failure in found]
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{len(files) - len({f.split(':')[0] for f in failures})} of {len(files)} WSDL files "
          "compile with wsimport + javac and Mono's wsdl + mcs")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
