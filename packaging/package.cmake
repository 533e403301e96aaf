# Installing and packaging: what `cmake --install` puts where, the manual
# pages, and the Debian package (`cpack -G DEB`, which scripts/package runs
# on a Release build).  Included from the top-level CMakeLists.txt, last,
# so CPack sees every install rule.
#
# Layout (prefix /usr):
#   bin/wedge                          the command
#   lib/<multiarch>/libwedge.so        the shim (runner/util finds it
#                                      relative to bin/wedge)
#   libexec/wedge/                     shopd, pspd, counterd: ${build} when
#                                      installed (runner/util/util.c)
#   share/wedge/scenarios/             every scenario, its schema and SQL,
#                                      the isolation specs
#   share/doc/wedge/                   README.md and docs/
#   share/man/man{1,5,7}/              wedge(1), wedge-scenario(5), wedge-rules(7)

# ---------------------------------------------------------------------------
# Scenarios and docs.
# ---------------------------------------------------------------------------
install(DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/wedge/scenarios
        FILES_MATCHING PATTERN "*.scn" PATTERN "*.sql" PATTERN "*.spec")
# scenarios/demo reads its schema as ../../tests/e2e/scenarios/counter.sql:
# the same relative path holds under share/wedge.
install(FILES ${PROJECT_SOURCE_DIR}/tests/e2e/scenarios/counter.sql
        DESTINATION ${CMAKE_INSTALL_DATADIR}/wedge/tests/e2e/scenarios)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---------------------------------------------------------------------------
# Manual pages, made from the Markdown at build time (packaging/md2man.py),
# so a page cannot drift from docs/.  wedge_man(NAME SECTION DOC SUMMARY)
# ---------------------------------------------------------------------------
find_package(Python3 COMPONENTS Interpreter)
set(WEDGE_MAN_PAGES "" CACHE INTERNAL "the generated manual pages (.gz)")
function(wedge_man name section doc summary)
  set(src ${PROJECT_SOURCE_DIR}/docs/${doc})
  set(page ${CMAKE_BINARY_DIR}/man/${name}.${section})
  add_custom_command(
    OUTPUT ${page}.gz
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/packaging/md2man.py --name ${name}
            --section ${section} --version ${PROJECT_VERSION} --summary ${summary} ${src} ${page}
    COMMAND gzip -9nf ${page}
    DEPENDS ${src} ${PROJECT_SOURCE_DIR}/packaging/md2man.py
    COMMENT "Manual page ${name}(${section}) from docs/${doc}"
    VERBATIM)
  install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  set(WEDGE_MAN_PAGES ${WEDGE_MAN_PAGES} ${page}.gz CACHE INTERNAL "")
endfunction()
if(Python3_Interpreter_FOUND)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/man)
  wedge_man(wedge 1 cli.md "expose race conditions in real services without changing their code")
  wedge_man(wedge-scenario 5 scenarios.md "the scenario file format of wedge run")
  wedge_man(wedge-rules 7 rules.md "the rule language of libwedge.so: hooks, actions, conditions")
  add_custom_target(manpages ALL DEPENDS ${WEDGE_MAN_PAGES})
else()
  message(WARNING "python3 not found: no manual pages (scripts/bootstrap installs it)")
endif()

# ---------------------------------------------------------------------------
# The Debian package.  Dependencies on shared libraries are computed by
# dpkg-shlibdeps over every ELF file in the package; what wedge runs rather
# than links (initdb/postgres for the throwaway cluster, psql for some
# scenarios' jobs) is listed by hand.
# ---------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wedge)
set(CPACK_PACKAGE_VENDOR wedge)
set(CPACK_PACKAGE_CONTACT "wedge maintainers <wedge@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "A preload library (libwedge.so) that delays, fails or holds socket, libpq
and pthread calls in unmodified services, and a runner (wedge) that starts
services under it, drives concurrent load and checks invariants. Includes
the shop example services, every scenario and the isolation specs.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "postgresql, postgresql-client")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "man-db")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "wedge: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}; "
                 "scripts/package configures /usr for the .deb")
endif()
include(CPack)
