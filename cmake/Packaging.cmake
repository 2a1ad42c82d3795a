# Installing the server and building its Debian package.
#
#   cmake --install build [--prefix /usr]   the `server` component: bin/ironflow, the systemd unit (absolute:
#                                           /lib/systemd/system), /etc/ironflow/ironflow.env (0600), docs
#   make package                            build/ironflow_<version>_amd64.deb (CPack DEB, the server component only;
#                                           the C++ SDK installs separately, see sdk/cpp)
#
# Package decisions (docs/decisions.md): Depends computed by dpkg-shlibdeps plus adduser; nats-server is
# Recommended (embedded mode runs it; a cluster deployment does not need it on the server's host). The maintainer
# scripts in deploy/debian create the `ironflow` system account and /var/lib/ironflow; they neither enable nor
# start the service (it needs its master key first) and never delete data, even on purge.
include(GNUInstallDirs)

install(TARGETS ironflow RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/ironflow.service DESTINATION /lib/systemd/system COMPONENT server)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/ironflow.env DESTINATION /etc/ironflow
        PERMISSIONS OWNER_READ OWNER_WRITE COMPONENT server)
# Debian wants a native package's changelog compressed, without a timestamp in the gzip header.
set(IRONFLOW_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging)
execute_process(COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/deploy/debian/changelog
                OUTPUT_FILE ${IRONFLOW_CHANGELOG_GZ} COMMAND_ERROR_IS_FATAL ANY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/debian/changelog)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/debian/copyright ${IRONFLOW_CHANGELOG_GZ}
              ${CMAKE_SOURCE_DIR}/docs/operations.md ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT server)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ironflow)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Ironflow maintainers <maintainers@ironflow.dev>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "secrets, config, KV store and durable functions on NATS JetStream")
# CPack takes the synopsis from the summary above; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Ironflow keeps environment-scoped secrets encrypted (AES-256-GCM) in NATS
JetStream key-value buckets and delivers exactly the secrets a function
declares when an event triggers it. One binary: the server (HTTP API and
dashboard) and the command-line client. Runs on one machine with an embedded
nats-server, or as several servers on a NATS JetStream cluster.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nats-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};ironflow;server;/")
include(CPack)
