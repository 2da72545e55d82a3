# The meshplan API (and, with another command, its BullMQ worker): TypeScript sources run through
# tsx, a runtime dependency, so there is no build stage and no dev dependency in the image.
FROM node:20-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

# COIN-OR CBC: the native multi-threaded MILP backend `cbc` (optional; `auto` uses it when present).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends coinor-cbc \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY solvers ./solvers

# The code stays root-owned and read-only to the process.
USER node
# Resolves (and caches) `npx meshplan` as this package's own bin; the build fails if it would not.
RUN npx meshplan --help > /dev/null

ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080
# node directly (not npx) so SIGTERM reaches the server, which then drains (see README).
CMD ["node", "bin/meshplan.js", "serve", "--host", "0.0.0.0"]
