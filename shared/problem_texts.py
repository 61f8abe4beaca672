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
_DETAILS_FR: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
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
    return english


def translate_problem(body: dict[str, Any], language: Language) -> dict[str, Any]:
    """The problem body with its title, and its detail where known, in `language`."""
    if language != "fr":
        return body
    slug = str(body.get("type", "")).rsplit(":", 1)[-1]
    if slug in _TITLES_FR:
        body["title"] = _TITLES_FR[slug]
    detail = body.get("detail")
    if isinstance(detail, str):
        for pattern, write in _DETAILS_FR:
            found = pattern.match(detail)
            if found:
                body["detail"] = write(found)
                break
    return body
