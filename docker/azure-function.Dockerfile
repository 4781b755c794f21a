# syntax=docker/dockerfile:1
# The Azure OCR Function (Blob created -> Event Grid -> functions/azure/function_app.py): the
# Azure Functions host with its Python 3.11 worker, tesseract with English and French, and the
# app package with its `azure` extra. Build context = the repo root.
# A container, not a zip deploy on Flex Consumption: tesseract is a Debian package, and only a
# custom image can carry it (Premium/Dedicated plan or Container Apps hosting).
# No HEALTHCHECK: the Functions platform probes its host itself; a failed invocation is
# retried by Event Grid, then dead-lettered.
# Runs as root: the Functions host images support no other user (the host binds port 80 and
# writes under /azure-functions-host and /home; Azure/azure-functions-docker#424 is open), and
# the platform runs each container in its own sandbox.

# Same image as the final stage, so every wheel matches its Python and glibc exactly.
FROM mcr.microsoft.com/azure-functions/python:4-python3.11 AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['azure']))" > requirements.txt \
    && pip install --upgrade pip \
    && pip install -r requirements.txt
COPY app ./app
COPY contracts ./contracts
COPY functions ./functions
RUN pip install ".[azure]" \
    && pip check

FROM mcr.microsoft.com/azure-functions/python:4-python3.11
# Fonts: pdfium substitutes them for the standard fonts a PDF does not embed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra \
        fonts-dejavu-core fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*
# The Python worker puts this folder on sys.path: where a remote build would install packages.
COPY --from=builder /opt/venv/lib/python3.11/site-packages /home/site/wwwroot/.python_packages/lib/site-packages
COPY functions/azure/function_app.py functions/azure/host.json /home/site/wwwroot/
# PYTHON_ISOLATE_WORKER_DEPENDENCIES=1: the app's protobuf and grpc (through MLflow) win over
# the worker's own. OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads are several times slower on
# a function's one or two vCPUs. /tmp is the writable scratch space of a function instance.
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    PYTHON_ISOLATE_WORKER_DEPENDENCIES=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_THREAD_LIMIT=1 \
    MLOPS_DATA_DIR=/tmp/mlops
