"""Who is calling, and what they may do: the scopes and the caller both services reason about.

Keys live in the registry; the matching service asks the registry who a key belongs to. Both
then answer with the same rules: 401 when the caller is unknown, 403 when a known caller lacks
the right.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fastapi import Depends

from shared.errors import Forbidden, Unauthorized
from shared.routes import route_dependencies

__all__ = [
    "ANONYMOUS",
    "BEARER_DESCRIPTION",
    "SCOPE_HELP",
    "SYSTEM",
    "Principal",
    "Scope",
    "bearer_secret",
    "require",
    "required_scopes",
    "requirement",
]


class Scope(StrEnum):
    read_private = "registry:read_private"
    write = "registry:write"
    # Least right of a service that drafts projects for others to take up (matching's adopt).
    propose = "registry:propose"
    webhooks = "webhooks:manage"
    feedback = "matching:feedback"
    admin = "admin"


SCOPE_HELP = {
    Scope.read_private: "read private contact fields",
    Scope.write: "create actors; change the actor the key is bound to and what it is party to",
    Scope.propose: "create draft projects (service accounts)",
    Scope.webhooks: "register and manage its own webhook endpoints",
    Scope.feedback: "accept or dismiss partner suggestions",
    Scope.admin: "everything, including keys and the audit trail",
}


@dataclass(frozen=True)
class Principal:
    """The caller of one request. `key_id` is None for anonymous and command-line callers."""

    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    key_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    authenticated: bool = True

    @property
    def is_admin(self) -> bool:
        return Scope.admin in self.scopes

    def has(self, scope: Scope) -> bool:
        return self.is_admin or scope in self.scopes

    def acts_for(self, actor_ids: set[uuid.UUID]) -> bool:
        """May change something these actors are party to: admin, or a writer bound to one."""
        if self.is_admin:
            return True
        return Scope.write in self.scopes and self.actor_id in actor_ids

    def may_read_private(self, actor_id: uuid.UUID) -> bool:
        return self.has(Scope.read_private) or self.actor_id == actor_id


ANONYMOUS = Principal(name="anonymous", authenticated=False)
# Command-line work (migrations, demo data, key bootstrap) runs with the operator's authority.
SYSTEM = Principal(name="command line", scopes=frozenset({Scope.admin}))


def require(caller: Principal, *any_of: Scope) -> Principal:
    """The caller, if it holds one of these scopes (admin holds all); 401 or 403 otherwise."""
    if not caller.authenticated:
        raise Unauthorized(
            "This operation needs an API key: send it as `Authorization: Bearer <key>`."
        )
    if not any(caller.has(scope) for scope in any_of):
        wanted = " or ".join(f"`{scope}`" for scope in any_of)
        raise Forbidden(f"This key lacks the scope this operation needs: {wanted}.")
    return caller


def bearer_secret(authorization: str) -> str:
    """The key in an `Authorization: Bearer <key>` header; 401 for any other header. Keys are
    printable ASCII, so anything else is refused here, before a service forwards it."""
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or not (secret.isascii() and secret.isprintable()):
        raise Unauthorized("Send the API key as `Authorization: Bearer <key>`.")
    return secret


# The API key as the OpenAPI documents describe it (`shared.hardening.document_limits_and_access`
# puts it on every operation). The services read the header themselves: a malformed or unknown
# key is a 401 problem. No route declares it as a dependency: FastAPI would solve it on every
# request, for the documents only.
BEARER_DESCRIPTION = "An API key, as `Authorization: Bearer pss_…`. Public data needs none."


def requirement(caller: Callable[..., Principal], *scopes: Scope) -> Any:
    """`Depends(...)` that resolves the caller with `caller` and requires one of `scopes`.
    The scopes stay readable on the dependency, for the documentation and the tests."""

    async def check(principal: Principal = Depends(caller)) -> Principal:
        return require(principal, *scopes)

    check.scopes = scopes  # type: ignore[attr-defined]
    return Depends(check)


def required_scopes(route: Any) -> tuple[Scope, ...] | None:
    """The scopes a route requires (one of them), or None for an open route."""
    for dependency in route_dependencies(route):
        scopes = getattr(dependency.call, "scopes", None)
        if scopes is not None:
            return tuple(scopes)
    return None
