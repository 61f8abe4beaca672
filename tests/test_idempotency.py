"""`Idempotency-Key` on POST: a retried request is answered with the first response instead of
creating a second resource; reuse for another payload is refused; a duplicate sent while the
first runs waits for it and replays it; and one caller's keys never reach another caller's
responses. Crashes with requests in flight: tests/registry/test_idempotency_crash.py."""

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.conftest import Registry, api_key, as_key, assert_problem

REPLAYED = "Idempotent-Replayed"


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def conventions_stored(engine: Engine) -> tuple[int, int, int]:
    """(convention rows, convention.created events, convention.created audit entries)."""
    return (
        count(engine, "SELECT count(*) FROM convention"),
        count(engine, "SELECT count(*) FROM event WHERE type = 'convention.created'"),
        count(engine, "SELECT count(*) FROM audit_entry WHERE action = 'convention.created'"),
    )


@pytest.fixture
def twinning(registry: Registry) -> dict[str, Any]:
    lille, dakar = registry.authority("Lille"), registry.authority("Dakar", country="SN")
    return {
        "kind": "twinning",
        "title": "Jumelage Lille – Dakar",
        "parties": [{"actor_id": a["id"], "role": "signatory"} for a in (lille, dakar)],
    }


def post(client: TestClient, body: dict[str, Any], key: str, path: str = "/v1/conventions"):
    return client.post(path, json=body, headers={"Idempotency-Key": key})


def test_a_retried_post_creates_one_convention_and_replays_the_first_response(
    client, engine, twinning
):
    first = post(client, twinning, "retry-1")
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers

    for _ in range(3):
        again = post(client, twinning, "retry-1")
        assert again.status_code == 201
        assert again.headers[REPLAYED] == "true"
        assert again.json() == first.json()
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["content-type"] == first.headers["content-type"]
    assert conventions_stored(engine) == (1, 1, 1)
    # A creation is remembered by a digest and its location, not by a second copy of the body.
    with engine.connect() as connection:
        record = connection.execute(
            text("SELECT fingerprint, location, body FROM idempotency_record")
        ).one()
    assert len(record.fingerprint) == 64 and record.body is None
    assert record.location == first.headers["Location"]


def test_a_replayed_creation_shows_the_resource_as_it_is_now(client, twinning):
    first = post(client, twinning, "retry-now")
    location = first.headers["Location"]
    changed = client.patch(
        location, json={"title": "Jumelage renouvelé"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    again = post(client, twinning, "retry-now")
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.headers["Location"] == location
    assert again.json()["title"] == "Jumelage renouvelé"
    assert again.headers["ETag"] == changed.headers["ETag"]


def test_the_same_key_with_another_payload_is_refused_naming_the_header(client, engine, twinning):
    assert post(client, twinning, "retry-2").status_code == 201
    changed = twinning | {"title": "Un autre jumelage"}
    problem = assert_problem(post(client, changed, "retry-2"), 422, "Idempotency-Key")
    assert problem["errors"][0]["location"] == "header"
    # Another path or query string is another request too.
    assert_problem(post(client, twinning, "retry-2", "/v1/conventions?x=1"), 422, "Idempotency-Key")
    assert conventions_stored(engine) == (1, 1, 1)


def test_callers_with_different_keys_have_independent_idempotency_keys(
    client, anonymous, engine, twinning
):
    lille_id = twinning["parties"][0]["actor_id"]
    writer = as_key(client, api_key(client, "Lille", "registry:write", actor_id=lille_id)["secret"])

    by_admin = post(client, twinning, "shared-key")
    by_writer = post(writer, twinning, "shared-key")
    assert by_admin.status_code == by_writer.status_code == 201
    assert REPLAYED not in by_writer.headers
    assert by_writer.json()["id"] != by_admin.json()["id"]
    assert conventions_stored(engine) == (2, 2, 2)

    # Each caller's retry replays its own response, never the other's.
    assert post(writer, twinning, "shared-key").json()["id"] == by_writer.json()["id"]
    assert post(client, twinning, "shared-key").json()["id"] == by_admin.json()["id"]
    # Without a key, the same request and Idempotency-Key get no one's response.
    assert_problem(post(anonymous, twinning, "shared-key"), 401)
    assert conventions_stored(engine) == (2, 2, 2)


def test_a_refused_first_attempt_is_not_kept_so_a_corrected_retry_succeeds(
    client, engine, twinning
):
    invalid = twinning | {"kind": "alliance"}
    assert_problem(post(client, invalid, "fix-me"), 422, "kind")
    assert_problem(post(client, invalid, "fix-me"), 422, "kind")
    corrected = post(client, twinning, "fix-me")
    assert corrected.status_code == 201, corrected.text
    assert REPLAYED not in corrected.headers
    assert post(client, twinning, "fix-me").headers[REPLAYED] == "true"
    assert conventions_stored(engine) == (1, 1, 1)


def test_a_forbidden_first_attempt_is_not_kept_either(client, registry: Registry, engine, twinning):
    paris = registry.authority("Paris")
    writer = as_key(
        client, api_key(client, "Paris", "registry:write", actor_id=paris["id"])["secret"]
    )
    assert_problem(post(writer, twinning, "mine"), 403)
    with_paris = twinning | {"parties": [*twinning["parties"], {"actor_id": paris["id"]}]}
    created = post(writer, with_paris, "mine")
    assert created.status_code == 201, created.text
    assert REPLAYED not in created.headers
    assert conventions_stored(engine) == (1, 1, 1)


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "tab\there"])
def test_an_idempotency_key_that_is_empty_too_long_or_unprintable_is_a_400(
    client, engine, twinning, key
):
    problem = assert_problem(post(client, twinning, key), 400)
    assert "Idempotency-Key" in problem["detail"]
    assert conventions_stored(engine) == (0, 0, 0)


