// The reference explorer: a hash router over four views, each built from the public JSON APIs
// only (services/registry/web/api.js). Plain modern JavaScript, no build step.
import { ApiError, everything, key, matching, registry, setKey } from "./api.js";
import { language, setLanguage, t, translateStatic } from "./i18n.js";
import { KINDS, renderMap } from "./map.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
let themeLabels = new Map();

function say(text) {
  status.textContent = text;
}

function node(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

function actorLink(actor) {
  if (!actor.id) return node("span", {}, actor.name);
  return node("a", { href: `#/acteur/${actor.id}` }, actor.name);
}

function themeLabel(code) {
  return themeLabels.get(code) || code;
}

async function loadThemes() {
  const themes = await registry("/v1/themes");
  themeLabels = new Map(
    (themes.items || themes).map((theme) => [
      theme.code,
      language() === "en" ? theme.label_en || theme.label_fr : theme.label_fr || theme.label_en,
    ]),
  );
}

// --- directory ---------------------------------------------------------------------------

function select(name, label, options, chosen) {
  const id = `filter-${name}`;
  return node(
    "p",
    {},
    node("label", { for: id }, label),
    node(
      "select",
      { id, name },
      node("option", { value: "" }, t("directory.any")),
      options.map(([value, text]) =>
        node("option", { value, selected: value === chosen }, text),
      ),
    ),
  );
}

async function renderDirectory(params) {
  const form = node(
    "form",
    { class: "filters", role: "search", "aria-label": t("directory.title") },
    node(
      "p",
      {},
      node("label", { for: "filter-q" }, t("directory.search")),
      node("input", { id: "filter-q", name: "q", type: "search", value: params.get("q") || "" }),
    ),
    select("kind", t("directory.kind"), KINDS.map((k) => [k, t(`kind.${k}`)]), params.get("kind")),
    select("level", t("directory.level"), LEVELS.map((l) => [l, t(`level.${l}`)]), params.get("level")),
    node(
      "p",
      {},
      node("label", { for: "filter-country" }, t("directory.country")),
      node("input", {
        id: "filter-country",
        name: "country",
        value: params.get("country") || "",
        maxlength: "2",
        size: "3",
        autocapitalize: "characters",
      }),
    ),
    select(
      "theme",
      t("directory.theme"),
      [...themeLabels].map(([code, label]) => [code, label]),
      params.get("theme"),
    ),
    node("p", {}, node("button", { type: "submit" }, t("directory.submit"))),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value) wanted.set(name, name === "country" ? value.toUpperCase() : value);
    }
    location.hash = `#/annuaire?${wanted}`;
  });
  const query = new URLSearchParams(params);
  query.set("limit", "25");
  const page = await registry(`/v1/actors?${query}`);
  const rows = page.items.map((actor) =>
    node(
      "tr",
      {},
      node("td", {}, actorLink(actor)),
      node("td", {}, t(`kind.${actor.kind}`)),
      node("td", {}, actor.country),
      node("td", {}, actor.themes.map(themeLabel).join(", ")),
    ),
  );
  const results = page.items.length
    ? node(
        "table",
        {},
        node("caption", {}, t("directory.results")),
        node(
          "thead",
          {},
          node(
            "tr",
            {},
            ["column.name", "column.kind", "column.country", "column.themes"].map((c) =>
              node("th", { scope: "col" }, t(c)),
            ),
          ),
        ),
        node("tbody", {}, rows),
      )
    : node("p", {}, t("directory.none"));
  const pager = node("p", { class: "pager" });
  if (params.get("cursor")) {
    const first = new URLSearchParams(params);
    first.delete("cursor");
    pager.append(node("a", { href: `#/annuaire?${first}` }, t("directory.first")), " ");
  }
  if (page.next_cursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", page.next_cursor);
    pager.append(node("a", { href: `#/annuaire?${next}` }, t("directory.next")));
  }
  main.replaceChildren(node("h1", {}, t("directory.title")), form, results, pager);
}

// --- actor ---------------------------------------------------------------------------------

const IDENTIFIERS = ["insee_code", "siren", "rna", "wikidata_id", "iati_id"];
const LEVELS = ["municipality", "intermunicipality", "department", "region", "state", "other"];

function partiesList(items, parties) {
  if (!items.length) return node("p", {}, t("actor.none"));
  return node(
    "ul",
    {},
    items.map((item) =>
      node(
        "li",
        {},
        node("strong", {}, item.title),
        " — ",
        parties(item).map((party, index) => [
          index ? ", " : "",
          party.name ? actorLink(party) : party.actor_id,
          party.role ? ` (${t("actor.role", { role: party.role })})` : "",
        ]),
      ),
    ),
  );
}

async function feedback(actorId, candidateId, verdict, holder) {
  if (!key()) {
    say(t("key.missing"));
    return;
  }
  try {
    await matching(`/v1/actors/${actorId}/suggestions/${candidateId}/feedback`, {
      method: "POST",
      body: { verdict },
      auth: true,
    });
    say(t("actor.feedbackDone", { verdict }));
    if (verdict === "dismissed") holder.remove();
  } catch (error) {
    say(error.message);
  }
}

