"""Persistence: SQLModel tables, the repository layer and the shipped Alembic migrations."""

from atsbridge.store.repository import Store, TenantRepo, utcnow
from atsbridge.store.tables import (
    CntsEntry,
    CntsImport,
    CntsImportEntry,
    CntsList,
    Connection,
    HostRow,
    Job,
    JobLink,
    LeadRow,
    LeadStatusHistory,
    SyncCheckpoint,
    SyncRun,
    TaskLease,
    Tenant,
    TenantOwned,
)

__all__ = [
    "CntsEntry",
    "CntsImport",
    "CntsImportEntry",
    "CntsList",
    "Connection",
    "HostRow",
    "Job",
    "JobLink",
    "LeadRow",
    "LeadStatusHistory",
    "Store",
    "SyncCheckpoint",
    "SyncRun",
    "TaskLease",
    "Tenant",
    "TenantOwned",
    "TenantRepo",
    "utcnow",
]
