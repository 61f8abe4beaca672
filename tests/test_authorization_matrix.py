"""The authorization matrix: every route of both services, asked by every kind of caller.

`RULES` holds one entry per route of the apps' own route tables (method and path as FastAPI
declares them), so a new route without an entry fails `test_every_route_is_in_the_matrix`.
Each entry names the route's policy, the status an allowed call answers, and how to build a
concrete request for a caller (fixture resources in the path, a valid body). Expectations:

* allowed: exactly that 2xx status (so "allowed" means the call really worked);
* 401 (no key, a key the registry does not know, or a header that is not `Bearer <key>`) and
  403 (a known key without the right), as application/problem+json; and the same answer,
  body and all, when the ids in the path name nothing, so a refusal never tells whether
  something exists;
* a refused or read-only call changes nothing: the registry's audit trail, change feed,
  deliveries and live keys, and the matching service's feedback, stay as they were;
* an allowed change to the registry is in its audit trail under the caller's key (an adopted
  federation: under the matching service's own `registry:propose` key).

Two deliberate kinds of answer are not "hidden": a writer refused on a record its actor is not
party to (or bound to no actor at all) answers 403 where a missing record answers 404, because
directory records and federation proposals are public anyway ("403-party"); and webhook
endpoints, which are private, answer another manager's key with a 404 identical to the one for
an id that does not exist ("404-hidden").

Unknown keys: both services check any key that is sent, on every route, so even open routes
such as /health, /v1/themes and the matching service's reads answer 401 to an unknown key or a
header that is not `Bearer <key>` ("open"); without a key they answer everyone.
"""

import itertools
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.matching.app import create_app as create_matching_app
from services.matching.settings import MatchingSettings
from services.registry.app import create_app as create_registry_app
from services.registry.dispatcher import Dispatcher
from shared.access import Scope, required_scopes
from shared.db import make_engine
from shared.migrate import upgrade
from shared.routes import api_routes
from tests.conftest import (
    assert_problem,
    bearer,
    empty_database,
    issue_key,
    settings_for_tests,
)
from tests.matching.conftest import eventually
from tests.processes import Service, free_port, registry_env

# --- callers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    name: str
    key: str | None  # the world's key of that name; None: no Authorization header
    scopes: frozenset[Scope] = frozenset()
    actor: str | None = None  # "A" when the key is bound to actor A
    on: str = "A"  # whose records the request is about


ANONYMOUS = Caller("anonymous", None)
UNKNOWN = Caller("unknown-key", "unknown")
MALFORMED = Caller("malformed-header", "malformed")  # not `Bearer <key>` at all
READER = Caller("read-private", "reader", frozenset({Scope.read_private}))
WRITER_A = Caller("writer-A-on-A", "writer-A", frozenset({Scope.write}), actor="A")
WRITER_A_ON_B = Caller("writer-A-on-B", "writer-A", frozenset({Scope.write}), "A", on="B")
UNBOUND_WRITER = Caller("writer-unbound", "writer", frozenset({Scope.write}))
MANAGER = Caller("webhook-manager", "manager", frozenset({Scope.webhooks}))
OTHER_MANAGER = Caller("other-webhook-manager", "other-manager", frozenset({Scope.webhooks}))
PROPOSER = Caller("propose-service", "proposer", frozenset({Scope.propose}))
FEEDBACK_A = Caller("feedback-A-on-A", "feedback-A", frozenset({Scope.feedback}), actor="A")
FEEDBACK_A_ON_B = Caller("feedback-A-on-B", "feedback-A", frozenset({Scope.feedback}), "A", "B")
ADMIN = Caller("admin", "admin", frozenset({Scope.admin}))
CALLERS = [
    ANONYMOUS,
    UNKNOWN,
    MALFORMED,
    READER,
    WRITER_A,
    WRITER_A_ON_B,
    UNBOUND_WRITER,
    MANAGER,
    OTHER_MANAGER,
    PROPOSER,
    FEEDBACK_A,
    FEEDBACK_A_ON_B,
    ADMIN,
]
# The keys every world issues, by name (the caller's `key`).
KEYS: dict[str, tuple[tuple[Scope, ...], str | None]] = {
    "reader": ((Scope.read_private,), None),
    "writer-A": ((Scope.write,), "A"),
    "writer": ((Scope.write,), None),
    "manager": ((Scope.webhooks,), None),
    "other-manager": ((Scope.webhooks,), None),
    "proposer": ((Scope.propose,), None),
    "feedback-A": ((Scope.feedback,), "A"),
}