function suggestionItem(actorId, suggestion) {
  const item = node(
    "li",
    { class: "suggestion" },
    node(
      "p",
      {},
      actorLink(suggestion.actor),
      ` — ${t(`kind.${suggestion.actor.kind}`)}, ${suggestion.actor.country} — `,
      node("span", { class: "score" }, t("actor.score", { score: suggestion.score.toFixed(2) })),
    ),
    node(
      "ul",
      { class: "reasons" },
      suggestion.reasons.map((reason) =>
        node(
          "li",
          { class: reason.contribution < 0 ? "against" : "for" },
          node("span", { class: "contribution" }, `${reason.contribution > 0 ? "+" : ""}${reason.contribution.toFixed(2)}`),
          " ",
          reason.text,
        ),
      ),
    ),
  );
  item.append(
    node(
      "p",
      { class: "actions" },
      node(
        "button",
        { type: "button", onclick: () => feedback(actorId, suggestion.actor.id, "accepted", item) },
        t("actor.accept"),
      ),
      " ",
      node(
        "button",
        { type: "button", onclick: () => feedback(actorId, suggestion.actor.id, "dismissed", item) },
        t("actor.dismiss"),
      ),
    ),
  );
  return item;
}

async function suggestionsSection(actorId) {
  const section = node("section", { "aria-labelledby": "suggestions" });
  section.append(
    node("h2", { id: "suggestions" }, t("actor.suggestions")),
    node("p", {}, t("actor.suggestionsIntro")),
  );
  try {
    const answer = await matching(`/v1/actors/${actorId}/suggestions?limit=5`);
    section.append(
      answer.items.length
        ? node("ol", { class: "suggestions" }, answer.items.map((s) => suggestionItem(actorId, s)))
        : node("p", {}, t("actor.noSuggestions")),
    );
  } catch (error) {
    section.append(node("p", { class: "warning" }, t("actor.matchingDown", { detail: error.message })));
  }
  return section;
}

async function renderActor(actorId) {
  const actor = await registry(`/v1/actors/${actorId}`);
  const [conventions, projects, targeted] = await Promise.all([
    everything(`/v1/conventions?actor=${actorId}&limit=100`, 300),
    everything(`/v1/projects?actor=${actorId}&limit=100`, 300),
    everything(`/v1/projects?target_id=${actorId}&limit=100`, 300),
  ]);
  const names = new Map();
  const others = new Set();
  for (const convention of conventions) for (const p of convention.parties) others.add(p.actor_id);
  for (const project of [...projects, ...targeted]) {
    others.add(project.lead_id);
    for (const p of project.partners) others.add(p.actor_id);
  }
  others.delete(actorId);
  await Promise.all(
    [...others].slice(0, 60).map(async (id) => {
      try {
        names.set(id, (await registry(`/v1/actors/${id}`)).name);
      } catch {
        // a deleted partner: shown by id
      }
    }),
  );
  names.set(actorId, actor.name);
  const named = (party) => ({ ...party, id: party.actor_id, name: names.get(party.actor_id) });
  const identifiers = IDENTIFIERS.filter((name) => actor[name]).map((name) =>
    node("div", {}, node("dt", {}, name), node("dd", {}, actor[name])),
  );
  main.replaceChildren(
    node("h1", {}, actor.name),
    node(
      "p",
      { class: "identity" },
      [t(`kind.${actor.kind}`), actor.level && t(`level.${actor.level}`), actor.country]
        .filter(Boolean)
        .join(" · "),
    ),
    actor.description ? node("p", {}, actor.description) : "",
    actor.themes.length ? node("p", {}, actor.themes.map(themeLabel).join(", ")) : "",
    actor.website ? node("p", {}, node("a", { href: actor.website, rel: "noopener" }, t("actor.website"))) : "",
    node("h2", {}, t("actor.identifiers")),
    identifiers.length ? node("dl", {}, identifiers) : node("p", {}, t("actor.none")),
    node("h2", {}, t("actor.conventions")),
    partiesList(conventions, (c) => c.parties.map(named)),
    node("h2", {}, t("actor.projects")),
    partiesList(projects, (p) => [named({ actor_id: p.lead_id, role: "lead" }), ...p.partners.map(named)]),
    targeted.length ? node("h2", {}, t("actor.targeted")) : "",
    targeted.length
      ? partiesList(targeted, (p) => [named({ actor_id: p.lead_id, role: "lead" }), ...p.partners.map(named)])
      : "",
    await suggestionsSection(actorId),
  );
}

// --- overlaps --------------------------------------------------------------------------------

async function waitForHotspotToGo(target, theme, line) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const spots = (await matching(`/v1/overlaps?target=${target}&limit=200`)).items;
    if (!spots.some((spot) => spot.theme === theme)) {
      line.textContent = t("overlaps.gone");
      say(t("overlaps.gone"));
      document.querySelector(`[data-hotspot="${target}:${theme}"]`)?.classList.add("resolved");
      return;
    }
  }
}

