"""The whole plugin contract: every hook a plugin may implement, documented where declared.

There are three kinds of hook:

* **Describe** hooks tell the host what a plugin is (``atsbridge_plugin_info``) and give it
  a fake of its ATS for tests and the demo (``atsbridge_sandbox``).
* **ATS** hooks talk to one customer's ATS. The core calls them on *one* plugin, the one a
  connection names, never as a broadcast. The session returned by ``atsbridge_open_session``
  is passed back to every other ATS hook of that plugin.
* **Event** hooks are broadcast to every installed plugin so that other plugins can observe
  what the core does. Their return values are ignored.

All hooks are plain synchronous functions. Concurrency comes from the host's worker threads
across connections and from the SDK client's per-connection limits; a plugin must not start
threads or event loops of its own. A hook signals failure by raising one of
``atsbridge.errors``: ``AuthError`` (credentials rejected), ``AtsUnavailable`` (down,
throttled past retries), ``AtsError`` (refused), ``PayloadError`` (malformed ATS data).
"""

from __future__ import annotations

from typing import Any

import pluggy

from atsbridge.model import (
    CandidateQuery,
    CandidateStatusChanged,
    JobClosed,
    JobQuery,
    JobReopened,
    LeadExported,
    LoggedEvent,
    PluginInfo,
    SandboxOptions,
    SessionContext,
    WebhookRequest,
)

PROJECT = "atsbridge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# Hooks the core calls on one plugin at a time (the connection's plugin).
ATS_HOOKS = (
    "atsbridge_open_session",
    "atsbridge_search_jobs",
    "atsbridge_list_candidates",
    "atsbridge_job_statuses",
    "atsbridge_push_lead",
)
# Optional ATS hooks for ATSs that push (``Capability.WEBHOOKS``), also called on one plugin.
WEBHOOK_HOOKS = (
    "atsbridge_webhook_receive",
    "atsbridge_webhook_subscribe",
    "atsbridge_read_candidate",
)
# Hooks every ATS plugin must implement to be usable at all.
REQUIRED_HOOKS = ("atsbridge_plugin_info", *ATS_HOOKS)


# --- describe --------------------------------------------------------------------------


@hookspec
def atsbridge_plugin_info() -> PluginInfo:  # type: ignore[empty-body]
    """Describe this plugin: name, version, capabilities, config schema, setup steps.

    ``name`` is the ATS key used on the command line (``greenhouse``). ``config_schema`` is a
    JSON Schema (draft 2020-12) of the connection config; fields marked ``"writeOnly": true``
    or ``"x-secret": true`` are encrypted at rest and masked on output. It should offer an
    optional ``base_url`` defaulting to the production API. ``setup_instructions`` is
    Markdown: the steps the customer's ATS admin follows to create the credentials and which
    permissions to grant. ``requires_core`` is a PEP 440 specifier of the core versions the
    plugin works with; a plugin whose specifier excludes the running core is not loaded.
    """


@hookspec
def atsbridge_sandbox(options: SandboxOptions) -> Any:
    """Return this plugin's fake ATS, not yet started.

    The object follows ``atsbridge_sdk.sandbox.Sandbox``: ``start()``, ``stop()``, ``url``,
    ``connection_config()`` (a config that authenticates against it) and the mutation and
    inspection methods the contract kit and the demo use. It must only listen on loopback.
    """


# --- ATS ---------------------------------------------------------------------------------


@hookspec
def atsbridge_open_session(config: dict, context: SessionContext) -> Any:
    """Authenticate against the ATS and return a session for the other ATS hooks.

    ``config`` is the connection config with secrets decrypted. The hook must prove the
    credentials work with one cheap authenticated request, so that it doubles as "test
    connection", and raise ``AuthError`` with a message naming what to fix when they do not.
    The session must have ``close()``; the core calls it when done. Rotated credentials go
    back through ``context.save_secrets``.
    """


@hookspec
def atsbridge_search_jobs(session: Any, query: JobQuery) -> Any:
    """Return one ``Page[Job]`` of the ATS's jobs, most recently updated first where possible.

    ``query.cursor`` is None for the first page, else the ``next_cursor`` of the previous
    page, which the core checkpoints so a killed sync resumes there. ``updated_since`` must
    be applied by the ATS (a run with no changes costs one request), ``statuses`` and
    ``text`` where the ATS supports them; the core filters again locally, so a plugin may
    return a superset but never a subset.

    On incremental syncs ``query.mirrored`` (optional to use) returns the core's stored copy
    of given job ids. A plugin that completes each job with further requests (descriptions,
    locations) may take those fields from the copy of a job whose ``updated_at`` is the one
    the ATS reports now, so the overlap window's repeat of unchanged jobs costs no extra
    request. A field the ATS can change without moving the job's ``updated_at`` may then stay
    stale until the next full pass (``--full``), which offers no copy.
    """


@hookspec
def atsbridge_list_candidates(session: Any, query: CandidateQuery) -> Any:
    """Return one ``Page[Candidate]`` of one job's pipeline, every stage included.

    With ``query.job_ats_id`` None (asked only of a plugin declaring
    ``Capability.ACCOUNT_CANDIDATES``) the page is of every application in the account, each
    candidate naming its own job; an application without a job is left out.
    Rejected, hired and prospect applications count: the do-not-source list needs everyone.
    Paging and ``updated_since`` follow the same rules as ``atsbridge_search_jobs``.
    """