# --- policies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """open: anyone, but a key sent must be known; scoped: a key
    with one of `scopes`; party: as scoped, and a key holding `scopes[0]` must be bound to a
    party of the record (the other scopes need no binding); owner: webhook endpoints of the
    caller's own key (404 for another manager); owner-list: the listing of them."""

    kind: str
    scopes: tuple[Scope, ...] = ()
    unbound_ok: bool = False  # party: a key bound to no actor may act for any

    def expect(self, caller: Caller) -> str:
        if caller in (UNKNOWN, MALFORMED):
            return "401"
        if self.kind == "open":
            return "ok"
        if caller is ANONYMOUS:
            return "401"
        if Scope.admin in caller.scopes:
            return "ok"
        if not caller.scopes & set(self.scopes):
            return "403"
        if self.kind == "party" and self.scopes[0] in caller.scopes:
            bound_right = caller.actor == caller.on or (caller.actor is None and self.unbound_ok)
            return "ok" if bound_right else "403-party"
        if self.kind == "owner" and caller is OTHER_MANAGER:
            return "404-hidden"
        return "ok"


OPEN = Policy("open")
ANY_KEY = Policy("scoped", tuple(Scope))
ADMIN_ONLY = Policy("scoped", (Scope.admin,))
CREATE_ACTOR = Policy("scoped", (Scope.write,))
WRITER_PARTY = Policy("party", (Scope.write,))
CREATE_PROJECT = Policy("party", (Scope.write, Scope.propose))  # propose: drafts, any partners
FEEDBACK = Policy("party", (Scope.feedback,), unbound_ok=True)
MANAGE_WEBHOOKS = Policy("scoped", (Scope.webhooks,))
OWNER = Policy("owner", (Scope.webhooks,))
OWNER_LIST = Policy("owner-list", (Scope.webhooks,))

# --- requests --------------------------------------------------------------------------------


@dataclass
class Call:
    """A concrete request for one route: its path parameters, body, query and, where the case
    needs a key of its own (a fresh actor deleting itself), the name of that key."""

    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    query: dict[str, str] | None = None
    key: str | None = None
    # A body that is a file rather than JSON (imports), sent as text/csv.
    csv: str | None = None


@dataclass(frozen=True)
class Rule:
    policy: Policy
    ok: int
    build: Callable[[Any, Caller], Call]
    # More to check on an allowed call: (world, caller, call, response, snapshot before it).
    check: Callable[[Any, Caller, Call, httpx.Response, tuple[int, ...]], None] | None = None
    changes: bool | None = None  # default: every method but GET changes something

    def changes_something(self, method: str) -> bool:
        return self.changes if self.changes is not None else method != "GET"


_count = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix} {next(_count)}"


# --- the registry's world --------------------------------------------------------------------


@dataclass
class RegistryWorld:
    client: TestClient
    engine: Engine
    keys: dict[str, str]
    actors: dict[str, str]
    conventions: dict[str, str]
    projects: dict[str, str]
    relationships: dict[str, str]
    key_ids: dict[str, str]
    endpoint: str = ""
    delivery: str = ""
    hook_url: str = ""

    def send(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, headers=bearer(self.keys[key]), **kwargs)

    def create(self, path: str, body: dict[str, Any], key: str = "admin") -> dict[str, Any]:
        response = self.send("POST", path, key, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def issue(self, name: str, *scopes: Scope, actor_id: str | None = None) -> str:
        bound = uuid.UUID(actor_id) if actor_id else None
        self.keys[name] = issue_key(self.engine, name, *scopes, actor_id=bound)
        return name

    def fresh_actor(self) -> str:
        body = {"kind": "association", "name": unique("Association"), "country": "FR"}
        return self.create("/v1/actors?not_duplicate=true", body)["id"]

    def fresh_convention(self, on: str) -> str:
        return self.create("/v1/conventions", convention_body(self, on))["id"]

    def fresh_project(self, on: str) -> str:
        return self.create("/v1/projects", project_body(self, on))["id"]

    def fresh_relationship(self, on: str) -> str:
        return self.create("/v1/relationships", relationship_body(self, on))["id"]

    def fresh_endpoint(self) -> str:
        return self.create("/v1/webhooks", webhook_body(self), key="manager")["id"]

    def snapshot(self) -> tuple[int, ...]:
        """What any change would move: the audit trail, the feed, deliveries, live keys."""
        return snapshot(self.engine)


def snapshot(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT (SELECT COALESCE(MAX(sequence), 0) FROM audit_entry),"
                " (SELECT COALESCE(MAX(sequence), 0) FROM event),"
                " (SELECT COUNT(*) FROM webhook_delivery),"
                " (SELECT COUNT(*) FROM api_key WHERE revoked_at IS NULL)"
            )
        ).one()
    return tuple(row)


