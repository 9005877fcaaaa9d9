# One image for the store example's API, Celery worker and Flower (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /srv/loom
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[rest,celery,postgres,redis,migrations]'

COPY examples/store ./examples/store
WORKDIR /srv/loom/examples/store
ENV PYTHONPATH=/srv/loom/examples/store/src

RUN useradd --system --uid 10001 loom
USER loom

EXPOSE 8000
CMD ["loom", "run", "config/api.yaml", "--host", "0.0.0.0", "--port", "8000"]
