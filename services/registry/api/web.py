"""The reference explorer: the page at `/` and its files under `/web/` (services/registry/web).

The page reads only the public JSON APIs; this router serves its static files and tells it
where the matching service is (`MATCHING_PUBLIC_URL`).
"""

from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

router = APIRouter(include_in_schema=False)

WEB = Path(str(files("services.registry").joinpath("web")))
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


def _page_policy(matching_url: str) -> str:
    """The page's Content-Security-Policy: its own files, and calls to the two APIs only."""
    parts = urlsplit(matching_url)
    matching_origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {matching_origin}; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ).replace("  ", " ")


@router.get("/")
def page(request: Request) -> Response:
    """The explorer (French by default, English on the page's switch)."""
    settings = request.app.state.settings
    response = FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = _page_policy(settings.matching_public_url)
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/web/config.json")
def config(request: Request) -> JSONResponse:
    """Where the page finds the matching service."""
    return JSONResponse({"matching_url": request.app.state.settings.matching_public_url})


@router.get("/web/{name}")
def asset(name: str) -> Response:
    """One of the page's files (no sub-folders: the name is looked up in a fixed set)."""
    path = WEB / name
    if name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type=_TYPES[path.suffix])
