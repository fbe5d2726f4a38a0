"""Schemathesis hooks of dancu's fuzzing gate (tests/fuzz/schemathesis.sh).

`positive_data_acceptance` (built in) fails when a request that the OpenAPI document calls
valid is refused. dancu's document states every rule of a single value that a JSON Schema can
state (patterns, ranges, enums, per-variant required fields). Some rules cannot be stated
there: they depend on stored data or on several values at once. The API answers those with
422 and names the rule (`error.violations[].rule`).

So the gate lets the built-in check take 422 (schemathesis.toml) and puts this stricter check
beside it: a schema-valid request may be refused with 422 only when *every* violated rule is
in SEMANTIC_RULES below, each with the reason the document cannot express it. Any other rule
(a pattern, length or enum the document should have stated) fails the run.

`map_case` steers half of the generated citizen records past the rules between fields (the
personal ID's birth year and sex), so that creations and updates reach the store instead of
all stopping at validation; the records stay schema-valid.

It also counts the responses (written to $DANCU_FUZZ_STATS when set) for the gate's summary.
"""

import datetime
import json
import os
import re
import threading
from collections import Counter

import schemathesis

# Rule -> why a JSON Schema cannot say it.
SEMANTIC_RULES = {
    # Data the registry holds.
    "unit.unknown": "a well-formed unit code must also be in the official lists (about 14,000 codes)",
    "unit.split": "a legacy commune split over several 2025 communes cannot decide a residence scope",
    "scope.invalid": "a province or commune of a scope must exist in the 2025 list",
    "household.member_unknown": "a member must be a citizen the registry holds, in the caller's scope",
    "household.member_taken": "a member may already belong to another household",
    "unit.unmapped": "a legacy commune with no 2025 successor cannot decide a residence scope",
    "eid.claim_mismatch": "a registration must match the registry's name, birth date and sex",
    "eid.account_exists": "the personal ID may already have an account",
    "citizen.conflict": "the personal ID may already be stored with other data",
    "dedup.keep": "the kept personal ID must be one of the pair's",
    "cmnd.none": "the citizen may have no old CMND number to confirm",
    # Several values at once.
    "id.year_mismatch": "the personal ID encodes a birth year that must match birth_date",
    "id.sex_mismatch": "the personal ID encodes a sex that must match sex",
    "death_date.not_deceased": "death_date only with status deceased",
    "death_date.before_birth": "death_date must follow birth_date",
    "relation.self": "a father, mother or spouse ID must differ from the person's own",
    "residence.required": "one of three residence units must be given",
    "personal_id.path_mismatch": "the body's personal ID must be the path's",
    "household.path_mismatch": "the body's household number must be the path's",
    "household.head_count": "exactly one head (minContains/maxContains, which generators may not honour)",
    "text.mojibake": "likely mis-decoded Vietnamese (VNI, TCVN3) is judged over the whole text, not by character",
    "household.duplicate_member": "a personal ID twice with different relations (uniqueItems compares whole items)",
    "eid.document_holder": "a 12-digit tax code must be the holder's own personal ID (the path's)",
    # State machines: which moves are allowed depends on the record's current state.
    "card.terminal": "a finished application moves no more",
    "card.stage_skip": "a stage can only be reached from the ones before it",
    "card.stage_unchanged": "a move to the current stage",
    "card.stage_back_without_reason": "a step back needs a reason",
    "card.stage_back_not_allowed": "this step back is not allowed",
    "card.stage_not_allowed": "this move is not allowed from the current stage",
    "card.biometrics_missing": "production needs captured biometrics at intake",
    "card.biometrics_under_6": "no fingerprints or iris are taken from a child under 6 (the holder's age)",
    "card.kind_has_card": "a first issue for someone who already holds or held a card",
    "card.kind_no_card": "a change or re-issue for someone who never had a card",
    "card.kind_not_due": "an age change more than 2 years before the card's expiry",
    "eid.transition": "the account's state decides which events apply",
    "eid.unlock_forbidden": "an account locked by its citizen is unlocked by the citizen",
    "eid.lock_reason_required": "the account's state decides whether a reason is needed",
    "eid.locked": "a locked account cannot be upgraded",
    "eid.already_level_2": "the account may already be at level 2",
    "eid.card_missing": "a level-2 upgrade needs a card on record",
    "eid.card_not_valid": "a level-2 upgrade needs a valid card",
    "eid.card_mismatch": "the card on record must match the account",
    "eid.deceased": "the holder may be recorded as deceased",
    "eid.document_transition": "the document's verification state decides the allowed answers",
    # Public-service applications (docs/API.md).
    "application.service_unknown": "a service code must be in the catalogue, which is data (data/services.csv)",
    "application.transition_not_allowed": "the application's state decides which moves apply",
    "application.final_state": "a finished application moves no more and takes no documents",
    "application.reason_required": "the target state decides whether a reason is needed",
    "application.received_on": "the day received cannot be after today, which moves",
    "application.idempotency_key": "a key without control characters (the schema's length is in bytes of UTF-16)",
    "document.base64": "the content must decode as base64",
    "document.empty": "the decoded content must not be empty",
    "document.too_large": "the decoded content is at most 2 MB",
    "document.content_mismatch": "the content must be of the declared media type (its first bytes)",
    "reason.too_long": "at most 500 characters after Unicode normalisation",
    # Residence procedures (docs/RESIDENCE.md): the request depends on the service chosen,
    # on today and on the registry.
    "residence.payload_required": "a residence service (a value of service_code) needs its request; other services take none",
    "residence.payload": "the request's shape depends on its procedure tag (oneOf), which generators may mix",
    "residence.procedure_service": "the request's procedure must belong to the service_code chosen",
    "residence.unit_2025": "a well-formed 2025 commune code must also be in the 2025 list",
    "residence.detail": "an address must hold more than spaces",
    "residence.period": "the end of a period must not be before its start (two fields)",
    "residence.period_past": "a temporary registration must not end before today, which moves",
    "residence.temporary_too_long": "at most two years between two date fields",
    "residence.guest_twice": "a guest twice (uniqueItems, which generators may not honour)",
    "residence.join_as_head": "a person joining a household cannot join as its head (relation against choice)",
    "residence.split_head_leaves": "the new head must be among those who leave (two fields)",
    "residence.two_heads": "the old head cannot stay head beside the new one",
    "residence.household_unknown": "the household must exist in the registry",
    "residence.deceased": "the applicant may be recorded as deceased",
    "residence.consent_not_needed": "only an application joining a household waits for a head's consent",
    "residence.consent_given": "the head may already have consented",
    "residence.head_consent_missing": "the registry decides whether the head consented",
    "residence.household_elsewhere": "the household's residence is in the registry",
    "residence.already_member": "the applicant may already be a member",
    "household.head_leaves": "the applicant may head a household others live in",
    "residence.no_permanent": "the applicant may have no permanent residence",
    "residence.temporary_in_home_commune": "the applicant's permanent residence is in the registry",
    "residence.nothing_to_extend": "the applicant's temporary residence is in the registry",
    "residence.guest_unknown": "a guest must be a citizen the registry holds",
    "residence.not_member": "membership is in the registry",
    # Residence confirmations: a token is checked by its signature, which no pattern can say.
    "confirmation.malformed": "a token is base64url JSON signed with Ed25519; its parts cannot be stated as a pattern",
    "confirmation.bad_signature": "only a signature made with the server's key verifies",
    "confirmation.unknown_key": "the key id must be one of the server's keys",
    "confirmation.not_alive": "the holder may be recorded as deceased or missing",
    "confirmation.no_residence": "the holder may have no residence recorded",
    "confirmation.already_revoked": "the confirmation may already be revoked",
    "confirmation.reason_required": "a revocation needs a reason that is not blank after trimming",
    # Submitted figures (docs/REPORTS.md): the form decides its rows and columns.
    "figures.unit": "a well-formed unit code must also be a 2025 commune or province of the official lists",
    "figures.month": "a month lies between 2020-01 and the current one, which moves",
    "figures.unknown_row": "a form's rows are data (the services catalogue, data/services.csv) and depend on the form chosen",
    "figures.unknown_column": "a form's columns depend on the form chosen (another field)",
    "figures.not_integer": "a count must be whole, the rate column online_pct may have decimals: the column key decides",
    "figures.online_above_received": "online is compared with received (two values)",
    "figures.decided_above_received": "on time plus late is compared with received (three values)",
    "figures.not_accepted_above_received": "not accepted is compared with received (two values)",
    "figures.rate_mismatch": "a typed rate must equal the ratio of two other values",
    "figures.rate_zero_base": "a rate cannot be typed over a zero received (another value)",
    "figures.reason_required": "the action decides whether a reason is needed, and it must not be blank after trimming",
}

