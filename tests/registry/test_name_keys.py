"""The name keys never miss a name close enough to be a likely duplicate, and the check that
uses them follows renames and deletions."""

import random

from rapidfuzz import fuzz, process
from sqlalchemy import Engine

from services.registry.name_keys import INDEX_THRESHOLD, probe_keys, stored_keys
from tests.conftest import Registry

_SYLLABLES = ["saint", "mar", "tin", "ville", "sur", "de", "la", "court", "mont", "bel", "a", "o"]


def _name(rng: random.Random) -> str:
    words = [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
        for _ in range(rng.randint(1, 4))
    ]
    return " ".join(sorted(words))


def _edited(rng: random.Random, name: str, most: int = 4) -> str:
    for _ in range(rng.randint(1, most)):
        at, letter = rng.randrange(len(name) + 1), rng.choice("aeiourstl ")
        name = (
            rng.choice(
                [
                    name[:at] + letter + name[at + 1 :],
                    name[:at] + letter + name[at:],
                    name[:at] + name[at + 1 :],
                ]
            )
            or letter
        )
    return name


def test_every_name_scoring_the_threshold_shares_a_key():
    rng = random.Random(7)
    names = [_name(rng) for _ in range(1500)]
    names += [_edited(rng, name) for name in names[:1500]]
    noise = ["".join(rng.choice("ab ") for _ in range(rng.randint(1, 80))) for _ in range(400)]
    # Long names a few edits apart: each pair's own bound on edits, not only the longest
    # name's, decides which segments the probe looks up.
    names += noise + [_edited(rng, name, most=7) for name in noise]
    names = sorted(set(names))
    stored: dict[str, set[str]] = {}
    for name in names:
        for key in stored_keys("association", "FR", name):
            stored.setdefault(key, set()).add(name)
    close_pairs = 0
    for name in names:
        found = set().union(*(stored.get(k, set()) for k in probe_keys("association", "FR", name)))
        for other, _, _ in process.extract(
            name, names, scorer=fuzz.ratio, score_cutoff=INDEX_THRESHOLD, limit=None
        ):
            close_pairs += 1
            assert other in found, (name, other)
        # The filter is a filter: most names are not candidates.
        assert len(found) < len(names) / 5
    assert close_pairs > len(names) * 1.5  # the edited copies make real near pairs


def test_keys_are_scoped_by_kind_and_country():
    name = "eau pour tous"
    assert not set(stored_keys("association", "FR", name)) & probe_keys("association", "BE", name)
    assert not set(stored_keys("network", "FR", name)) & probe_keys("association", "FR", name)


def test_a_typo_in_the_first_letters_is_still_a_likely_duplicate(client, registry: Registry):
    existing = registry.authority("Rambouillet")
    response = client.post(
        "/v1/actors",
        json={
            "kind": "local_authority",
            "level": "municipality",
            "name": "Rabouillet",
            "country": "FR",
        },
    )
    assert response.status_code == 409
    assert response.json()["candidates"][0]["id"] == existing["id"]


def test_the_check_follows_renames_and_deletions(client, registry: Registry):
    actor = registry.actor("association", "Association Eau Pour Tous")
    renamed = client.patch(
        f"/v1/actors/{actor['id']}", json={"name": "Solidarité Kayes"}, headers={"If-Match": '"1"'}
    )
    assert renamed.status_code == 200
    old = {"kind": "association", "name": "Association Eau Pour Tous", "country": "FR"}
    new = {"kind": "association", "name": "Solidarite Kayes", "country": "FR"}
    assert client.post("/v1/actors", json=new).status_code == 409
    created = client.post("/v1/actors", json=old)
    assert created.status_code == 201
    assert client.delete(f"/v1/actors/{actor['id']}").status_code == 204
    assert client.post("/v1/actors", json=new).status_code == 201


def test_a_probe_reads_each_match_from_the_primary_key_alone(engine: Engine):
    """A name built like many others has hundreds of matches: each is read with its comparable
    name from the primary key's tree, with no second look-up into the table."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT comparable FROM actor_name_key WHERE key IN ('a', 'b')"
            ).all()
            assert [row[-1] for row in plan] == ["SEARCH actor_name_key USING PRIMARY KEY (key=?)"]
            return
        included = connection.exec_driver_sql(
            "SELECT attribute.attname FROM pg_index AS index"
            " JOIN pg_attribute AS attribute ON attribute.attrelid = index.indrelid"
            " AND attribute.attnum = ANY (index.indkey[index.indnkeyatts:])"
            " WHERE index.indrelid = 'actor_name_key'::regclass AND index.indisprimary"
        ).scalars()
        assert list(included) == ["comparable"]
