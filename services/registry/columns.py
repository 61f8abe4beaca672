"""The flat, spreadsheet-shaped columns of each resource: what a CSV export writes and what a CSV
import reads, defined once so that an exported file imports back unchanged.

Every column names the API field it carries (`ActorCreate`, `ConventionCreate`, …: the API's own
definition of the fields, with their checks) and how that field is flattened into one cell:

- `value`: the field as it is (a number, a date, a code, a text);
- `list`: several values separated by `;` (themes, countries);
- `ref` / `refs`: another resource, by its registry id, by the file's own id, or by a stable
  identifier written `scheme:value` (`insee:75056`, `siren:…`, `rna:…`, `wikidata:Q90`,
  `iati:…`; a bare `Q90` is a Wikidata QID);
- `parties`: actors with their roles, `ref=role` separated by `;` (`role` defaults to partner);
- `budget_amount`, `budget_currency`, `email`, `phone`: one member of a nested field.

Columns without a field are labels for people (country names, kind and theme labels in French,
the names of the actors referred to): exports fill them, imports ignore them.
"""

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COLUMNS",
    "LIST_SEPARATOR",
    "RESOURCES",
    "ROLE_SEPARATOR",
    "Column",
    "Resource",
    "Shape",
    "import_columns",
]

LIST_SEPARATOR = ";"
ROLE_SEPARATOR = "="

Resource = Literal["actor", "convention", "project", "relationship"]
RESOURCES: tuple[Resource, ...] = ("actor", "relationship", "convention", "project")
Shape = Literal[
    "value",
    "list",
    "ref",
    "refs",
    "parties",
    "budget_amount",
    "budget_currency",
    "email",
    "phone",
    "label",
]


@dataclass(frozen=True)
class Column:
    name: str
    shape: Shape
    description: str
    # The API field the column fills; None for a label column (export only).
    field: str | None = None
    # For labels: the column whose value it describes.
    describes: str | None = None


def _value(name: str, description: str) -> Column:
    return Column(name, "value", description, field=name)


def _label(name: str, describes: str, description: str) -> Column:
    return Column(name, "label", description, describes=describes)


_ID = Column(
    "id",
    "value",
    "The registry id (UUID) of an existing record, or the file's own id for the row: other rows "
    "and later files of the same source refer to it, and a re-import updates the same record.",
)
_STAMPS = (
    _label("version", "id", "Increases with every change (export only)."),
    _label("created_at", "id", "When the record was created, UTC (export only)."),
    _label("updated_at", "id", "When the record last changed, UTC (export only)."),
)
_THEMES = (
    Column("themes", "list", "Theme codes (GET /v1/themes), separated by ';'.", field="themes"),
    _label("theme_labels", "themes", "The themes' French labels."),
)
_TARGET = (
    Column("target", "ref", "The local authority where the action happens.", field="target_id"),
    _label("target_name", "target", "Its name."),
    _value("target_country", "ISO 3166-1 alpha-2 code or country name; taken from the target."),
    _label("target_country_name", "target_country", "The country's French name."),
)
_FUNDED = (
    *_THEMES,
    _value("starts_on", "Start date, YYYY-MM-DD."),
    _value("ends_on", "End date, YYYY-MM-DD."),
    _value("status", "draft, active (the default), suspended or ended."),
    _label("status_label", "status", "The status in French."),
    Column("budget_amount", "budget_amount", "Budget, e.g. 45000.00.", field="budget"),
    Column("budget_currency", "budget_currency", "ISO 4217 code, e.g. EUR.", field="budget"),
    _value("description", "Free text."),
)

