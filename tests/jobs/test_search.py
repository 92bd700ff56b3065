"""Job search over the mirror: every criterion, ranking, paging, filters, tenancy, the index."""

from __future__ import annotations

import itertools
import string

import pytest
import sqlalchemy as sa
from atsbridge.errors import BadInput
from atsbridge.model import Job, JobStatus
from atsbridge.services import job_index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobfake import CONFIG, JobFake, place


@pytest.fixture
def seeded(app, ats: JobFake):
    ats.add(
        "4012001",
        "Senior Backend Engineer, Payments",
        reference="ENG-1007",
        locations=[place("Kraków", "Lesser Poland", "PL")],
        department="Engineering",
    )
    ats.add(
        "4012002",
        "Product Designer",
        reference="DES-2001",
        locations=[place("Paris", "Île-de-France", "FR")],
    )
    ats.add(
        "4012003",
        "Store Manager",
        reference="RET-3001",
        locations=[place("São Paulo", "São Paulo", "BR")],
    )
    ats.add(
        "4012004",
        "Data Engineer",
        reference="ENG-1100",
        locations=[place("Berlin", "Berlin", "DE")],
    )
    ats.add(
        "4012005",
        "Nurse",
        reference="MED-5",
        status=JobStatus.CLOSED,
        locations=[place("Leeds", "England", "GB")],
    )
    app.jobs.sync("acme", "jobfake")
    return app


def ids(page) -> list[str]:
    return [j.ats_id for j in page.items]


CASES = [
    ("backend engineer", ["4012001"]),
    ("ENGINEER backend", ["4012001"]),  # any order, any case
    ("payments senior", ["4012001"]),
    ("backend eng", ["4012001"]),  # prefix of the last word
    ("designer prod", ["4012002"]),
    ("krakow", ["4012001"]),  # accents folded
    ("KRAKÓW", ["4012001"]),
    ("sao paulo", ["4012003"]),
    ("lesser poland", ["4012001"]),  # region
    ("ile de france", ["4012002"]),
    ("germany", ["4012004"]),  # country name
    ("allemagne", ["4012004"]),  # ... in another language
    ("de", ["4012004", "4012002"]),  # the country DE before "Designer" (title), "Île-de-"
    ("uk", ["4012005"]),  # an alias of GB
    ("united kingdom", ["4012005"]),
    ("ENG-1007", ["4012001"]),  # whole reference
    ("eng-1007", ["4012001"]),
    ("ENG-10", ["4012001"]),  # partial reference
    ("1007", ["4012001"]),
    ("g-100", ["4012001"]),  # ... anywhere in it
    ("NG10", ["4012001"]),  # ... punctuation aside
    ("0120", ["4012005", "4012004", "4012003", "4012002", "4012001"]),  # inside the ATS id
    ("4012003", ["4012003"]),  # whole ATS id
    ("40120", ["4012005", "4012004", "4012003", "4012002", "4012001"]),  # partial id
    ("zzz", []),
]


def test_each_criterion_finds_the_job(seeded) -> None:
    # One database for every case: the setup (migrations, sync) dominates the run time.
    for query, expected in CASES:
        assert ids(seeded.jobs.search("acme", query)) == expected, query


def test_exact_reference_ranks_before_title_before_location(app, ats: JobFake) -> None:
    ats.add("L", "Office Manager", locations=[place("Paris")])
    ats.add("T", "Paris Liaison Officer", locations=[place("Berlin")])
    ats.add("R", "Accountant", reference="PARIS", locations=[place("Leeds")])
    ats.add("L2", "Nurse", locations=[place("Paris")])
    app.jobs.sync("acme", "jobfake")
    page = app.jobs.search("acme", "paris")
    assert ids(page) == ["R", "T", "L2", "L"]
    assert [j.match for j in page.items] == ["reference", "title", "location", "location"]
    # Paging walks across the tiers without repeating or skipping a job.
    for size in (1, 2, 3):
        walked, offset = [], 0
        while offset is not None:
            page = app.jobs.search("acme", "paris", limit=size, offset=offset)
            walked += ids(page)
            offset = page.next_offset
        assert walked == ["R", "T", "L2", "L"], size


