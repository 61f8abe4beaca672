"""Projects as IATI activities (IATI activity standard 2.03): pure functions from registry
records to lxml elements and the bytes of a document; no database, no HTTP.

What each activity says, and from where:

* `iati-identifier`: the reporting organisation's identifier, a hyphen, the project's id (a
  UUID that never changes), as IATI requires of an identifier; `reporting-org` is the one
  organisation that publishes the file (the registry's operator, from the settings), flagged as
  a secondary reporter since it reproduces what the actors told the registry.
* `participating-org`: the lead is accountable (2), and also extending (3) when the project has
  funders, since a chef de file manages their money on their behalf; partners by their role:
  funder 1 funding, lead and signatory 2 accountable, operator and partner 4 implementing.
  `type` from the actor's kind (`organisation_type`), `ref` its IATI identifier when it has one.
* `activity-status`: draft 1 pipeline, active 2 implementation, suspended 6, ended 4 closed.
* `activity-date`: the project's period as planned start (1) and planned end (3): the registry
  records what was announced, not observed dates.
* `recipient-country`: the target country (`XK`, Kosovo, is in IATI's Country codelist).
* `sector` (vocabulary 1, OECD DAC 5-digit): the first DAC code of each theme, themes sharing
  the percentages equally (summing to 100); a project without themes says 99810, "sectors not
  specified". `tag` (vocabulary 2, UN SDG goals): the SDGs of its themes.
* `budget`: the project's budget over its period, cut into consecutive periods of at most a
  year (IATI's rule) with shares in proportion to their days, marked original (type 1) and
  indicative (status 1); only when the budget and both ends of the period are known.

A project without any date cannot be an activity (the schema requires one `activity-date`):
the file leaves it out and says so in an XML comment (`missing`).
"""

import io
import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from lxml import etree

from services.registry.models import Project
from services.registry.vocabulary import ActorKind, Level, PartyRole, Status
from shared.errors import Problem
from shared.themes import get_theme

__all__ = [
    "CHUNK_BYTES",
    "IATI_VERSION",
    "NotExportable",
    "Organisation",
    "Reporter",
    "activity",
    "budget_periods",
    "document",
    "document_chunks",
    "entries",
    "first_activity",
    "missing",
    "organisation_type",
    "sector_shares",
    "taking_part",
]

IATI_VERSION = "2.03"
# Passerelles records French decentralised cooperation: France is the providing side, which
# tells a national NGO (22) from one based in the partner country (24).
PROVIDER_COUNTRY = "FR"
UNSPECIFIED_SECTOR = "99810"
# A streamed file is sent in chunks of about this size: each chunk is one hop between the
# worker thread that builds it and the event loop, so one per activity would cost more.
CHUNK_BYTES = 64 * 1024
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")

_STATUS = {Status.draft: "1", Status.active: "2", Status.ended: "4", Status.suspended: "6"}
_ROLE = {
    PartyRole.funder: "1",
    PartyRole.lead: "2",
    PartyRole.signatory: "2",
    PartyRole.operator: "4",
    PartyRole.partner: "4",
}
_ACCOUNTABLE, _EXTENDING = "2", "3"
# Associations, migrant organisations, resource centres and networks are civil society
# organisations; by where they are based: France, the partner country, a third country.
_NGO = frozenset(
    {
        ActorKind.association,
        ActorKind.migrant_organisation,
        ActorKind.resource_centre,
        ActorKind.network,
    }
)
_NGO_TYPE = {"provider": "22", "recipient": "24", "third": "21"}
_BUSINESS_TYPE = {"provider": "71", "recipient": "72", "third": "73"}
# Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF):
# the registry stores them in free text, an XML document cannot.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class NotExportable(Problem):
    status = 409
    slug = "not-exportable"
    title = "Not exportable as an IATI activity"


@dataclass(frozen=True)
class Organisation:
    """What an activity says of an actor taking part."""

    name: str
    kind: str
    level: str | None
    country: str
    iati_id: str | None


@dataclass(frozen=True)
class Reporter:
    """The organisation that publishes the file (`reporting-org`)."""

    ref: str
    name: str
    type: str


def missing(project: Project) -> str | None:
    """Why the project cannot be an IATI activity, or None if it can."""
    if project.starts_on is None and project.ends_on is None:
        return "it has no start or end date, and an IATI activity needs at least one"
    return None


