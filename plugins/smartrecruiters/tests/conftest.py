from __future__ import annotations

import pytest
from atsbridge.model import SandboxOptions
from atsbridge_smartrecruiters.sandbox import SmartRecruitersSandbox

# 12 jobs x 4 people: small enough to be fast, enough for several pages at small limits.
OPTIONS = SandboxOptions(seed=7, jobs=12, candidates_per_job=4)


@pytest.fixture
def sandbox():
    box = SmartRecruitersSandbox(OPTIONS)
    box.start()
    try:
        yield box
    finally:
        box.stop()
