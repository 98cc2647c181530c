# Installation and the Debian package (CPack).
#
#   scripts/build_deb.sh     a release .deb built with dpkg-buildflags' hardening flags, in
#                            build-deb/ (what scripts/test_deploy.sh installs and lintian checks)
#   cmake --install build    the same files under CMAKE_INSTALL_PREFIX
#
# The package installs /usr/bin/pgpulse and its man page, the systemd unit (not enabled:
# configure, then `systemctl enable --now pgpulse`), /etc/pgpulse/pgpulse.yml and
# /etc/default/pgpulse (conffiles), the docs with the copyright and changelog, and the
# Prometheus rules and Grafana dashboard under /usr/share/pgpulse. Dependencies are computed
# from the binary by dpkg-shlibdeps.
#
# pgpulse has no public home page or mailing address. The package's Maintainer is whoever builds
# it: -DPGPULSE_PACKAGE_MAINTAINER="Name <address>", else $DEBFULLNAME and $DEBEMAIL (as dch
# reads them), else a name saying it is an unofficial local build. -DPGPULSE_HOMEPAGE adds a
# Homepage field; there is none by default.

set(PGPULSE_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR}/..)

# cpack (and `cmake --install`) package what is built and do not build it first: build with
# `cmake --build` beforehand. Packaging then never compiles the tests, and never races a build
# running in the same tree.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# ---------------------------------------------------------------- man page
# pgpulse.1 from `pgpulse --help` and `--version` (help2man), at build time, gzipped as Debian
# wants it. Without help2man the build says so and installs no man page.
find_program(HELP2MAN help2man)
find_program(GZIP_PROGRAM gzip)
if(HELP2MAN AND GZIP_PROGRAM)
  set(PGPULSE_MAN_PAGE ${CMAKE_BINARY_DIR}/pgpulse.1.gz)
  add_custom_command(OUTPUT ${PGPULSE_MAN_PAGE}
    COMMAND ${HELP2MAN} --no-info --section=1 --source=pgpulse
            "--name=PostgreSQL connection, lock and RLS monitoring for Prometheus"
            --include=${PGPULSE_PACKAGING_DIR}/deploy/debian/pgpulse.h2m
            --output=${CMAKE_BINARY_DIR}/pgpulse.1 $<TARGET_FILE:pgpulse>
    COMMAND ${GZIP_PROGRAM} -9nf ${CMAKE_BINARY_DIR}/pgpulse.1
    DEPENDS pgpulse ${PGPULSE_PACKAGING_DIR}/deploy/debian/pgpulse.h2m
    COMMENT "pgpulse.1 (help2man)" VERBATIM)
  add_custom_target(pgpulse_man ALL DEPENDS ${PGPULSE_MAN_PAGE})
  install(FILES ${PGPULSE_MAN_PAGE} DESTINATION share/man/man1)
else()
  message(WARNING "help2man or gzip not found: no man page (apt-get install help2man)")
endif()

# ---------------------------------------------------------------- files
install(FILES ${PGPULSE_PACKAGING_DIR}/deploy/systemd/pgpulse.service
        DESTINATION lib/systemd/system)
install(FILES ${PGPULSE_PACKAGING_DIR}/deploy/systemd/pgpulse.yml
        DESTINATION /etc/pgpulse)
install(FILES ${PGPULSE_PACKAGING_DIR}/deploy/systemd/pgpulse.default
        DESTINATION /etc/default RENAME pgpulse)
# runbook.md stays uncompressed: the rules' runbook_url annotations point at it.
install(FILES
          ${PGPULSE_PACKAGING_DIR}/README.md
          ${PGPULSE_PACKAGING_DIR}/CHANGELOG.md
          ${PGPULSE_PACKAGING_DIR}/docs/metrics.md
          ${PGPULSE_PACKAGING_DIR}/docs/signals.md
          ${PGPULSE_PACKAGING_DIR}/docs/runbook.md
          ${PGPULSE_PACKAGING_DIR}/deploy/debian/copyright
        DESTINATION share/doc/pgpulse)
install(FILES
          ${PGPULSE_PACKAGING_DIR}/deploy/prometheus/alerts.yml
          ${PGPULSE_PACKAGING_DIR}/deploy/grafana/dashboards/pgpulse.json
        DESTINATION share/pgpulse)

# The Debian changelog (a native package: changelog.gz), gzipped with -9n as policy asks. Its
# newest entry must be this version.
file(STRINGS ${PGPULSE_PACKAGING_DIR}/deploy/debian/changelog PGPULSE_DEBIAN_CHANGELOG_TOP
     LIMIT_COUNT 1)
if(NOT PGPULSE_DEBIAN_CHANGELOG_TOP MATCHES "^pgpulse \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "deploy/debian/changelog starts with '${PGPULSE_DEBIAN_CHANGELOG_TOP}', "
                      "not an entry for pgpulse ${PROJECT_VERSION}")
endif()
if(GZIP_PROGRAM)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
    COMMAND ${CMAKE_COMMAND} -E copy ${PGPULSE_PACKAGING_DIR}/deploy/debian/changelog
            ${CMAKE_BINARY_DIR}/changelog
    COMMAND ${GZIP_PROGRAM} -9nf ${CMAKE_BINARY_DIR}/changelog
    DEPENDS ${PGPULSE_PACKAGING_DIR}/deploy/debian/changelog VERBATIM)
  add_custom_target(pgpulse_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
  install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION share/doc/pgpulse)
