"""The offline evaluation: our scorer against link-prediction baselines, on hidden cooperation."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.matching import evaluate as ev
from services.matching.graph import CooperationGraph
from shared.access import Scope
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import bearer, issue_key
from tests.processes import Service, free_port, registry_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> ev.Resources:
    return ev.load_resources()


@pytest.fixture(scope="module")
def evaluation(demo: ev.Resources) -> ev.Evaluation:
    return ev.evaluate(demo, seed=42)


def test_the_demo_is_converted_to_the_registry_api_format(demo: ev.Resources) -> None:
    raw = json.loads(ev.DEMO_FILE.read_text(encoding="utf-8"))
    assert {name: len(demo[name]) for name in ev.LISTINGS} == {
        name: len(raw[name]) for name in ev.LISTINGS
    }
    actors = {actor["id"]: actor for actor in demo["actors"]}
    organisation = actors["mo-ressortissants-kayes-evry"]
    assert organisation["based_in_id"] == "fr-evry-courcouronnes"
    assert organisation["version"] == 1
    homes = {a["based_in_id"] for a in demo["actors"] if a["based_in_id"]}
    origins = {o for a in demo["actors"] for o in a["origin_ids"]}
    assert homes and origins and homes | origins <= set(actors)
    project = next(p for p in demo["projects"] if p["id"] == "proj-evry-kayes-bornes-fontaines")
    assert project["lead_id"] == "fr-evry-courcouronnes"
    assert project["target_id"] == "ml-kayes"
    assert project["convention_id"] == "conv-evry-kayes"
    assert {"actor_id": "mo-ressortissants-kayes-evry", "role": "partner"} in project["partners"]
    assert project["budget"] == raw["projects"][0]["budget"]
    referenced = {p["actor_id"] for c in demo["conventions"] for p in c["parties"]}
    referenced |= {r["subject_id"] for r in demo["relationships"]}
    assert referenced <= set(actors)
    graph = ev.build(demo)
    assert graph.g.number_of_nodes() == len(raw["actors"])
    assert graph.ties("mo-ressortissants-kayes-evry", "fr-evry-courcouronnes")


def test_our_scorer_beats_every_baseline_on_recall_at_10(evaluation: ev.Evaluation) -> None:
    ours = evaluation.result("our scorer")
    assert len(ev.BASELINES) == 5
    for name in ev.BASELINES:
        baseline = evaluation.result(name)
        assert ours.recall > baseline.recall, (name, ours, baseline)
    assert evaluation.queries >= 20  # enough hidden pairs for the comparison to mean something


def test_the_evaluation_is_reproducible(demo: ev.Resources, evaluation: ev.Evaluation) -> None:
    again = ev.evaluate(demo, seed=42)
    assert again.hidden_pairs == evaluation.hidden_pairs
    assert again.results == evaluation.results
    assert ev.table(again) == ev.table(evaluation)
    other = ev.evaluate(demo, seed=7)
    assert other.hidden_pairs != evaluation.hidden_pairs


def test_two_runs_print_the_same_table_whatever_the_hash_seed() -> None:
    outputs = []
    for hash_seed in ("1", "2"):
        run = subprocess.run(
            [sys.executable, "-m", "services.matching.evaluate", "--seed", "42"],
            cwd=ROOT,
            env=os.environ | {"PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith("| method | recall@10 | MRR | AUC |")
    assert "seed 42" in outputs[0]


def test_hidden_cooperation_is_really_gone(demo: ev.Resources, evaluation: ev.Evaluation) -> None:
    graph = ev.build(demo)
    pairs = ev.cooperation_pairs(graph)
    assert len(evaluation.hidden_pairs) == round(0.1 * len(pairs))
    ev.hide(graph, evaluation.hidden_pairs)
    for a, b in evaluation.hidden_pairs:
        assert not [t for t in graph.ties(a, b) if t.type in ev.HIDDEN_TIES]
        still = (a, b) in evaluation.still_partners
        assert (b in graph.partners(a)) == still
    assert set(ev.cooperation_pairs(graph)) == set(pairs) - set(evaluation.hidden_pairs)


def test_a_broken_scorer_is_noticed(demo: ev.Resources) -> None:
    def shuffled(graph: CooperationGraph, source: str, candidates: list[str]) -> dict[str, float]:
        """Our candidate pool with random scores: the signals thrown away."""
        pool = ev.scorer(graph, source, candidates)
        return {c: random.Random(f"broken:{source}:{c}").random() for c in pool}

    methods = {"broken": shuffled, "Adamic–Adar": ev.baselines(42)["Adamic–Adar"]}
    result = ev.evaluate(demo, seed=42, methods=methods)
    assert result.result("broken").recall < result.result("Adamic–Adar").recall
    assert result.result("broken").mrr < result.result("Adamic–Adar").mrr


def test_metrics_of_a_scorer_that_cannot_tell(demo: ev.Resources) -> None:
    def blind(graph: CooperationGraph, source: str, candidates: list[str]) -> dict[str, float]:
        return dict.fromkeys(candidates, 0.0)

    def nothing(graph: CooperationGraph, source: str, candidates: list[str]) -> dict[str, float]:
        return {}

    result = ev.evaluate(demo, seed=42, methods={"blind": blind, "nothing": nothing})
    assert result.result("blind").auc == pytest.approx(0.5)  # every comparison a tie
    assert result.result("nothing") == ev.MethodResult("nothing", 0.0, 0.0, 0.5)


def test_an_api_export_gives_the_same_table(demo: ev.Resources, tmp_path: Path, capsys) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps(demo), encoding="utf-8")
    assert ev.main(["--data", str(export)]) == 0
    from_file = capsys.readouterr().out
    assert ev.main([]) == 0
    from_demo = capsys.readouterr().out
    assert from_file.split("\n\n")[0] == from_demo.split("\n\n")[0]
    assert str(export) in from_file


def test_export_reads_every_listing_of_a_registry(client, registry) -> None:
    lille = registry.authority("Lille")
    dakar = registry.authority("Dakar", country="SN")
    registry.convention(lille, dakar)
    resources = ev.export("http://testserver", client=client)
    assert [a["name"] for a in resources["actors"]] == ["Lille", "Dakar"]
    assert len(resources["conventions"]) == 1
    assert resources["projects"] == [] and resources["relationships"] == []


def test_a_file_that_is_no_export_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"actors": [{"id": "a"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="conventions"):
        ev.load_resources(wrong)


def test_the_export_command_writes_a_file_the_evaluation_reads(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    engine = make_engine(url)
    admin = bearer(issue_key(engine, "test admin", Scope.admin))
    engine.dispose()
    port = free_port()
    server = Service.api(registry_env(url), port)
    try:
        base = f"http://127.0.0.1:{port}"
        for name, country in (("Lille", "FR"), ("Dakar", "SN")):
            body = {"kind": "local_authority", "level": "municipality", "name": name}
            httpx.post(
                f"{base}/v1/actors", json=body | {"country": country}, headers=admin, timeout=10
            )
        target = tmp_path / "registry.json"
        assert ev.main(["--export", base, "--data", str(target)]) == 0
    finally:
        server.stop()
    assert f"wrote {target}: 2 actors" in capsys.readouterr().out
    assert [a["name"] for a in ev.load_resources(target)["actors"]] == ["Lille", "Dakar"]