def organisation_type(organisation: Organisation, recipient_country: str | None) -> str:
    """The IATI OrganisationType code of an actor, in an activity in `recipient_country`.

    >>> fr_ngo = Organisation("Eau Vive 91", "association", None, "FR", None)
    >>> ml_ngo = Organisation("Kayes Femmes", "association", None, "ML", None)
    >>> organisation_type(fr_ngo, "ML"), organisation_type(ml_ngo, "ML")
    ('22', '24')
    """
    kind = organisation.kind
    if kind == ActorKind.local_authority:
        # "state" is a national government (État); every other level is subnational.
        return "10" if organisation.level == Level.state else "11"
    if kind == ActorKind.public_body:
        return "15"
    if organisation.country == PROVIDER_COUNTRY:
        side = "provider"
    elif organisation.country == recipient_country:
        side = "recipient"
    else:
        side = "third"
    if kind in _NGO:
        return _NGO_TYPE[side]
    if kind == ActorKind.business:
        return _BUSINESS_TYPE[side]
    return "90"


def sector_shares(themes: Iterable[str]) -> list[tuple[str, Decimal]]:
    """DAC 5-digit codes and their percentages: the first code of each theme, an equal share
    per theme (themes with the same code add up), summing to exactly 100.

    >>> sector_shares(["water_sanitation", "migration_development", "health"])
    [('14030', Decimal('33.34')), ('15190', Decimal('33.33')), ('12220', Decimal('33.33'))]
    >>> sector_shares([])
    [('99810', Decimal('100'))]
    """
    codes = [theme.dac_sectors[0] for code in themes if (theme := get_theme(code)) is not None]
    if not codes:
        return [(UNSPECIFIED_SECTOR, _HUNDRED)]
    share = (_HUNDRED / len(codes)).quantize(_CENT, rounding=ROUND_DOWN)
    shares: dict[str, Decimal] = {}
    for code in codes:
        shares[code] = shares.get(code, Decimal(0)) + share
    first = next(iter(shares))
    shares[first] += _HUNDRED - share * len(codes)
    return list(shares.items())


def budget_periods(
    amount: Decimal, starts_on: date, ends_on: date
) -> list[tuple[date, date, Decimal]]:
    """The budget cut into consecutive periods of at most a year, each with its share.

    Shares follow the days of each period, rounded down to the cent; the last period takes
    what rounding left, so they sum to `amount` exactly.

    >>> budget_periods(Decimal("300.00"), date(2024, 1, 1), date(2024, 12, 31))
    [(datetime.date(2024, 1, 1), datetime.date(2024, 12, 31), Decimal('300.00'))]
    >>> periods = budget_periods(Decimal(100), date(2024, 1, 1), date(2025, 6, 30))
    >>> [(str(start), str(end), str(value)) for start, end, value in periods]
    [('2024-01-01', '2024-12-31', '66.91'), ('2025-01-01', '2025-06-30', '33.09')]
    """
    spans: list[tuple[date, date]] = []
    start = starts_on
    while start <= ends_on:
        end = min(_a_year_after(start) - timedelta(days=1), ends_on)
        spans.append((start, end))
        start = end + timedelta(days=1)
    total_days = (ends_on - starts_on).days + 1
    values = [
        (amount * ((end - start).days + 1) / total_days).quantize(_CENT, rounding=ROUND_DOWN)
        for start, end in spans
    ]
    values[-1] += amount - sum(values)
    return [(start, end, value) for (start, end), value in zip(spans, values, strict=True)]


def activity(
    project: Project, organisations: Mapping[uuid.UUID, Organisation], reporter: Reporter
) -> etree._Element:
    """The `iati-activity` of a project that `missing` accepts, its elements in the schema's
    order (the 2.03 schema is an `xsd:sequence`)."""
    attributes = {
        "{http://www.w3.org/XML/1998/namespace}lang": "fr",
        "last-updated-datetime": _datetime(project.updated_at),
    }
    if project.budget_currency:
        attributes["default-currency"] = project.budget_currency
    root = etree.Element("iati-activity", attributes)
    etree.SubElement(root, "iati-identifier").text = f"{reporter.ref}-{project.id}"
    reporting = etree.SubElement(
        root,
        "reporting-org",
        {"ref": reporter.ref, "type": reporter.type, "secondary-reporter": "1"},
    )
    _narrative(reporting, reporter.name)
    _narrative(etree.SubElement(root, "title"), project.title)
    description = project.description or _summary(project, organisations)
    _narrative(etree.SubElement(root, "description", type="1"), description)
    for role, organisation in _participants(project, organisations):
        org = {"role": role, "type": organisation_type(organisation, project.target_country)}
        if organisation.iati_id:
            org["ref"] = organisation.iati_id
        _narrative(etree.SubElement(root, "participating-org", org), organisation.name)
    etree.SubElement(root, "activity-status", code=_STATUS[Status(project.status)])
    for day, date_type in ((project.starts_on, "1"), (project.ends_on, "3")):
        if day is not None:
            etree.SubElement(root, "activity-date", {"type": date_type, "iso-date": str(day)})
    if project.target_country:
        etree.SubElement(root, "recipient-country", code=project.target_country, percentage="100")
    for code, percentage in sector_shares(project.themes):
        etree.SubElement(root, "sector", vocabulary="1", code=code, percentage=_decimal(percentage))
    for sdg in _sdgs(project.themes):
        etree.SubElement(root, "tag", vocabulary="2", code=str(sdg))
    _budgets(root, project)
    return root


