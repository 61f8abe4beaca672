"""French texts of problem answers, for requests whose `Accept-Language` prefers French.

The titles of every problem type, the reasons of field errors found by validation (written from
pydantic's error types and their limits), and the details that most answers carry. Any other
detail stays in English: domain code writes it, with the names and numbers of the case.
"""

import re
from collections.abc import Callable
from typing import Any

from shared.language import Language

__all__ = ["field_reason", "translate_problem"]

_TITLES_FR = {
    "conflict": "Conflit",
    "feed-gap": "Événements plus conservés",
    "forbidden": "Interdit",
    "gone": "Supprimé",
    "graph-not-ready": "Graphe pas encore chargé",
    "identifier-taken": "Identifiant déjà enregistré",
    "internal-error": "Erreur interne",
    "likely-duplicate": "Doublon probable",
    "malformed-request": "Requête mal formée",
    "not-exportable": "Non exportable comme activité IATI",
    "not-found": "Introuvable",
    "payload-too-large": "Corps de requête trop grand",
    "precondition-failed": "Précondition non remplie",
    "rate-limited": "Trop de requêtes",
    "registry-error": "Le registre a refusé ou n'a pas répondu",
    "registry-unavailable": "Le registre, qui vérifie les clés d'API, n'a pas répondu",
    "service-unavailable": "Service indisponible",
    "still-in-use": "Encore utilisé",
    "unauthorized": "Authentification requise",
    "unsupported-media-type": "Type de contenu non pris en charge",
    "validation-error": "Données invalides",
}

_LABELS_FR = {
    "actor": "acteur",
    "convention": "convention",
    "project": "projet",
    "relationship": "relation",
    "webhook endpoint": "point de réception de webhooks",
    "api key": "clé d'API",
}


def _label(english: str) -> str:
    return _LABELS_FR.get(english, english)


