# tests/integration/deploy.cmake — the Ansible role (deploy/ansible) renders
# the seed's inventory to configurations check-config accepts and that equal
# examples/seed/*.ini; with Ansible from Debian (installed by the test when
# missing and available), --syntax-check and the template module as well.
find_program(PW_PYTHON3 python3 REQUIRED)
add_test(NAME integration_deploy_ansible
  COMMAND ${PW_PYTHON3} -u ${CMAKE_CURRENT_LIST_DIR}/deploy_test.py $<TARGET_FILE:pgwarden> ${CMAKE_SOURCE_DIR})
# RESOURCE_LOCK dpkg: it may apt-get install, which must not overlap the packaging test's dpkg -i.
set_tests_properties(integration_deploy_ansible PROPERTIES
  LABELS "integration;deploy" TIMEOUT 600 RESOURCE_LOCK dpkg)