_PERSONAL_ID = re.compile(r"^[0-9]{12}$")
_CITIZEN_WRITES = ("POST /api/v1/citizens", "PUT /api/v1/citizens/{id}")


@schemathesis.hook
def map_case(context, case):
    """Ties a generated citizen's birth year and sex (and, for an update, its ID) to its
    personal ID and leaves out the units other than the permanent one (made-up codes are
    rarely in the official lists), for the IDs ending in an even digit: a consistent record
    the API can store."""
    operation = context.operation
    if operation is None or operation.label not in _CITIZEN_WRITES:
        return case
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("citizen"), dict):
        return case
    citizen = body["citizen"]
    pid = citizen.get("personal_id")
    if not isinstance(pid, str) or not _PERSONAL_ID.match(pid) or int(pid[-1]) % 2:
        return case
    path_id = (case.path_parameters or {}).get("id")
    if isinstance(path_id, str) and _PERSONAL_ID.match(path_id):
        citizen["personal_id"] = pid = path_id
    digit = int(pid[3])
    year = 1900 + 100 * (digit // 2) + int(pid[4:6])
    # The document takes birth dates up to last year.
    if year < datetime.date.today().year:
        citizen["birth_date"] = str(year)
        citizen["sex"] = "F" if digit % 2 else "M"
    for unit in ("birth_place", "hometown", "temporary_unit", "current_unit"):
        if unit in citizen:
            citizen[unit] = ""
    return case


_lock = threading.Lock()
_stats = {"responses": 0, "by_status": Counter(), "by_operation": Counter(), "semantic_rules": Counter()}


def _rules(response):
    try:
        body = json.loads(response.content)
        return [v["rule"] for v in body["error"]["violations"]], body["error"]["code"]
    except Exception:  # noqa: BLE001 - anything but an error body
        return None, None


@schemathesis.check
def positive_data_refused_only_by_semantic_rules(ctx, response, case):
    """A schema-valid request refused with 422 must name only rules the schema cannot state."""
    with _lock:
        _stats["responses"] += 1
        _stats["by_status"][response.status_code] += 1
        _stats["by_operation"][f"{case.operation.label} {response.status_code}"] += 1
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return True
    rules, code = _rules(response)
    if not rules:
        raise AssertionError(
            f"a schema-valid request was refused with 422 `{code}` naming no rule: the document "
            "does not state what the API requires"
        )
    unexplained = sorted(set(r for r in rules if r not in SEMANTIC_RULES))
    if unexplained:
        raise AssertionError(
            "a schema-valid request was refused for rules the document should state: "
            + ", ".join(unexplained)
        )
    with _lock:
        _stats["semantic_rules"].update(rules)
    return True


@schemathesis.check
class WriteStats:
    """Writes the response counts to $DANCU_FUZZ_STATS at the end of the run."""

    def after_response(self, ctx, response, case):
        return True

    def after_run(self, ctx):
        path = os.environ.get("DANCU_FUZZ_STATS")
        if path:
            with _lock, open(path, "w") as f:
                json.dump(
                    {
                        "responses": _stats["responses"],
                        "by_status": dict(sorted(_stats["by_status"].items())),
                        "semantic_rules": dict(_stats["semantic_rules"].most_common()),
                        "by_operation": dict(sorted(_stats["by_operation"].items())),
                    },
                    f,
                    indent=1,
                )