def audit_names_since(engine: Engine, sequence: int) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT key_name FROM audit_entry WHERE sequence > :s ORDER BY sequence"),
            {"s": sequence},
        )
        return [row[0] for row in rows]


def convention_body(w: RegistryWorld, on: str) -> dict[str, Any]:
    return {
        "kind": "decentralised_cooperation",
        "title": unique("Coopération"),
        "parties": [{"actor_id": w.actors[on]}, {"actor_id": w.actors["O"]}],
    }


def project_body(w: RegistryWorld, on: str) -> dict[str, Any]:
    # A draft: a `registry:propose` key may create it too (any other status: writers only).
    return {
        "title": unique("Projet"),
        "lead_id": w.actors[on],
        "partners": [{"actor_id": w.actors["O"]}],
        "status": "draft",
    }


def dated_project(w: RegistryWorld, c: Caller) -> Call:
    """A project with a start date: the IATI export needs one (an activity has a date)."""
    body = project_body(w, c.on) | {"starts_on": "2024-01-01"}
    return Call({"project_id": w.create("/v1/projects", body)["id"]})


def iati_file(w: RegistryWorld, c: Caller) -> Call:
    dated_project(w, c)  # so that the file has an activity whatever ran before
    return Call()


def relationship_body(w: RegistryWorld, on: str) -> dict[str, Any]:
    return {"kind": "supports", "subject_id": w.actors[on], "object_id": w.fresh_actor()}


def webhook_body(w: RegistryWorld) -> dict[str, Any]:
    return {"url": w.hook_url, "event_types": ["relationship.deleted"]}


def delete_actor(w: RegistryWorld, c: Caller) -> Call:
    """A fresh actor each time: on "its own" record the caller holds a fresh key of the same
    scopes bound to it (a key may delete the actor it is bound to)."""
    target = w.fresh_actor()
    if c.key is not None and c.actor == c.on:
        scopes = KEYS[c.key][0]
        return Call({"actor_id": target}, key=w.issue(unique(c.key), *scopes, actor_id=target))
    return Call({"actor_id": target})


def revoke_key(w: RegistryWorld, _c: Caller) -> Call:
    return Call({"key_id": key_id(w, w.issue(unique("to revoke"), Scope.read_private))})


def key_id(w: RegistryWorld, name: str) -> str:
    return w.send("GET", "/v1/keys/current", name).json()["id"]


# Checks beyond the status, for allowed calls.


def no_private_contact_in_listings(
    _w: RegistryWorld, _c: Caller, _call: Call, response, _before
) -> None:
    assert all("private_contact" not in item for item in response.json()["items"])


def no_private_contact_in_exports(
    _w: RegistryWorld, _c: Caller, _call: Call, response, _before
) -> None:
    assert "Contact A" not in response.text and "A@example.org" not in response.text


def private_contact_for_the_entitled(
    w: RegistryWorld, c: Caller, _call: Call, response, _before
) -> None:
    entitled = bool(c.scopes & {Scope.read_private, Scope.admin}) or c.actor == c.on
    shown = response.json()["private_contact"]
    assert (shown is not None) == entitled, shown


def own_endpoints_only(w: RegistryWorld, c: Caller, _call: Call, response, _before) -> None:
    listed = {item["id"] for item in response.json()["items"]}
    assert (w.endpoint in listed) == (c in (MANAGER, ADMIN)), listed


def names_the_key(w: RegistryWorld, c: Caller, call: Call, response, _before) -> None:
    assert response.json()["name"] == (call.key or c.key)


