# tests/integration/packaging.cmake — the .deb (packaging/CMakeLists.txt):
# built with cpack from this tree, checked (Depends, contents, unit, man
# page), installed with dpkg -i, used, and purged again. Root only (skipped,
# exit 77, otherwise).
add_test(NAME integration_packaging_deb
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/packaging_test.sh ${CMAKE_CPACK_COMMAND} ${CMAKE_BINARY_DIR} ${PROJECT_VERSION})
# RESOURCE_LOCK dpkg: one dpkg/apt at a time (the deploy test may apt-get install);
# pw_build_tree: cpack builds the tree first, as the demo test's make does.
set_tests_properties(integration_packaging_deb PROPERTIES
  LABELS "integration;packaging" TIMEOUT 600 SKIP_RETURN_CODE 77 RESOURCE_LOCK "dpkg;pw_build_tree")
