# finlineage image: the API (`finlineage serve`, default) and the ingestion worker (`finlineage worker`).
# Multi-stage: wheels are built in `build`; `runtime` has no compiler, runs as a non-root user.
#   docker build -t finlineage .
#   docker compose up -d --scale api=2          (see docker-compose.yml and README "Deployment")

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip
COPY pyproject.toml README.md ./
COPY src ./src
# the project and every dependency as wheels (embeddings: onnxruntime; postgres: pgvector)
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[embeddings,postgres]'

FROM python:3.11-slim AS runtime
# git: `POST /api/v1/ingest/git`; tini: PID 1 that forwards signals and reaps the parse pool's children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --user-group finlineage
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels finlineage \
 && rm -rf /wheels
WORKDIR /app
COPY --chown=finlineage:finlineage demo ./demo
RUN mkdir -p /data /logs && chown -R finlineage:finlineage /data /logs
USER finlineage
# FINLINEAGE_RESTART_MODE=exit: POST /admin/restart drains, then `finlineage serve` exits 0 and the
# container's restart policy (`restart: unless-stopped`) starts a fresh process.
ENV FINLINEAGE_DATA_DIR=/data \
    FINLINEAGE_LOG_DIR=/logs \
    FINLINEAGE_HOST=0.0.0.0 \
    FINLINEAGE_PORT=8000 \
    FINLINEAGE_RESTART_MODE=exit \
    PYTHONUNBUFFERED=1
EXPOSE 8000
VOLUME ["/data", "/logs"]
# No curl in the image: the health probe is the interpreter that is already there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('FINLINEAGE_PORT', '8000'), timeout=4)" || exit 1
ENTRYPOINT ["tini", "--", "finlineage"]
CMD ["serve"]
