"""Partner suggestions on a real network the product has never seen, as its users get them.

    python bench/suggestions_eval.py [--seeds 5] [--fraction 0.1] [--limit 100]   (make evaluate)

The network is Wikidata's sister cities (`datasets/wikidata_sister_cities.tsv`): the places whose
country the registry resolves and the ties between them (6,189 places, 8,118 ties). For each
seed:

1. a seeded share of the ties is hidden, drawn among the ties whose two places keep another
   (`ranking.splits.draw_hidden`, the protocol the ranker's own training uses);
2. the places and the ties left are imported through `passerelles import --apply` into a fresh
   registry (SQLite), and the registry and the matching service start as processes;
3. once the matching service has trained its model on what it was given, every place that lost a
   partner asks `GET /v1/actors/{id}/suggestions?limit=100`;
4. common neighbours, Adamic–Adar and resource allocation rank every other place of the same
   visible network (equal scores in the order of the places' ids), cut at the same 100.

Recall@10 is the share of hidden partners in the top 10, MRR the mean of 1 / their rank (0 past
the cut). The pool ceiling is the share of hidden partners that the product's candidate pool
contains at all (`FeatureSpace.pool`, computed here on the same visible network). The table
gives the mean over the seeds and the worst seed.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from bench import import_files, processes  # noqa: E402
from services.matching.graph import CooperationGraph  # noqa: E402
from services.matching.ranking.features import FeatureSpace  # noqa: E402
from services.matching.ranking.splits import draw_hidden  # noqa: E402
from shared.countries import resolve_country  # noqa: E402
from shared.records import ActorRecord, ConventionRecord, Party  # noqa: E402

PRODUCT = "Passerelles (suggestions API)"
BASELINES = ("common neighbours", "Adamic–Adar", "resource allocation")
K = 10


@dataclass
class SeedResult:
    seed: int
    queries: int
    recall: dict[str, float] = field(default_factory=dict)
    mrr: dict[str, float] = field(default_factory=dict)
    ceiling: float = 0.0
    model: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0


# --- the network and its split ---------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    places: list[import_files.Place]
    ties: list[tuple[str, str]]  # (smaller qid, larger qid)


def load(tsv: Path) -> Network:
    places, ties = import_files.network(tsv)
    return Network(places, sorted((min(a, b), max(a, b)) for a, b in ties))


def hidden_partners(hidden: list[tuple[str, str]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for a, b in hidden:
        found.setdefault(a, set()).add(b)
        found.setdefault(b, set()).add(a)
    return found


# --- the product, as processes ---------------------------------------------------------------


@contextmanager
def product(
    network: Network, visible: list[tuple[str, str]], work: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """A registry holding `network` with only the `visible` ties, and a matching service that
    has trained on it; yields the matching URL and the registry id of each place."""
    env = processes.registry_env(
        f"sqlite:///{work / 'registry.db'}", work, WEBHOOK_DISPATCHER="off"
    )
    places = work / "places.csv"
    ties = work / "ties.csv"
    import_files.write_csv(
        places,
        ("id", "kind", "name", "level", "country", "wikidata_qid"),
        [
            [p.qid, "local_authority", p.name, "municipality", p.country, p.qid]
            for p in network.places
        ],
    )
    import_files.write_csv(
        ties,
        ("id", "kind", "title", "parties"),
        [
            [f"tie-{a}-{b}", "twinning", f"{a} – {b}", f"{a}=signatory;{b}=signatory"]
            for a, b in visible
        ],
    )
    registry = processes.registry_command()
    processes.run([*registry, "migrate"], env=env, cwd=work)
    report = work / "places.json"
    for path, extra in ((places, ["--report", str(report)]), (ties, [])):
        processes.run(
            [*registry, "import", str(path), "--source", "eval", "--apply", *extra],
            env=env,
            cwd=work,
        )
    ids = {row["ref"]: row["id"] for row in json.loads(report.read_text())["rows"] if row["id"]}

    registry_port, matching_port = processes.free_port(), processes.free_port()
    matching_env = processes.matching_env(
        env,
        f"http://127.0.0.1:{registry_port}",
        work,
        MATCHING_TRAINING_CHECK_SECONDS="1",
        MATCHING_QUERY_RATE_PER_KEY="0",
        MATCHING_QUERY_RATE_PER_IP="0",
    )
    processes.run([*processes.matching_command(), "migrate"], env=matching_env, cwd=work)
    matching_log = open(work / "matching.log", "w")  # noqa: SIM115
    servers = [
        processes.start([*registry, "serve", "--port", str(registry_port)], env=env, cwd=work),
        processes.start(
            [*processes.matching_command(), "serve", "--port", str(matching_port)],
            env=matching_env,
            cwd=work,
            stderr=matching_log,
        ),
    ]
    url = f"http://127.0.0.1:{matching_port}"
    try:
        _wait_for_model(url)
        yield url, ids
    finally:
        for server in servers:
            processes.stop(server)
        matching_log.close()


def _wait_for_model(url: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{url}/health", timeout=10).json()
            if health.get("synced") and health["model"]["trainings"] >= 1:
                return
        except (httpx.TransportError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise SystemExit(f"the matching service at {url} had no trained model after {timeout:.0f} s")


def ask(url: str, actor_id: str, limit: int) -> list[str]:
    response = httpx.get(
        f"{url}/v1/actors/{actor_id}/suggestions", params={"limit": limit}, timeout=30
    )
    if response.status_code != 200:
        raise SystemExit(f"suggestions for {actor_id}: {response.status_code} {response.text}")
    return [item["actor"]["id"] for item in response.json()["items"]]


# --- the baselines and the pool, in-process ------------------------------------------------------


def _adjacency(qids: list[str], ties: list[tuple[str, str]]) -> sp.csr_matrix:
    index = {q: i for i, q in enumerate(qids)}
    rows = [index[a] for a, b in ties] + [index[b] for a, b in ties]
    cols = [index[b] for a, b in ties] + [index[a] for a, b in ties]
    n = len(qids)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def baseline_ranks(
    qids: list[str], visible: list[tuple[str, str]], partners: dict[str, set[str]], limit: int
) -> dict[str, list[int | None]]:
    """Per baseline, the rank (within `limit`, else None) of every hidden partner."""
    index = {q: i for i, q in enumerate(qids)}
    a = _adjacency(qids, visible)
    degree = np.asarray(a.sum(axis=1)).ravel()
    weights = {
        "common neighbours": np.ones_like(degree),
        "Adamic–Adar": np.divide(
            1.0, np.log(np.maximum(degree, 2.0)), out=np.zeros_like(degree), where=degree > 1
        ),
        "resource allocation": np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0),
    }
    found: dict[str, list[int | None]] = {name: [] for name in BASELINES}
    for source in sorted(partners):
        row = index[source]
        excluded = np.zeros(len(qids), dtype=bool)
        excluded[a[row].indices] = True
        excluded[row] = True
        candidates = np.flatnonzero(~excluded)
        for name in BASELINES:
            scores = np.asarray((a[row].multiply(weights[name]) @ a).todense()).ravel()
            order = candidates[np.lexsort((candidates, -scores[candidates]))][:limit]
            position = {int(r): i for i, r in enumerate(order, start=1)}
            found[name] += [position.get(index[p]) for p in sorted(partners[source])]
    return found


def pool_ceiling(
    network: Network, visible: list[tuple[str, str]], partners: dict[str, set[str]]
) -> float:
    """The share of hidden partners the product's candidate pool contains."""
    graph = CooperationGraph.from_resources(
        [
            ActorRecord.model_construct(
                id=p.qid,
                version=1,
                kind="local_authority",
                name=p.name,
                country=resolve_country(p.country),
                level="municipality",
                themes=[],
                origin_ids=[],
                intervention_countries=[],
            )
            for p in network.places
        ],
        [
            ConventionRecord.model_construct(
                id=f"{a}-{b}",
                version=1,
                kind="twinning",
                title="",
                status="active",
                themes=[],
                parties=[Party.model_construct(actor_id=x, role="signatory") for x in (a, b)],
            )
            for a, b in visible
        ],
        [],
        [],
    )
    space = FeatureSpace.of(graph)
    inside = total = 0
    for source in sorted(partners):
        row = space.index[source]
        pool = set(space.pool(row, space.pagerank(row)).tolist())
        for partner in partners[source]:
            total += 1
            inside += space.index[partner] in pool
    return inside / total if total else 0.0


