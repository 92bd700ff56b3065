"""Every choice made where ATS-API-NOTES §2 marks Lever's behaviour UNCONFIRMED ([U]).

Kept in one module so that a correction from Lever's real answers is a one-line change.
The README's "UNCONFIRMED assumptions" section lists the same items with the reasoning.
"""

from __future__ import annotations

from atsbridge.model import RateLimit

# Multipart field name for POST /opportunities/{id}/files.
FILE_FIELD = "file"
# Lever's documented upload cap; larger files are refused before anything is created.
MAX_FILE_BYTES = 30 * 1024 * 1024
# Key of an archive reason that says hired vs non-hired, and its "hired" value.
ARCHIVE_REASON_TYPE_KEY = "type"
ARCHIVE_REASON_HIRED = "hired"
# A lead's phone has no type; Lever's phone types are mobile/home/work/skype/other.
LEAD_PHONE_TYPE = "other"
# Body key of POST /opportunities/{id}/notes.
NOTE_VALUE_KEY = "value"
# Lever publishes ~10 req/s per key with bursts of 20. We pace 5 % under the rate and one
# under the burst, so arrival jitter at Lever's side never meets an empty bucket.
RATE_LIMIT = RateLimit(requests_per_second=9.5, burst=19, max_concurrency=4)
# Creating opportunities (applications) is capped at 2/s; we pace those at 1.5/s.
APPLICATION_POSTS_PER_SECOND = 1.5
# Retry-After on 429 is not promised; the SDK client falls back to exponential backoff.
# GET /postings/{id} is not in the notes (only the postings list is). Answers that may mean
# "no such endpoint" rather than "no such posting" are settled by one scan of the list:
# a posting the list holds is there whatever the single read said, and a 405, or a posting
# the single read missed but the list holds, stops single reads for the session.
SINGLE_POSTING_REFUSALS = (403, 404, 405)
# GET /opportunities/{id}/notes and /files are not in the notes either (only their POSTs).
# They let a replayed push see what a lost response already added. Refused with one of
# these, or answered in another shape, a replay adds no note or file it cannot rule out
# and reports the lead fields they carry as unsupported instead of risking duplicates.
UNLISTED_READ_REFUSALS = (400, 403, 404, 405)
# Confidential postings and their opportunities are listed only with confidentiality=all
# (notes §5; Lever's default is non-confidential). How Lever refuses that to a key without
# confidential access is not documented: we take a 403 (or a 400 from an API that does not
# know the value) on the probe as "this key may not", fall back to the default listing and
# warn. A key that is silently served the non-confidential part cannot be told apart.
ALL_CONFIDENTIALITY = {"confidentiality": "all"}
CONFIDENTIAL_REFUSALS = (400, 403)
CONFIDENTIAL_HINT = (
    "To sync them, a Lever Super Admin edits the API key in Settings > Integrations and API > "
    "API Credentials and turns on access to confidential data (for an OAuth2 app: re-consent "
    "with confidential access), then reconnect."
)
