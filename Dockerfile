# Relata service image: gunicorn serving the model folder mounted at /models.
#   docker build -t relata .
#   docker run --rm -v "$PWD/data:/data:ro" -v relata-models:/models relata \
#     relata train --archive /data/articles.jsonl --models /models
#   docker run -p 8000:8000 -v relata-models:/models relata
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RELATA_MODELS_DIR=/models \
    PROMETHEUS_MULTIPROC_DIR=/tmp/relata-metrics \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /app
COPY pyproject.toml README.md ./
COPY relata ./relata
COPY artifact ./artifact
COPY cli ./cli
COPY service ./service
COPY training ./training
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app relata \
    && mkdir -p /models \
    && chown relata /models

USER relata
VOLUME ["/models"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["gunicorn", "-c", "python:relata.service.gunicorn_conf", "relata.service.app:create_app()"]