def revoked_key_refused(w: RegistryWorld, _c: Caller, call: Call, _response, _before) -> None:
    answer = w.send("GET", f"/v1/keys/{call.params['key_id']}", "admin").json()
    assert answer["revoked_at"] is not None
    refused = w.send("GET", "/v1/keys/current", answer["name"])
    assert refused.status_code == 401, "a revoked key is refused from the next request on"


def not_delivered(_w: RegistryWorld, _c: Caller, _call: Call, response, _before) -> None:
    assert response.json()["delivered"] is False, response.json()


def actor_gone(w: RegistryWorld, _c: Caller, call: Call, _response, _before) -> None:
    assert w.send("GET", f"/v1/actors/{call.params['actor_id']}", "admin").status_code == 410


R = "registry"
M = "matching"

REGISTRY_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/v1/actors"): Rule(OPEN, 200, lambda w, c: Call(), no_private_contact_in_listings),
    ("POST", "/v1/imports"): Rule(
        CREATE_ACTOR,
        200,
        # A dry run: every row is checked, nothing is written.
        lambda w, c: Call(csv=f"kind,name,country\nassociation,{unique('Importée')},FR\n"),
        changes=False,
    ),
    ("POST", "/v1/actors"): Rule(
        CREATE_ACTOR,
        201,
        lambda w, c: Call(
            json={"kind": "association", "name": unique("Nouvelle association"), "country": "FR"},
            query={"not_duplicate": "true"},
        ),
    ),
    ("GET", "/v1/actors/{actor_id}"): Rule(
        OPEN,
        200,
        lambda w, c: Call({"actor_id": w.actors[c.on]}),
        private_contact_for_the_entitled,
    ),
    ("PATCH", "/v1/actors/{actor_id}"): Rule(
        WRITER_PARTY,
        200,
        lambda w, c: Call({"actor_id": w.actors[c.on]}, json={"population": next(_count)}),
    ),
    ("DELETE", "/v1/actors/{actor_id}"): Rule(WRITER_PARTY, 204, delete_actor, actor_gone),
    ("GET", "/v1/conventions"): Rule(OPEN, 200, lambda w, c: Call()),
    ("POST", "/v1/conventions"): Rule(
        WRITER_PARTY, 201, lambda w, c: Call(json=convention_body(w, c.on))
    ),
    ("GET", "/v1/conventions/{convention_id}"): Rule(
        OPEN, 200, lambda w, c: Call({"convention_id": w.conventions[c.on]})
    ),
    ("PATCH", "/v1/conventions/{convention_id}"): Rule(
        WRITER_PARTY,
        200,
        lambda w, c: Call(
            {"convention_id": w.conventions[c.on]}, json={"title": unique("Convention")}
        ),
    ),
    ("DELETE", "/v1/conventions/{convention_id}"): Rule(
        WRITER_PARTY, 204, lambda w, c: Call({"convention_id": w.fresh_convention(c.on)})
    ),
    ("GET", "/v1/projects"): Rule(OPEN, 200, lambda w, c: Call()),
    ("POST", "/v1/projects"): Rule(
        CREATE_PROJECT, 201, lambda w, c: Call(json=project_body(w, c.on))
    ),
    ("GET", "/v1/projects/{project_id}"): Rule(
        OPEN, 200, lambda w, c: Call({"project_id": w.projects[c.on]})
    ),
    ("PATCH", "/v1/projects/{project_id}"): Rule(
        WRITER_PARTY,
        200,
        lambda w, c: Call({"project_id": w.projects[c.on]}, json={"title": unique("Projet")}),
    ),
    ("DELETE", "/v1/projects/{project_id}"): Rule(
        WRITER_PARTY, 204, lambda w, c: Call({"project_id": w.fresh_project(c.on)})
    ),
    ("GET", "/v1/relationships"): Rule(OPEN, 200, lambda w, c: Call()),
    ("POST", "/v1/relationships"): Rule(
        WRITER_PARTY, 201, lambda w, c: Call(json=relationship_body(w, c.on))
    ),
    ("GET", "/v1/relationships/{relationship_id}"): Rule(
        OPEN, 200, lambda w, c: Call({"relationship_id": w.relationships[c.on]})
    ),
    ("PATCH", "/v1/relationships/{relationship_id}"): Rule(
        WRITER_PARTY,
        200,
        lambda w, c: Call(
            {"relationship_id": w.relationships[c.on]}, json={"description": unique("Appui")}
        ),
    ),
    ("DELETE", "/v1/relationships/{relationship_id}"): Rule(
        WRITER_PARTY, 204, lambda w, c: Call({"relationship_id": w.fresh_relationship(c.on)})
    ),
    ("GET", "/v1/themes"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/themes/{code}"): Rule(OPEN, 200, lambda w, c: Call({"code": "education"})),
    ("GET", "/v1/events"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/events/head"): Rule(OPEN, 200, lambda w, c: Call()),
    ("POST", "/v1/webhooks"): Rule(MANAGE_WEBHOOKS, 201, lambda w, c: Call(json=webhook_body(w))),
    ("GET", "/v1/webhooks"): Rule(OWNER_LIST, 200, lambda w, c: Call(), own_endpoints_only),
    ("GET", "/v1/webhooks/{endpoint_id}"): Rule(
        OWNER, 200, lambda w, c: Call({"endpoint_id": w.endpoint})
    ),
    ("PATCH", "/v1/webhooks/{endpoint_id}"): Rule(
        OWNER,
        200,
        lambda w, c: Call({"endpoint_id": w.endpoint}, json={"description": unique("Atlas")}),
    ),
    ("DELETE", "/v1/webhooks/{endpoint_id}"): Rule(
        OWNER, 204, lambda w, c: Call({"endpoint_id": w.fresh_endpoint()})
    ),
    ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret"): Rule(
        OWNER, 200, lambda w, c: Call({"endpoint_id": w.endpoint})
    ),
    # Sends a test message (to a closed port: it answers 200, delivered false); saves nothing.
    ("POST", "/v1/webhooks/{endpoint_id}/test"): Rule(
        OWNER, 200, lambda w, c: Call({"endpoint_id": w.endpoint}), not_delivered, changes=False
    ),
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries"): Rule(
        OWNER, 200, lambda w, c: Call({"endpoint_id": w.endpoint})
    ),
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"): Rule(
        OWNER, 202, lambda w, c: Call({"endpoint_id": w.endpoint, "delivery_id": w.delivery})
    ),
    ("POST", "/v1/webhooks/{endpoint_id}/replay"): Rule(
        OWNER, 202, lambda w, c: Call({"endpoint_id": w.endpoint}, json={"after": 0})
    ),
    ("GET", "/v1/keys/current"): Rule(ANY_KEY, 200, lambda w, c: Call(), names_the_key),
    ("POST", "/v1/keys"): Rule(
        ADMIN_ONLY,
        201,
        lambda w, c: Call(json={"name": unique("issued"), "scopes": ["registry:read_private"]}),
    ),
    ("GET", "/v1/keys"): Rule(ADMIN_ONLY, 200, lambda w, c: Call()),
    ("GET", "/v1/keys/{key_id}"): Rule(
        ADMIN_ONLY, 200, lambda w, c: Call({"key_id": w.key_ids["reader"]})
    ),
    ("DELETE", "/v1/keys/{key_id}"): Rule(ADMIN_ONLY, 204, revoke_key, revoked_key_refused),
    ("GET", "/v1/audit"): Rule(ADMIN_ONLY, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/actors.csv"): Rule(
        OPEN, 200, lambda w, c: Call(), no_private_contact_in_exports
    ),
    ("GET", "/v1/exports/conventions.csv"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/projects.csv"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/relationships.csv"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/map.geojson"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/actors.ndjson"): Rule(
        OPEN, 200, lambda w, c: Call(), no_private_contact_in_exports
    ),
    ("GET", "/v1/exports/conventions.ndjson"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/projects.ndjson"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/relationships.ndjson"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/exports/iati-activities.xml"): Rule(
        OPEN, 200, iati_file, no_private_contact_in_exports
    ),
    ("GET", "/v1/exports/iati-activities/{project_id}.xml"): Rule(OPEN, 200, dated_project),
    ("GET", "/health"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/ready"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/metrics"): Rule(OPEN, 200, lambda w, c: Call()),
}


