"""Offline evaluation of partner suggestions: hide cooperation edges, see who finds them again.

    python -m services.matching.evaluate [--data FILE] [--seed 42] [--fraction 0.1] [--k 10]
    python -m services.matching.evaluate --export http://127.0.0.1:8000 --data export.json

Protocol (see docs/matching.md): build the cooperation graph of a data set; draw, with a seeded
random generator, a `fraction` of the cooperation pairs (two actors joined by at least one
`cooperates_with` tie) and remove every `cooperates_with` and `active_in` tie between the two
actors of each drawn pair. Then, for each actor touching a hidden pair, every method ranks its
candidates and we look at where its hidden partners land: recall@k, mean reciprocal rank and AUC.
Our scorer is measured exactly as the service serves it (`suggest`, bounded candidates, partners
excluded); the baselines rank every other actor that is not already a partner of the source.

The data is the demo data set by default (read from the registry's file and converted here to
the registry API's format, without importing the registry: services never import each other), or
a registry export in API format (`{"actors": [...], "conventions": [...], "projects": [...],
"relationships": [...]}`), which `--export URL` downloads from a running registry.
"""

import argparse
import json
import random
import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
from pydantic import BaseModel

from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FeatureSpace
from services.matching.ranking.model import RankingModel
from services.matching.ranking.splits import HIDDEN_TIES, cooperation_pairs, hide
from services.matching.ranking.training import train
from services.matching.registry_client import RegistryClient
from services.matching.scoring import suggest
from shared.http import http_client
from shared.records import ActorRecord, ConventionRecord, Party, ProjectRecord, RelationshipRecord

__all__ = [
    "BASELINES",
    "DEMO_FILE",
    "HIDDEN_TIES",
    "LISTINGS",
    "Evaluation",
    "Method",
    "MethodResult",
    "cooperation_pairs",
    "demo_resources",
    "evaluate",
    "export",
    "hide",
    "load_resources",
    "main",
    "scorer",
    "table",
]

DEMO_FILE = Path(__file__).resolve().parents[1] / "registry" / "demo" / "demo.json"
LISTINGS = ("actors", "conventions", "projects", "relationships")
NEGATIVES_PER_POSITIVE = 200
# Baseline scores are rounded so that equal indices summed in a different order stay equal.
_DIGITS = 9

Resources = dict[str, list[dict[str, Any]]]
# A method scores the candidates of a source. Candidates it leaves out are absent from its
# ranking (no rank, score 0 when compared with others).
Method = Callable[[CooperationGraph, str, Sequence[str]], dict[str, float]]


# --- data ------------------------------------------------------------------------------------


