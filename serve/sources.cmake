# Above scale/: `capsid serve`, one runtime serving many clients over a
# local socket (docs/protocol.md). A static library like scale's, linked
# into the capsid command. Linux only this round: the Windows named-pipe
# server (peer identity from the pipe's client token) is not written yet,
# so Windows builds leave `capsid serve` and the thin-client mode out.
if(CAPSID_OS STREQUAL "linux")
  add_library(capsid_serve STATIC
    ${CMAKE_CURRENT_LIST_DIR}/authorize.c
    ${CMAKE_CURRENT_LIST_DIR}/request.c
    ${CMAKE_CURRENT_LIST_DIR}/server.c
    ${CMAKE_CURRENT_LIST_DIR}/linux/peer-linux.c)
  target_include_directories(capsid_serve PUBLIC ${CMAKE_CURRENT_LIST_DIR}
    PRIVATE ${CAPSID_PRIVATE_INCLUDES})
  target_link_libraries(capsid_serve PUBLIC capsid_scale capsid_static)
  target_compile_definitions(capsid_serve PRIVATE _GNU_SOURCE
    PUBLIC CAPSID_SERVE)
  capsid_warnings(capsid_serve)
  set(CAPSID_SERVE ON)
else()
  message(STATUS "capsid serve: Linux only for now; this build leaves "
    "`capsid serve` and `--server` out")
endif()