@hookspec
def atsbridge_job_statuses(session: Any, job_ids: list[str]) -> Any:
    """Return a ``list[JobState]``, one for each id asked, in any order.

    A job the ATS no longer knows is reported with ``exists=False`` and status ``closed``;
    the core treats it as closed.
    """


@hookspec
def atsbridge_push_lead(session: Any, job_id: str, lead: Any, idempotency_key: str) -> Any:
    """Create ``lead`` (a ``Lead``) as a candidate with an application on ATS job ``job_id``.

    Must be safe to call again with the same ``idempotency_key`` after a timeout or crash:
    look the person up first (by email where the ATS allows) and attach the application to
    an existing candidate instead of creating a second one; report that with
    ``already_existed=True``. Return a ``PushResult`` naming every lead field the ATS could
    not take in ``unsupported``.
    """


# --- inbound webhooks (optional) ---------------------------------------------------------


@hookspec
def atsbridge_webhook_receive(request: WebhookRequest) -> Any:
    """Verify one pushed delivery and parse it into the changes it announces.

    ``request`` is a ``WebhookRequest``: lower-cased headers, the exact raw body, the
    receive time (for freshness windows) and the connection's decrypted webhook secrets.
    The hook checks the ATS's signature over the raw bytes in constant time and parses the
    body; it is pure: no I/O, no session, no clock of its own.

    Returns a ``WebhookDelivery``: its ``delivery_id`` (stable across the ATS's retries, the
    inbox dedupes on it), its ``events`` (``()`` for a ping or a handshake) and the status and
    headers to answer with (SmartRecruiters: 202 and the ``X-Hook-Secret`` echo).

    Raises ``WebhookRefused`` for a missing, bad or stale signature (the receiver answers
    401 and stores nothing) and ``PayloadError`` for a body that passed the signature but
    has not the expected shape (answered 400).

    Called by: the ``/hooks/{ats}/{hook_id}`` receiver, on the plugin of the connection the
    hook id names, before anything is stored. Only for plugins declaring
    ``Capability.WEBHOOKS``.

    Threads: the HTTP server's request threads, several at once; keep no state.
    """


@hookspec
def atsbridge_webhook_subscribe(session: Any, callback_url: str) -> Any:
    """Subscribe ``callback_url`` to the ATS's events through the ATS's own API.

    For ATSs that set webhooks up by API rather than in an admin screen (SmartRecruiters:
    create the subscription, activate it (the ATS then calls ``callback_url`` with an
    ``X-Hook-Secret`` that ``atsbridge_webhook_receive`` echoes), fetch the signing key).
    Subscribing again for the same URL must not create a second subscription.

    Returns a ``WebhookSubscription`` (``secret``, ``external_id``, ``events``); the core
    stores the secret encrypted and shows it once.

    Raises ``AuthError``, ``AtsError`` (e.g. the credentials lack the webhooks scope, named
    in the message), ``AtsUnavailable``, as other ATS hooks.

    Called by: ``atsbridge webhooks setup`` and its API equivalent, after the receiver is
    registered so the activation call can be answered.

    Threads: the caller's thread; the activation call arrives on a server thread meanwhile.
    """


@hookspec
def atsbridge_read_candidate(session: Any, candidate_ats_id: str) -> Any:
    """Re-read one person after a candidate event: their current pipeline entries.

    ``candidate_ats_id`` is in the same id space as ``Candidate.ats_id``. The core re-reads
    instead of trusting a webhook body (Lever's signature does not cover it), with one or
    two requests, never a walk of the account.

    Returns a ``tuple[Candidate, ...]``: one per job application of that person, each with
    its ``job_ats_id``; ``()`` when the person no longer exists in the ATS.

    Raises ``AuthError``, ``AtsError``, ``AtsUnavailable``, ``PayloadError`` as other ATS hooks.

    Called by: the webhook processor (``atsbridge.webhooks``), for ``candidate`` and
    ``candidate_merged`` events of connections whose plugin declares ``Capability.WEBHOOKS``.

    Threads: the processor's worker thread, one call at a time per session.
    """


# --- events --------------------------------------------------------------------------------


@hookspec
def atsbridge_job_closed(event: JobClosed) -> None:
    """A linked job was closed (or deleted) in the ATS. Fired once per closing."""


@hookspec
def atsbridge_job_reopened(event: JobReopened) -> None:
    """A linked job that was closed is open in the ATS again."""


@hookspec
def atsbridge_lead_exported(event: LeadExported) -> None:
    """A lead was created (or found existing) in the ATS."""


@hookspec
def atsbridge_candidate_status_changed(event: CandidateStatusChanged) -> None:
    """An exported lead's status in the ATS changed (the funnel moved)."""


@hookspec
def atsbridge_event(event: LoggedEvent) -> None:
    """Any domain event of the durable log, once it has committed, in log order per change.

    Every type the feed carries arrives here (``job.closed`` ... ``sync.finished``,
    ``connection.credentials_failing``), besides the typed hooks above for the types that
    have one: an observer plugin sees what the product's webhooks see, with the same id.
    Called by the service that made the change, in its thread, after its commit; an
    exception is logged and never undoes the change.
    """
