# Scale-out over Redis Streams (capsid worker/submit/collect). hiredis is
# linked into the capsid command only, never into libcapsid. Linux builds
# require it (scripts/bootstrap.sh installs libhiredis-dev); other builds
# leave the three commands out.
if(CAPSID_OS STREQUAL "linux")
  pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
  target_sources(capsid PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/cmd-collect.c
    ${CMAKE_CURRENT_LIST_DIR}/cmd-submit.c
    ${CMAKE_CURRENT_LIST_DIR}/cmd-worker.c
    ${CMAKE_CURRENT_LIST_DIR}/help-scale-out.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-conn.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-retry.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-sync.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-url.c
    ${CMAKE_CURRENT_LIST_DIR}/redis-uv.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-claim.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-entry.c
    ${CMAKE_CURRENT_LIST_DIR}/worker-output.c)
  target_link_libraries(capsid PRIVATE PkgConfig::HIREDIS)
  target_compile_definitions(capsid PRIVATE CAPSID_SCALE_OUT)
  set(CAPSID_SCALE_OUT ON)
endif()
