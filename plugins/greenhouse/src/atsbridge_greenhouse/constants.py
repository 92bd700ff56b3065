"""Every Greenhouse fact this plugin relies on, in one place.

Items marked UNCONFIRMED are choices made where the API notes are not sure (tag [U]); the
README lists the same items. Correct them here and both the client and the sandbox follow.
"""

from __future__ import annotations

from atsbridge.model import RateLimit
from atsbridge_sdk.sandbox import WindowLimit

API_VERSION = "Harvest v3"
DEFAULT_BASE_URL = "https://harvest.greenhouse.io"
DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"
API_PREFIX = "/v3"

MAX_PER_PAGE = 500
MAX_IDS_PER_CALL = 50  # documented cap on comma lists (ids, *_ids)

# UNCONFIRMED: v3 rate numbers. v1 documented ~50 requests per 10 s; v3 is said to use a
# 30 s window without a published number. The sandbox enforces 50 per 10 s, and the client
# paces to 4.6 req/s with a burst of 4, i.e. at most 50 requests in any 10 s (and 142 in any
# 30 s): a long pass runs within 1.09x of the window's floor instead of 1.25x. It also pauses
# whenever X-RateLimit-Remaining reaches 0 until X-RateLimit-Reset, which is what yields to
# the customer's other integrations sharing the window.
RATE_WINDOW = WindowLimit(limit=50, seconds=10.0)
CLIENT_RATE_LIMIT = RateLimit(requests_per_second=4.6, burst=4, max_concurrency=2)

# UNCONFIRMED: X-RateLimit-Reset carries epoch seconds (the SDK also accepts delta seconds).
# UNCONFIRMED: error bodies are {"errors": ["..."]} for every status (notes 1.10 show it for
# 422; 404 text "Resource not found").

# UNCONFIRMED: incremental pipeline reads filter applications on ``last_activity_at`` (the
# date filter the notes list for /v3/applications; a stage move is activity), with the same
# operator syntax as ``updated_at`` on jobs.
APPLICATIONS_UPDATED_PARAM = "last_activity_at"

# UNCONFIRMED: GET /v3/offices?ids= exists (flat read rule) and offices carry
# ``location.name`` free text as in v1. A 403/404 there degrades to jobs without locations.
OFFICES_PATH = "/v3/offices"

# UNCONFIRMED: whether editing a job post moves the job's ``updated_at``. Incremental syncs
# reuse the mirror's location and description of a job whose ``updated_at`` did not move,
# so a post edit that leaves the job untouched waits for the next full sync (README).

# UNCONFIRMED: GET /v3/candidate_educations?candidate_ids= and
# /v3/candidate_employments?candidate_ids= exist (flat list rule). They let a replayed push
# skip what already landed; on 403/404 a replay does not re-add educations/employments.
EDUCATIONS_PATH = "/v3/candidate_educations"
EMPLOYMENTS_PATH = "/v3/candidate_employments"

# UNCONFIRMED: how an API without the reads the notes do not list (offices above, the
# educations/employments lists) refuses them: 404 (no such path), 405 (the path takes POST
# only), 422 (our guessed filter is unknown there) or 403 (no such scope to grant). Any of
# these, or rows of another shape, degrades (jobs without locations; a replayed push that
# cannot see what already landed) instead of failing a sync or a push.
UNLISTED_READ_REFUSALS = (403, 404, 405, 422)

# UNCONFIRMED: whether a credential holds harvest:attachments:list and
# harvest:custom_field_options:list (the notes' admin steps do not tick them). Refused
# (403/404), educations cannot be matched to options (reported unsupported) and an
# application this push did not create gets no attachments (reported), see README.

# UNCONFIRMED: create answers (notes 1.7 elide all but the id). Only the new records' ids
# are relied on; an application without ``candidate_id`` takes the person's, without
# ``status`` it reads as in process.

# UNCONFIRMED: education/employment dates are sent as ISO timestamps at the first day of the
# lead's month/year ("2019-01-01T00:00:00.000Z"), as v1 returned them.

# Custom field keys for education options (notes 1.3).
SCHOOL_KEY = "school_name"
DEGREE_KEY = "degree"
DISCIPLINE_KEY = "discipline"

# Lead degree spellings -> Greenhouse's default degree option names (normalized).
DEGREE_ALIASES = {
    "msc": "master s degree",
    "ms": "master s degree",
    "ma": "master s degree",
    "meng": "master s degree",
    "master": "master s degree",
    "masters": "master s degree",
    "bsc": "bachelor s degree",
    "bs": "bachelor s degree",
    "ba": "bachelor s degree",
    "beng": "bachelor s degree",
    "bachelor": "bachelor s degree",
    "bachelors": "bachelor s degree",
    "phd": "doctor of philosophy ph d",
    "ph d": "doctor of philosophy ph d",
    "doctorate": "doctor of philosophy ph d",
    "mba": "master of business administration m b a",
}

# Application statuses as rows show them (notes 1.5); ``active`` is the query spelling.
APPLICATION_QUERY_STATUSES = ("active", "rejected", "hired", "converted")

# UNCONFIRMED: the first lead attachment is pushed as type "resume", further ones as "other".
RESUME_TYPE = "resume"
OTHER_ATTACHMENT_TYPE = "other"
