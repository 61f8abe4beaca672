"""A container's health check: `python -m shared.operations.probe URL` exits 0 when URL answers
2xx within 3 s, 1 otherwise. The image has no curl; this needs only the standard library."""

import sys
import urllib.error
import urllib.request

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m shared.operations.probe URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(args[0], timeout=3) as response:
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{args[0]}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
