# syntax=docker/dockerfile:1
# The OCR Lambda (S3 -> SQS -> Lambda): tesseract with English and French, the app package
# with its `aws` extra and the Lambda runtime interface client. Build context = the repo root.
# No HEALTHCHECK: Lambda has no container health check (failures go to the queue's DLQ).

FROM python:3.12-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# For a dependency that ships no wheel for this platform (awslambdaric builds its C++ runtime
# client from source then); none of it reaches the final stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake autoconf automake libtool \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['aws']))" > requirements.txt \
    && pip install --upgrade pip \
    && pip install -r requirements.txt awslambdaric
COPY app ./app
COPY contracts ./contracts
COPY functions ./functions
RUN pip install ".[aws]" awslambdaric \
    && pip check

FROM python:3.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/mlops mlops
COPY --from=builder /opt/venv /opt/venv
# OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads are several times slower on a Lambda's
# one or two vCPUs. /tmp is a Lambda's only writable path.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_THREAD_LIMIT=1 \
    MLOPS_DATA_DIR=/tmp/mlops
WORKDIR /home/mlops
USER 10001
ENTRYPOINT ["python", "-m", "awslambdaric"]
CMD ["functions.aws.handler.handler"]
