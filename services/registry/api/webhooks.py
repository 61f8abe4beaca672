"""/v1/webhooks: endpoints of partner platforms, signed per Standard Webhooks."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.registry import webhooks
from services.registry.api.deps import (
    IfMatch,
    PageQuery,
    SessionDep,
    SettingsDep,
    page_of,
    requires,
    send_etag,
)
from services.registry.webhook_schemas import (
    DeliveryRead,
    ReplayRequest,
    ReplayResult,
    SecretRotated,
    TestResult,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from shared.access import Scope
from shared.db import commit
from shared.errors import problem_responses
from shared.pagination import Page
from shared.unit_of_work import writes_nothing

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    # Every endpoint route: a key with `webhooks:manage`, acting on its own endpoints.
    dependencies=[requires(Scope.webhooks)],
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(400, 422),
)
def create_webhook(
    body: WebhookCreate, session: SessionDep, settings: SettingsDep, response: Response
) -> WebhookCreated:
    """Register an endpoint. The response carries its secret, **shown this once**."""
    endpoint = webhooks.create_endpoint(session, body, settings)
    commit(session)
    send_etag(response, endpoint)
    response.headers["Location"] = f"/v1/webhooks/{endpoint.id}"
    return WebhookCreated.model_validate(endpoint, from_attributes=True)


@router.get("", response_model=Page[WebhookRead])
def list_webhooks(request: Request, session: SessionDep, page: PageQuery) -> Page[WebhookRead]:
    rows, next_cursor = webhooks.list_endpoints(session, cursor=page.cursor, limit=page.limit)
    return page_of(request, WebhookRead, rows, next_cursor)


@router.get("/{endpoint_id}", response_model=WebhookRead, responses=problem_responses(404))
def read_webhook(endpoint_id: uuid.UUID, session: SessionDep, response: Response) -> WebhookRead:
    endpoint = webhooks.get_endpoint(session, endpoint_id)
    send_etag(response, endpoint)
    return WebhookRead.model_validate(endpoint)


@router.patch(
    "/{endpoint_id}", response_model=WebhookRead, responses=problem_responses(404, 412, 422)
)
def update_webhook(
    endpoint_id: uuid.UUID,
    body: WebhookUpdate,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookRead:
    """Change the URL, description or event types; `enabled: true` re-enables it."""
    endpoint = webhooks.update_endpoint(session, endpoint_id, body, settings, if_match=if_match)
    commit(session)
    send_etag(response, endpoint)
    return WebhookRead.model_validate(endpoint)


@router.delete(
    "/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
def delete_webhook(endpoint_id: uuid.UUID, session: SessionDep) -> Response:
    """Stop all deliveries to this endpoint; pending ones are cancelled."""
    webhooks.delete_endpoint(session, endpoint_id)
    commit(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret", response_model=SecretRotated, responses=problem_responses(404)
)
def rotate_secret(
    endpoint_id: uuid.UUID, session: SessionDep, settings: SettingsDep
) -> SecretRotated:
    """A new secret, shown once; deliveries carry both signatures during the grace period."""
    endpoint = webhooks.rotate_secret(session, endpoint_id, settings)
    commit(session)
    assert endpoint.previous_secret_expires_at is not None
    return SecretRotated(
        secret=endpoint.secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.post("/{endpoint_id}/test", response_model=TestResult, responses=problem_responses(404))
# A slow receiver must not hold the write lock that every other writer waits for.
@writes_nothing
def send_test(endpoint_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> TestResult:
    """Send a signed `webhook.test` message now and say how the receiver answered."""
    outcome = webhooks.send_test(session, endpoint_id, settings)
    return TestResult(
        delivered=outcome.succeeded,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
    )


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryRead],
    responses=problem_responses(404, 422),
)
def list_deliveries(
    request: Request,
    endpoint_id: uuid.UUID,
    session: SessionDep,
    page: PageQuery,
    status_: Annotated[
        list[str], Query(alias="status", description="pending, succeeded, failed, cancelled")
    ] = [],  # noqa: B006 - FastAPI copies defaults
) -> Page[DeliveryRead]:
    """Each delivery with every attempt: status code, duration, error, next try."""
    rows, next_cursor = webhooks.list_deliveries(
        session, endpoint_id, status=status_, cursor=page.cursor, limit=page.limit
    )
    return page_of(request, DeliveryRead, rows, next_cursor)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=problem_responses(404, 422),
)
def retry_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep
) -> DeliveryRead:
    """Queue a failed delivery again (same `webhook-id`, fresh retry schedule)."""
    delivery = webhooks.retry_delivery(session, endpoint_id, delivery_id)
    commit(session)
    return DeliveryRead.model_validate(delivery)


@router.post(
    "/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayResult,
    responses=problem_responses(404, 422),
)
def replay(endpoint_id: uuid.UUID, body: ReplayRequest, session: SessionDep) -> ReplayResult:
    """Queue again every retained event after a sequence, e.g. after fixing a receiver."""
    count = webhooks.replay(session, endpoint_id, body.after)
    commit(session)
    return ReplayResult(deliveries=count)
