"""SOAP wire layer of the IPS emulator (spyne services, WSDL, XML mapping).

Importing this package makes spyne importable on every supported Python
before any submodule imports it: see :mod:`ips_jobs.wire.spyne_compat`.
"""

from ips_jobs.wire import spyne_compat

spyne_compat.install()
