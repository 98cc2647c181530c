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
COPY . .
# A release build without the tests (they need a PostgreSQL server; CI runs them).
RUN BUILD_DIR=/src/build-image BUILD_TYPE=Release CMAKE_ARGS="-DPGPULSE_BUILD_TESTS=OFF" \
      scripts/setup.sh \
 && strip --strip-unneeded /src/build-image/pgpulse \
 && /src/build-image/pgpulse --version

# ---------------------------------------------------------------- runtime
FROM debian:12-slim
ARG PGPULSE_UID=10001
# Only the shared libraries pgpulse links (scripts/test_deploy.sh checks this list against the
# binary's NEEDED entries); libstdc++6, libgcc-s1 and libc6 are in the base image. libssl3 and
# libcrypt1 serve the HTTP endpoint's TLS and basic auth (web.config_file).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 libyaml-cpp0.7 libprometheus-cpp-core1.0 libspdlog1.10 libfmt9 libssl3 libcrypt1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid "${PGPULSE_UID}" pgpulse \
 && useradd --system --uid "${PGPULSE_UID}" --gid pgpulse --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pgpulse
COPY --from=build /src/build-image/pgpulse /usr/bin/pgpulse

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
