# One image for the three services and the dashboard; the compose file picks the module to
# run. Small: the slim base, no build tools (every dependency ships a wheel), no pip cache,
# and only what runs (.dockerignore leaves out tests, benchmarks, docs, the venv, .git).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /app

# Every package pyproject.toml's packages.find includes (a test keeps the two in step):
# csp_cli too, for the `csp` console script.
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
COPY csp_cli ./csp_cli
RUN pip install --no-cache-dir -c constraints.txt . \
 && rm -rf build ./*.egg-info \
 && useradd --system --uid 10001 csp && mkdir -p /data && chown csp /data
# The operator tools the README runs against the deployment, whose broker and MongoDB are
# reachable only on the compose network: `python -m tools.replay_outbox`, `tools.dead_letters`.
COPY tools/__init__.py tools/kafka_admin.py tools/replay_outbox.py tools/dead_letters.py ./tools/

USER csp
ENV CSP_HOST=0.0.0.0 CSP_DATA_DIR=/data
# Liveness of whichever process runs here: the healthcheck reads the container's command
# (python -m services.<name>) and that process's port variable, else its default port.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-m", "shared.http.healthcheck"]
CMD ["python", "-m", "services.ordering"]