# --- the matching service's world ------------------------------------------------------------


@dataclass
class MatchingWorld:
    """The matching app in-process, checking keys with and reading from a registry process."""

    client: TestClient
    registry: httpx.Client  # the registry's API, as its admin
    registry_engine: Engine
    matching_engine: Engine
    keys: dict[str, str]
    actors: dict[str, str]  # A and B, PA and PB (their partners in their hotspots), Q1, Q2
    proposals: dict[str, str] = field(default_factory=dict)  # "A", "B", "admin": one each

    def snapshot(self) -> tuple[int, ...]:
        """The registry's audit trail (an adopted proposal is a project there) and feedback."""
        with self.matching_engine.connect() as connection:
            feedback = connection.execute(text("SELECT COUNT(*) FROM suggestion_feedback"))
            return (snapshot(self.registry_engine)[0], feedback.scalar_one())


def adopt_call(w: MatchingWorld, c: Caller) -> Call:
    """Admin and writer-A each adopt a proposal of their own (adopting spends it); everyone
    else tries B's, which A is not part of and nobody may adopt."""
    which = "admin" if c is ADMIN else "A" if c is WRITER_A else "B"
    return Call({"proposal_id": w.proposals[which]})


def drafted_in_registry(w: MatchingWorld, _c: Caller, _call: Call, response, before) -> None:
    project = response.json()["project"]
    assert project["status"] == "draft"
    stored = w.registry.get(f"/v1/projects/{project['id']}")
    assert stored.status_code == 200 and stored.json()["status"] == "draft"
    authors = audit_names_since(w.registry_engine, before[0])
    assert authors == ["matching service"], "drafted with the service's own key, not the caller's"


