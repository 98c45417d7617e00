# syntax=docker/dockerfile:1
# One image holding every phoenix-orch service; each Kubernetes workload picks its service by its
# arguments (dist/services/<name>/main.js). The services are compiled to JavaScript in a build stage
# (`npm run build`: tsc -p tsconfig.build.json), so nothing is type-stripped at start-up; the runtime
# refuses TypeScript outright (--no-experimental-strip-types).
#
#   docker build -t phoenix-orch:dev .
#   docker run --rm phoenix-orch:dev dist/services/git-agent/main.js
#
# Base images are pinned by digest (multi-platform index digests; docs/decisions.md says where they
# come from and how to refresh them). The node tag is the Node version the project runs and tests with
# (package.json devDependency "node"); a test keeps the two equal.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a

# 1. The build: every dependency exactly as locked (no install scripts), then the compiler.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY platform ./platform
COPY services ./services
RUN ./node_modules/.bin/tsc -p tsconfig.build.json

# 2. Production dependencies only, exactly as locked; no install scripts run.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# 3. The git agent runs the real git binary under prlimit (util-linux), which bounds each git
#    process's memory (Node cannot set a child's rlimits, and the runtime has no shell). Take both, and
#    the shared libraries they link beyond glibc, from the same Debian release as the runtime image.
FROM ${NODE_IMAGE} AS git
RUN apt-get update \
 && apt-get install -y --no-install-recommends git util-linux \
 && rm -rf /var/lib/apt/lists/*
RUN set -eu; \
    mkdir -p /out/usr/bin; \
    for bin in /usr/bin/git /usr/bin/prlimit; do \
      cp "$bin" "/out$bin"; \
      for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do \
        case "$(basename "$lib")" in libc.so.*|ld-linux*) continue ;; esac; \
        dir="/out$(dirname "$(readlink -f "$lib")")"; \
        mkdir -p "$dir"; \
        cp -L "$lib" "$dir/$(basename "$lib")"; \
      done; \
    done; \
    find /out -type f

# 4. The runtime: distroless Node 24 (Debian 12), no shell, no package manager, user nonroot.
#    package.json stays: its "type": "module" makes the compiled .js files ES modules.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=git /out/ /
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
USER 65532:65532
EXPOSE 8080 9000
# The commit the image is built from, for every service's *_build_info metric:
#   docker build --build-arg GIT_COMMIT="$(git rev-parse HEAD)" -t phoenix-orch:dev .
ARG GIT_COMMIT=unknown
ENV GIT_COMMIT=${GIT_COMMIT}
ENTRYPOINT ["/nodejs/bin/node", "--no-experimental-strip-types", "--enable-source-maps"]
CMD ["dist/services/orchestrator/main.js"]
