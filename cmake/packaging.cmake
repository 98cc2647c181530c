# CPack: a Debian package for users without containers.
#
#   cmake -S . -B build && cmake --build build && (cd build && cpack -G DEB)
#
# The package installs /usr/bin/pgpulse, the systemd unit (not enabled: configure, then
# `systemctl enable --now pgpulse`), /etc/pgpulse/pgpulse.yml and /etc/default/pgpulse (conffiles),
# the docs, and the Prometheus rules and Grafana dashboard under /usr/share/pgpulse.
# Dependencies are computed from the binary by dpkg-shlibdeps.

set(PGPULSE_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR}/..)

# cpack (and `make install`) package what is built and do not build it first: build with
# `cmake --build` beforehand. Packaging then never compiles the tests, and never races a build
# running in the same tree.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(FILES ${PGPULSE_PACKAGING_DIR}/deploy/systemd/pgpulse.service
        DESTINATION lib/systemd/system)
install(FILES ${PGPULSE_PACKAGING_DIR}/deploy/systemd/pgpulse.yml
        DESTINATION /etc/pgpulse)
install(FILES ${PGPULSE_PACKAGING_DIR}/deploy/systemd/pgpulse.default
        DESTINATION /etc/default RENAME pgpulse)
install(FILES
          ${PGPULSE_PACKAGING_DIR}/README.md
          ${PGPULSE_PACKAGING_DIR}/docs/metrics.md
          ${PGPULSE_PACKAGING_DIR}/docs/signals.md
          ${PGPULSE_PACKAGING_DIR}/docs/runbook.md
        DESTINATION share/doc/pgpulse)
install(FILES
          ${PGPULSE_PACKAGING_DIR}/deploy/prometheus/alerts.yml
          ${PGPULSE_PACKAGING_DIR}/deploy/grafana/dashboards/pgpulse.json
        DESTINATION share/pgpulse)

# Maintainer scripts and conffiles, written into the build tree.
set(PGPULSE_DEBIAN_DIR ${CMAKE_CURRENT_BINARY_DIR}/debian)
file(WRITE ${PGPULSE_DEBIAN_DIR}/conffiles "/etc/pgpulse/pgpulse.yml\n/etc/default/pgpulse\n")
file(WRITE ${PGPULSE_DEBIAN_DIR}/postinst [=[#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  if [ -z "$2" ]; then
    echo "pgpulse: edit /etc/pgpulse/pgpulse.yml, then: systemctl enable --now pgpulse"
  elif systemctl is-active --quiet pgpulse.service; then
    systemctl try-restart pgpulse.service || true
  fi
fi
exit 0
]=])
file(WRITE ${PGPULSE_DEBIAN_DIR}/prerm [=[#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop pgpulse.service >/dev/null 2>&1 || true
fi
exit 0
]=])
file(WRITE ${PGPULSE_DEBIAN_DIR}/postrm [=[#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
  rm -rf /etc/pgpulse
fi
exit 0
]=])
foreach(script postinst prerm postrm)
  file(CHMOD ${PGPULSE_DEBIAN_DIR}/${script}
       PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                   WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgpulse)
set(CPACK_PACKAGE_VENDOR pgpulse)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "PostgreSQL monitoring daemon: connections, locks and row-level security for Prometheus")
set(CPACK_PACKAGE_DESCRIPTION
    "pgpulse watches PostgreSQL for connection pool exhaustion, idle and idle-in-transaction leaks, long queries and lock queues, and row-level security left off, and serves Prometheus metrics. It polls over one read-only connection per target and never makes a scrape wait on the database.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "pgpulse maintainers <maintainers@pgpulse.invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE https://github.com/pgpulse/pgpulse)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PGPULSE_DEBIAN_DIR}/conffiles ${PGPULSE_DEBIAN_DIR}/postinst
    ${PGPULSE_DEBIAN_DIR}/prerm ${PGPULSE_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Only what the package is made of, not the build tree's tests.
set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/\\\\.git/")
include(CPack)
