"""The reference explorer at / in a real headless Chromium (Debian's), against both services run
as processes on the demo data: what a newcomer sees, with no console error and no serious
accessibility violation (axe-core, from web/node_modules). Screenshots go to
test-artifacts/explorer/ (git-ignored)."""

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from services.registry.demo.loader import demo_id
from shared.migrate import upgrade
from tests.processes import ROOT, Service, free_port, registry_env, run_cli

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "explorer"
KAYES = str(demo_id("ml-kayes"))

if not CHROMIUM or not AXE.exists():
    why = "needs Debian's chromium and web/node_modules (npm ci in web/)"
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


class Site:
    def __init__(self, url: str, admin_key: str) -> None:
        self.url, self.admin_key = url, admin_key


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("explorer")
    url = f"sqlite:///{folder / 'registry.db'}"
    matching_db = f"sqlite:///{folder / 'matching.db'}"
    upgrade(url)
    upgrade(matching_db, "matching")
    env = registry_env(url)
    assert run_cli(env, "load-demo").returncode == 0
    admin = run_cli(env, "keys", "create", "--name", "explorer admin", "--scope", "admin")
    service = run_cli(env, "keys", "create", "--name", "matching", "--scope", "registry:propose")
    secret = next(w for w in admin.stdout.split() if w.startswith("pss_"))
    service_secret = next(w for w in service.stdout.split() if w.startswith("pss_"))
    registry_port, matching_port = free_port(), free_port()
    registry_url = f"http://127.0.0.1:{registry_port}"
    matching_url = f"http://127.0.0.1:{matching_port}"
    registry = Service.api(
        env | {"MATCHING_PUBLIC_URL": matching_url, "WEBHOOK_DISPATCHER": "off"}, registry_port
    )
    matching = Service.api(
        {
            "MATCHING_DATABASE_URL": matching_db,
            "MATCHING_REGISTRY_URL": registry_url,
            "MATCHING_REGISTRY_KEY": service_secret,
            "MATCHING_CORS_ALLOW_ORIGINS": registry_url,
            "MATCHING_POLL_SECONDS": "0.2",
            "MATCHING_TRAIN_RANKER": "false",
        },
        matching_port,
        module="services.matching",
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield Site(registry_url, secret)
    finally:
        matching.stop()
        registry.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console",
        lambda message: (
            problems.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield opened
    context.close()
    assert not problems, problems


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    # Evaluated through the browser's debugging protocol, which the page's policy (scripts of
    # its own origin only) does not apply to, unlike a script tag.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_map_draws_the_demo_actors_their_ties_and_the_hotspots(site: Site, page: Page):
    page.goto(site.url + "/")
    page.wait_for_selector("#map .actor")
    assert page.locator("#map .actor").count() == 235
    assert page.locator("#map .tie").count() > 100
    page.wait_for_selector(f'#map .hotspot[data-target="{KAYES}"]')
    assert page.locator("html").get_attribute("lang") == "fr"
    page.screenshot(path=str(SHOTS / "map.png"))
    assert not accessibility_problems(page)
    # Zoom from the keyboard, then open an actor from its point.
    before = page.locator("#map").get_attribute("viewBox")
    page.locator("#map").focus()
    page.keyboard.press("+")
    assert page.locator("#map").get_attribute("viewBox") != before
    page.locator(f'#map .actor[data-id="{KAYES}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text('Kayes')")


def test_a_directory_search_folds_accents_and_finds_the_kayes_actors(site: Site, page: Page):
    page.goto(site.url + "/#/annuaire")
    page.get_by_label("Recherche").fill("kayes")
    page.get_by_role("button", name="Chercher").click()
    # The unfiltered page is already a table: wait for the search's own rows, not just any.
    found = page.locator("table tbody td:first-child").filter(has_text="Région de Kayes")
    expect(found).to_have_count(1, timeout=30_000)
    names = page.locator("table tbody td:first-child").all_inner_texts()
    assert "Kayes" in names and "Région de Kayes" in names
    assert all("kayes" in name.lower() for name in names)
    # Filters combine: the municipalities among them.
    page.get_by_label("Niveau").select_option("municipality")
    page.get_by_role("button", name="Chercher").click()
    page.wait_for_url("**level=municipality**")
    # Playwright's expectations poll from outside the page: its policy forbids eval.
    expect(page.locator("table tbody tr")).to_have_count(1)
    assert page.locator("table tbody td:first-child").all_inner_texts() == ["Kayes"]
    page.screenshot(path=str(SHOTS / "directory.png"))
    assert not accessibility_problems(page)


def test_an_actor_page_shows_suggestions_with_their_reasons(site: Site, page: Page):
    page.goto(f"{site.url}/#/acteur/{KAYES}")
    page.wait_for_selector(".suggestion")
    assert page.locator(".suggestion").count() >= 3
    reasons = page.locator(".suggestion .reasons li").all_inner_texts()
    # The page is in French, and so are the reasons the matching service writes for it.
    assert reasons and any("proches dans le réseau" in reason for reason in reasons), reasons
    assert page.locator("h2", has_text="Conventions").count() == 1
    page.screenshot(path=str(SHOTS / "actor.png"), full_page=True)
    assert not accessibility_problems(page)


def test_the_page_works_at_360_pixels_and_in_english(site: Site, browser: Browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    narrow = context.new_page()
    narrow.goto(site.url + "/#/annuaire?q=kayes")
    narrow.wait_for_selector("table tbody tr")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360
    narrow.get_by_role("button", name="English").click()
    narrow.wait_for_selector("h1:text('Directory')")
    assert narrow.locator("html").get_attribute("lang") == "en"
    narrow.screenshot(path=str(SHOTS / "directory-360-en.png"), full_page=True)
    assert not accessibility_problems(narrow)
    context.close()


def test_adopting_the_kayes_federation_makes_its_hotspot_disappear(site: Site, page: Page):
    page.goto(site.url + "/#/chevauchements")
    hotspot = page.locator(f'li[data-hotspot^="{KAYES}:"]').first
    hotspot.wait_for()
    page.screenshot(path=str(SHOTS / "overlaps.png"))
    assert not accessibility_problems(page)
    page.get_by_text("Clé d'API").click()
    page.get_by_label("Clé pour agir").fill(site.admin_key)
    page.get_by_role("button", name="Enregistrer").click()
    started = time.monotonic()
    hotspot.get_by_role("button", name="Adopter").click()
    page.wait_for_selector(f'li.resolved[data-hotspot^="{KAYES}:"]', timeout=5000)
    assert time.monotonic() - started < 5
    page.screenshot(path=str(SHOTS / "overlaps-adopted.png"))


def test_the_committed_world_outline_is_what_the_build_makes(tmp_path):
    """`make web` builds services/registry/web/world.json from the locked npm packages; the
    committed file (so that `make run` needs no Node.js) must be that build's."""
    node = shutil.which("node")
    assert node, "node is needed to build the world outline"
    built = tmp_path / "world.json"
    subprocess.run([node, "build.mjs", str(built)], cwd=ROOT / "web", check=True, timeout=60)
    assert (
        built.read_bytes() == (ROOT / "services" / "registry" / "web" / "world.json").read_bytes()
    )
