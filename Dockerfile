# One image for all three services; the compose file picks the module to run.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --uid 10001 csp && mkdir -p /data && chown csp /data

USER csp
ENV CSP_HOST=0.0.0.0 CSP_DATA_DIR=/data
# Liveness of whichever service runs here (its port variable says which; compose sets it).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-m", "shared.http.healthcheck"]
CMD ["python", "-m", "services.ordering"]
