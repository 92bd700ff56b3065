"""Job search latency over a large mirror: p50/p95 per query kind, on SQLite (or --db URL).

    .venv/bin/python bench/jobs_search.py                 # 100,000 jobs in the measured
                                                          # tenant, 1,000,000 in the database
    .venv/bin/python bench/jobs_search.py --scale 0.1     # a tenth of that, for a quick look

The database is built with bulk inserts straight into the migrated schema (the same rows and
index entries the job sync writes, via ``atsbridge.services.job_index``), then every query
goes through the public ``JobService.search`` (index query + row fetch + link lookup), the
way the CLI and the product call it. The database file is kept (``--db``) and reused when it
already holds the requested scale, so a second run only measures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from atsbridge.services import job_index
from atsbridge.store import Connection, Tenant
from atsbridge_sdk.sandbox.seed import DEPARTMENTS, PLACES, TITLE_AREAS, TITLE_LEVELS, TITLE_ROLES
from sqlmodel import select

TENANTS = 10
PER_TENANT = 100_000
MEASURED = "tenant-0"
BASE = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 20_000


def _sqlite_time(value: datetime) -> str:
    # The text form SQLAlchemy's DateTime stores on SQLite (naive UTC).
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def build(app: Atsbridge, per_tenant: int, seed: int) -> None:
    rng = random.Random(seed)
    store = app.store
    with store.system_session() as session:
        connection_ids = []
        for t in range(TENANTS):
            tenant = Tenant(key=f"tenant-{t}", created_at=BASE)
            session.add(tenant)
            session.flush()
            conn = Connection(tenant_id=tenant.id, ats="bench", created_at=BASE, updated_at=BASE)
            session.add(conn)
            session.flush()
            connection_ids.append((tenant.id, conn.id))
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        next_id = 1
        started = time.perf_counter()
        for tenant_id, connection_id in connection_ids:
            for start in range(0, per_tenant, BATCH):
                jobs, index = [], []
                for n in range(start, min(per_tenant, start + BATCH)):
                    job_id = next_id
                    next_id += 1
                    row, words, updated = _job(rng, tenant_id, connection_id, job_id, n)
                    jobs.append(row)
                    index.append(
                        (
                            job_index.recency_key(job_id, updated, None),
                            job_index._scoped(tenant_id, words.title),
                            job_index._scoped(tenant_id, words.places),
                            job_index.fts_idents(tenant_id, words),
                        )
                    )
                cur.execute("BEGIN")
                cur.executemany(
                    "INSERT INTO jobs (id, tenant_id, connection_id, ats_id, title, status, "
                    "status_raw, reference, locations, city, region, country, department, "
                    "employment_type, description, url, created_at, updated_at, search_text, "
                    f"search_refs, synced_at) VALUES ({', '.join('?' * 21)})",
                    jobs,
                )
                cur.executemany(
                    "INSERT INTO job_search (rowid, title, places, idents) VALUES (?, ?, ?, ?)",
                    index,
                )
                cur.execute("COMMIT")
            done = next_id - 1
            rate = done / (time.perf_counter() - started)
            print(f"  built {done:,} jobs ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        cur.execute("INSERT INTO job_search(job_search) VALUES ('optimize')")
        cur.execute("ANALYZE")
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        raw.close()


def _job(rng: random.Random, tenant_id: int, connection_id: int, job_id: int, n: int):
    level, role, area = rng.choice(TITLE_LEVELS), rng.choice(TITLE_ROLES), rng.choice(TITLE_AREAS)
    title = " ".join(p for p in (level, role) if p) + f", {area}"
    city, region, _code, _country, country_code = rng.choice(PLACES)
    dept = rng.choice(DEPARTMENTS)
    reference = f"{dept[:3].upper()}-{10_000 + n}"
    ats_id = str(4_000_000_000 + job_id)
    locations = [{"city": city, "region": region, "country_code": country_code, "raw": None}]
    updated = BASE + timedelta(seconds=rng.randrange(60 * 86_400 * 12))
    status = rng.choices(["open", "closed", "draft", "on_hold"], [14, 3, 2, 1])[0]
    words = job_index.search_words(title, locations, reference, ats_id)
    row = (
        job_id,
        tenant_id,
        connection_id,
        ats_id,
        title,
        status,
        status,
        reference,
        json.dumps(locations),
        city,
        region,
        country_code,
        dept,
        "full_time",
        f"<p>Join our {dept} team in {city} as {title}.</p>" * 4,
        None,
        _sqlite_time(updated - timedelta(days=3)),
        _sqlite_time(updated),
        words.text(),
        words.refs_text(),
        _sqlite_time(BASE),
    )
    return row, words, updated


def _queries(rng: random.Random, per_tenant: int) -> dict[str, list[str | None]]:
    role_words = sorted({w for r in TITLE_ROLES for w in r.split()})
    word = [rng.choice(role_words) for _ in range(100)]
    word += [f"{rng.choice(role_words)} {rng.choice(TITLE_AREAS)[:3]}" for _ in range(100)]
    places = [p[0] for p in PLACES] + [p[3] for p in PLACES] + [p[4] for p in PLACES]
    location = [rng.choice(places) for _ in range(200)]
    refs = []
    for _ in range(200):
        dept = rng.choice(DEPARTMENTS)[:3].upper()
        number = str(10_000 + rng.randrange(per_tenant))
        refs.append(f"{dept}-{number[: rng.randint(3, len(number))]}")
    inside = []  # 3-5 digits from inside a reference number or an ATS id ("1206")
    for _ in range(200):
        ident = str(10_000 + rng.randrange(per_tenant))
        if rng.random() < 0.5:
            ident = str(4_000_000_000 + rng.randrange(TENANTS * per_tenant))
        size = rng.randint(3, 5)
        start = rng.randrange(len(ident) - size + 1)
        inside.append(ident[start : start + size])
    return {
        "word": list(word),
        "location": list(location),
        "partial reference": list(refs),
        "substring reference": inside,
        "recency (no query)": [None] * 200,
    }


def measure(app: Atsbridge, per_tenant: int, seed: int, limit: int) -> dict[str, dict]:
    rng = random.Random(seed + 1)
    out = {}
    for name, queries in _queries(rng, per_tenant).items():
        for q in queries[:10]:  # warm the page cache and statement caches
            app.jobs.search(MEASURED, q, limit=limit)
        timings, hits = [], []
        for q in queries:
            t0 = time.perf_counter()
            page = app.jobs.search(MEASURED, q, limit=limit)
            timings.append((time.perf_counter() - t0) * 1000)
            hits.append(len(page.items))
        timings.sort()
        out[name] = {
            "queries": len(timings),
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
            "max_ms": round(timings[-1], 2),
            "mean_hits": round(statistics.mean(hits), 1),
        }
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100k jobs per tenant")
    parser.add_argument("--db", help="SQLite file to build/reuse (default: a temp file)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=20, help="page size of each search")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    per_tenant = max(100, int(PER_TENANT * args.scale))
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "bench.db"
    app = Atsbridge(db=f"sqlite:///{path}", registry=PluginRegistry())
    with app:
        with app.store.system_session() as session:
            have = session.exec(select(sa.func.count()).select_from(Tenant)).one()
            jobs = session.execute(sa.text("SELECT count(*) FROM jobs")).scalar()
        if have == 0:
            print(f"building {per_tenant * TENANTS:,} jobs in {path} ...", file=sys.stderr)
            t0 = time.perf_counter()
            build(app, per_tenant, args.seed)
            print(f"  built in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        elif jobs != per_tenant * TENANTS:
            print(f"{path} holds {jobs:,} jobs, not {per_tenant * TENANTS:,}", file=sys.stderr)
            return 2
        figures = measure(app, per_tenant, args.seed, args.limit)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    size = path.stat().st_size / 1e6
    print(
        f"SQLite {app.store.engine.dialect.dbapi.sqlite_version}, "  # type: ignore[union-attr]
        f"{per_tenant:,} jobs in the tenant, {per_tenant * TENANTS:,} in the database "
        f"({size:,.0f} MB), page size {args.limit}"
    )
    print(f"{'query':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'hits':>7}")
    for name, f in figures.items():
        print(f"{name:<22}{f['p50_ms']:>9}{f['p95_ms']:>9}{f['max_ms']:>9}{f['mean_hits']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
