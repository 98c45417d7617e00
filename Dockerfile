# syntax=docker/dockerfile:1
# One image holding every phoenix-orch service; each Kubernetes workload picks its service by its
# arguments (services/<name>/main.ts). Node 24 runs the TypeScript sources directly (type stripping),
# so there is no build step: the image is the sources plus the production dependencies.
#
#   docker build -t phoenix-orch:dev .
#   docker run --rm phoenix-orch:dev services/git-agent/main.ts

# The Node version the project runs and tests with (package.json devDependency "node").
ARG NODE_VERSION=24.21.0

# 1. Production dependencies only, exactly as locked; no install scripts run.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# 2. The git agent runs the real git binary. Take it, and the shared libraries it links beyond glibc,
#    from the same Debian release the runtime image is built on.
FROM node:${NODE_VERSION}-bookworm-slim AS git
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*
RUN set -eu; \
    mkdir -p /out/usr/bin; \
    cp /usr/bin/git /out/usr/bin/git; \
    for lib in $(ldd /usr/bin/git | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do \
      case "$(basename "$lib")" in libc.so.*|ld-linux*) continue ;; esac; \
      dir="/out$(dirname "$(readlink -f "$lib")")"; \
      mkdir -p "$dir"; \
      cp -L "$lib" "$dir/$(basename "$lib")"; \
    done; \
    find /out -type f

# 3. The runtime: distroless Node 24 (Debian 12), no shell, no package manager, user nonroot.
FROM gcr.io/distroless/nodejs24-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=git /out/ /
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY platform ./platform
COPY services ./services
USER 65532:65532
EXPOSE 8080 9000
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["services/orchestrator/main.ts"]
