"""Importing a customer's file into a product job's do-not-source list, idempotently and
reversibly.

* **One person, one entry.** Rows of the file that share an email, LinkedIn profile or
  phone (or, for rows with none, the same name with the same company and city) are one
  person, their identifiers merged. A person whose identifier is already on the job's list
  from a file *updates* that entry (a corrected file replaces what the old one said) rather
  than adding a second one; several old entries of one person are merged into one.
* **Every import is recorded** (``cnts_imports``: file name, time, counts) with the
  entries it listed (``cnts_import_entries``). Removing an import deletes the entries no
  other import lists; ``remove_email`` deletes a person from the job's file entries.
* **Dry run**: the same reads and counts, nothing written.

Entries from the ATS pipeline (source "ats") are never touched here: the pipeline sync
owns them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from atsbridge import filereader, identity
from atsbridge.errors import NotFound
from atsbridge.services.cnts import (
    STRONG_KINDS,
    E,
    ImportReport,
    ImportView,
    RemoveReport,
    _chunks,
    _insert_entries,
    _Keys,
    _Row,
    _row,
    _signature,
    match_batch,
    rewrite_entries,
)
from atsbridge.store import TenantRepo
from atsbridge.store.tables import CntsImport, CntsImportEntry, CntsKey, table

__all__ = ["import_rows", "list_imports", "remove_email", "remove_import"]

I = table(CntsImport)  # noqa: E741 - the imports table, as E and K are the others
IE = table(CntsImportEntry)
K = table(CntsKey)


@attrs.define
class _Person:
    """One person of the file: the rows that name them, identifiers merged."""

    keys: _Keys
    name: str | None
    company: str | None
    city: str | None
    rows: list[int]
    values: dict[str, str]
    entries: set[int] = attrs.Factory(set)  # file entries of the job that are this person

    def identities(self) -> list[tuple[str, str]]:
        strong = list(self.keys.strong())
        if strong:
            return strong
        weak = "\x1f".join((self.keys.name_norm, self.keys.company_norm, self.keys.city_norm))
        return [("name", weak)]

    def absorb(self, other: _Person) -> None:
        keys = self.keys
        keys.emails.extend(e for e in other.keys.emails if e not in keys.emails)
        keys.phones.extend(p for p in other.keys.phones if p not in keys.phones)
        keys.linkedin = keys.linkedin or other.keys.linkedin
        if not keys.name_norm:
            keys.name_norm, self.name = other.keys.name_norm, other.name
        if not keys.company_norm:
            keys.company_norm, self.company = other.keys.company_norm, other.company
        if not keys.city_norm:
            keys.city_norm, self.city = other.keys.city_norm, other.city
        self.rows.extend(other.rows)
        self.entries |= other.entries


def _people(rows: Sequence[filereader.PersonRow]) -> tuple[list[_Person], int]:
    """The file's people in file order, and how many rows repeated someone already read."""
    people: list[_Person] = []
    owner: dict[tuple[str, str], int] = {}
    duplicates = 0
    for row in rows:
        person = _Person(
            _Keys(
                emails=list(row.emails),
                linkedin=row.linkedin,
                phones=list(row.phones),
                name_norm=row.name_norm or "",
                company_norm=identity.normalize_company(row.company) if row.company else "",
                city_norm=identity.normalize_city(row.city) if row.city else "",
            ),
            row.name,
            row.company,
            row.city,
            [row.row],
            row.raw,
        )
        found = next((owner[k] for k in person.identities() if k in owner), None)
        if found is None:
            found = len(people)
            people.append(person)
        else:
            people[found].absorb(person)
            duplicates += 1
        for key in people[found].identities():
            owner.setdefault(key, found)
    return people, duplicates


