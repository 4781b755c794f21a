# syntax=docker/dockerfile:1
# The GCP OCR service (GCS finalized -> Eventarc -> Cloud Run): tesseract with English and
# French, the app package with its `gcp` extra, served by functions-framework as a CloudEvent
# function. Build context = the repo root.
# No HEALTHCHECK: Cloud Run ignores it (its startup probe checks the port; failed deliveries
# are retried by Eventarc, then dead-lettered).

FROM python:3.12-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['gcp']))" > requirements.txt \
    && pip install --upgrade pip \
    && pip install -r requirements.txt
COPY app ./app
COPY contracts ./contracts
COPY functions ./functions
RUN pip install ".[gcp]" \
    && pip check

FROM python:3.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra \
        fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/mlops mlops
COPY --from=builder /opt/venv /opt/venv
# OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads are several times slower on one or two
# vCPUs. /tmp is Cloud Run's in-memory disk.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_THREAD_LIMIT=1 \
    MLOPS_DATA_DIR=/tmp/mlops
WORKDIR /home/mlops
# functions-framework loads its target from a source file; the module imports the
# installed package (app), so only this file is needed beside it.
COPY functions/gcp/main.py functions/gcp/main.py
USER 10001
EXPOSE 8080
# Exec form, no shell: the server is PID 1 and gets Cloud Run's SIGTERM. Its --port
# defaults to $PORT, else 8080 (the same as --port=${PORT:-8080}).
CMD ["functions-framework", "--target=on_object_finalized", "--source=functions/gcp/main.py", "--signature-type=cloudevent"]
