# bench/proxy/proxy.cmake — the helper binary used by bench/proxy/run.sh
# (a standalone proxy with a static route, an idle-connection sink and client).
add_executable(proxy_bench ${CMAKE_CURRENT_LIST_DIR}/proxy_bench_main.cc)
target_link_libraries(proxy_bench PRIVATE proxy)
