# The scale-out commands (capsid worker/submit/collect) over the scale/
# library; built where that library has its Redis half (Linux).
if(CAPSID_SCALE_OUT)
  target_sources(capsid PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/cmd-cancel.c
    ${CMAKE_CURRENT_LIST_DIR}/cmd-collect.c
    ${CMAKE_CURRENT_LIST_DIR}/cmd-queue.c
    ${CMAKE_CURRENT_LIST_DIR}/doctor-redis.c
    ${CMAKE_CURRENT_LIST_DIR}/cmd-submit.c
    ${CMAKE_CURRENT_LIST_DIR}/cmd-worker.c
    ${CMAKE_CURRENT_LIST_DIR}/help-scale-out.c)
endif()
