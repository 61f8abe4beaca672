"""Self-supervised training of the ranker on the registry's own ties.

A seeded share of the cooperation pairs is hidden (`splits`), every actor that lost a partner
asks the ranker's query (its pool, its features) as the service would, the hidden partners in
its pool are the positives and the rest of the pool the negatives, and a logistic regression is
fitted on standardised features. A fifth of those actors are kept out of the fit and measure
the model (recall@10, MRR) against Adamic–Adar on the same split, which `/v1/model` shows.

Pure: works on a graph it is given (the caller's own copy: hiding ties changes it).
"""

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FEATURES, FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel
from services.matching.ranking.query import rank
from services.matching.ranking.splits import (
    cooperation_pairs,
    draw_hidden,
    hidden_partners,
    hide,
)
from services.matching.territories import bridged

__all__ = ["MIN_HIDDEN", "TrainingSet", "adamic_adar_ranks", "query_rows", "train"]

# Fewer hidden ties than this and the fit would learn noise: the prior serves instead.
MIN_HIDDEN = 40
_VALIDATION_SHARE = 0.2
_MAX_SOURCES = 4_000
_NEGATIVES_PER_SOURCE = 200


@dataclass(frozen=True)
class TrainingSet:
    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray  # what each row stands for: 1 for a positive, more for a sampled negative
    sources: int
    candidates: int  # in the sources' whole pools


def query_rows(
    graph: CooperationGraph, space: FeatureSpace, source: str
) -> tuple[int, list[int], list[int]]:
    """The source's row, the rows its query excludes (itself, partners), the bridged rows."""
    index = space.index
    excluded = [index[p] for p in graph.partners(source) if p in index]
    bridges = [index[t] for t in bridged(graph, source) if t in index]
    return index[source], excluded, bridges


def train(
    graph: CooperationGraph, *, seed: int = 0, fraction: float = 0.1, version_hint: str = ""
) -> RankingModel:
    """A model fitted on `graph` (which it changes), or the prior when it is too small."""
    pairs = cooperation_pairs(graph)
    hidden = draw_hidden(pairs, fraction, seed)
    if len(hidden) < MIN_HIDDEN:
        return PRIOR
    hide(graph, hidden)
    space = FeatureSpace.of(graph)
    partners = hidden_partners(graph, hidden)
    sources = sorted(partners)
    random.Random(seed).shuffle(sources)
    sources = sources[:_MAX_SOURCES]
    held_out = max(1, round(_VALIDATION_SHARE * len(sources)))
    fit_on, check_on = sources[held_out:], sources[:held_out]

    training = _training_set(graph, space, fit_on, partners, seed)
    if training.labels.sum() < MIN_HIDDEN // 4 or training.labels.all():
        return PRIOR
    scaler = StandardScaler().fit(training.features, sample_weight=training.weights)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    fitted = LogisticRegression(C=1.0, max_iter=2_000).fit(
        (training.features - scaler.mean_) / scale,
        training.labels,
        sample_weight=training.weights,
    )
    trained_at = datetime.now(UTC)
    coefficients = fitted.coef_[0]
    digest = hashlib.sha256(coefficients.tobytes() + scaler.mean_.tobytes()).hexdigest()[:8]
    model = RankingModel(
        version=f"{version_hint}{trained_at:%Y%m%dT%H%M%SZ}-{digest}",
        kind="learned",
        mean=scaler.mean_,
        scale=scale,
        coefficients=coefficients,
        intercept=float(fitted.intercept_[0]),
        trained_at=trained_at,
        training={
            "cooperation_pairs": len(pairs),
            "hidden_pairs": len(hidden),
            "sources": training.sources,
            "candidates": training.candidates,
            "positives": int(training.labels.sum()),
            "seed": seed,
        },
    )
    validation = _validate(graph, space, model, check_on, partners)
    return replace(model, validation=validation)


