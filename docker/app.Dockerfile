# syntax=docker/dockerfile:1
# The app image; build context = the repo root (see .dockerignore). One image for every cloud
# (the SDKs of all three: the stack's MLOPS_CLOUD picks the adapters) and four workloads:
# - default: `mlops serve` on 0.0.0.0:8000 (the ECS Fargate service behind the NLB);
# - the API Lambda and the admin authorizer Lambda: image_config entry_point
#   ["python", "-m", "awslambdaric"], command ["app.lambda_handler.handler"] or
#   ["functions.aws.admin_authorizer.handler"];
# - the training job: command ["mlops", "train", ...] (it renders and OCRs a held-out set,
#   hence tesseract and fonts below);
# - the MLflow tracking server: `mlflow server ...` (psycopg2 from the mlflow-server extra).
# No HEALTHCHECK: it would fit the first workload only. ECS checks /health through the task
# definition and the load balancer; Lambda has no container health check.

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
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; x = p['optional-dependencies']; print('\n'.join(p['dependencies'] + x['aws'] + x['azure'] + x['gcp'] + x['mlflow-server']))" > requirements.txt \
    && pip install --upgrade pip \
    && pip install -r requirements.txt awslambdaric
COPY app ./app
COPY contracts ./contracts
COPY functions ./functions
# Not editable: the venv holds the package, the final stage needs no source tree.
RUN pip install ".[aws,azure,gcp,mlflow-server]" awslambdaric \
    && pip check

FROM python:3.12-slim
LABEL org.opencontainers.image.title="mlops-multicloud app" \
      io.mlops.lambda-handlers="app.lambda_handler.handler functions.aws.admin_authorizer.handler"
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra \
        fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/mlops mlops
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_THREAD_LIMIT=1 \
    MLOPS_HOST=0.0.0.0 \
    MLOPS_PORT=8000
# The default data dir (.mlops) is relative: here, in the user's home. Lambdas set
# MLOPS_DATA_DIR=/tmp/mlops (their only writable path).
WORKDIR /home/mlops
USER 10001
EXPOSE 8000
CMD ["mlops", "serve"]
