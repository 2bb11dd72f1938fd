# Above scale/: `capsid serve`, one runtime serving many clients over a
# local socket (docs/protocol.md). A static library like scale's, linked
# into the capsid command. Linux listens on a Unix socket and learns a
# client's uid from it (serve/linux/); Windows listens on a named pipe and
# learns the client's token from it (serve/win/).
set(CAPSID_SERVE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/authorize.c
  ${CMAKE_CURRENT_LIST_DIR}/request.c
  ${CMAKE_CURRENT_LIST_DIR}/server.c)
if(CAPSID_OS STREQUAL "linux")
  list(APPEND CAPSID_SERVE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/linux/peer-linux.c)
else()
  list(APPEND CAPSID_SERVE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/win/access-win.c
    ${CMAKE_CURRENT_LIST_DIR}/win/listen-win.c
    ${CMAKE_CURRENT_LIST_DIR}/win/peer-win.c)
endif()
add_library(capsid_serve STATIC ${CAPSID_SERVE_SOURCES})
# serve/<os>/ is public for serve-pipe.h, the thin client's pipe address.
target_include_directories(capsid_serve PUBLIC ${CMAKE_CURRENT_LIST_DIR}
  ${CMAKE_CURRENT_LIST_DIR}/${CAPSID_OS}
  PRIVATE ${CAPSID_PRIVATE_INCLUDES})
target_link_libraries(capsid_serve PUBLIC capsid_scale capsid_static)
target_compile_definitions(capsid_serve PRIVATE
  $<$<STREQUAL:${CAPSID_OS},linux>:_GNU_SOURCE>
  PUBLIC CAPSID_SERVE)
capsid_warnings(capsid_serve)
set(CAPSID_SERVE ON)
