"""Log lines: human-readable by default (`make run`), one JSON object per line for a log
collector (`LOG_FORMAT=json`); both carry the request id of the work they describe."""

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

from shared.operations import request_id

__all__ = ["LogFormat", "RequestIdFilter", "configure_logging"]

LogFormat = Literal["text", "json"]
_TEXT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (`-` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.current() or "-"
        # uvicorn's copy of its message with terminal colours: noise in a JSON line.
        record.__dict__.pop("color_message", None)
        return True


def configure_logging(log_format: LogFormat = "text", level: str = "info") -> None:
    """One handler on the root logger, for the services' own loggers and uvicorn's alike
    (uvicorn is started with `log_config=None` so that it keeps this one)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                _JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(_TEXT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The services write their own access line (`shared.operations.middleware`), with the
    # request id; uvicorn's would repeat it without.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request at INFO: a line per feed poll and per delivery. The follower
    # and the dispatcher write their own lines, with the request id, for what matters.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
