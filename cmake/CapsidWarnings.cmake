# Warnings and sanitizers, scoped to capsid's own targets.
function(capsid_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow
      -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
      -Wformat=2 -Wno-format-nonliteral)
    if(CAPSID_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(CAPSID_SANITIZE)
      target_compile_options(${target} PUBLIC -fsanitize=address,undefined
        -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
      target_link_options(${target} PUBLIC -fsanitize=address,undefined)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${CAPSID_WERROR}>:/WX>)
  endif()
endfunction()
