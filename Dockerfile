# finlineage API / worker image. Multi-stage: build a wheel with its dependencies, run as non-root.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[embeddings,postgres]'

FROM python:3.11-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends git curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 finlineage
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY demo ./demo
RUN mkdir -p /data /logs && chown -R finlineage:finlineage /data /logs /app
USER finlineage
ENV FINLINEAGE_DATA_DIR=/data \
    FINLINEAGE_LOG_DIR=/logs \
    FINLINEAGE_HOST=0.0.0.0 \
    FINLINEAGE_PORT=8000 \
    FINLINEAGE_RESTART_MODE=exit
EXPOSE 8000
VOLUME ["/data", "/logs"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["finlineage"]
CMD ["serve"]
