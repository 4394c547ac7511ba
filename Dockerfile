# syntax=docker/dockerfile:1
# One image for every Shelfcast service; docker-compose.yml picks each container's command. Two stages: the
# dependencies are installed from pyproject.toml alone, in a layer of their own, so a code change rebuilds only the
# last small layers; the runtime stage gets the finished virtualenv and nothing of the build.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/shelfcast
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > requirements.txt \
    && /opt/shelfcast/bin/pip install -r requirements.txt
COPY services ./services
RUN /opt/shelfcast/bin/pip install --no-deps . && rm -rf /src

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 shelfcast \
    && useradd --system --uid 10001 --gid shelfcast --home-dir /var/lib/shelfcast --create-home shelfcast
COPY --from=build /opt/shelfcast /opt/shelfcast
# Models, reports and the promotion engine's multiprocess metrics live in SHELFCAST_DATA_DIR (a volume in compose).
ENV PATH=/opt/shelfcast/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OMP_WAIT_POLICY=PASSIVE \
    SHELFCAST_DATA_DIR=/var/lib/shelfcast \
    SHELFCAST_BIND_HOST=0.0.0.0 \
    SHELFCAST_DASHBOARD_HOST=0.0.0.0 \
    SHELFCAST_HEALTH_URL=http://127.0.0.1:8001/health
WORKDIR /var/lib/shelfcast
USER shelfcast:shelfcast
EXPOSE 8001 8002 8050 9102
# Each container sets SHELFCAST_HEALTH_URL to its own /health (the consumer: its metrics endpoint).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['SHELFCAST_HEALTH_URL'], timeout=4)"]
CMD ["python", "-m", "services.forecast_service"]
