"""/v1/exports/iati-activities.xml: projects as IATI activities, for aid transparency."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1/exports", tags=["exports"])
