# syntax=docker/dockerfile:1
# pgpulse container image, Debian 12 based, built with scripts/setup.sh: the same script CI runs.
#
#   docker build -t pgpulse .
#   docker run -p 9188:9188 -e PGPULSE_DSN="host=db.internal dbname=postgres user=pgpulse" \
#              -e PGPASSWORD=... pgpulse
#
# Configured by environment: every flag is also PGPULSE_<FLAG> (pgpulse --help lists them), e.g.
# PGPULSE_DSN (or DATA_SOURCE_NAME), PGPULSE_TARGET_NAME, PGPULSE_PASSWORD_FILE, PGPULSE_CONFIG,
# PGPULSE_INTERVAL, PGPULSE_LOG_LEVEL; libpq's PG* variables work too.

# ---------------------------------------------------------------- build
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# The build dependencies first, from the two files that name them: this layer is cached until the
# package list changes, so a code change rebuilds pgpulse without reinstalling packages.
COPY scripts/setup.sh scripts/setup.sh
COPY scripts/lib/packages.sh scripts/lib/packages.sh
RUN SETUP_TEST_TOOLS=0 scripts/setup.sh --deps-only && rm -rf /var/lib/apt/lists/*
COPY . .
# A release build without the tests (they need a PostgreSQL server; CI runs them), with Debian's
# hardening flags as the .deb has them.
RUN SETUP_TEST_TOOLS=0 BUILD_DIR=/src/build-image BUILD_TYPE=Release \
      CMAKE_ARGS="-DPGPULSE_BUILD_TESTS=OFF -DPGPULSE_DPKG_BUILDFLAGS=ON" scripts/setup.sh \
 && strip --strip-unneeded /src/build-image/pgpulse \
 && /src/build-image/pgpulse --version

# ---------------------------------------------------------------- runtime
FROM debian:12-slim
ARG PGPULSE_UID=10001
# The version is the one in CMakeLists.txt (scripts/test_deploy.sh checks); the revision is the
# builder's: docker build --build-arg PGPULSE_REVISION="$(git rev-parse HEAD)" .
ARG PGPULSE_VERSION=0.2.0
ARG PGPULSE_REVISION=unknown
LABEL org.opencontainers.image.title="pgpulse" \
      org.opencontainers.image.description="PostgreSQL connection, lock and RLS monitoring for Prometheus" \
      org.opencontainers.image.version="${PGPULSE_VERSION}" \
      org.opencontainers.image.revision="${PGPULSE_REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/debian:12-slim"
# Only the shared libraries pgpulse links (scripts/test_deploy.sh checks this list against the
# binary's NEEDED entries); libstdc++6, libgcc-s1 and libc6 are in the base image. libssl3 and
# libcrypt1 serve the HTTP endpoint's TLS and basic auth (web.config_file), zlib1g the gzip of
# /metrics.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 libyaml-cpp0.7 libprometheus-cpp-core1.0 libspdlog1.10 libfmt9 libssl3 libcrypt1 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid "${PGPULSE_UID}" pgpulse \
 && useradd --system --uid "${PGPULSE_UID}" --gid pgpulse --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pgpulse
COPY --from=build /src/build-image/pgpulse /usr/bin/pgpulse
COPY LICENSE /usr/share/doc/pgpulse/LICENSE

ENV PGPULSE_WEB_LISTEN_ADDRESS=0.0.0.0:9188 \
    PGPULSE_LOG_FORMAT=json \
    PGPULSE_LOG_LEVEL=info

# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER ${PGPULSE_UID}:${PGPULSE_UID}
EXPOSE 9188

# /healthz answers 200 while the process runs. The image has no curl or wget: bash's /dev/tcp
# speaks the one request needed, on the port of PGPULSE_WEB_LISTEN_ADDRESS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PGPULSE_WEB_LISTEN_ADDRESS##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/pgpulse"]
