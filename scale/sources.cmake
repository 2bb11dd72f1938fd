# Above the runtime: the job-line wire format (batch lines, result lines)
# and the Redis Streams scale-out engines (worker, submit, collect; the
# capsid commands of those names are their options and printing). A
# library of its own, so that hiredis stays out of libcapsid: only the
# capsid command links it. Linux
# builds require hiredis (scripts/bootstrap.sh installs libhiredis-dev);
# other builds get the wire format alone and leave worker/submit/collect
# out.
add_library(capsid_scale STATIC
  ${CMAKE_CURRENT_LIST_DIR}/jobline.c
  ${CMAKE_CURRENT_LIST_DIR}/resultline.c)
target_include_directories(capsid_scale PUBLIC ${CMAKE_CURRENT_LIST_DIR}
  PRIVATE ${CAPSID_PRIVATE_INCLUDES})
target_link_libraries(capsid_scale PUBLIC capsid_static)
target_compile_definitions(capsid_scale PRIVATE
  $<$<STREQUAL:${CAPSID_OS},linux>:_GNU_SOURCE>)
capsid_warnings(capsid_scale)
if(CAPSID_OS STREQUAL "linux")
  pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
  # TLS beneath hiredis 0.14 (which has none): scale/tls-tunnel.c.
  pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
  find_package(Threads REQUIRED)
  target_sources(capsid_scale PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/manifest.c
    ${CMAKE_CURRENT_LIST_DIR}/metrics.c
    ${CMAKE_CURRENT_LIST_DIR}/queue-status.c
    ${CMAKE_CURRENT_LIST_DIR}/queue-web.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-conn.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-endpoint.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-guard.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-retry.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-sync.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-url.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-uv.c
    ${CMAKE_CURRENT_LIST_DIR}/cancel.c
    ${CMAKE_CURRENT_LIST_DIR}/scale-net.c
    ${CMAKE_CURRENT_LIST_DIR}/sentinel.c
    ${CMAKE_CURRENT_LIST_DIR}/tls-tunnel.c
    ${CMAKE_CURRENT_LIST_DIR}/collect.c
    ${CMAKE_CURRENT_LIST_DIR}/submit.c
    ${CMAKE_CURRENT_LIST_DIR}/worker.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-cancel.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-claim.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-entry.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-output.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-retention.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-state.c)
  target_link_libraries(capsid_scale PUBLIC PkgConfig::HIREDIS
    PkgConfig::OPENSSL Threads::Threads)
  target_compile_definitions(capsid_scale PUBLIC CAPSID_SCALE_OUT)
  set(CAPSID_SCALE_OUT ON)
endif()
