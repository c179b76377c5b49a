# One image for web, worker, beat and the one-shot migrate service (see docker-compose.yml).
# .dockerignore keeps .git, .venv, var/, node_modules, staticfiles and caches out of `COPY . .`.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production MILESTONE_VAR_DIR=/app/var \
    DJANGO_SETTINGS_MODULE=config.settings
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt -e .
COPY . .
COPY --from=assets /app/node_modules ./node_modules
# collectstatic needs a key to import settings; the real one comes from the environment at run time.
# The code stays root-owned; the unprivileged user may write only its var/ folder and the uploads.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && useradd --system --no-create-home --home-dir /app --shell /usr/sbin/nologin milestone \
    && mkdir -p /app/var /data/uploads && chown -R milestone /app/var /data
USER milestone
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