# --- one seed, and the table -------------------------------------------------------------------


def run_seed(network: Network, seed: int, fraction: float, limit: int) -> SeedResult:
    started = time.perf_counter()
    hidden = draw_hidden(network.ties, fraction, seed)
    hidden_set = set(hidden)
    visible = [tie for tie in network.ties if tie not in hidden_set]
    partners = hidden_partners(hidden)
    qids = sorted(p.qid for p in network.places)
    result = SeedResult(seed, sum(len(p) for p in partners.values()))
    ranks = baseline_ranks(qids, visible, partners, limit)
    result.ceiling = pool_ceiling(network, visible, partners)
    work = Path(tempfile.mkdtemp(prefix="passerelles-eval-"))
    try:
        with product(network, visible, work) as (url, ids):
            result.model = httpx.get(f"{url}/v1/model", timeout=10).json()
            by_id = {v: k for k, v in ids.items()}
            found: list[int | None] = []
            for source in sorted(partners):
                listed = [by_id.get(i) for i in ask(url, ids[source], limit)]
                position = {q: n for n, q in enumerate(listed, start=1) if q}
                found += [position.get(p) for p in sorted(partners[source])]
            ranks[PRODUCT] = found
    except BaseException:
        log = work / "matching.log"
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, positions in ranks.items():
        result.recall[name] = sum(1 for r in positions if r is not None and r <= K) / len(positions)
        result.mrr[name] = sum(1 / r for r in positions if r is not None) / len(positions)
    result.seconds = time.perf_counter() - started
    return result


