# Fuzzing of the consensus wire codec.
#  * -DPW_FUZZ=ON with clang: builds `codec_fuzz` (libFuzzer + ASan/UBSan).
#  * Otherwise (the normal g++ build): the ctest `fuzz_consensus_codec`
#    builds that target in its own clang build directory under this build
#    tree (cached between runs) and fuzzes for 30 s.
if(PW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PW_FUZZ needs clang: CC=clang-14 CXX=clang++-14 cmake -DPW_FUZZ=ON ...")
  endif()
  set(_pw_codec_srcs ${CMAKE_SOURCE_DIR}/consensus/codec.cc)
  add_executable(codec_fuzz ${CMAKE_CURRENT_LIST_DIR}/codec_fuzz.cc ${_pw_codec_srcs})
  target_include_directories(codec_fuzz PRIVATE ${PW_INC_ROOT}/consensus)
  target_compile_options(codec_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(codec_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  add_executable(codec_fuzz_seeds ${CMAKE_CURRENT_LIST_DIR}/codec_fuzz_seeds.cc ${_pw_codec_srcs})
  target_include_directories(codec_fuzz_seeds PRIVATE ${PW_INC_ROOT}/consensus)
  add_dependencies(codec_fuzz codec_fuzz_seeds)
else()
  add_test(NAME fuzz_consensus_codec
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_codec_fuzz.sh ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz-consensus-codec 30)
  set_tests_properties(fuzz_consensus_codec PROPERTIES LABELS fuzz TIMEOUT 900
                       PASS_REGULAR_EXPRESSION "codec fuzz: [0-9]+s without a crash")
endif()
