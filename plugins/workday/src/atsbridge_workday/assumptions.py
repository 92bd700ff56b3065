"""Every UNCONFIRMED choice this plugin makes about Workday, in one place.

The API notes mark these [U] or [3P]: nothing public pins them down. Each constant says what
was chosen and why, and README.md lists them for the customer; correct them here, not in
the code that uses them.
"""

from __future__ import annotations

from atsbridge.model import CandidateStatus, JobStatus, RateLimit

# --- identifiers --------------------------------------------------------------------------

# The requisition's Job_Requisition_ID is both Job.ats_id and Job.reference: it is the id a
# recruiter sees and types, and the WID of a requisition differs between a tenant and its
# sandbox copies, so links made on one would break on the other.
REQUISITION_ID_TYPE = "Job_Requisition_ID"
REQUISITION_STATUS_ID_TYPE = "Job_Requisition_Status_ID"
CANDIDATE_ID_TYPE = "Candidate_ID"
APPLICATION_ID_TYPE = "Job_Application_ID"
STAGE_ID_TYPE = "Recruiting_Stage_ID"
LOCATION_ID_TYPE = "Location_ID"
# A reference may carry only a WID (its wd:type differs from the business id type). Such a
# WID then stands in as the id, and an id of the WID's form (32 lower-case hex digits) is
# sent back with wd:type="WID"; business ids of that form would be misread (none known).
WID_TYPE = "WID"
WID_PATTERN = r"[0-9a-f]{32}"

# --- requisition status --------------------------------------------------------------------

# Frozen as "on hold" is [U]. A status this table does not know is reported as on hold: the
# job is neither treated as open (no sourcing into it) nor closed (no close event fired on a
# guess); status_raw keeps Workday's word.
REQUISITION_STATUS = {
    "Open": JobStatus.OPEN,
    "Filled": JobStatus.CLOSED,
    "Closed": JobStatus.CLOSED,
    "Frozen": JobStatus.ON_HOLD,
}
UNKNOWN_REQUISITION_STATUS = JobStatus.ON_HOLD

# --- requisition dates ---------------------------------------------------------------------

# A requisition's opening date (Job.created_at, which the core's "most recent first" uses
# when there is no update time): its Recruiting_Start_Date (notes 4.9). It is an xsd:date,
# with or without an offset ("2026-10-01" or "2026-10-01-08:00"); it is read as midnight at
# that offset, UTC without one. Target_Hire_Date is a plan, not a change: not used.
# Requisition data carries no update time, so Job.updated_at stays empty; the transaction
# log would give one only at an extra request per requisition (not spent).
REQUISITION_OPENED_FIELD = "Recruiting_Start_Date"

# --- pipeline stages -----------------------------------------------------------------------

# Recruiting_Stage_ID values are tenant-configurable and undocumented; these follow the
# stage names of Workday's default recruiting business process.
STAGE_STATUS = {
    "REVIEW": CandidateStatus.NEW,
    "SCREEN": CandidateStatus.IN_REVIEW,
    "ASSESSMENT": CandidateStatus.IN_REVIEW,
    "INTERVIEW": CandidateStatus.INTERVIEWING,
    "REFERENCE_CHECK": CandidateStatus.INTERVIEWING,
    "OFFER": CandidateStatus.OFFERED,
    "EMPLOYMENT_AGREEMENT": CandidateStatus.OFFERED,
    "BACKGROUND_CHECK": CandidateStatus.OFFERED,
    "READY_FOR_HIRE": CandidateStatus.HIRED,
    "HIRED": CandidateStatus.HIRED,
}
UNKNOWN_STAGE_STATUS = CandidateStatus.IN_REVIEW
# Any Disposition_Reference means the application is closed; one whose id mentions this
# word was the candidate's own choice.
WITHDRAWN_DISPOSITION_MARKER = "WITHDR"
# Some versions require a stage on a new job application (notes 4.9); new leads enter here.
NEW_APPLICATION_STAGE = "REVIEW"

# The account-wide listing: Get_Candidates with no Job_Requisition_Reference (notes 5), the
# transaction log window for updated_since. Each application is listed on its requisition;
# one naming it by WID only is resolved to its Job_Requisition_ID by one Get_Job_Requisitions
# per page for the WIDs not seen before in the session (a WID Workday does not know then
# stays the job id). Several applications of one person on one requisition: the latest.

# --- lead push -----------------------------------------------------------------------------

# A candidate a requisition's Get_Candidates returns without an application on it (none
# at all, or none naming the requisition under any of its ids) stays in the pipeline with
# this status and no stage: the service says they are on it.
UNMATCHED_APPLICATION_STATUS = CandidateStatus.NEW
# Name_Data is written flat (First_Name/Last_Name directly inside), as the WSDL-generated
# types have it; the Legal_Name/Name_Detail_Data wrapper is accepted when reading.
NAME_DATA_WRAPPED_ON_WRITE = False
# LinkedIn goes in Contact_Data/Website_Data/URL_Address: it needs no tenant-specific
# social network type id, which Social_Media_Account_Data would. Both are read.
LINKEDIN_CONTAINER = "Website_Data"
LINKEDIN_URL_ELEMENT = "URL_Address"
# Phone element name inside Contact_Data.
PHONE_ELEMENT = "Phone_Number"
# Experience end year element (the notes show only Start_Year).
EXPERIENCE_END_ELEMENT = "End_Year"
# A new person is created with Add_Only="true" (never update a match). An existing person
# (found by email) gets the job application added under their Candidate_Reference with
# Add_Only="false"; their name is sent back as stored and their contact data is left alone.
ADD_ONLY_NEW = "true"
ADD_ONLY_EXISTING = "false"
# Reading several requisitions by id: skip unknown ids instead of faulting the whole call.
SKIP_NON_EXISTING = True
STATUS_BATCH = 50

# --- transport -----------------------------------------------------------------------------

# OAuth2 access tokens are sent to the SOAP endpoint as an HTTP Bearer header.
OAUTH_BEARER_ON_SOAP = True
# No published figures: ~10 calls/s is the folklore ceiling; pace 5 % under it (burst one
# under a second's worth), one at a time.
RATE_LIMIT = RateLimit(requests_per_second=9.5, burst=9, max_concurrency=1)
# Response_Filter Count bounds.
MAX_PAGE_SIZE = 999
