"""Deterministic fake data every sandbox draws from: the same seed, the same world.

Each plugin's sandbox turns these neutral records into its ATS's own shapes, so the four
fakes hold comparable data and the contract kit can reason about it.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import attrs

# Seeding progress: ``(phase, people done, people in all)``, phase "generating" while
# make_world draws people and "loading" while a sandbox reads each job's pipeline into its
# own shapes. A large sandbox takes a minute to seed; this is how the CLI shows it moving.
ProgressCallback = Callable[[str, int, int], None]
_PROGRESS: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar(
    "atsbridge_seed_progress", default=None
)
_REPORT_EVERY = 1000  # people; often enough to look alive, rare enough to cost nothing


@contextlib.contextmanager
def seed_progress(callback: ProgressCallback) -> Iterator[None]:
    """Within this block, ``make_world`` and the worlds it makes report to ``callback``."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


FIRST = [
    "Ada",
    "Jonas",
    "Priya",
    "Tomasz",
    "Maria",
    "Ana",
    "Léa",
    "Noah",
    "Yuki",
    "Omar",
    "Chloé",
    "Mateo",
    "Ingrid",
    "Kwame",
    "Sofia",
    "Björn",
    "Amara",
    "Luca",
    "Mei",
    "Rahul",
]
LAST = [
    "Quinton",
    "Keller",
    "Raman",
    "Wójcik",
    "Okafor",
    "Souza",
    "Dubois",
    "Smith",
    "Tanaka",
    "Haddad",
    "Moreau",
    "García",
    "Larsen",
    "Mensah",
    "Rossi",
    "Nyström",
    "Eze",
    "Bianchi",
    "Chen",
    "Iyer",
]
COMPANIES = [
    "Globex",
    "Initech",
    "Northwind Ltd",
    "Tejo Labs",
    "Delta Freight",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Acme Corp",
    "Stark Logistics",
]
TITLE_LEVELS = ["Senior", "Staff", "Junior", "Lead", "Principal", ""]
TITLE_ROLES = [
    "Backend Engineer",
    "Product Designer",
    "Data Engineer",
    "Store Manager",
    "Warehouse Lead",
    "QA Engineer",
    "Account Executive",
    "Nurse",
    "Accountant",
    "Site Reliability Engineer",
    "Marketing Manager",
    "Data Scientist",
]
TITLE_AREAS = ["Payments", "Growth", "Platform", "Logistics", "Retail", "Search", "Billing"]
DEPARTMENTS = ["Engineering", "Design", "Retail", "Operations", "Sales", "Finance", "Marketing"]
# (city, region, region code, country, ISO country code)
PLACES = [
    ("Paris", "Île-de-France", "idf", "France", "FR"),
    ("Berlin", "Berlin", "be", "Germany", "DE"),
    ("Leeds", "England", "eng", "United Kingdom", "GB"),
    ("Lisbon", "Lisboa", "lis", "Portugal", "PT"),
    ("Kraków", "Lesser Poland", "pl-12", "Poland", "PL"),
    ("Austin", "Texas", "TX", "United States", "US"),
    ("Toronto", "Ontario", "ON", "Canada", "CA"),
    ("São Paulo", "São Paulo", "SP", "Brazil", "BR"),
    ("Osaka", "Osaka", "27", "Japan", "JP"),
    ("Lagos", "Lagos", "LA", "Nigeria", "NG"),
]
COUNTRY_PHONE = {
    "FR": "+33 6 12 {:02d} {:02d} {:02d}",
    "DE": "+49 30 12{:02d}{:02d}{:02d}",
    "GB": "+44 20 7946 {:02d}{:02d}",
    "PT": "+351 912 {:02d}{:02d} {:02d}",
    "PL": "+48 512 {:02d}{:02d} {:02d}",
    "US": "+1 512 555 {:02d}{:02d}",
    "CA": "+1 416 555 {:02d}{:02d}",
    "BR": "+55 11 9{:02d}{:02d}-{:02d}00",
    "JP": "+81 6 6{:02d}{:02d} {:02d}00",
    "NG": "+234 803 {:02d}{:02d} {:02d}0",
}
BASE_TIME = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


@attrs.define
class SeedPlace:
    city: str
    region: str
    region_code: str
    country: str
    country_code: str


@attrs.define
class SeedJob:
    key: int
    title: str
    reference: str
    department: str
    place: SeedPlace
    status: str  # "open" | "closed" | "draft" | "on_hold"
    description: str
    created_at: datetime
    updated_at: datetime