def entries(
    pages: Iterable[list[Project]],
    lookup: Callable[[set[uuid.UUID]], Mapping[uuid.UUID, Organisation]],
    reporter: Reporter,
) -> Iterator[etree._Element]:
    """An activity per project, page by page, or a comment saying why one was left out;
    `lookup` gives the organisations taking part in a page's projects, in one call."""
    for page in pages:
        organisations = lookup({actor for project in page for actor in taking_part(project)})
        for project in page:
            reason = missing(project)
            if reason is None:
                yield activity(project, organisations, reporter)
            else:
                yield etree.Comment(f" project {project.id} left out: {reason} ")


def first_activity(items: Iterator[etree._Element]) -> Iterator[etree._Element] | None:
    """The same items, or None when not one is an activity: an IATI file holds at least one.

    Reads ahead only as far as the first activity, keeping the comments met on the way.
    """
    held: list[etree._Element] = []
    for item in items:
        held.append(item)
        if item.tag == "iati-activity":
            return itertools.chain(held, items)
    return None


def document_chunks(items: Iterable[etree._Element], generated_at: datetime) -> Iterator[bytes]:
    """An `iati-activities` document, written as it goes, in chunks of about `CHUNK_BYTES`."""
    buffer = io.BytesIO()

    def written() -> bytes:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    root = {"version": IATI_VERSION, "generated-datetime": _datetime(generated_at)}
    with etree.xmlfile(buffer, encoding="UTF-8", buffered=False) as xml:
        xml.write_declaration()
        with xml.element("iati-activities", root):
            xml.write("\n")
            for item in items:
                xml.write(item, pretty_print=True)
                if buffer.tell() >= CHUNK_BYTES:
                    yield written()
    yield written()


def document(items: Iterable[etree._Element], generated_at: datetime) -> bytes:
    return b"".join(document_chunks(items, generated_at))


def _participants(
    project: Project, organisations: Mapping[uuid.UUID, Organisation]
) -> list[tuple[str, Organisation]]:
    """(role code, organisation) for the lead, then the partners by role and name."""
    funded = any(link.role == PartyRole.funder for link in project.partners)
    lead = organisations[project.lead_id]
    lead_roles = [(_ACCOUNTABLE, lead)] + ([(_EXTENDING, lead)] if funded else [])
    partners = [
        (_ROLE[PartyRole(link.role)], organisations[link.actor_id]) for link in project.partners
    ]
    return lead_roles + sorted(partners, key=lambda pair: (pair[0], pair[1].name))


def taking_part(project: Project) -> list[uuid.UUID]:
    """The ids of the lead and the partners."""
    return [project.lead_id, *(link.actor_id for link in project.partners)]


def _summary(project: Project, organisations: Mapping[uuid.UUID, Organisation]) -> str:
    """A description from what the registry knows, for a project recorded without one."""
    summary = f"Projet porté par {organisations[project.lead_id].name}"
    partners = sorted(organisations[link.actor_id].name for link in project.partners)
    if partners:
        summary += ", avec " + ", ".join(partners)
    return summary + "."


def _sdgs(themes: Iterable[str]) -> list[int]:
    return sorted({sdg for code in themes if (theme := get_theme(code)) for sdg in theme.sdgs})


def _budgets(root: etree._Element, project: Project) -> None:
    amount, currency = project.budget_amount, project.budget_currency
    if amount is None or not currency or project.starts_on is None or project.ends_on is None:
        return
    for start, end, value in budget_periods(amount, project.starts_on, project.ends_on):
        budget = etree.SubElement(root, "budget", type="1", status="1")
        etree.SubElement(budget, "period-start", {"iso-date": start.isoformat()})
        etree.SubElement(budget, "period-end", {"iso-date": end.isoformat()})
        attributes = {"currency": currency, "value-date": start.isoformat()}
        etree.SubElement(budget, "value", attributes).text = f"{value:.2f}"


def _narrative(parent: etree._Element, text: str) -> None:
    etree.SubElement(parent, "narrative").text = _NOT_XML.sub("", text)


def _datetime(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _decimal(value: Decimal) -> str:
    """A percentage without trailing zeros: 100, 50, 33.34."""
    return format(value.normalize(), "f")


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