def _training_set(
    graph: CooperationGraph,
    space: FeatureSpace,
    sources: list[str],
    partners: dict[str, set[str]],
    seed: int = 0,
) -> TrainingSet:
    """Every positive of every source's pool, and a seeded sample of at most
    `_NEGATIVES_PER_SOURCE` of its negatives, each weighing for the negatives it stands for.

    The whole pools made a matrix of thousands of sources × thousands of candidates that held
    most of the service's memory while it trained (2 GB at 10,000 actors). Weighted, the sample
    has the whole pools' likelihood in expectation, so the fit is the same model."""
    rng = np.random.default_rng(seed)
    blocks, labels, weights = [], [], []
    for source in sources:
        row, excluded, bridges = query_rows(graph, space, source)
        pagerank = space.pagerank(row)
        view = space.source(row)
        bridge_rows = np.array(bridges, dtype=np.int64)
        pool = space.pool(row, pagerank, bridge_rows, view=view)
        pool = pool[~np.isin(pool, excluded)]
        wanted = [space.index[p] for p in partners[source] if p in space.index]
        positive = np.isin(pool, wanted)
        negatives = pool[~positive]
        kept = negatives
        if len(negatives) > _NEGATIVES_PER_SOURCE:
            kept = np.sort(rng.choice(negatives, _NEGATIVES_PER_SOURCE, replace=False))
        rows = np.concatenate([pool[positive], kept])
        blocks.append(space.matrix(row, rows, bridged=bridge_rows, pagerank=pagerank, view=view))
        labels.append(np.arange(len(rows)) < positive.sum())
        weight = len(negatives) / len(kept) if len(kept) else 1.0
        weights.append(np.where(labels[-1], 1.0, weight))
    if not blocks:
        return TrainingSet(np.zeros((0, len(FEATURES))), np.zeros(0, dtype=int), np.zeros(0), 0, 0)
    weight = np.concatenate(weights)
    return TrainingSet(
        np.vstack(blocks),
        np.concatenate(labels).astype(int),
        weight,
        len(sources),
        round(float(weight.sum())),
    )


def adamic_adar_ranks(
    space: FeatureSpace, row: int, excluded: list[int], wanted: list[int]
) -> list[int | None]:
    """Where Adamic–Adar ranks each wanted row among every actor not excluded (None: nowhere,
    an index of 0 ranks after every positive one, in node order)."""
    degree = space.degree
    weights = np.divide(
        1.0, np.log(np.maximum(degree, 2.0)), out=np.zeros_like(degree), where=degree > 1
    )
    scores = np.asarray((space.adjacency[row].multiply(weights) @ space.adjacency).todense())
    scores = scores.ravel()
    allowed = space.is_actor.copy()
    allowed[excluded] = False
    allowed[row] = False
    candidates = np.flatnonzero(allowed)
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    position = {int(r): i for i, r in enumerate(order, start=1)}
    return [position.get(w) for w in wanted]


def _validate(
    graph: CooperationGraph,
    space: FeatureSpace,
    model: RankingModel,
    sources: list[str],
    partners: dict[str, set[str]],
    k: int = 10,
) -> dict[str, float | int]:
    hits = {"model": 0.0, "adamic_adar": 0.0}
    reciprocal = {"model": 0.0, "adamic_adar": 0.0}
    queries = 0
    for source in sources:
        row, excluded, bridges = query_rows(graph, space, source)
        wanted = [space.index[p] for p in partners[source] if p in space.index]
        ranked = rank(space, model, row, excluded=excluded, bridged=bridges)
        position = {int(r): i for i, r in enumerate(ranked.rows, start=1)}
        found = {
            "model": [position.get(w) for w in wanted],
            "adamic_adar": adamic_adar_ranks(space, row, excluded, wanted),
        }
        queries += len(wanted)
        for method, ranks in found.items():
            hits[method] += sum(1 for r in ranks if r is not None and r <= k)
            reciprocal[method] += sum(1 / r for r in ranks if r is not None)
    if queries == 0:
        return {}
    return {
        "queries": queries,
        f"recall_at_{k}": round(hits["model"] / queries, 4),
        "mrr": round(reciprocal["model"] / queries, 4),
        f"adamic_adar_recall_at_{k}": round(hits["adamic_adar"] / queries, 4),
        "adamic_adar_mrr": round(reciprocal["adamic_adar"] / queries, 4),
    }