def test_a_substring_of_a_reference_or_id_ranks_first(app, ats: JobFake) -> None:
    ats.add("T", "Model 1206 Technician", reference="ENG-7")  # title word, newest
    ats.add("P", "Porter", locations=[place("Unit 1206 Dock")])  # place word
    ats.add("W", "Warehouse Lead", reference="JR-01206")
    ats.add("X", "Nurse", reference="MED-3")
    ats.add("wd-44120600", "Nurse")  # inside the ATS id
    app.jobs.sync("acme", "jobfake")
    page = app.jobs.search("acme", "1206")
    assert ids(page) == ["wd-44120600", "W", "T", "P"]
    assert [j.match for j in page.items] == ["identifier", "identifier", "title", "location"]
    assert ids(app.jobs.search("acme", "JR-0120")) == ["W"]
    assert ids(app.jobs.search("acme", "r-01206")) == ["W"]
    assert ids(app.jobs.search("acme", "jr-01206")) == ["W"]  # whole: the exact tier
    assert app.jobs.search("acme", "jr-01206").items[0].match == "reference"
    # Fewer than 3 letters or digits match identifiers only as a word prefix, ranked last.
    assert ids(app.jobs.search("acme", "12")) == ["T", "P"]


def test_a_country_code_or_alias_ranks_its_jobs_above_prefixes(app, ats: JobFake) -> None:
    ats.add("G", "Nurse", locations=[place("Berlin", "Berlin", "DE")])
    ats.add("D", "Developer", locations=[place("Denver", "Colorado", "US")])
    ats.add("F", "Chef de partie", locations=[place("Lyon", None, "FR")])
    ats.add("U", "Nurse", locations=[place("Leeds", "England", "GB")])
    ats.add("S", "Designer", locations=[place("Paris", "Île-de-France", "FR")])
    app.jobs.sync("acme", "jobfake")
    page = app.jobs.search("acme", "DE")
    # Germany, then the words starting with "de" (newest first).
    assert ids(page) == ["G", "S", "F", "D"]
    assert [j.match for j in page.items] == ["country", "title", "title", "title"]
    for query in ("UK", "uk", "England", "Great Britain", "United Kingdom"):
        assert ids(app.jobs.search("acme", query))[:1] == ["U"], query
    assert ids(app.jobs.search("acme", "nurse uk")) == ["U"]
    assert ids(app.jobs.search("acme", "nurse gb")) == ["U"]
    assert ids(app.jobs.search("acme", "germany")) == ["G"]


def test_title_and_location_words_combine(seeded) -> None:
    page = seeded.jobs.search("acme", "engineer berlin")
    assert ids(page) == ["4012004"]
    assert page.items[0].match == "title+location"
    # Several words all in the places are a location match, not a mixed one.
    assert [j.match for j in seeded.jobs.search("acme", "lesser poland").items] == ["location"]
    assert [j.match for j in seeded.jobs.search("acme", "united king").items] == ["location"]


def test_no_query_lists_most_recent_first_in_pages(app, ats: JobFake) -> None:
    for i in range(7):
        ats.add(f"J{i}", f"Job {i}")
    ats.edit("J2", title="Job 2 edited")  # now the most recently updated
    app.jobs.sync("acme", "jobfake")
    expected = ["J2", "J6", "J5", "J4", "J3", "J1", "J0"]
    seen, offset = [], 0
    while offset is not None:
        page = app.jobs.search("acme", limit=3, offset=offset)
        seen += ids(page)
        offset = page.next_offset
    assert seen == expected
    assert app.jobs.search("acme", "  ").items[0].ats_id == "J2"


def test_jobs_without_an_update_time_are_as_recent_as_their_creation(app, ats: JobFake) -> None:
    # Workday gives requisitions dates but no update time: they must not all sink to the end.
    t = [ats.tick() for _ in range(3)]
    ats.put(
        Job(ats_id="OLD", title="Old", status=JobStatus.OPEN, status_raw="open", created_at=t[0])
    )
    ats.add("MID", "Mid", updated_at=t[1])
    ats.put(
        Job(ats_id="NEW", title="New", status=JobStatus.OPEN, status_raw="open", created_at=t[2])
    )
    ats.put(Job(ats_id="NONE", title="Undated", status=JobStatus.OPEN, status_raw="open"))
    app.jobs.sync("acme", "jobfake", full=True)
    assert ids(app.jobs.search("acme")) == ["NEW", "MID", "OLD", "NONE"]
    with app.store.tenant("acme") as repo:
        conn = repo.session.connection()
        sql = (
            f"SELECT j.id FROM jobs j WHERE j.tenant_id = 1 ORDER BY {job_index.RECENCY} DESC"
            + (" NULLS LAST" if app.store.dialect == "postgresql" else "")
            + ", j.id DESC LIMIT 20"
        )
        if app.store.dialect == "sqlite":
            plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "ix_jobs_recency" in plan and "TEMP B-TREE" not in plan, plan
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "ix_jobs_recency" in plan and "Sort" not in plan, plan


