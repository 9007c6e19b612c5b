# Registers the find_package consumer test. Included from tests/CMakeLists.txt; the consumer
# project itself is configured by the test, against an install of this build, never added here.
add_test(NAME consumer_find_package
         COMMAND ${CMAKE_COMMAND}
                 -DACCELAB_BUILD_DIR=${PROJECT_BINARY_DIR}
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer-work
                 "-DGENERATOR=${CMAKE_GENERATOR}"
                 -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
                 -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer_test.cmake)
set_tests_properties(consumer_find_package PROPERTIES TIMEOUT 600 LABELS consumer)
