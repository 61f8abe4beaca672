"""/v1/model: the ranking model serving suggestions, its training and validation figures."""

from fastapi import APIRouter

from services.matching.api.deps import HolderDep
from services.matching.schemas import ModelRead
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/model", tags=["suggestions"])


@router.get("", response_model=ModelRead, responses=problem_responses(503))
def model(holder: HolderDep) -> ModelRead:
    """Which model ranks suggestions now (its version changes at each retraining), what it was
    trained on, and its recall@10 and MRR on held-out actors against Adamic–Adar."""
    with holder.lock:
        return ModelRead.model_validate(holder.ranker.describe())
