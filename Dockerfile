# One image for every Passerelles process; the compose file chooses the process by command:
#   python -m services.registry serve | worker | migrate | keys …
#   python -m services.matching serve | migrate

# --- build: the dependencies, pinned by constraints.txt, in a virtual environment ----------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml constraints.txt README.md ./
COPY services ./services
COPY shared ./shared
# The project's own code runs from /app (below), where alembic.ini and the migrations sit
# beside it: only its dependencies stay installed here.
RUN pip install -c constraints.txt . && pip uninstall --yes passerelles

# --- run: the code, the migrations, a non-root user -----------------------------------------
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home passerelles \
    && mkdir -p /var/lib/passerelles \
    && chown passerelles:passerelles /var/lib/passerelles
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
COPY shared ./shared
COPY services ./services
# CURSOR_SECRET_FILE names a file in the state volume, not a secret itself.
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_FORMAT=json \
    MATCHING_LOG_FORMAT=json \
    CURSOR_SECRET_FILE=/var/lib/passerelles/cursor-secret
USER 10001:10001
EXPOSE 8000 8001 9100
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "shared.operations.probe", "http://127.0.0.1:8000/ready"]
CMD ["python", "-m", "services.registry", "serve", "--host", "0.0.0.0", "--port", "8000"]
