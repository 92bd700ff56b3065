"""The host daemon: per-connection scheduling (APScheduler), leases, metrics and logging."""

from atsbridge.host.leases import HostError
from atsbridge.host.scheduler import Host, HostConfig, HostStopping, ReconcileResult, Scheduled
from atsbridge.host.tasks import TASKS, TaskSpec

__all__ = [
    "TASKS",
    "Host",
    "HostConfig",
    "HostError",
    "HostStopping",
    "ReconcileResult",
    "Scheduled",
    "TaskSpec",
]