# The details most answers carry, as (English pattern, French writer).
# English patterns, each with the writer of its French text.
Rules = list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]
_DETAILS_FR: Rules = [
    (
        re.compile(r"No (?P<label>[\w ]+?) with id (?P<id>\S+)\.$"),
        lambda m: f"Aucun(e) {_label(m['label'])} avec l'identifiant {m['id']}.",
    ),
    (
        re.compile(r"The (?P<label>[\w ]+?) (?P<id>\S+) was deleted\.$"),
        lambda m: f"L'objet {_label(m['label'])} {m['id']} a été supprimé.",
    ),
    (
        re.compile(r"This API key is unknown or revoked\.$"),
        lambda m: "Cette clé d'API est inconnue ou révoquée.",
    ),
    (
        re.compile(r"The request body is not valid JSON\.$"),
        lambda m: "Le corps de la requête n'est pas du JSON valide.",
    ),
    (
        re.compile(r"The request body exceeds (?P<n>\d+) bytes\.$"),
        lambda m: f"Le corps de la requête dépasse {m['n']} octets.",
    ),
    (
        re.compile(r"An unexpected error occurred; nothing was saved\.$"),
        lambda m: "Une erreur inattendue s'est produite ; rien n'a été enregistré.",
    ),
    (
        re.compile(
            r"(?P<name>.+) looks like an actor already registered: (?P<others>.+)\. If it is a "
            r"different actor, send the request again with \?not_duplicate=true\.$"
        ),
        lambda m: (
            f"{m['name']} ressemble à un acteur déjà enregistré : {m['others']}. S'il "
            "s'agit d'un autre acteur, renvoyez la requête avec ?not_duplicate=true."
        ),
    ),
    (
        re.compile(
            r"(?P<name>\w+) (?P<value>\S+) already belongs to (?P<owner>.+) \((?P<id>\S+)\)\.$"
        ),
        lambda m: f"{m['name']} {m['value']} appartient déjà à {m['owner']} ({m['id']}).",
    ),
    (
        re.compile(
            r"(?P<name>.+) takes part in (?P<c>\d+) active convention\(s\) and (?P<p>\d+) "
            r"active project\(s\); end them or remove it from them first\.$"
        ),
        lambda m: (
            f"{m['name']} participe à {m['c']} convention(s) et {m['p']} projet(s) "
            "en cours : terminez-les ou retirez-l'en d'abord."
        ),
    ),
    (
        re.compile(r"This (?P<kind>\w+) tie already exists \((?P<id>\S+)\)\.$"),
        lambda m: f"Ce lien ({m['kind']}) existe déjà ({m['id']}).",
    ),
    (
        re.compile(r"This operation needs an API key: send it as `Authorization: Bearer <key>`\.$"),
        lambda m: (
            "Cette opération demande une clé d'API : envoyez-la en `Authorization: Bearer <clé>`."
        ),
    ),
    (
        re.compile(r"Send the API key as `Authorization: Bearer <key>`\.$"),
        lambda m: "Envoyez la clé d'API en `Authorization: Bearer <clé>`.",
    ),
    (
        re.compile(r"This key lacks the scope this operation needs: (?P<scopes>.+)\.$"),
        lambda m: f"Il manque à cette clé la portée que demande cette opération : {m['scopes']}.",
    ),
    (
        re.compile(r"This key acts for actor (?P<id>\S+), which is not (?P<what>.+)\.$"),
        lambda m: f"Cette clé agit pour l'acteur {m['id']}, qui n'est pas {m['what']}.",
    ),
    (
        re.compile(r"This key speaks for actor (?P<id>\S+), not for (?P<other>\S+)\.$"),
        lambda m: f"Cette clé parle pour l'acteur {m['id']}, pas pour {m['other']}.",
    ),
    (
        re.compile(
            r"Only a key bound to one of the proposal's actors \(or an admin key\) may adopt it\.$"
        ),
        lambda m: (
            "Seule une clé liée à l'un des acteurs de la proposition (ou une clé "
            "d'administration) peut l'adopter."
        ),
    ),
    (
        re.compile(
            r"If-Match (?P<sent>.+) does not match the current version (?P<current>\S+); "
            r"read the resource again and reapply your change\.$"
        ),
        lambda m: (
            f"If-Match {m['sent']} ne correspond pas à la version actuelle "
            f"{m['current']} : relisez la ressource et refaites votre modification."
        ),
    ),
    (
        re.compile(r"Rate limit reached for this key or address; retry in (?P<s>\d+) s\.$"),
        lambda m: (
            f"Limite de débit atteinte pour cette clé ou cette adresse ; réessayez dans {m['s']} s."
        ),
    ),
    (
        re.compile(
            r"The database cannot be reached right now; nothing was saved\. Retry shortly\.$"
        ),
        lambda m: (
            "La base de données est injoignable pour l'instant ; rien n'a été "
            "enregistré. Réessayez dans un moment."
        ),
    ),
    (
        re.compile(r"Every database connection is busy; nothing was saved\. Retry shortly\.$"),
        lambda m: (
            "Toutes les connexions à la base de données sont occupées ; rien n'a été "
            "enregistré. Réessayez dans un moment."
        ),
    ),
    (
        re.compile(r"The database is unreachable \((?P<reason>.+)\)\.$"),
        lambda m: f"La base de données est injoignable ({m['reason']}).",
    ),
]

# Field-error reasons written by the services' own rules, as (English pattern, French writer).
_RULES_FR: Rules = [
    (re.compile(r"cannot be null$"), lambda m: "ne peut pas être vide"),
    (
        re.compile(r"no actor with id (?P<id>\S+)$"),
        lambda m: f"aucun acteur avec l'identifiant {m['id']}",
    ),
    (
        re.compile(r"no convention with id (?P<id>\S+)$"),
        lambda m: f"aucune convention avec l'identifiant {m['id']}",
    ),
    (
        re.compile(r"ends before it starts \((?P<start>[^)]+)\)$"),
        lambda m: f"se termine avant de commencer ({m['start']})",
    ),
    (re.compile(r"actor listed twice$"), lambda m: "acteur cité deux fois"),
    (
        re.compile(r"a convention has at least two parties$"),
        lambda m: "une convention a au moins deux parties",
    ),
    (
        re.compile(r"the lead is not listed among partners$"),
        lambda m: "le porteur ne figure pas parmi les partenaires",
    ),
    (
        re.compile(r"an actor cannot refer to itself$"),
        lambda m: "un acteur ne peut pas se désigner lui-même",
    ),
    (
        re.compile(r"an actor has no tie with itself$"),
        lambda m: "un acteur n'a pas de lien avec lui-même",
    ),
    (
        re.compile(r"an actor cannot give feedback on itself as a candidate$"),
        lambda m: "un acteur ne peut pas donner son avis sur lui-même comme candidat",
    ),
    (
        re.compile(r"already used by actor (?P<id>\S+)$"),
        lambda m: f"déjà utilisé par l'acteur {m['id']}",
    ),
    (re.compile(r"belongs to actor (?P<id>\S+)$"), lambda m: f"appartient à l'acteur {m['id']}"),
    (
        re.compile(r"at most (?P<n>\d+) items per page$"),
        lambda m: f"au plus {m['n']} éléments par page",
    ),
    (
        re.compile(r"not a cursor returned by this listing( with these filters)?$"),
        lambda m: (
            "pas un curseur rendu par cette liste" + (" avec ces filtres" if m.group(1) else "")
        ),
    ),
    (
        re.compile(r"(?P<name>.+) is a (?P<kind>\w+), not a local authority$"),
        lambda m: f"{m['name']} est de type {m['kind']}, pas une collectivité",
    ),
    (
        re.compile(r"must be a local authority; (?P<name>.+) is a (?P<kind>\w+)$"),
        lambda m: f"doit être une collectivité ; {m['name']} est de type {m['kind']}",
    ),
    (
        re.compile(r"(?P<name>.+) is in (?P<country>\w+), not (?P<other>\w+)$"),
        lambda m: f"{m['name']} est en {m['country']}, pas en {m['other']}",
    ),
]