def table(results: list[SeedResult]) -> str:
    methods = (PRODUCT, *BASELINES)
    aa = "Adamic–Adar"
    lines = [
        f"| method | recall@{K} (mean) | worst seed | MRR (mean) | worst seed | × Adamic–Adar |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in methods:
        recalls = [r.recall[name] for r in results]
        mrrs = [r.mrr[name] for r in results]
        ratio_r = statistics.mean(recalls) / max(
            statistics.mean(r.recall[aa] for r in results), 1e-9
        )
        ratio_m = statistics.mean(mrrs) / max(statistics.mean(r.mrr[aa] for r in results), 1e-9)
        lines.append(
            f"| {name} | {statistics.mean(recalls):.3f} | {min(recalls):.3f} | "
            f"{statistics.mean(mrrs):.3f} | {min(mrrs):.3f} | {ratio_r:.2f} / {ratio_m:.2f} |"
        )
    lines.append("")
    for r in results:
        validation = r.model.get("validation", {})
        lines.append(
            f"seed {r.seed}: {r.queries} hidden partners asked about; product "
            f"{r.recall[PRODUCT]:.3f} / {r.mrr[PRODUCT]:.3f}, Adamic–Adar "
            f"{r.recall[aa]:.3f} / {r.mrr[aa]:.3f}; pool ceiling {r.ceiling:.3f}; model "
            f"{r.model.get('version')} ({r.model.get('kind')}, its own validation "
            f"{validation}); {r.seconds:.0f} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--limit", type=int, default=100, help="suggestions asked per place")
    parser.add_argument("--tsv", type=Path, default=import_files.DEFAULT_TSV)
    args = parser.parse_args(argv)
    network = load(args.tsv)
    print(f"network: {len(network.places)} places, {len(network.ties)} ties ({args.tsv})")
    results = []
    for seed in range(args.seeds):
        result = run_seed(network, seed, args.fraction, args.limit)
        results.append(result)
        print(
            f"seed {seed}: product {result.recall[PRODUCT]:.3f} / {result.mrr[PRODUCT]:.3f}, "
            f"Adamic–Adar {result.recall['Adamic–Adar']:.3f} / {result.mrr['Adamic–Adar']:.3f} "
            f"({result.seconds:.0f} s)",
            flush=True,
        )
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
