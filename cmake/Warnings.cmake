# Project-wide compile flags: strict warnings, optional sanitizers.
add_compile_options(
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports these from inlined std::vector/std::copy code at -O2/-O3 where no
  # overflow exists (GCC bugs 105651, 106199, 107852); the sanitizer build and clang
  # check the real thing.
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>
                      -Wno-stringop-overflow -Wno-array-bounds -Wno-stringop-overread
                      -Wno-restrict)
endif()
if(SMB_WERROR)
  add_compile_options(-Werror)
endif()
add_compile_definitions(_FILE_OFFSET_BITS=64 _GNU_SOURCE)

if(SMB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
if(SMB_TSAN)
  if(SMB_SANITIZE)
    message(FATAL_ERROR "SMB_TSAN and SMB_SANITIZE cannot be combined (one runtime each)")
  endif()
  # State touched from the pool threads must belong to one thread at a time; this build
  # checks it while the unit and integration tests run.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
endif()
if(SMB_FUZZ)
  # Every object is built with coverage so the fuzz targets see into the libraries.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