def _translated(
    text: str, rules: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]
) -> str | None:
    for pattern, write in rules:
        found = pattern.match(text)
        if found:
            return write(found)
    return None


# Field-error reasons by pydantic's error type, with the limits it reports (`ctx`).
_REASONS_FR: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda c: "champ obligatoire",
    "string_too_short": lambda c: f"au moins {c.get('min_length')} caractère(s)",
    "string_too_long": lambda c: f"au plus {c.get('max_length')} caractères",
    "too_short": lambda c: f"au moins {c.get('min_length')} élément(s)",
    "too_long": lambda c: f"au plus {c.get('max_length')} éléments",
    "string_type": lambda c: "doit être une chaîne de caractères",
    "string_pattern_mismatch": lambda c: "forme non valide",
    "int_parsing": lambda c: "doit être un nombre entier",
    "int_type": lambda c: "doit être un nombre entier",
    "float_parsing": lambda c: "doit être un nombre",
    "float_type": lambda c: "doit être un nombre",
    "bool_parsing": lambda c: "doit être vrai ou faux",
    "uuid_parsing": lambda c: "doit être un identifiant (UUID)",
    "uuid_type": lambda c: "doit être un identifiant (UUID)",
    "date_from_datetime_parsing": lambda c: "doit être une date (AAAA-MM-JJ)",
    "date_parsing": lambda c: "doit être une date (AAAA-MM-JJ)",
    "url_parsing": lambda c: "doit être une URL",
    "url_scheme": lambda c: "doit être une URL http ou https",
    "greater_than_equal": lambda c: f"doit être supérieur ou égal à {c.get('ge')}",
    "greater_than": lambda c: f"doit être supérieur à {c.get('gt')}",
    "less_than_equal": lambda c: f"doit être inférieur ou égal à {c.get('le')}",
    "less_than": lambda c: f"doit être inférieur à {c.get('lt')}",
    "enum": lambda c: f"doit être l'une des valeurs : {c.get('expected')}",
    "literal_error": lambda c: f"doit être l'une des valeurs : {c.get('expected')}",
    "extra_forbidden": lambda c: "champ inconnu",
    "dict_type": lambda c: "doit être un objet",
    "list_type": lambda c: "doit être une liste",
    "model_attributes_type": lambda c: "doit être un objet",
}


def field_reason(error: dict[str, Any], english: str, language: Language) -> str:
    """The reason of one validation error in `language` (English as pydantic writes it)."""
    if language == "fr":
        writer = _REASONS_FR.get(str(error.get("type")))
        if writer is not None:
            return writer(error.get("ctx") or {})
        return _translated(english, _RULES_FR) or english
    return english


def translate_problem(body: dict[str, Any], language: Language) -> dict[str, Any]:
    """The problem body with its title, and its detail where known, in `language`."""
    if language != "fr":
        return body
    slug = str(body.get("type", "")).rsplit(":", 1)[-1]
    if slug in _TITLES_FR:
        body["title"] = _TITLES_FR[slug]
    errors = body.get("errors") or []
    for error in errors:
        # Reasons of the services' own rules (pydantic's were written in French already).
        error["reason"] = _translated(error["reason"], _RULES_FR) or error["reason"]
    detail = body.get("detail")
    if isinstance(detail, str):
        if errors and slug == "validation-error":
            # A 422's detail lists its field errors: written again from their French reasons.
            body["detail"] = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        else:
            body["detail"] = _translated(detail, _DETAILS_FR) or detail
    return body