endif()

# ---------------------------------------------------------------- maintainer scripts
# What debhelper's dh_installsystemd writes, by hand: deb-systemd-helper and deb-systemd-invoke
# (init-system-helpers, essential) instead of systemctl, so policy-rc.d and the admin's
# enable/disable choices are respected. The unit is never enabled or started by the package.
set(PGPULSE_DEBIAN_DIR ${CMAKE_CURRENT_BINARY_DIR}/debian)
set(PGPULSE_UNIT pgpulse.service)
file(WRITE ${PGPULSE_DEBIAN_DIR}/conffiles "/etc/pgpulse/pgpulse.yml\n/etc/default/pgpulse\n")
file(WRITE ${PGPULSE_DEBIAN_DIR}/postinst "#!/bin/sh
set -e
if [ \"$1\" = configure ] || [ \"$1\" = abort-upgrade ] || [ \"$1\" = abort-deconfigure ] ||
   [ \"$1\" = abort-remove ]; then
  # Keep the admin's enablement across upgrades; a new install stays disabled.
  if deb-systemd-helper debian-installed ${PGPULSE_UNIT} &&
     deb-systemd-helper --quiet was-enabled ${PGPULSE_UNIT}; then
    deb-systemd-helper enable ${PGPULSE_UNIT} >/dev/null || true
  fi
  deb-systemd-helper update-state ${PGPULSE_UNIT} >/dev/null || true
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n \"$2\" ]; then
      deb-systemd-invoke try-restart ${PGPULSE_UNIT} >/dev/null || true
    fi
  fi
  if [ -z \"$2\" ]; then
    echo \"pgpulse: edit /etc/pgpulse/pgpulse.yml, then: systemctl enable --now pgpulse\"
  fi
fi
exit 0
")
file(WRITE ${PGPULSE_DEBIAN_DIR}/prerm "#!/bin/sh
set -e
if [ -z \"\${DPKG_ROOT:-}\" ] && [ \"$1\" = remove ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop ${PGPULSE_UNIT} >/dev/null || true
fi
exit 0
")
file(WRITE ${PGPULSE_DEBIAN_DIR}/postrm "#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ \"$1\" = remove ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
if [ \"$1\" = remove ] && command -v deb-systemd-helper >/dev/null; then
  deb-systemd-helper mask ${PGPULSE_UNIT} >/dev/null || true
fi
if [ \"$1\" = purge ]; then
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper purge ${PGPULSE_UNIT} >/dev/null || true
    deb-systemd-helper unmask ${PGPULSE_UNIT} >/dev/null || true
  fi
  rm -rf /etc/pgpulse
fi
exit 0
")
foreach(script postinst prerm postrm)
  file(CHMOD ${PGPULSE_DEBIAN_DIR}/${script}
       PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                   WORLD_READ WORLD_EXECUTE)
endforeach()

# ---------------------------------------------------------------- package
set(PGPULSE_PACKAGE_MAINTAINER "" CACHE STRING
    "Maintainer field of the .deb, \"Name <address>\" (default: $DEBFULLNAME <$DEBEMAIL>)")
set(PGPULSE_HOMEPAGE "" CACHE STRING "Homepage field of the .deb (none by default)")
if(PGPULSE_PACKAGE_MAINTAINER)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PGPULSE_PACKAGE_MAINTAINER}")
elseif(DEFINED ENV{DEBEMAIL} AND NOT "$ENV{DEBEMAIL}" STREQUAL "")
  if(DEFINED ENV{DEBFULLNAME} AND NOT "$ENV{DEBFULLNAME}" STREQUAL "")
    set(CPACK_DEBIAN_PACKAGE_MAINTAINER "$ENV{DEBFULLNAME} <$ENV{DEBEMAIL}>")
  else()
    set(CPACK_DEBIAN_PACKAGE_MAINTAINER "$ENV{DEBEMAIL}")
  endif()
else()
  # RFC 2606's .invalid: an address that cannot exist, for a package nobody has signed for.
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Unofficial local build <unset@pgpulse.invalid>")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgpulse)
set(CPACK_PACKAGE_VENDOR pgpulse)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "PostgreSQL connection, lock and RLS monitoring for Prometheus")
# Lines of at most 79 characters, as lintian wants them.
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "pgpulse watches PostgreSQL for connection pool exhaustion, idle and"
  "idle-in-transaction leaks, long queries and lock queues, and row-level"
  "security left off on tenant tables, and serves Prometheus metrics."
  "It polls each server over one read-only connection and never makes a scrape"
  "wait on the database. The package ships alerting rules with a runbook, a"
  "Grafana dashboard and a hardened systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(PGPULSE_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PGPULSE_HOMEPAGE}")
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PGPULSE_DEBIAN_DIR}/conffiles ${PGPULSE_DEBIAN_DIR}/postinst
    ${PGPULSE_DEBIAN_DIR}/prerm ${PGPULSE_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Only what the package is made of, not the build tree's tests.
set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/\\\\.git/")
include(CPack)
