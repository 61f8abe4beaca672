"""/v1/exports: spreadsheets (CSV) and maps (GeoJSON)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1/exports", tags=["exports"])