def test_an_idempotency_key_of_255_characters_is_accepted(client, engine, twinning):
    assert post(client, twinning, "k" * 255).status_code == 201
    assert post(client, twinning, "k" * 255).headers[REPLAYED] == "true"
    assert conventions_stored(engine) == (1, 1, 1)


def test_a_revoked_key_retrying_a_post_is_refused_not_replayed(client, twinning):
    lille_id = twinning["parties"][0]["actor_id"]
    key = api_key(client, "Lille", "registry:write", actor_id=lille_id)
    writer = as_key(client, key["secret"])
    assert post(writer, twinning, "before-revocation").status_code == 201

    assert client.delete(f"/v1/keys/{key['id']}").status_code == 204
    retried = post(writer, twinning, "before-revocation")
    assert_problem(retried, 401)
    assert REPLAYED not in retried.headers


def test_other_methods_ignore_the_header(client, registry: Registry):
    actor = registry.actor("association", "Eau Vive")
    for population in (10, 20):
        response = client.patch(
            f"/v1/actors/{actor['id']}",
            json={"population": population},
            headers={"Idempotency-Key": "patch"},
        )
        assert response.status_code == 200 and REPLAYED not in response.headers
    assert client.get(f"/v1/actors/{actor['id']}").json()["population"] == 20


# --- a duplicate while the first request is still running ----------------------------------------


class HoldingReceiver:
    """A webhook receiver on 127.0.0.1 that holds each request until released, so a request of
    the registry that waits for it (POST /v1/webhooks/{id}/test) stays in flight."""

    def __init__(self) -> None:
        self.arrived, self.release = threading.Event(), threading.Event()
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests += 1
                receiver.arrived.set()
                receiver.release.wait(10)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def holding() -> Iterator[HoldingReceiver]:
    receiver = HoldingReceiver()
    yield receiver
    receiver.stop()


def test_a_test_delivery_retried_after_it_answered_is_replayed_without_a_second_call(
    client, holding
):
    endpoint = client.post("/v1/webhooks", json={"url": holding.url}).json()
    path = f"/v1/webhooks/{endpoint['id']}/test"
    headers = {"Idempotency-Key": "test-once"}
    holding.release.set()
    done = client.post(path, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["delivered"] is True and done.json()["status_code"] == 204

    replay = client.post(path, headers=headers)
    assert replay.headers[REPLAYED] == "true"
    assert replay.json() == done.json()
    assert holding.requests == 1, "the retry never reached the receiver"


def test_a_write_whose_response_was_lost_in_a_crash_is_replayed_with_the_resource(
    client, engine, twinning
):
    """The record is committed with the write; the response is added just after. A process
    killed in between leaves a record without a response: the retry is answered with the
    created resource, and nothing is created twice."""
    first = post(client, twinning, "crashed")
    assert first.status_code == 201, first.text
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE idempotency_record SET status = NULL, headers = NULL, body = NULL")
        )
    retry = post(client, twinning, "crashed")
    assert retry.status_code == 201, retry.text
    assert retry.headers[REPLAYED] == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.json() == first.json()
    assert conventions_stored(engine) == (1, 1, 1)


def test_a_record_is_written_in_the_transaction_of_the_write_or_not_at_all(
    client, engine, twinning
):
    """A write refused halfway (here: an unknown party, found after the claim) leaves no
    record, so the corrected request runs."""
    broken = {**twinning, "parties": [*twinning["parties"], {"actor_id": str(uuid.uuid4())}]}
    assert_problem(post(client, broken, "halfway"), 422)
    assert count(engine, "SELECT count(*) FROM idempotency_record") == 0


def test_a_duplicate_convention_sent_while_the_first_runs_waits_and_replays_it(
    client, engine, twinning
):
    """PostgreSQL: another connection holds the advisory lock that orders the change feed, so
    the first request stops, after its Idempotency-Key is claimed, at the moment it appends its
    event; pg_locks shows it waiting. The duplicate then waits on the first one's uncommitted
    record and replays it once committed. (On SQLite the duplicate waits for the write lock
    before it starts: tests/registry/test_concurrency.py sends duplicates concurrently.)"""
    if engine.dialect.name != "postgresql":
        pytest.skip("a lock that holds the request mid-route needs PostgreSQL")
    feed_lock = 0x70617373  # services.registry.outbox._FEED_LOCK
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as holder, ThreadPoolExecutor(max_workers=2) as pool:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": feed_lock})
        try:
            first = pool.submit(post, client, twinning, "held")
            deadline = time.monotonic() + 10
            while holder.execute(waiting).scalar_one() == 0:
                assert time.monotonic() < deadline, "the first request never waited"
                assert not first.done(), first.result().text
                time.sleep(0.02)
            duplicate = pool.submit(post, client, twinning, "held")
            time.sleep(0.3)
            assert not duplicate.done(), duplicate.result().text
            assert conventions_stored(engine) == (0, 0, 0)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": feed_lock})
            holder.commit()
        created = first.result(timeout=10)
        replay = duplicate.result(timeout=10)
    assert created.status_code == 201, created.text
    assert replay.status_code == 201, replay.text
    assert replay.headers[REPLAYED] == "true" and replay.json() == created.json()
    assert conventions_stored(engine) == (1, 1, 1)
