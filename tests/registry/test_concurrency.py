"""Concurrent writers on real registry processes: one winner per version, a lost uniqueness race
is the same 409 as a plain duplicate, a burst of first uses of a key needs one connection per
request, and a process killed with Idempotency-Key POSTs in flight loses and doubles nothing.

Each test prints what it measured (run with `-s` to read the figures)."""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from services.registry.app import create_app
from shared.access import Scope
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import bearer, issue_key, settings_for_tests
from tests.databases import BACKENDS, fresh_database
from tests.processes import Service, free_port, registry_env
from tests.test_idempotency import HoldingReceiver

pytestmark = pytest.mark.slow
# Writers replace the themes too: the link table is rewritten inside the guarded transaction.
THEME_SETS = [["water_sanitation", "youth"], ["climate"], ["health", "education"]]


class Served:
    """A registry process on its own database, with an admin key."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        if headers is None:
            engine = make_engine(url)
            headers = bearer(issue_key(engine, "test admin", Scope.admin))
            engine.dispose()
        self.headers = headers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.service = Service.api(registry_env(url), self.port)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.headers, timeout=30)


@pytest.fixture
def holding() -> Iterator[HoldingReceiver]:
    receiver = HoldingReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        upgrade(url)
        yield url


@pytest.fixture
def served(database: str) -> Iterator[Served]:
    registry = Served(database)
    yield registry
    registry.service.stop()


def _authority(name: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "local_authority", "level": "municipality", "name": name, "country": "FR"} | (
        fields
    )


def _together(count: int, call) -> list[httpx.Response]:
    """`call(i)` from `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(index: int) -> httpx.Response:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_patches_with_one_if_match_have_exactly_one_winner(served):
    rounds, writers = 30, 8
    with served.client() as client:
        actor = client.post("/v1/actors", json=_authority("Villeurbanne")).json()
        statuses: Counter[int] = Counter()
        for round_number in range(rounds):
            current = client.get(f"/v1/actors/{actor['id']}")
            etag = current.headers["ETag"]

            def patch(index: int, etag: str = etag, round_number: int = round_number):
                return client.patch(
                    f"/v1/actors/{actor['id']}",
                    json={
                        "description": f"round {round_number} writer {index}",
                        "themes": THEME_SETS[index % len(THEME_SETS)],
                    },
                    headers={"If-Match": etag},
                )

            answers = _together(writers, patch)
            codes = Counter(answer.status_code for answer in answers)
            statuses.update(codes)
            assert codes == {200: 1, 412: writers - 1}, [a.text for a in answers]
            for answer in answers:
                if answer.status_code == 412:
                    assert answer.headers["content-type"] == "application/problem+json"
        final = client.get(f"/v1/actors/{actor['id']}").json()
        events = client.get("/v1/events", params={"limit": 200}).json()["items"]
    assert final["version"] == 1 + rounds
    versions = [e["resource"]["version"] for e in events if e["resource"]["id"] == actor["id"]]
    assert sorted(versions) == list(range(1, rounds + 2)), "one event per version"
    print(f"\n{rounds} rounds x {writers} PATCHes: {dict(statuses)}")


def test_concurrent_creates_with_one_identifier_are_one_201_and_409s_naming_it(served):
    rounds, writers = 10, 8
    statuses: Counter[int] = Counter()
    with served.client() as client:
        for round_number in range(rounds):
            qid = f"Q{9000 + round_number}"

            def create(index: int, qid: str = qid):
                return client.post(
                    "/v1/actors?not_duplicate=true",
                    json=_authority(f"Commune {qid} {index}", wikidata_qid=qid),
                )

            answers = _together(writers, create)
            codes = Counter(answer.status_code for answer in answers)
            statuses.update(codes)
            assert codes == {201: 1, 409: writers - 1}, [a.text for a in answers]
            winner = next(a.json() for a in answers if a.status_code == 201)
            for answer in answers:
                if answer.status_code == 409:
                    problem = answer.json()
                    assert problem["existing"]["id"] == winner["id"], problem
                    assert "wikidata_qid" in [error["field"] for error in problem["errors"]]
    print(f"\n{rounds} rounds x {writers} creates with one QID: {dict(statuses)}")


class _InThread:
    """An app object served by uvicorn on 127.0.0.1 in a thread: a real HTTP server whose
    engine the test chooses."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_a_burst_of_first_uses_of_a_key_needs_one_connection_per_request(database):
    """A pool of 2 connections and no overflow: a request that needed a second connection for
    the key's last-use stamp would wait for one held by another such request."""
    app = create_app(settings_for_tests(database))
    app.state.engine.dispose()
    if database.startswith("sqlite"):
        app.state.engine = make_engine(database)
    else:
        app.state.engine = create_engine(database, pool_size=2, max_overflow=0, pool_timeout=10)
    secret = issue_key(app.state.engine, "burst", Scope.write)
    server = _InThread(app)
    burst, timings = 64, []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
            for _ in range(3):
                with app.state.engine.begin() as connection:
                    connection.execute(text("UPDATE api_key SET last_used_at = NULL"))
                started = time.monotonic()
                answers = _together(
                    burst, lambda _i: client.get("/v1/actors", headers=bearer(secret))
                )
                timings.append(time.monotonic() - started)
                assert Counter(a.status_code for a in answers) == {200: burst}
                with app.state.engine.connect() as connection:
                    stamped = connection.execute(
                        text("SELECT count(*) FROM api_key WHERE last_used_at IS NOT NULL")
                    ).scalar_one()
                assert stamped == 1
            # The same burst on a route that touches no database, for scale on a noisy machine.
            started = time.monotonic()
            _together(burst, lambda _i: client.get("/v1/themes"))
            bare = time.monotonic() - started
    finally:
        server.stop()
        app.state.engine.dispose()
    # Far below the pool timeout: a starved pool would have made requests wait 10 s and fail.
    assert max(timings) < 8, timings
    pool = app.state.engine.pool.status()
    print(
        f"\n{burst} first uses of one key ({pool}): {[round(t, 2) for t in timings]} s; "
        f"the same burst on /v1/themes (no database): {bare:.2f} s"
    )


def test_a_registry_killed_with_idempotent_posts_in_flight_creates_each_once(database):
    """Requests are sent to a first process, which is SIGKILLed while they run; every one of
    them is then retried with its Idempotency-Key on a second process."""
    first = Served(database)
    second = Served(database, first.headers)
    total = 96
    bodies = {f"kill-{i}": _authority(f"Commune tuée {uuid.uuid4().hex[:8]}") for i in range(total)}
    answered: dict[str, httpx.Response] = {}
    try:

        def send(key: str) -> None:
            try:
                with httpx.Client(base_url=first.base, headers=first.headers, timeout=30) as c:
                    answered[key] = c.post(
                        "/v1/actors?not_duplicate=true",
                        json=bodies[key],
                        headers={"Idempotency-Key": key},
                    )
            except httpx.TransportError:
                pass  # the process died under it: the outcome is unknown to the client

        threads = [threading.Thread(target=send, args=(key,)) for key in bodies]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(answered) < total // 4:
            assert time.monotonic() < deadline, "the first process answered nothing"
            time.sleep(0.005)
        first.service.kill()
        for thread in threads:
            thread.join(timeout=30)
        lost = total - len(answered)

        retries: dict[str, httpx.Response] = {}
        with second.client() as client:
            for key, body in bodies.items():
                retries[key] = client.post(
                    "/v1/actors?not_duplicate=true", json=body, headers={"Idempotency-Key": key}
                )
            names = Counter()
            url: str | None = "/v1/actors?limit=200"
            while url:
                page = client.get(url).json()
                names.update(item["name"] for item in page["items"])
                url = page["next"]
    finally:
        first.service.stop()
        second.service.stop()

    codes = Counter(response.status_code for response in retries.values())
    assert codes == {201: total}, {k: r.text for k, r in retries.items() if r.status_code != 201}
    for key, response in answered.items():
        if response.status_code == 201:
            assert retries[key].json()["id"] == response.json()["id"], key
            assert retries[key].headers["idempotent-replayed"] == "true"
    assert all(names[body["name"]] == 1 for body in bodies.values()), "a duplicate was created"
    replayed = sum(1 for r in retries.values() if r.headers.get("idempotent-replayed"))
    first_codes = Counter(response.status_code for response in answered.values())
    print(
        f"\n{total} POSTs, {lost} without an answer when the process was killed, "
        f"the others {dict(first_codes)}; "
        f"retries: {dict(codes)}, {replayed} replayed, {total - replayed} run on the retry"
    )


def test_a_test_delivery_to_a_hanging_receiver_holds_no_other_writer(client, holding):
    """`POST /v1/webhooks/{id}/test` writes nothing: while its receiver hangs, other writes of
    the same process go through (on SQLite they would otherwise queue behind it)."""
    endpoint = client.post("/v1/webhooks", json={"url": holding.url}).json()
    with ThreadPoolExecutor(max_workers=1) as pool:
        hanging = pool.submit(client.post, f"/v1/webhooks/{endpoint['id']}/test")
        assert holding.arrived.wait(10), "the test delivery never reached the receiver"
        created = client.post("/v1/actors", json=_authority("Roubaix"))
        assert created.status_code == 201, created.text
        assert not hanging.done(), "the receiver was released too early for this to show"
        holding.release.set()
        assert hanging.result(timeout=10).status_code == 200
