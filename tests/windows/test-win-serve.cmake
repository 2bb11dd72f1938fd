# capsid serve's Windows suite: the server's sources (and the job-line
# format beneath them) compiled into the test against the override
# library, as capsid_serve is compiled against the real one.
capsid_win_test(test-win-serve)
target_sources(test-win-serve PRIVATE ${CAPSID_SERVE_SOURCES}
  ${CMAKE_SOURCE_DIR}/scale/jobline.c ${CMAKE_SOURCE_DIR}/scale/resultline.c)
target_include_directories(test-win-serve PRIVATE ${CMAKE_SOURCE_DIR}/serve
  ${CMAKE_SOURCE_DIR}/serve/win ${CMAKE_SOURCE_DIR}/scale)