def test_filters_by_status_and_ats(seeded) -> None:
    assert ids(seeded.jobs.search("acme", status="closed")) == ["4012005"]
    assert "4012005" not in ids(seeded.jobs.search("acme", "40120", status="open,draft"))
    assert len(seeded.jobs.search("acme", ats="jobfake").items) == 5
    with pytest.raises(BadInput, match="--status: unknown job status 'gone'"):
        seeded.jobs.search("acme", status="gone")
    with pytest.raises(BadInput, match="--limit"):
        seeded.jobs.search("acme", limit=0)


def test_search_sees_ats_edits(seeded, ats: JobFake) -> None:
    ats.edit("4012002", title="Principal Illustrator")
    seeded.jobs.sync("acme", "jobfake")
    assert ids(seeded.jobs.search("acme", "illustrator")) == ["4012002"]
    assert ids(seeded.jobs.search("acme", "designer")) == []


def test_uses_the_index_not_a_table_scan(seeded) -> None:
    with seeded.store.tenant("acme") as repo:
        tenant_id = repo.tenant_id
        session = repo.session
        if seeded.store.dialect == "sqlite":
            captured: list[tuple[str, tuple]] = []

            def capture(conn, cursor, statement, params, context, executemany):
                if "FROM job_search" in statement:
                    captured.append((statement, params))

            engine = seeded.store.engine
            sa.event.listen(engine, "before_cursor_execute", capture)
            try:
                # offset 1 also exercises the per-tier count; substrings, countries
                for query in ("backend eng", "g-100", "de"):
                    job_index.search_ids(session, "sqlite", tenant_id, query, offset=1)
            finally:
                sa.event.remove(engine, "before_cursor_execute", capture)
            assert captured
            for statement, params in captured:
                plan = session.connection().exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, params
                )
                details = " | ".join(str(row[-1]) for row in plan)
                assert "VIRTUAL TABLE INDEX" in details, details
                assert "SEARCH j USING INTEGER PRIMARY KEY" in details, details
                # Newest first comes out of the index: no sort of all the matches.
                assert "TEMP B-TREE" not in details, details
        else:
            session.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = session.execute(
                sa.text(
                    f"EXPLAIN SELECT id FROM jobs WHERE "
                    f"{job_index.PG_TSVECTOR} @@ to_tsquery('simple', 'backend:A & eng:*A')"
                )
            ).fetchall()
            assert "ix_jobs_search_tsv" in " ".join(r[0] for r in plan)
            plan = session.execute(
                sa.text("EXPLAIN SELECT id FROM jobs WHERE search_refs LIKE '%ng10%'")
            ).fetchall()
            assert "ix_jobs_search_refs_trgm" in " ".join(r[0] for r in plan)


def test_another_tenants_jobs_never_show(seeded, ats: JobFake) -> None:
    seeded.connections.connect("globex", "jobfake", dict(CONFIG))
    seeded.jobs.sync("globex", "jobfake")  # same ATS data, other tenant
    for query in (None, "engineer", "paris", "ENG-1007", "40120"):
        acme = ids(seeded.jobs.search("acme", query))
        globex = ids(seeded.jobs.search("globex", query))
        assert acme == globex  # same data, each sees only its own copy
        with seeded.store.tenant("globex") as repo:
            own = {
                r[0]
                for r in repo.session.execute(
                    sa.text("SELECT id FROM jobs WHERE tenant_id = :t"), {"t": repo.tenant_id}
                )
            }
        assert set(j for j, _ in _raw(seeded, "globex", query)) <= own


def _raw(app, tenant: str, query: str | None):
    with app.store.tenant(tenant) as repo:
        return job_index.search_ids(repo.session, app.store.dialect, repo.tenant_id, query)


def test_removing_a_connection_removes_its_jobs_from_search(seeded, ats: JobFake) -> None:
    # Jobs without any timestamp, and with sub-second ones, get the same index key in Python
    # and in the delete trigger's SQL.
    ats.put(Job(ats_id="T0", title="Timeless", status=JobStatus.OPEN, status_raw="open"))
    ats.add("T1", "Fractional", updated_at=ats.tick().replace(microsecond=999_999))
    seeded.jobs.sync("acme", "jobfake", full=True)  # T0 has no updated_at to be "changed"
    assert len(seeded.jobs.search("acme", "timeless").items) == 1
    seeded.connections.disconnect("acme", "jobfake")
    seeded.connections.connect("acme", "jobfake", dict(CONFIG))
    assert seeded.jobs.search("acme", "engineer").items == []
    if seeded.store.dialect == "sqlite":
        with seeded.store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM job_search").scalar() == 0


