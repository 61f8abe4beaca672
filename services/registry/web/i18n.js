// The page's own texts, in French (the default) and English. Data texts (names, themes'
// labels) come from the APIs; theme labels exist in both languages there.

const TEXTS = {
  fr: {
    skip: "Aller au contenu",
    views: "Vues",
    "nav.map": "Carte",
    "nav.directory": "Annuaire",
    "nav.overlaps": "Chevauchements",
    "key.summary": "Clé d'API",
    "key.label": "Clé pour agir (feedback, adoption)",
    "key.save": "Enregistrer",
    "key.hint": "Gardée dans cet onglet seulement.",
    "key.saved": "Clé enregistrée pour cet onglet.",
    "key.missing": "Collez d'abord une clé d'API (en haut de la page).",
    "footer.api": "Données ouvertes, API JSON :",
    "footer.map": "fond de carte",
    loading: "Chargement…",
    "error.load": "Impossible de charger : {detail}",
    "map.title": "Carte des acteurs et de leurs coopérations",
    "map.intro":
      "Chaque point est un acteur ; chaque trait, une convention ou un projet entre deux acteurs. Les cercles rouges marquent les territoires où plusieurs acteurs travaillent sur le même thème sans se coordonner.",
    "map.zoomIn": "Zoomer",
    "map.zoomOut": "Dézoomer",
    "map.reset": "Vue d'ensemble",
    "map.legend": "Légende",
    "map.hotspot": "point chaud (indice de concurrence {index})",
    "map.counts": "{actors} acteurs, {ties} liens, {hotspots} points chauds",
    "kind.local_authority": "collectivité",
    "kind.association": "association",
    "kind.migrant_organisation": "organisation de migrants",
    "kind.resource_centre": "centre de ressources",
    "kind.network": "réseau",
    "kind.public_body": "organisme public",
    "kind.business": "entreprise",
    "kind.other": "autre",
    "level.municipality": "commune",
    "level.intermunicipality": "intercommunalité",
    "level.department": "département",
    "level.region": "région",
    "level.state": "État",
    "level.other": "autre niveau",
    "directory.title": "Annuaire",
    "directory.search": "Recherche (nom, sans accents)",
    "directory.kind": "Type",
    "directory.level": "Niveau",
    "directory.country": "Pays (code ISO, ex. ML)",
    "directory.theme": "Thème",
    "directory.any": "Tous",
    "directory.submit": "Chercher",
    "directory.none": "Aucun acteur ne correspond.",
    "directory.next": "Page suivante",
    "directory.first": "Première page",
    "directory.results": "Résultats",
    "column.name": "Nom",
    "column.kind": "Type",
    "column.country": "Pays",
    "column.themes": "Thèmes",
    "actor.identifiers": "Identifiants",
    "actor.conventions": "Conventions",
    "actor.projects": "Projets",
    "actor.targeted": "Projets menés sur ce territoire",
    "actor.suggestions": "Partenaires suggérés",
    "actor.suggestionsIntro": "Pourquoi Passerelles suggère chacun : les raisons, et ce que chacune ajoute au score.",
    "actor.none": "Aucun.",
    "actor.noSuggestions": "Aucune suggestion pour cet acteur.",
    "actor.matchingDown": "Le service de mise en relation ne répond pas : {detail}",
    "actor.score": "score {score}",
    "actor.accept": "Intéressant",
    "actor.dismiss": "Écarter",
    "actor.feedbackDone": "Merci : retour enregistré ({verdict}).",
    "actor.role": "rôle : {role}",
    "actor.website": "Site",
    "actor.basedIn": "Basé à",
    "overlaps.title": "Chevauchements et fédérations",
    "overlaps.intro":
      "Les territoires où plusieurs acteurs français travaillent sur un même thème sans se coordonner, classés par indice de concurrence, et pour chacun la fédération que Passerelles propose.",
    "overlaps.index": "indice de concurrence {index}",
    "overlaps.pairs": "Paires non coordonnées",
    "overlaps.proposal": "Fédération proposée",
    "overlaps.members": "Membres",
    "overlaps.coordinator": "Coordination",
    "overlaps.before": "Indice avant : {before} ; après : {after}",
    "overlaps.adopt": "Adopter (projet brouillon)",
    "overlaps.adopted": "Projet brouillon créé ; en attente du retour du flux…",
    "overlaps.gone": "Le point chaud a disparu : les acteurs sont désormais coordonnés.",
    "overlaps.none": "Aucun chevauchement.",
    "overlaps.theme": "thème {theme}",
    "notFound": "Page inconnue.",
  },
  en: {
    skip: "Skip to content",
    views: "Views",
    "nav.map": "Map",
    "nav.directory": "Directory",
    "nav.overlaps": "Overlaps",
    "key.summary": "API key",
    "key.label": "Key to act (feedback, adoption)",
    "key.save": "Save",
    "key.hint": "Kept in this tab only.",
    "key.saved": "Key saved for this tab.",
    "key.missing": "Paste an API key first (top of the page).",
    "footer.api": "Open data, JSON API:",
    "footer.map": "base map",
    loading: "Loading…",
    "error.load": "Could not load: {detail}",
    "map.title": "Map of actors and their cooperation",
    "map.intro":
      "Each point is an actor; each line, a convention or project between two actors. Red circles mark territories where several actors work on the same theme without coordinating.",
    "map.zoomIn": "Zoom in",
    "map.zoomOut": "Zoom out",
    "map.reset": "Whole map",
    "map.legend": "Legend",
    "map.hotspot": "hotspot (competition index {index})",
    "map.counts": "{actors} actors, {ties} ties, {hotspots} hotspots",
    "kind.local_authority": "local authority",
    "kind.association": "association",
    "kind.migrant_organisation": "migrant organisation",
    "kind.resource_centre": "resource centre",
    "kind.network": "network",
    "kind.public_body": "public body",
    "kind.business": "business",
    "kind.other": "other",
    "level.municipality": "municipality",
    "level.intermunicipality": "intermunicipality",
    "level.department": "department",
    "level.region": "region",
    "level.state": "state",
    "level.other": "other level",
    "directory.title": "Directory",
    "directory.search": "Search (name, accents optional)",
    "directory.kind": "Kind",
    "directory.level": "Level",
    "directory.country": "Country (ISO code, e.g. ML)",
    "directory.theme": "Theme",
    "directory.any": "Any",
    "directory.submit": "Search",
    "directory.none": "No actor matches.",
    "directory.next": "Next page",
    "directory.first": "First page",
    "directory.results": "Results",
    "column.name": "Name",
    "column.kind": "Kind",
    "column.country": "Country",
    "column.themes": "Themes",
    "actor.identifiers": "Identifiers",
    "actor.conventions": "Conventions",
    "actor.projects": "Projects",
    "actor.targeted": "Projects carried out in this territory",
    "actor.suggestions": "Suggested partners",
    "actor.suggestionsIntro": "Why Passerelles suggests each one: the reasons, and what each adds to the score.",
    "actor.none": "None.",
    "actor.noSuggestions": "No suggestion for this actor.",
    "actor.matchingDown": "The matching service does not answer: {detail}",
    "actor.score": "score {score}",
    "actor.accept": "Interesting",
    "actor.dismiss": "Dismiss",
    "actor.feedbackDone": "Thank you: feedback recorded ({verdict}).",
    "actor.role": "role: {role}",
    "actor.website": "Website",
    "actor.basedIn": "Based in",
    "overlaps.title": "Overlaps and federations",
    "overlaps.intro":
      "Territories where several French actors work on the same theme without coordinating, ranked by competition index, each with the federation Passerelles proposes.",
    "overlaps.index": "competition index {index}",
    "overlaps.pairs": "Uncoordinated pairs",
    "overlaps.proposal": "Proposed federation",
    "overlaps.members": "Members",
    "overlaps.coordinator": "Coordination",
    "overlaps.before": "Index before: {before}; after: {after}",
    "overlaps.adopt": "Adopt (draft project)",
    "overlaps.adopted": "Draft project created; waiting for the feed to bring it back…",
    "overlaps.gone": "The hotspot is gone: the actors are now coordinated.",
    "overlaps.none": "No overlap.",
    "overlaps.theme": "theme {theme}",
    "notFound": "Unknown page.",
  },
};

export const LANGUAGES = ["fr", "en"];

let current = LANGUAGES.includes(localStorage.getItem("language"))
  ? localStorage.getItem("language")
  : "fr";

export function language() {
  return current;
}

export function setLanguage(code) {
  current = LANGUAGES.includes(code) ? code : "fr";
  localStorage.setItem("language", current);
}

/** The text `key` in the current language, with `{name}` replaced from `values`. */
export function t(key, values = {}) {
  const text = TEXTS[current][key] ?? TEXTS.fr[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** Put the texts of the static page (elements with data-i18n) in the current language. */
export function translateStatic(root = document) {
  document.documentElement.lang = current;
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
}
