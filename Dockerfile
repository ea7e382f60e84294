# The server image. With no DATABASE_URL it runs the embedded PostgreSQL in
# /data (mount a volume there); in production set DATABASE_URL and mount the
# reserve key file from a secret store (AUCTION_RESERVE_KEY_FILE).
FROM python:3.11-slim

WORKDIR /app
# The Chinese TrueType font embedded in every PDF the server makes (auction/documents/fonts.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-arphic-uming \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY auction ./auction
COPY clients ./clients
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
 && useradd --system --home /data auction \
 && mkdir -p /data && chown auction /data

ENV AUCTION_HOST=0.0.0.0 \
    AUCTION_PORT=8000 \
    AUCTION_DATA_DIR=/data \
    AUCTION_MIGRATIONS_DIR=/app/migrations
USER auction
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["auction", "serve"]
