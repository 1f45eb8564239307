"""A contender for measurements, not the product: ips-jobs' own app and bridge
(ips_jobs/asgi_bridge.py) served by granian (HTTP in Rust) instead of gunicorn's arbiter with
uvicorn workers. docs/performance.md ("Choosing the serving layer") has what it measured.

    pip install granian
    ips-jobs db upgrade --database-url sqlite:////tmp/bridge.db
    IPS_ENGINE=false IPS_DATABASE_URL=sqlite:////tmp/bridge.db PYTHONPATH=. \\
        granian --interface asgi --workers 2 --http 1 --http1-header-read-timeout 10000 \\
        --port 8082 benchmarks.granian_bridge:application

It lacks what `ips-jobs serve` adds around the app: dropped connections for fault rules, the
engine child, the port file, the ready line and one log format.
"""

from __future__ import annotations

from ips_jobs import app
from ips_jobs.config import Settings

application = app.asgi_app(Settings.from_env())
