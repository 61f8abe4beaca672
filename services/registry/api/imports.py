"""/v1/imports: bulk import of CSV and JSON Lines files, dry run first."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1/imports", tags=["imports"])
