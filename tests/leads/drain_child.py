"""The processes the SIGKILL test kills: outbox drainers of one sandboxed connection.

    python drain_child.py DB_URL PLUGIN

This process imports everything once, then forks one drainer per line read on stdin and
prints its pid; the test SIGKILLs that pid at a random moment, and this process reaps it and
prints ``reaped``. Forking from a warm parent makes each restart cost milliseconds instead of
seconds of imports, while every drainer is still its own process, dying without cleanup.
Each drainer opens the store and its plugin session itself (nothing crosses the fork).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from sandboxed import EAGER, registry_for

LEASE = timedelta(seconds=1)


def drainer(db_url: str, registry: PluginRegistry) -> None:
    with Atsbridge(db=db_url, registry=registry) as app:
        app.leads.policy = attrs.evolve(EAGER, lease=LEASE)
        while True:
            if app.leads.drain().claimed == 0:
                time.sleep(0.02)


def main() -> None:
    db_url, name = sys.argv[1], sys.argv[2]
    # Do the slow, shareable work once, before any fork: load the plugin, import the store
    # and migration code. Open connections never cross the fork (the engine is disposed).
    registry = registry_for(name)
    with Atsbridge(db=db_url, registry=registry) as warm:
        warm.store.tenant_keys()
    print("ready", flush=True)
    for _line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                drainer(db_url, registry)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(1)  # only reached if draining failed; the test then sees no progress
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)


if __name__ == "__main__":
    main()