def feedback_saved(w: MatchingWorld, _c: Caller, _call: Call, response, before) -> None:
    assert response.json()["verdict"] == "accepted"
    assert w.snapshot() == (before[0], before[1] + 1)


MATCHING_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/v1/actors/{actor_id}/suggestions"): Rule(
        OPEN, 200, lambda w, c: Call({"actor_id": w.actors[c.on]})
    ),
    ("POST", "/v1/actors/{actor_id}/suggestions/{candidate_id}/feedback"): Rule(
        FEEDBACK,
        201,
        # "accepted" leaves every proposal as it is (a dismissal would split hotspots).
        lambda w, c: Call(
            {"actor_id": w.actors[c.on], "candidate_id": w.actors["P" + c.on]},
            json={"verdict": "accepted"},
        ),
        feedback_saved,
    ),
    ("GET", "/v1/overlaps"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/metrics/coordination"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/federations"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/federations/{proposal_id}"): Rule(
        OPEN, 200, lambda w, c: Call({"proposal_id": w.proposals["B"]})
    ),
    ("POST", "/v1/federations/{proposal_id}/adopt"): Rule(
        WRITER_PARTY, 201, adopt_call, drafted_in_registry
    ),
    ("GET", "/v1/graph"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/v1/model"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/health"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/ready"): Rule(OPEN, 200, lambda w, c: Call()),
    ("GET", "/metrics"): Rule(OPEN, 200, lambda w, c: Call()),
}

RULES = {R: REGISTRY_RULES, M: MATCHING_RULES}

# --- fixtures --------------------------------------------------------------------------------


def unknown_key() -> str:
    return "pss_" + secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def registry_world(registry_app: Any) -> Iterator[RegistryWorld]:
    """Actors A, B and O; a convention, a project and a relationship between A and O, and the
    same for B; the manager's endpoint with one failed delivery; a key of every caller."""
    engine = registry_app.state.engine
    empty_database(engine)
    with TestClient(registry_app) as client:
        w = RegistryWorld(client, engine, {"unknown": unknown_key()}, {}, {}, {}, {}, {})
        w.issue("admin", Scope.admin)
        for name in ("A", "B"):
            body = {
                "kind": "association",
                "name": f"Association {name}",
                "country": "FR",
                "private_contact": {"name": f"Contact {name}", "email": f"{name}@example.org"},
            }
            w.actors[name] = w.create("/v1/actors?not_duplicate=true", body)["id"]
        w.actors["O"] = w.fresh_actor()
        for name, (scopes, actor) in KEYS.items():
            w.issue(name, *scopes, actor_id=w.actors[actor] if actor else None)
        w.key_ids["reader"] = key_id(w, "reader")
        for on in ("A", "B"):
            w.conventions[on] = w.fresh_convention(on)
            w.projects[on] = w.fresh_project(on)
            w.relationships[on] = w.fresh_relationship(on)
        # Nothing listens there: deliveries fail at once, a test message is "not delivered".
        w.hook_url = f"http://127.0.0.1:{free_port()}/hook"
        w.endpoint = w.fresh_endpoint()
        w.delivery = failed_delivery(w, Dispatcher(engine, registry_app.state.settings))
        yield w