@attrs.define
class SeedPerson:
    key: int
    first_name: str
    last_name: str
    email: str
    phone: str
    linkedin_url: str
    company: str
    title: str
    place: SeedPlace
    status: str  # unified CandidateStatus value
    created_at: datetime
    updated_at: datetime


STATUS_WEIGHTS = [
    ("new", 4),
    ("in_review", 3),
    ("interviewing", 2),
    ("offered", 1),
    ("hired", 1),
    ("rejected", 3),
    ("withdrawn", 1),
]


def _slug(text: str) -> str:
    table = str.maketrans("éèêëáàâãäóòôõöúùûüíìîïçñøåłśźżß", "eeeeaaaaaooooouuuuiiiicnoalszzs")
    return "".join(c for c in text.lower().translate(table) if c.isalnum())


def make_person(rng: random.Random, key: int, when: datetime) -> SeedPerson:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    place = SeedPlace(*rng.choice(PLACES))
    handle = f"{_slug(first)}.{_slug(last)}.{key}"
    digits = [rng.randrange(100) for _ in range(3)]
    status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
    return SeedPerson(
        key=key,
        first_name=first,
        last_name=last,
        email=f"{handle}@example.org",
        phone=COUNTRY_PHONE[place.country_code].format(*digits),
        linkedin_url=f"https://www.linkedin.com/in/{_slug(first)}-{_slug(last)}-{key}",
        company=rng.choice(COMPANIES),
        title=rng.choice(TITLE_ROLES),
        place=place,
        status=status,
        created_at=when,
        updated_at=when,
    )


class _LoadingPipelines(dict[int, list[SeedPerson]]):
    """The pipelines, counting the people handed out: every sandbox reads each job's
    pipeline once while seeding, so this reports its loading without code of its own."""

    def __init__(self, data: dict[int, list[SeedPerson]], total: int, report: ProgressCallback):
        super().__init__(data)
        self._total, self._report, self._done, self._told = total, report, 0, 0
        self._seen: set[int] = set()

    def __getitem__(self, key: int) -> list[SeedPerson]:
        people = super().__getitem__(key)
        if key not in self._seen:
            self._seen.add(key)
            self._done += len(people)
            if self._done - self._told >= _REPORT_EVERY or self._done == self._total:
                self._told = self._done
                self._report("loading", self._done, self._total)
        return people


@attrs.define
class SeedWorld:
    jobs: list[SeedJob]
    pipelines: dict[int, list[SeedPerson]]  # job key -> people in its pipeline


def make_world(seed: int = 1, jobs: int = 30, candidates_per_job: int = 5) -> SeedWorld:
    """A reproducible set of jobs (most open, some closed/draft/on hold) with pipelines."""
    rng = random.Random(seed)
    report = _PROGRESS.get()
    total = jobs * candidates_per_job
    out: list[SeedJob] = []
    pipelines: dict[int, list[SeedPerson]] = {}
    person_key = 1
    for key in range(1, jobs + 1):
        level, role, area = (
            rng.choice(TITLE_LEVELS),
            rng.choice(TITLE_ROLES),
            rng.choice(TITLE_AREAS),
        )
        title = " ".join(p for p in (level, role) if p) + f", {area}"
        place = SeedPlace(*rng.choice(PLACES))
        created = BASE_TIME + timedelta(hours=7 * key, minutes=rng.randrange(60))
        updated = created + timedelta(days=rng.randrange(1, 40), seconds=rng.randrange(3600))
        status = rng.choices(["open", "closed", "draft", "on_hold"], [14, 3, 2, 1])[0]
        dept = rng.choice(DEPARTMENTS)
        out.append(
            SeedJob(
                key=key,
                title=title,
                reference=f"{dept[:3].upper()}-{1000 + key * 7}",
                department=dept,
                place=place,
                status=status,
                description=f"<p>Join our {dept} team in {place.city} as {title}.</p>",
                created_at=created,
                updated_at=updated,
            )
        )
        people = []
        for _ in range(candidates_per_job):
            when = created + timedelta(hours=rng.randrange(1, 500))
            people.append(make_person(rng, person_key, when))
            if report is not None and (person_key % _REPORT_EVERY == 0 or person_key == total):
                report("generating", person_key, total)
            person_key += 1
        pipelines[key] = people
    if report is not None:
        pipelines = _LoadingPipelines(pipelines, total, report)
    return SeedWorld(out, pipelines)
