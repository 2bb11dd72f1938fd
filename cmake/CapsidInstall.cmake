# What `cmake --install` puts where, and the .deb CPack builds from it.
# Included from the top CMakeLists.txt after the library and CLI targets.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CAPSID_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/capsid CACHE STRING
  "Where the CMake package (capsidConfig.cmake) is installed")
set(CAPSID_BASH_COMPLETION_DIR
  ${CMAKE_INSTALL_DATADIR}/bash-completion/completions CACHE STRING
  "Where the bash completion is installed")
set(CAPSID_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions
  CACHE STRING "Where the zsh completion (_capsid) is installed")

# An installed consumer gets the header from the prefix; capsid::capsid
# (shared) needs nothing more, capsid::capsid_static also the libraries
# the library itself links (capsid_obj's, without the build-tree ones).
foreach(lib capsid_static capsid_shared)
  target_include_directories(${lib} INTERFACE
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
if(WIN32)
  target_compile_definitions(capsid_shared INTERFACE
    $<INSTALL_INTERFACE:USING_CAPSID_SHARED>)
endif()
get_target_property(capsid_link_deps capsid_obj INTERFACE_LINK_LIBRARIES)
foreach(dep IN LISTS capsid_link_deps)
  target_link_libraries(capsid_static INTERFACE $<INSTALL_INTERFACE:${dep}>)
endforeach()
set_target_properties(capsid_shared PROPERTIES EXPORT_NAME capsid)
set_target_properties(capsid_static PROPERTIES EXPORT_NAME capsid_static)

install(TARGETS capsid RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET capsid-runner)
  # Elevated jobs on Windows start through it, next to capsid.exe.
  install(TARGETS capsid-runner RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(TARGETS capsid_shared capsid_static EXPORT capsidTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Unspecified
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/capsid.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT capsidTargets NAMESPACE capsid::
  DESTINATION ${CAPSID_CMAKE_DIR})

configure_package_config_file(cmake/capsidConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/capsidConfig.cmake
  INSTALL_DESTINATION ${CAPSID_CMAKE_DIR})
# The size rule of capsid.h ("ABI") keeps a program built against an
# older header of the same major version (the SONAME's) working.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/capsidConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/capsidConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/capsidConfigVersion.cmake
  DESTINATION ${CAPSID_CMAKE_DIR})

# capsid.pc finds its prefix from its own place, so one file serves a
# `cmake --install --prefix` anywhere and the .deb (installed under /usr).
file(RELATIVE_PATH CAPSID_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" CAPSID_PC_TO_PREFIX "${CAPSID_PC_TO_PREFIX}")
if(CAPSID_OS STREQUAL "linux")
  set(CAPSID_PC_REQUIRES_PRIVATE "libuv jansson libseccomp")
  set(CAPSID_PC_LIBS_PRIVATE "-lmimalloc -lpthread")
else()
  set(CAPSID_PC_REQUIRES_PRIVATE "libuv jansson")
  set(CAPSID_PC_LIBS_PRIVATE "-lmimalloc -ladvapi32 -lbcrypt -lnetapi32")
  string(APPEND CAPSID_PC_LIBS_PRIVATE
    " -lcrypt32 -lole32 -loleaut32 -luuid -lntdll")
endif()
configure_file(packaging/capsid.pc.in ${CMAKE_CURRENT_BINARY_DIR}/capsid.pc
  @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/capsid.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Man pages and shell completions come from the help text of the capsid
# just built (packaging/gen-docs.py), so they cannot disagree with it. A
# cross build cannot run the binary: it installs neither.
find_package(Python3 COMPONENTS Interpreter)
if(NOT CMAKE_CROSSCOMPILING AND Python3_Interpreter_FOUND)
  set(CAPSID_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/generated)
  add_custom_command(OUTPUT ${CAPSID_GEN_DIR}/stamp
    COMMAND Python3::Interpreter
      ${CMAKE_CURRENT_SOURCE_DIR}/packaging/gen-docs.py
      --version ${PROJECT_VERSION} $<TARGET_FILE:capsid> ${CAPSID_GEN_DIR}
    COMMAND ${CMAKE_COMMAND} -E touch ${CAPSID_GEN_DIR}/stamp
    DEPENDS capsid ${CMAKE_CURRENT_SOURCE_DIR}/packaging/gen-docs.py
    COMMENT "Man pages and completions from capsid's help text")
  add_custom_target(capsid-docs ALL DEPENDS ${CAPSID_GEN_DIR}/stamp)
  install(DIRECTORY ${CAPSID_GEN_DIR}/man/
    DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${CAPSID_GEN_DIR}/completions/capsid.bash
    DESTINATION ${CAPSID_BASH_COMPLETION_DIR} RENAME capsid)
  install(FILES ${CAPSID_GEN_DIR}/completions/_capsid
    DESTINATION ${CAPSID_ZSH_COMPLETION_DIR})
endif()

# `cpack -G DEB` in the build directory: a .deb installing under /usr.
if(CAPSID_OS STREQUAL "linux")
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME capsid)
  set(CPACK_PACKAGE_VENDOR capsid)
  set(CPACK_PACKAGE_CONTACT "capsid maintainers <capsid@localhost>")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "sandboxed job runner: many untrusted commands, each confined to its workspace")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_SECTION utils)
  # The run-time libraries (libuv, jansson, seccomp, mimalloc) are found
  # from the binaries, as Debian's own packages do.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  include(CPack)
endif()
