"""A listing's statement, built once for each shape of its filters, its values bound as it runs.

A page of a directory is mostly framework work around one indexed query. Building the listing's
statement anew for every request, and SQLAlchemy computing from it the key its compiled form is
cached under, cost about a fifth of a filtered page of 50 actors at 100,000 actors: kept, the
registry's CPU a page went from 1.26–1.28 to 0.96–0.98 ms on SQLite (on PostgreSQL, with the
page run on the driver's cursor, from 1.45 to 0.99–1.00 ms). A listing is written instead as
conditions named after its filters, each value a named parameter: the statement depends only on
which filters are given and whether each has one value or several (its shape), so it is built
the first time that shape is asked for and kept.
Each request binds its own values (`Listing.parameters`).
"""

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from threading import Lock
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, ColumnElement, bindparam
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from shared.db import in_list

__all__ = ["Conditions", "Listing", "like_pattern"]

R = TypeVar("R", bound=SQLModel)
Match = Callable[[Any], ColumnElement[bool]]

# Shapes are few in practice (a directory filters on one kind and one country), but each text
# search word adds a parameter: past this many, the least recently used shape is built again.
_KEPT_SHAPES = 512


@dataclass(frozen=True)
class Listing(Generic[R]):
    """The rows of `model` a listing's filters select (`statement`, with a named parameter for
    each value), and the values of this request (`parameters`)."""

    model: type[R]
    statement: SelectOfScalar[R]
    parameters: dict[str, Any]

    def bound(self) -> SelectOfScalar[R]:
        """The statement with this request's values in it, for a caller that runs it as is."""
        return self.statement.params(self.parameters)


class Conditions:
    """The conditions of one request's listing, each under the name of its parameter."""

    def __init__(self) -> None:
        self._shape: list[str] = []
        self._builders: list[Callable[[], ColumnElement[bool]]] = []
        self._parameters: dict[str, Any] = {}

    def equal(
        self, name: str, value: Any, condition: Callable[[BindParameter[Any]], ColumnElement[bool]]
    ) -> None:
        """The condition `condition` makes of one value bound as `name`; none if `value` is
        None."""
        if value is None:
            return
        self._add(name, {name: _plain(value)}, lambda: condition(bindparam(name)))

    def any_of(
        self, name: str, values: Sequence[Any], condition: Callable[[Match], ColumnElement[bool]]
    ) -> None:
        """The condition `condition` makes with `match`, which tests a column against the
        values bound as `name`: `=` for one value, the column in a list for several
        (`shared.db.in_list`); none if there are no values."""
        if not values:
            return
        if len(values) == 1:
            self._add(
                name,
                {name: _plain(values[0])},
                lambda: condition(lambda column: column == bindparam(name)),
            )
            return
        self._add(
            f"{name}[]",
            {name: [_plain(value) for value in values]},
            lambda: condition(lambda column: in_list(column, name)),
        )

    def listing(self, model: type[R]) -> Listing[R]:
        """The listing of `model` these conditions select, its statement the one kept for
        their shape."""
        key = (model, tuple(self._shape))
        with _lock:
            statement = _statements.get(key)
            if statement is not None:
                _statements.move_to_end(key)
        if statement is None:
            statement = select(model).where(*(build() for build in self._builders))
            with _lock:
                _statements[key] = statement
                while len(_statements) > _KEPT_SHAPES:
                    _statements.popitem(last=False)
        return Listing(model, statement, dict(self._parameters))

    def _add(
        self, shape: str, parameters: dict[str, Any], build: Callable[[], ColumnElement[bool]]
    ) -> None:
        if shape in self._shape:
            raise ValueError(f"two conditions of one listing are named {shape}")
        self._shape.append(shape)
        self._builders.append(build)
        self._parameters.update(parameters)


_statements: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = Lock()


def _plain(value: Any) -> Any:
    # A vocabulary's member goes to the database as its value, whatever the driver makes of an
    # enum (psycopg would send its name).
    return value.value if isinstance(value, Enum) else value


def like_pattern(word: str) -> str:
    """A `LIKE … ESCAPE '/'` pattern matching text that contains `word` as it is written."""
    escaped = word.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"
