"""The CPU a `POST /v1/actors` costs the registry's own code, without HTTP or worker threads.

    python bench/write_cost.py DATABASE_URL SECRET [--writes 600] [--group 20]

In one thread and one process, on the database at DATABASE_URL (a copy: it writes), each write
does what the route does once FastAPI has validated its body (`ActorCreate`, done before the
clock starts: the bare endpoint validates a body too): check the key (`keys.authenticate`),
create the actor with its likely-duplicate check (`actors.create_actor`), commit, and write the
answer's document. On SQLite, writes share a transaction as a commit
group's members do (`--group` writes to a commit, each a savepoint); on PostgreSQL each commits
on its own, as there. Names are random words, as `wrk_post.lua` sends.

Prints one JSON object: CPU milliseconds per write (the process's user and system time) and
wall milliseconds. `perf_bench.py` reports it beside the POST's throughput: with the bare POST's
time per request it bounds the ratio any HTTP serving of this code could reach.
"""

import argparse
import json
import random
import time

from sqlalchemy import Connection
from sqlmodel import Session

from services.registry import actors
from services.registry.api.actors import _detail
from services.registry.keys import authenticate
from services.registry.name_cache import NameCache
from services.registry.schemas import ActorCreate
from services.registry.settings import RegistrySettings
from shared.commit_group import _connect_to_write, _end, member_session
from shared.db import make_engine, open_session

_SYLLABLES = [
    "ba",
    "ko",
    "ri",
    "tu",
    "ne",
    "sa",
    "lo",
    "mi",
    "da",
    "fe",
    "gu",
    "pi",
    "zo",
    "ve",
    "ha",
    "je",
    "qua",
    "wen",
    "xi",
    "yor",
    "bel",
    "mar",
    "sto",
    "lun",
]
_THEMES = ("water_sanitation", "health", "education", "youth", "culture", "climate", "energy")
_COUNTRIES = ("ML", "SN", "BF", "MA", "TN", "HT", "VN", "MG", "CM", "BJ")


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).capitalize()


def actor_body(rng: random.Random, number: int) -> ActorCreate:
    """A write's body with a random name, as `wrk_post.lua` sends (also `serve_instructions.py`)."""
    name = " ".join(_word(rng, n) for n in (3, 2, 4, 3))
    return ActorCreate.model_validate(
        {
            "kind": "association",
            "name": name,
            "country": "FR",
            "description": "Association de solidarité internationale créée pour le banc "
            "d'essai : accès à l'eau, santé, éducation et jeunesse avec des partenaires en "
            "Afrique de l'Ouest.",
            "themes": rng.sample(_THEMES, 2),
            "intervention_countries": rng.sample(_COUNTRIES, 2),
            "latitude": round(43 + rng.random() * 7, 4),
            "longitude": round(-1 + rng.random() * 8, 4),
            "website": f"https://example.org/write-cost-{number}",
        }
    )


def _write(
    session: Session, header: str, data: ActorCreate, names: NameCache, threshold: float
) -> None:
    principal = session.info["principal"] = authenticate(session, header)
    actor = actors.create_actor(session, data, names=names, duplicate_threshold=threshold)
    session.commit()
    _detail(actor, principal, status_code=201)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("secret")
    parser.add_argument("--writes", type=int, default=600)
    parser.add_argument("--group", type=int, default=20, help="writes per commit on SQLite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    # Loaded by the warm-up's first check, as a server's is by its first write.
    names = NameCache(engine)
    threshold = RegistrySettings(database_url=args.database_url).duplicate_name_threshold
    header = f"Bearer {args.secret}"
    rng = random.Random(args.seed)
    grouped = engine.dialect.name == "sqlite"

    def run(bodies: list[ActorCreate]) -> None:
        connection: Connection | None = None
        for number, body in enumerate(bodies):
            if not grouped:
                with open_session(engine) as session:
                    _write(session, header, body, names, threshold)
                continue
            # The commit group's own steps, without its queue: one transaction, each write a
            # savepoint in it.
            if connection is None:
                connection = _connect_to_write(engine)
            with member_session(connection) as session:
                _write(session, header, body, names, threshold)
            if (number + 1) % args.group == 0:
                _end(connection, lost=False)
                connection = None
        if connection is not None:
            _end(connection, lost=False)

    run([actor_body(rng, number) for number in range(200)])  # warm-up: caches, compiled statements
    bodies = [actor_body(rng, number) for number in range(10_000, 10_000 + args.writes)]
    cpu, wall = time.process_time(), time.perf_counter()
    run(bodies)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    names.close()
    engine.dispose()
    print(
        json.dumps(
            {
                "writes": args.writes,
                "cpu_ms_per_write": round(cpu * 1000 / args.writes, 3),
                "wall_ms_per_write": round(wall * 1000 / args.writes, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