def failed_delivery(w: RegistryWorld, dispatcher: Dispatcher) -> str:
    """A delivery to the manager's endpoint that exhausted its retry schedule."""
    deleted = w.send("DELETE", f"/v1/relationships/{w.fresh_relationship('A')}", "admin")
    assert deleted.status_code == 204, deleted.text
    path = f"/v1/webhooks/{w.endpoint}/deliveries"
    deadline = time.monotonic() + 20
    while True:
        failed = w.send("GET", path, "manager", params={"status": "failed"}).json()["items"]
        if failed:
            return failed[0]["id"]
        assert time.monotonic() < deadline, "the delivery did not fail in time"
        if dispatcher.run_once() == 0:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def matching_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatchingWorld]:
    """Three hotspots, each two French towns working on water in one Malian town without any
    tie between them, so three federation proposals: A's (with PA), B's (with PB) and one of
    Q1 and Q2 for the admin to adopt."""
    folder = tmp_path_factory.mktemp("matrix")
    registry_url, matching_url = f"sqlite:///{folder}/registry.db", f"sqlite:///{folder}/m.db"
    upgrade(registry_url)
    upgrade(matching_url, "matching")
    registry_engine = make_engine(registry_url)
    keys = {"unknown": unknown_key(), "admin": issue_key(registry_engine, "admin", Scope.admin)}
    service_key = issue_key(registry_engine, "matching service", Scope.propose)
    port = free_port()
    process = Service.api(registry_env(registry_url), port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers=bearer(keys["admin"]), timeout=10) as admin:
            actors = hotspots(admin)
            for name, (scopes, actor) in KEYS.items():
                bound = uuid.UUID(actors[actor]) if actor else None
                keys[name] = issue_key(registry_engine, name, *scopes, actor_id=bound)
            settings = MatchingSettings(
                database_url=matching_url,
                registry_url=base,
                registry_key=service_key,
                poll_seconds=0.2,
                max_backoff_seconds=1,
                query_rate_per_key=0,
                query_rate_per_ip=0,
                write_rate_per_key=0,
                write_rate_per_ip=0,
            )
            app = create_matching_app(settings)
            with TestClient(app) as client:
                w = MatchingWorld(client, admin, registry_engine, app.state.engine, keys, actors)

                def proposals_ready() -> bool:
                    for name, member in (("A", "A"), ("B", "B"), ("admin", "Q1")):
                        found = client.get("/v1/federations", params={"actor": actors[member]})
                        assert found.status_code == 200, found.text
                        items = found.json()["items"]
                        assert len(items) == 1, items
                        w.proposals[name] = items[0]["id"]
                    return True

                eventually(proposals_ready, seconds=20, what="three federation proposals")
                yield w
    finally:
        process.stop()
        registry_engine.dispose()


