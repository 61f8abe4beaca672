"""The bare endpoint every throughput of `bench/perf_bench.py` is compared with.

    python bench/bare_app.py --port 8099

The same FastAPI and uvicorn as the services, one worker, started the way the services start
(`uvicorn.run` with its defaults), and nothing else: no database, no middleware.

- `GET /bare`: a ~1 KB JSON body (an actor-like record) returned through a response model;
- `POST /bare`: takes a body like the registry's `POST /v1/actors` one, validates it with a
  model and returns it, completed to ~1 KB, with 201;
- `GET /health`: for the harness to know it is up.
"""

import argparse
import sys
import uuid
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI, status
from pydantic import BaseModel, Field

__all__ = ["BareActor", "BareActorCreate", "app", "create_app"]


class BareActorCreate(BaseModel):
    kind: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    country: str = Field(min_length=2, max_length=2)
    themes: list[str] = Field(default_factory=list)
    intervention_countries: list[str] = Field(default_factory=list)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    website: str | None = None


class BareActor(BareActorCreate):
    id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
    acronym: str | None = None
    level: str | None = None
    insee_code: str | None = None
    siren: str | None = None
    rna: str | None = None
    wikidata_qid: str | None = None
    population: int | None = None
    origin_ids: list[uuid.UUID] = Field(default_factory=list)


_NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
_ONE = {
    "id": uuid.UUID("0b7c6a1e-3f4d-4c2b-9a8e-7d6c5b4a3f21"),
    "version": 3,
    "created_at": _NOW,
    "updated_at": _NOW,
    "kind": "local_authority",
    "name": "Communauté d'agglomération de Saint-Quentin-en-Yvelines",
    "acronym": "SQY",
    "description": "Coopération décentralisée avec des collectivités du Mali, du Sénégal et du "
    "Burkina Faso : accès à l'eau potable, assainissement, jeunesse, éducation à la "
    "citoyenneté mondiale et appui à la maîtrise d'ouvrage communale.",
    "country": "FR",
    "level": "intermunicipality",
    "insee_code": "78297",
    "siren": "200058782",
    "wikidata_qid": "Q1369457",
    "latitude": 48.7833,
    "longitude": 2.0333,
    "population": 228654,
    "themes": ["water_sanitation", "youth", "global_citizenship_education", "governance"],
    "intervention_countries": ["ML", "SN", "BF"],
    "origin_ids": [uuid.UUID("5f0c6f2e-8a3b-4c1d-9e2f-0a1b2c3d4e5f")],
    "website": "https://www.sqy.fr/cooperation-internationale",
}


def create_app() -> FastAPI:
    app = FastAPI(title="bare", docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bare", response_model=BareActor)
    def read() -> BareActor:
        return BareActor(**_ONE)

    @app.post("/bare", response_model=BareActor, status_code=status.HTTP_201_CREATED)
    def create(body: BareActorCreate) -> BareActor:
        return BareActor(
            **{**_ONE, **body.model_dump(exclude_unset=True)},
        )

    return app


app = create_app()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    # As the services do (services/registry/__main__.py): uvicorn.run with its defaults.
    uvicorn.run("bare_app:create_app", factory=True, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