def demo_resources(path: Path = DEMO_FILE) -> Resources:
    """The demo data set (actors named by `ref`) as the registry API would serve it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    actors = []
    for spec in data["actors"]:
        fields = _without(spec, "ref", "based_in", "origins", "private_contact")
        actors.append(
            fields
            | {
                "id": spec["ref"],
                "version": 1,
                "based_in_id": spec.get("based_in"),
                "origin_ids": list(spec.get("origins", [])),
            }
        )
    relationships = [
        _without(spec, "subject", "object")
        | {
            "id": f"relationship-{number}",
            "version": 1,
            "subject_id": spec["subject"],
            "object_id": spec["object"],
        }
        for number, spec in enumerate(data.get("relationships", []), start=1)
    ]
    conventions = [
        _without(spec, "ref", "parties", "target")
        | {
            "id": spec["ref"],
            "version": 1,
            "target_id": spec.get("target"),
            "parties": [_party(party) for party in spec["parties"]],
        }
        for spec in data.get("conventions", [])
    ]
    projects = [
        _without(spec, "ref", "lead", "partners", "target", "convention")
        | {
            "id": spec["ref"],
            "version": 1,
            "target_id": spec.get("target"),
            "convention_id": spec.get("convention"),
            "lead_id": spec["lead"],
            "partners": [_party(party) for party in spec.get("partners", [])],
        }
        for spec in data.get("projects", [])
    ]
    return {
        "actors": actors,
        "conventions": conventions,
        "projects": projects,
        "relationships": relationships,
    }


def load_resources(path: Path | None = None) -> Resources:
    """A data set in API format: the demo by default, else a registry export (or a demo-format
    file, recognised by its actors' `ref`)."""
    if path is None:
        return demo_resources()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("actors") and "ref" in data["actors"][0]:
        return demo_resources(Path(path))
    missing = [name for name in LISTINGS if name not in data]
    if missing:
        raise ValueError(f"{path}: not a registry export, missing {', '.join(missing)}")
    return {name: list(data[name]) for name in LISTINGS}


def export(base_url: str, *, client: httpx.Client | None = None) -> Resources:
    """Every live resource of a running registry, read as the matching service reads it."""
    own = client is None
    client = client or http_client(base_url, 30.0)
    try:
        registry = RegistryClient(client)
        return {name: registry.listing(name) for name in LISTINGS}
    finally:
        if own:
            client.close()


def _without(spec: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in spec.items() if key not in keys}


def _party(party: dict[str, Any]) -> dict[str, Any]:
    return {"actor_id": party["actor"], "role": party.get("role", "partner")}


# --- protocol --------------------------------------------------------------------------------


def as_records(resources: Resources) -> tuple[list[Any], ...]:
    """The four listings as records, taken as they are.

    The evaluation runs offline on data sets whose resources are named by readable refs (the
    demo) rather than the registry's UUIDs, so the contract's id types would refuse them; the
    live service, which reads the registry, validates everything it receives instead.
    """
    return tuple(
        [_unchecked(_RECORD_OF[name], item) for item in resources[name]] for name in LISTINGS
    )


_RECORD_OF = {
    "actors": ActorRecord,
    "conventions": ConventionRecord,
    "projects": ProjectRecord,
    "relationships": RelationshipRecord,
}


def _unchecked(model: type[BaseModel], item: dict[str, Any]) -> Any:
    fields = dict(item)
    for key in ("parties", "partners"):
        if key in fields:
            fields[key] = [Party.model_construct(**party) for party in fields[key]]
    return model.model_construct(**fields)


def build(resources: Resources) -> CooperationGraph:
    return CooperationGraph.from_resources(*as_records(resources))


class _Scorer:
    """Our ranker as the service serves it: a model trained on the graph it is asked about
    (the hidden ties unknown to it; the prior when the graph is too small), `suggest` over its
    own bounded pool. The model and the feature space are made once per graph."""

    def __init__(self) -> None:
        self._ready: tuple[weakref.ref[CooperationGraph], RankingModel, FeatureSpace] | None = None

    def __call__(
        self, graph: CooperationGraph, source: str, candidates: Sequence[str]
    ) -> dict[str, float]:
        del candidates  # the scorer generates its own
        if self._ready is None or self._ready[0]() is not graph:
            self._ready = (weakref.ref(graph), train(graph), FeatureSpace.of(graph))
        _, model, space = self._ready
        found = suggest(graph, source, model=model, space=space, limit=graph.g.number_of_nodes())
        return {s.actor_id: s.score for s in found}


scorer = _Scorer()


def _random(seed: int) -> Method:
    def method(graph: CooperationGraph, source: str, candidates: Sequence[str]) -> dict[str, float]:
        return {c: random.Random(f"{seed}:{source}:{c}").random() for c in candidates}

    return method


def _index(function: Callable[..., Iterable[tuple[str, str, float]]]) -> Method:
    def method(graph: CooperationGraph, source: str, candidates: Sequence[str]) -> dict[str, float]:
        ebunch = [(source, candidate) for candidate in candidates]
        return {v: round(float(p), _DIGITS) for _, v, p in function(graph.g, ebunch)}

    return method


def _common_neighbours(
    graph: CooperationGraph, source: str, candidates: Sequence[str]
) -> dict[str, float]:
    return {c: float(len(list(nx.common_neighbors(graph.g, source, c)))) for c in candidates}


def baselines(seed: int) -> dict[str, Method]:
    return {
        "random": _random(seed),
        "popularity (preferential attachment)": _index(nx.preferential_attachment),
        "common neighbours": _common_neighbours,
        "Adamic–Adar": _index(nx.adamic_adar_index),
        "resource allocation": _index(nx.resource_allocation_index),
    }


BASELINES = tuple(baselines(0))


@dataclass
class MethodResult:
    method: str
    recall: float
    mrr: float
    auc: float


@dataclass
class Evaluation:
    data: str
    seed: int
    fraction: float
    k: int
    cooperation_pairs: int
    hidden_pairs: list[tuple[str, str]]
    still_partners: list[tuple[str, str]]
    queries: int
    results: list[MethodResult] = field(default_factory=list)

    def result(self, method: str) -> MethodResult:
        return next(r for r in self.results if r.method == method)


def evaluate(
    resources: Resources,
    *,
    seed: int = 42,
    fraction: float = 0.1,
    k: int = 10,
    methods: dict[str, Method] | None = None,
    data: str = "demo",
) -> Evaluation:
    """Hide a seeded sample of cooperation pairs and measure every method on finding them."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must be between 0 and 1")
    rng = random.Random(seed)
    graph = build(resources)
    pairs = cooperation_pairs(graph)
    if not pairs:
        raise ValueError("the data set has no cooperation to hide")
    hidden = sorted(rng.sample(pairs, max(1, round(fraction * len(pairs)))))
    hide(graph, hidden)

    # A pair still tied by a relationship (a membership, a support) stays partners: no method
    # may suggest it, so it is no test of anything and is left out of the queries.
    still_partners = [(a, b) for a, b in hidden if b in graph.partners(a)]
    hidden_of: dict[str, set[str]] = {}
    for a, b in hidden:
        if (a, b) not in still_partners:
            hidden_of.setdefault(a, set()).add(b)
            hidden_of.setdefault(b, set()).add(a)
    if not hidden_of:
        raise ValueError("every hidden pair is still tied by a relationship; hide more")
    methods = {"our scorer": scorer, **baselines(seed)} if methods is None else methods

    nodes = sorted(graph.g.nodes)
    totals = {name: {"hits": 0.0, "rr": 0.0, "auc": 0.0} for name in methods}
    queries = 0
    for source in sorted(hidden_of):
        excluded = graph.partners(source) | {source}
        candidates = [
            node
            for node in nodes
            if node not in excluded and graph.g.nodes[node]["kind"] != "country"
        ]
        positives = sorted(hidden_of[source])
        negatives = [c for c in candidates if c not in hidden_of[source]]
        drawn = {p: _draw(rng, negatives) for p in positives}
        queries += len(positives)
        for name, method in methods.items():
            scores = method(graph, source, candidates)
            ranking = sorted(scores, key=lambda c: (-scores[c], graph.g.nodes[c]["name"], c))
            rank = {c: i for i, c in enumerate(ranking, start=1)}
            for positive in positives:
                position = rank.get(positive)
                if position is not None and position <= k:
                    totals[name]["hits"] += 1
                if position is not None:
                    totals[name]["rr"] += 1 / position
                totals[name]["auc"] += _auc(scores, positive, drawn[positive])

    evaluation = Evaluation(data, seed, fraction, k, len(pairs), hidden, still_partners, queries)
    for name in methods:
        t = totals[name]
        evaluation.results.append(
            MethodResult(name, t["hits"] / queries, t["rr"] / queries, t["auc"] / queries)
        )
    return evaluation


def _draw(rng: random.Random, negatives: list[str]) -> list[str]:
    if len(negatives) <= NEGATIVES_PER_POSITIVE:
        return list(negatives)
    return rng.sample(negatives, NEGATIVES_PER_POSITIVE)


def _auc(scores: dict[str, float], positive: str, negatives: list[str]) -> float:
    """Share of negatives the positive outscores (ties count half); absent candidates score 0."""
    if not negatives:
        return 0.5
    mine = scores.get(positive, 0.0)
    wins = 0.0
    for negative in negatives:
        theirs = scores.get(negative, 0.0)
        wins += 1.0 if mine > theirs else 0.5 if mine == theirs else 0.0
    return wins / len(negatives)


def table(evaluation: Evaluation) -> str:
    k = evaluation.k
    lines = [
        f"| method | recall@{k} | MRR | AUC |",
        "|---|---:|---:|---:|",
        *(
            f"| {r.method} | {r.recall:.3f} | {r.mrr:.3f} | {r.auc:.3f} |"
            for r in evaluation.results
        ),
        "",
        f"Data set: {evaluation.data}; seed {evaluation.seed}; "
        f"{len(evaluation.hidden_pairs)} of {evaluation.cooperation_pairs} cooperation pairs "
        f"hidden ({evaluation.fraction:.0%}), {len(evaluation.still_partners)} of them left out "
        f"as still tied by a relationship; {evaluation.queries} queries (each hidden pair asked "
        "from both ends).",
    ]
    return "\n".join(lines)


# --- command ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.matching.evaluate",
        description="Hide cooperation edges and compare partner suggestions with baselines.",
    )
    parser.add_argument("--data", type=Path, help="registry export in API format (default: demo)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fraction", type=float, default=0.1, help="share of pairs to hide")
    parser.add_argument("--k", type=int, default=10, help="cut-off of recall@k")
    parser.add_argument(
        "--export",
        metavar="URL",
        help="download the listings of the registry at URL into --data, then exit",
    )
    args = parser.parse_args(argv)

    if args.export:
        if args.data is None:
            parser.error("--export needs --data FILE to write the export to")
        resources = export(args.export)
        args.data.write_text(json.dumps(resources, ensure_ascii=False, indent=1), "utf-8")
        counts = ", ".join(f"{len(resources[name])} {name}" for name in LISTINGS)
        print(f"wrote {args.data}: {counts}")
        return 0

    resources = load_resources(args.data)
    name = "demo (services/registry/demo/demo.json)" if args.data is None else str(args.data)
    evaluation = evaluate(resources, seed=args.seed, fraction=args.fraction, k=args.k, data=name)
    print(table(evaluation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