def _merge_by_entries(people: list[_Person]) -> tuple[list[_Person], int]:
    """People of the file that turn out to be one listed entry become one person."""
    parent = list(range(len(people)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[int, int] = {}
    for i, person in enumerate(people):
        for entry_id in person.entries:
            if entry_id in first_of:
                a, b = root(first_of[entry_id]), root(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first_of[entry_id] = i
    merged: dict[int, _Person] = {}
    for i, person in enumerate(people):
        top = root(i)
        if top in merged:
            merged[top].absorb(person)
        else:
            merged[top] = person
    return list(merged.values()), len(people) - len(merged)


def import_rows(
    repo: TenantRepo,
    product_job_id: str,
    read: filereader.ReadResult,
    file_name: str,
    now: datetime,
    *,
    dry_run: bool,
) -> ImportReport:
    """Store (or, ``dry_run``, only count) a read file's people in the job's list."""
    conn = repo.session.connection()
    tid = repo.tenant_id
    people, duplicates = _people(read.rows)
    results = match_batch(conn, tid, product_job_id, [p.keys for p in people])
    for person, result in zip(people, results, strict=True):
        strong = bool(person.keys.emails or person.keys.linkedin or person.keys.phones)
        person.entries = {
            m.entry_id
            for m in result.matches
            if m.source == "file" and (m.rule in STRONG_KINDS or not strong)
        }
    people, merged = _merge_by_entries(people)
    duplicates += merged
    sigs = _listed_signatures(conn, tid, [e for p in people for e in p.entries])
    plan: list[tuple[_Person, str]] = []
    added = updated = unchanged = 0
    for person in people:
        sig = _signature(
            person.keys.emails,
            person.keys.linkedin,
            person.keys.phones,
            person.name,
            person.company,
            person.city,
        )
        plan.append((person, sig))
        if not person.entries:
            added += 1
        elif len(person.entries) == 1 and sigs.get(min(person.entries)) == sig:
            unchanged += 1
        else:
            updated += 1
    import_id = None
    if not dry_run:
        imported = repo.add(
            CntsImport(
                product_job_id=product_job_id,
                file_name=file_name[:255],
                imported_at=now,
                added=added,
                updated=updated,
                unchanged=unchanged,
                skipped=len(read.problems),
                warnings=len(read.warnings),
            )
        )
        repo.flush()
        assert imported.id is not None
        import_id = imported.id
        _write(conn, tid, product_job_id, import_id, plan, sigs, file_name, now)
    return ImportReport(
        import_id=import_id,
        dry_run=dry_run,
        added=added,
        updated=updated,
        unchanged=unchanged,
        duplicates_in_file=duplicates,
        problems=read.problems,
        warnings=read.warnings,
        columns=read.columns,
        ignored_columns=read.ignored_columns,
        file_format=read.file_format,
        encoding=read.encoding,
        delimiter=read.delimiter,
        sheet=read.sheet,
        formulas=read.formulas,
    )


def _listed_signatures(conn: sa.Connection, tid: int, entry_ids: list[int]) -> dict[int, str]:
    sigs: dict[int, str] = {}
    for chunk in _chunks(sorted(set(entry_ids))):
        rows = conn.execute(
            sa.select(E.c.id, E.c.raw["sig"].as_string()).where(
                E.c.tenant_id == tid, E.c.id.in_(chunk)
            )
        )
        sigs.update((entry_id, sig) for entry_id, sig in rows)
    return sigs


def _write(
    conn: sa.Connection,
    tid: int,
    product_job_id: str,
    import_id: int,
    plan: list[tuple[_Person, str]],
    sigs: dict[int, str],
    file_name: str,
    now: datetime,
) -> None:
    new: list[_Row] = []
    changed: list[tuple[int, _Row]] = []
    listed: list[int] = []
    gone: list[int] = []  # older entries of a person merged into their first one
    for n, (person, sig) in enumerate(plan):
        raw: dict[str, Any] = {
            "sig": sig,
            "row": person.rows[0],
            "rows": person.rows,
            "file": file_name,
            "import": import_id,
            "values": person.values,
        }
        # The import id makes the external id unique for good: an entry updated since
        # keeps the id it was created with, whatever its identifiers became.
        external = f"file:{import_id}:{n}"
        row = _row(external, person.keys, person.name, person.company, person.city, raw)
        if not person.entries:
            new.append(row)
            continue
        keep, *others = sorted(person.entries)
        listed.append(keep)
        gone.extend(others)
        if others or sigs.get(keep) != sig:
            changed.append((keep, row))
    _insert_entries(conn, tid, product_job_id, "file", None, new, now)
    key = {"tid": tid, "job": product_job_id, "source": "file"}
    ids_of = sa.select(E.c.id).where(
        E.c.tenant_id == sa.bindparam("tid"),
        E.c.product_job_id == sa.bindparam("job"),
        E.c.source == sa.bindparam("source"),
        E.c.ats_candidate_id.in_(sa.bindparam("ids", expanding=True)),
    )
    for chunk in _chunks([r.external_id for r in new]):
        listed.extend(conn.execute(ids_of, {**key, "ids": list(chunk)}).scalars())
    rewrite_entries(conn, tid, product_job_id, changed, now)
    if gone:
        _move_links(conn, tid, gone, dict(_owners(plan)))
        for chunk in _chunks(gone):
            conn.execute(sa.delete(E).where(E.c.tenant_id == tid, E.c.id.in_(chunk)))
    links = [{"tenant_id": tid, "import_id": import_id, "entry_id": e} for e in listed]
    if links:
        conn.execute(sa.insert(IE), links)


def _owners(plan: list[tuple[_Person, str]]) -> list[tuple[int, int]]:
    """(merged-away entry, the entry it was merged into)."""
    pairs: list[tuple[int, int]] = []
    for person, _ in plan:
        if len(person.entries) > 1:
            keep, *others = sorted(person.entries)
            pairs.extend((other, keep) for other in others)
    return pairs


def _move_links(conn: sa.Connection, tid: int, gone: list[int], into: dict[int, int]) -> None:
    """Earlier imports that listed a merged-away entry now list the entry it became."""
    moved: set[tuple[int, int]] = set()
    for chunk in _chunks(gone):
        for import_id, entry_id in conn.execute(
            sa.select(IE.c.import_id, IE.c.entry_id).where(
                IE.c.tenant_id == tid, IE.c.entry_id.in_(chunk)
            )
        ):
            moved.add((import_id, into[entry_id]))
    keeps = sorted(set(into.values()))
    present: set[tuple[int, int]] = set()
    for chunk in _chunks(keeps):
        listed = conn.execute(
            sa.select(IE.c.import_id, IE.c.entry_id).where(
                IE.c.tenant_id == tid, IE.c.entry_id.in_(chunk)
            )
        )
        present.update((import_id, entry_id) for import_id, entry_id in listed)
    rows = [{"tenant_id": tid, "import_id": i, "entry_id": e} for i, e in sorted(moved - present)]
    if rows:
        conn.execute(sa.insert(IE), rows)


def list_imports(repo: TenantRepo, product_job_id: str) -> list[ImportView]:
    """The job's recorded imports, newest first."""
    conn = repo.session.connection()
    counts = (
        sa.select(IE.c.import_id, sa.func.count().label("n"))
        .where(IE.c.tenant_id == repo.tenant_id)
        .group_by(IE.c.import_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(I, sa.func.coalesce(counts.c.n, 0))
        .select_from(I.outerjoin(counts, counts.c.import_id == I.c.id))
        .where(I.c.tenant_id == repo.tenant_id, I.c.product_job_id == product_job_id)
        .order_by(I.c.imported_at.desc(), I.c.id.desc())
    ).all()
    return [
        ImportView(
            id=r.id,
            file_name=r.file_name,
            imported_at=r.imported_at,
            added=r.added,
            updated=r.updated,
            unchanged=r.unchanged,
            skipped=r.skipped,
            warnings=r.warnings,
            entries=int(r[-1]),
        )
        for r in rows
    ]


def remove_import(repo: TenantRepo, product_job_id: str, import_id: int) -> RemoveReport:
    """Forget an import: its record, and the entries no other import lists."""
    conn = repo.session.connection()
    tid = repo.tenant_id
    found = conn.execute(
        sa.select(I.c.id).where(
            I.c.tenant_id == tid, I.c.product_job_id == product_job_id, I.c.id == import_id
        )
    ).first()
    if found is None:
        raise NotFound(f"no import {import_id} in product job {product_job_id!r}'s list")
    entries = list(
        conn.execute(
            sa.select(IE.c.entry_id).where(IE.c.tenant_id == tid, IE.c.import_id == import_id)
        ).scalars()
    )
    conn.execute(sa.delete(IE).where(IE.c.tenant_id == tid, IE.c.import_id == import_id))
    conn.execute(sa.delete(I).where(I.c.tenant_id == tid, I.c.id == import_id))
    removed = 0
    other = sa.select(IE.c.id).where(IE.c.entry_id == E.c.id).exists()
    for chunk in _chunks(entries):
        result = conn.execute(sa.delete(E).where(E.c.tenant_id == tid, E.c.id.in_(chunk), ~other))
        removed += result.rowcount or 0
    return RemoveReport(removed=removed, kept=len(entries) - removed)


def remove_email(repo: TenantRepo, product_job_id: str, email: str) -> RemoveReport:
    """Delete the job's file entries with this email (any spelling of it)."""
    conn = repo.session.connection()
    tid = repo.tenant_id
    value = identity.normalize_email(email)
    job = (E.c.tenant_id == tid, E.c.product_job_id == product_job_id)
    keyed = sa.select(K.c.entry_id).where(
        K.c.tenant_id == tid,
        K.c.product_job_id == product_job_id,
        K.c.kind == "email",
        K.c.value == value,
    )
    has_email = sa.or_(E.c.email_norm == value, E.c.id.in_(keyed))
    sources: dict[str, list[int]] = defaultdict(list)
    for entry_id, source in conn.execute(sa.select(E.c.id, E.c.source).where(*job, has_email)):
        sources[source].append(entry_id)
    if not sources["file"]:
        if sources["ats"]:
            raise NotFound(
                f"{value} is on product job {product_job_id!r}'s list from the ATS pipeline "
                "only; it leaves the list when it leaves the pipeline"
            )
        raise NotFound(f"no entry of product job {product_job_id!r}'s list has email {value}")
    conn.execute(sa.delete(E).where(*job, E.c.id.in_(sources["file"])))
    return RemoveReport(removed=len(sources["file"]))