def test_0011_indexes_jobs_stored_before_it(db_url: str, job_registry) -> None:
    from atsbridge.api import Atsbridge
    from atsbridge.store import migrate
    from atsbridge.store.engine import create_engine, parse_url

    engine = create_engine(parse_url(db_url))
    try:
        migrate.upgrade(engine, "0010_api_keys")
        stamp = "2026-03-01 12:00:00"
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"INSERT INTO tenants (id, key, created_at) VALUES (1, 'acme', '{stamp}')")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO connections (tenant_id, id, ats, config, settings, created_at, "
                    f"updated_at) VALUES (1, 1, 'jobfake', '{{}}', '{{}}', '{stamp}', '{stamp}')"
                )
            )
            for i, (ref, country) in enumerate([("JR-01206", "GB"), ("JR-07", "DE")], 1):
                conn.execute(
                    sa.text(
                        "INSERT INTO jobs (tenant_id, id, connection_id, ats_id, title, status, "
                        "status_raw, reference, locations, search_text, created_at, updated_at, "
                        "synced_at) VALUES (1, :id, 1, :ats_id, 'Nurse', 'open', 'open', :ref, "
                        f":locations, '', '{stamp}', '{stamp}', '{stamp}')"
                    ),
                    {
                        "id": i,
                        "ats_id": f"A{i}",
                        "ref": ref,
                        "locations": f'[{{"country_code": "{country}"}}]',
                    },
                )
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    with Atsbridge(db=db_url, registry=job_registry) as app:
        assert ids(app.jobs.search("acme", "1206")) == ["A1"]
        assert ids(app.jobs.search("acme", "uk")) == ["A1"]
        assert ids(app.jobs.search("acme", "nurse")) == ["A2", "A1"]
        assert ids(app.jobs.search("acme", "de")) == ["A2"]


# --- properties -------------------------------------------------------------------------------

WORDS = ["Engineer", "Nurse", "Café", "Straße", "Über", "Data", "Lead", "Ops", "Señor", "Zoë"]
CITIES = ["Kraków", "São Paulo", "Zürich", "Malmö", "Paris", "Oslo", "Łódź", "Reykjavík"]
_counter = itertools.count()

job_strategy = st.fixed_dictionaries(
    {
        "title": st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
        "city": st.sampled_from(CITIES),
        "ref": st.text(string.ascii_uppercase, min_size=2, max_size=4).flatmap(
            lambda p: st.integers(1, 99999).map(lambda n: f"{p}-{n}")
        ),
    }
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mine=st.lists(job_strategy, min_size=1, max_size=8),
    theirs=st.lists(job_strategy, min_size=1, max_size=8),
    pick=st.data(),
)
def test_any_reference_title_word_or_city_finds_the_job_and_only_in_its_tenant(
    app, ats: JobFake, mine, theirs, pick
) -> None:
    run = next(_counter)
    tenants = (f"p{run}a", f"p{run}b")
    own_ids: dict[str, set[str]] = {}
    for tenant, specs in zip(tenants, (mine, theirs), strict=True):
        ats.jobs.clear()
        for i, spec in enumerate(specs):
            ats.put(
                Job(
                    ats_id=f"{tenant}-{i}",
                    title=spec["title"],
                    status=JobStatus.OPEN,
                    status_raw="open",
                    reference=spec["ref"],
                    locations=[place(spec["city"])],
                    updated_at=ats.tick(),
                )
            )
        app.connections.connect(tenant, "jobfake", dict(CONFIG))
        app.jobs.sync(tenant, "jobfake")
        own_ids[tenant] = {f"{tenant}-{i}" for i in range(len(specs))}
    tenant = tenants[0]
    index = pick.draw(st.integers(0, len(mine) - 1))
    spec, target = mine[index], f"{tenant}-{index}"
    word = pick.draw(st.sampled_from(spec["title"].split()))
    for query in (spec["ref"], spec["ref"].lower(), word, word.upper(), spec["city"]):
        found = ids(app.jobs.search(tenant, query, limit=500))
        assert target in found, query
        assert set(found) <= own_ids[tenant], query
    for query in (None, word, spec["city"]):
        assert set(ids(app.jobs.search(tenants[1], query, limit=500))) <= own_ids[tenants[1]]
    # Any piece of 3+ letters or digits of the reference or ATS id ranks the job first (in the
    # first tier: only jobs whose identifiers hold it too come before or beside it).
    for ident in (spec["ref"], target):
        start = pick.draw(st.integers(0, len(ident) - 3))
        piece = ident[start : pick.draw(st.integers(start + 3, len(ident)))]
        if len(job_index.compact(piece)) < 3:
            continue
        page = app.jobs.search(tenant, piece, limit=500)
        found = ids(page)
        assert target in found, piece
        for item in page.items[: found.index(target) + 1]:
            assert item.match in ("reference", "identifier"), (piece, item.ats_id, item.match)
            held = (job_index.compact(item.ats_id), job_index.compact(item.reference))
            assert any(job_index.compact(piece) in h for h in held), (piece, item.ats_id)