COLUMNS: dict[Resource, tuple[Column, ...]] = {
    "actor": (
        _ID,
        _value(
            "kind",
            "local_authority, association, migrant_organisation, resource_centre, network, "
            "public_body, business or other.",
        ),
        _label("kind_label", "kind", "The kind in French."),
        _value("name", "The actor's name."),
        _value("acronym", "Short name."),
        _value(
            "level",
            "Local authorities only: municipality, intermunicipality, department, region, state, "
            "other.",
        ),
        _label("level_label", "level", "The level in French."),
        _value(
            "country", "ISO 3166-1 alpha-2 code (XK for Kosovo), or the name in French or English."
        ),
        _label("country_name", "country", "The country's French name."),
        _value("insee_code", "INSEE COG code of a French commune, département or région."),
        _value("siren", "French SIREN, 9 digits."),
        _value("rna", "French association number, W + 9 digits."),
        _value("wikidata_qid", "Wikidata identifier, e.g. Q90."),
        _value("iati_id", "IATI organisation identifier, e.g. FR-RNA-W751234567."),
        _value("latitude", "Decimal degrees (WGS 84)."),
        _value("longitude", "Decimal degrees (WGS 84)."),
        _value("population", "Inhabitants."),
        Column(
            "based_in",
            "ref",
            "Associations and migrant organisations: the local authority where they are based.",
            field="based_in_id",
        ),
        _label("based_in_name", "based_in", "Its name."),
        Column(
            "origins",
            "refs",
            "Migrant organisations: the local authorities their members come from, by ';'.",
            field="origin_ids",
        ),
        _label("origin_names", "origins", "Their names."),
        Column(
            "intervention_countries",
            "list",
            "Countries where the actor works, by ';'.",
            field="intervention_countries",
        ),
        *_THEMES,
        _value("website", "https://…"),
        Column("email", "email", "Public contact e-mail.", field="public_contact"),
        Column("phone", "phone", "Public contact phone.", field="public_contact"),
        _value("description", "Free text."),
        *_STAMPS,
    ),
    "convention": (
        _ID,
        _value(
            "kind",
            "twinning, decentralised_cooperation, partnership, funding or memorandum.",
        ),
        _label("kind_label", "kind", "The kind in French."),
        _value("title", "The convention's title."),
        Column(
            "parties",
            "parties",
            "At least two actors, `ref=role` separated by ';' (roles: signatory, lead, partner, "
            "operator, funder).",
            field="parties",
        ),
        _label("party_names", "parties", "The parties' names and roles."),
        *_TARGET,
        _value("signed_on", "Signature date, YYYY-MM-DD."),
        *_FUNDED,
        _value("source_url", "Where the convention is published."),
        *_STAMPS,
    ),
    "project": (
        _ID,
        _value("title", "The project's title."),
        Column("lead", "ref", "The actor leading the project.", field="lead_id"),
        _label("lead_name", "lead", "Its name."),
        Column(
            "partners",
            "parties",
            "Partners other than the lead, `ref=role` separated by ';'.",
            field="partners",
        ),
        _label("partner_names", "partners", "The partners' names and roles."),
        Column(
            "convention",
            "ref",
            "The convention the project carries out, by id.",
            field="convention_id",
        ),
        *_TARGET,
        *_FUNDED,
        *_STAMPS,
    ),
    "relationship": (
        _ID,
        _value("kind", "member_of, supports or coordinates."),
        _label("kind_label", "kind", "The kind in French."),
        Column(
            "subject",
            "ref",
            "The actor that is a member, supports or coordinates.",
            field="subject_id",
        ),
        _label("subject_name", "subject", "Its name."),
        Column(
            "object", "ref", "The network, actor supported or actor coordinated.", field="object_id"
        ),
        _label("object_name", "object", "Its name."),
        _value("starts_on", "Start date, YYYY-MM-DD."),
        _value("ends_on", "End date, YYYY-MM-DD."),
        _value("description", "Free text."),
        *_STAMPS,
    ),
}


def import_columns(resource: Resource) -> dict[str, Column]:
    """The columns an import of `resource` reads, by name (labels are left out)."""
    return {c.name: c for c in COLUMNS[resource] if c.shape != "label"}