async function adopt(proposal, spot, line, button) {
  if (!key()) {
    say(t("key.missing"));
    return;
  }
  button.disabled = true;
  try {
    await matching(`/v1/federations/${proposal.id}/adopt`, { method: "POST", auth: true, body: {} });
    line.textContent = t("overlaps.adopted");
    say(t("overlaps.adopted"));
    await waitForHotspotToGo(spot.target.id, spot.theme, line);
  } catch (error) {
    button.disabled = false;
    say(error.message);
  }
}

function proposalBlock(proposal, spot) {
  const line = node("p", { class: "outcome", "aria-live": "polite" });
  const button = node("button", { type: "button", class: "adopt" }, t("overlaps.adopt"));
  button.addEventListener("click", () => adopt(proposal, spot, line, button));
  return node(
    "div",
    { class: "proposal" },
    node("h3", {}, t("overlaps.proposal")),
    node("p", {}, actorLink(proposal.target), ` — ${proposal.themes.map(themeLabel).join(", ")}`),
    node("p", {}, `${t("overlaps.members")} : `, proposal.members.map((m, i) => [i ? ", " : "", actorLink(m)])),
    node("p", {}, `${t("overlaps.coordinator")} : `, actorLink(proposal.coordinator), ` — ${proposal.coordinator_reason}`),
    node(
      "p",
      {},
      t("overlaps.before", {
        before: proposal.competition_index_before.toFixed(1),
        after: proposal.competition_index_after.toFixed(1),
      }),
    ),
    button,
    line,
  );
}

async function renderOverlaps() {
  const [spots, proposals] = await Promise.all([
    matching("/v1/overlaps?limit=20"),
    matching("/v1/federations?limit=100"),
  ]);
  const byHotspot = new Map(
    proposals.items.map((p) => [`${p.target.id}:${[...p.themes].sort().join(",")}`, p]),
  );
  const list = spots.items.length
    ? node(
        "ol",
        { class: "hotspots" },
        spots.items.map((spot) => {
          const proposal =
            byHotspot.get(`${spot.target.id}:${spot.theme}`) ||
            proposals.items.find((p) => p.target.id === spot.target.id && p.themes.includes(spot.theme));
          const engaged = new Map(spot.actors.map((a) => [a.actor.id, a.actor]));
          return node(
            "li",
            { "data-hotspot": `${spot.target.id}:${spot.theme}` },
            node(
              "h2",
              {},
              actorLink(spot.target),
              ` — ${themeLabel(spot.theme)} — ${t("overlaps.index", { index: spot.competition_index.toFixed(1) })}`,
            ),
            node("p", {}, spot.actors.map((a, i) => [i ? ", " : "", actorLink(a.actor)])),
            proposal ? proposalBlock(proposal, spot) : "",
            node(
              "details",
              {},
              node("summary", {}, `${t("overlaps.pairs")} (${spot.uncoordinated_pairs.length})`),
              node(
                "ul",
                { class: "pairs" },
                spot.uncoordinated_pairs.map((pair) =>
                  node("li", {}, actorLink(engaged.get(pair.a)), " ↔ ", actorLink(engaged.get(pair.b))),
                ),
              ),
            ),
          );
        }),
      )
    : node("p", {}, t("overlaps.none"));
  main.replaceChildren(node("h1", {}, t("overlaps.title")), node("p", {}, t("overlaps.intro")), list);
}

// --- router ------------------------------------------------------------------------------------

async function route() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean);
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${parts[0] || "carte"}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  say(t("loading"));
  try {
    if (!parts.length || parts[0] === "carte") await renderMap(main);
    else if (parts[0] === "annuaire") await renderDirectory(params);
    else if (parts[0] === "acteur" && parts[1]) await renderActor(parts[1]);
    else if (parts[0] === "chevauchements") await renderOverlaps();
    else main.replaceChildren(node("h1", {}, t("notFound")));
    say("");
  } catch (error) {
    const detail = error instanceof ApiError ? error.message : String(error);
    main.replaceChildren(node("p", { class: "warning" }, t("error.load", { detail })));
    say(t("error.load", { detail }));
  }
  document.title = `${main.querySelector("h1")?.textContent || ""} — Passerelles`;
}

function setUp() {
  const switcher = document.getElementById("language");
  const label = () => {
    const other = language() === "fr" ? "en" : "fr";
    switcher.textContent = other === "en" ? "English" : "Français";
    switcher.lang = other;
  };
  switcher.addEventListener("click", async () => {
    setLanguage(language() === "fr" ? "en" : "fr");
    translateStatic();
    label();
    await loadThemes();
    await route();
  });
  const form = document.getElementById("key-form");
  const input = document.getElementById("key");
  input.value = key();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(input.value);
    say(t("key.saved"));
  });
  translateStatic();
  label();
  window.addEventListener("hashchange", route);
}

setUp();
await loadThemes().catch(() => {});
await route();