def hotspots(admin: httpx.Client) -> dict[str, str]:
    actors: dict[str, str] = {}

    def town(name: str, country: str = "FR") -> str:
        body = {"kind": "local_authority", "level": "municipality", "name": name}
        response = admin.post(
            "/v1/actors?not_duplicate=true",
            json=body | {"country": country, "themes": ["water_sanitation"]},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    for hotspot, members in (("A", ("A", "PA")), ("B", ("B", "PB")), ("admin", ("Q1", "Q2"))):
        target = town(f"Cible {hotspot}", "ML")
        for member in members:
            actors[member] = town(f"Ville {member}")
            convention = {
                "kind": "decentralised_cooperation",
                "title": f"Ville {member} – Cible {hotspot} : eau potable",
                "parties": [{"actor_id": actors[member]}, {"actor_id": target}],
                "target_id": target,
                "themes": ["water_sanitation"],
                "starts_on": "2020-01-01",
            }
            response = admin.post("/v1/conventions", json=convention)
            assert response.status_code == 201, response.text
    return actors


# --- the matrix ------------------------------------------------------------------------------


def _send(w: Any, method: str, path: str, call: Call, key: str | None) -> httpx.Response:
    if key == "malformed":
        headers = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    else:
        headers = bearer(w.keys[key]) if key else {}
    if call.csv is not None:
        return w.client.request(
            method,
            path.format(**call.params),
            headers=headers | {"Content-Type": "text/csv"},
            content=call.csv.encode(),
            params=call.query,
        )
    return w.client.request(
        method, path.format(**call.params), headers=headers, json=call.json, params=call.query
    )


def _comparable(problem: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """A problem without what names the request itself: its path and the ids it asked for."""
    detail = problem["detail"]
    for value in ids.values():
        detail = detail.replace(value, "<id>")
    return {k: v for k, v in problem.items() if k != "instance"} | {"detail": detail}


def check_case(service: str, w: Any, method: str, path: str, caller: Caller) -> None:
    rule = RULES[service][(method, path)]
    expected = rule.policy.expect(caller)
    call = rule.build(w, caller)
    key = call.key or caller.key
    before = w.snapshot()
    response = _send(w, method, path, call, key)

    if expected == "ok":
        assert response.status_code == rule.ok, response.text
        if rule.check is not None:
            rule.check(w, caller, call, response, before)
        if not rule.changes_something(method):
            assert w.snapshot() == before, "a read changed something"
        elif service == R:
            authors = audit_names_since(w.engine, before[0])
            assert authors and set(authors) == {key}, f"audit names {authors}, not {key}"
        return

    status = int(expected[:3])
    problem = assert_problem(response, status)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert w.snapshot() == before, "a refused call changed something"
    if expected == "403-party" or not call.params:
        return
    # Refused the same way whether or not the ids name something: nothing is revealed.
    missing = Call({name: str(uuid.uuid4()) for name in call.params}, call.json, call.query)
    again = _send(w, method, path, missing, key)
    assert again.status_code == status, again.text
    assert _comparable(again.json(), missing.params) == _comparable(problem, call.params)
    assert w.snapshot() == before


def _cases(service: str) -> list[Any]:
    return [
        pytest.param(method, path, caller, id=f"{method} {path} as {caller.name}")
        for (method, path) in RULES[service]
        for caller in CALLERS
    ]


@pytest.mark.parametrize(("method", "path", "caller"), _cases(R))
def test_registry_answers_every_caller_as_the_matrix_says(
    registry_world: RegistryWorld, method: str, path: str, caller: Caller
):
    check_case(R, registry_world, method, path, caller)


@pytest.mark.parametrize(("method", "path", "caller"), _cases(M))
def test_matching_answers_every_caller_as_the_matrix_says(
    matching_world: MatchingWorld, method: str, path: str, caller: Caller
):
    check_case(M, matching_world, method, path, caller)


def test_every_route_is_in_the_matrix(tmp_path):
    """The table covers exactly the routes the apps declare, with the scopes they declare."""
    registry = create_registry_app(settings_for_tests(f"sqlite:///{tmp_path}/registry.db"))
    matching = create_matching_app(
        MatchingSettings(
            database_url=f"sqlite:///{tmp_path}/m.db", registry_url="http://127.0.0.1:9"
        ),
        follow=False,
    )
    try:
        for service, app in ((R, registry), (M, matching)):
            # The documentation pages and the explorer (`/`, `/web/…`) are pages and files for
            # people, not part of the API.
            routes = {
                (m, route.path_format): route
                for route in api_routes(app)
                for m in route.methods
                if not route.path_format.startswith(("/docs", "/redoc", "/web/"))
                and route.path_format != "/"
            }
            table = RULES[service]
            missing = sorted(set(routes) - set(table))
            assert not missing, f"add these {service} routes to the authorization matrix: {missing}"
            stale = sorted(set(table) - set(routes))
            assert not stale, (
                f"the authorization matrix lists {service} routes that are gone: {stale}"
            )
            for route_key, route in routes.items():
                declared = set(required_scopes(route) or ())
                policy = table[route_key].policy
                assert declared == set(policy.scopes), (
                    f"{service} {route_key}: the route requires {sorted(declared)}, "
                    f"the matrix says {policy}"
                )
    finally:
        registry.state.engine.dispose()
        with TestClient(matching):
            pass  # its lifespan closes its registry client and engine


def test_a_propose_key_creates_drafts_only(registry_world: RegistryWorld):
    """The matrix asks for a draft; anything further is for writers who take part in it."""
    w = registry_world
    before = w.snapshot()
    body = project_body(w, "B") | {"status": "active"}
    refused = w.send("POST", "/v1/projects", "proposer", json=body)
    assert_problem(refused, 403)
    assert w.snapshot() == before
