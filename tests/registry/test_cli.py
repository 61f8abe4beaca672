"""The registry as a new user runs it: migrate, load the demo data, serve over real HTTP."""

import httpx

from tests.processes import Service, free_port, run_cli


def test_migrate_load_demo_and_serve_as_make_run_does(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh' / 'passerelles.db'}"}
    assert run_cli(env, "migrate").returncode == 0
    loaded = run_cli(env, "load-demo", "--if-empty")
    assert loaded.returncode == 0, loaded.stderr
    assert "demo data loaded" in loaded.stdout
    again = run_cli(env, "load-demo", "--if-empty")
    assert again.returncode == 0 and "not loaded" in again.stdout
    assert run_cli(env, "load-demo").returncode == 1

    port = free_port()
    server = Service.api(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        page = httpx.get(f"{base}/v1/actors", params={"limit": 200}, timeout=10).json()
        assert len(page["items"]) >= 150
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        head = httpx.get(f"{base}/v1/events/head", timeout=10).json()["head"]
        assert head >= 150, "loading the demo data publishes its events"
    finally:
        server.stop()
