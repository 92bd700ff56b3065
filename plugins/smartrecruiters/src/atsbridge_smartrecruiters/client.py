"""The SmartRecruiters Customer API client, on the SDK's HttpClient.

Every choice the API notes mark UNCONFIRMED lives in the constants block below (and in the
README's "UNCONFIRMED assumptions" section), so correcting one is a one-line change.
"""

from __future__ import annotations

# --- UNCONFIRMED choices (see README) -----------------------------------------------------
# Key of the LinkedIn URL inside the candidate's ``web`` object. The Candidate API documents
# ``linkedin``; the newer Application API spells it ``linkedIn``. We write ``linkedin`` and
# read either.
LINKEDIN_KEY = "linkedin"
LINKEDIN_KEYS_READ = ("linkedin", "linkedIn")
# ``attachmentType`` for the resume upload. GENERIC_FILE is the documented default; RESUME
# is what the file is, so we ask for it first and fall back when the API refuses the type.
RESUME_ATTACHMENT_TYPE = "RESUME"
FALLBACK_ATTACHMENT_TYPE = "GENERIC_FILE"
# Putting an existing candidate on a job (no body). Plausible from the API's resource layout
# (``/candidates/{id}/jobs/{jobId}/status`` is documented); the bare path is not.
ASSIGN_PATH = "/candidates/{candidate_id}/jobs/{job_id}"
# Listing a candidate's attachments, to avoid uploading the resume twice on a replay.
ATTACHMENTS_PATH = "/candidates/{candidate_id}/attachments"
# Looking a person up by email: the candidates listing's full-text ``q`` (no documented
# email filter); results are then matched on the exact address locally.
EMAIL_LOOKUP_PARAM = "q"
# SmartRecruiters' CREATED job status (created, not yet sourcing) is reported as a draft.
CREATED_IS_DRAFT = True
