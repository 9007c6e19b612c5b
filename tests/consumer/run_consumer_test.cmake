# The find_package consumer test, run as `cmake -P` by ctest (see register.cmake):
#  1. install the accelab build tree into a fresh prefix;
#  2. configure and build tests/consumer and plugin-api/examples/hello against that prefix, as
#     a third-party plugin author would;
#  3. check that the installed bin/accelab loads what they built.
# Inputs (-D): ACCELAB_BUILD_DIR, WORK_DIR; optional GENERATOR, CXX_COMPILER.
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS ACCELAB_BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake needs -D${var}=...")
  endif()
endforeach()

cmake_path(GET CMAKE_CURRENT_LIST_DIR PARENT_PATH tests_dir)
cmake_path(GET tests_dir PARENT_PATH source_dir)
set(prefix ${WORK_DIR}/prefix)
set(accelab ${prefix}/bin/accelab)
file(REMOVE_RECURSE ${WORK_DIR})
# Only --plugin-path and the prefix's own plugin directory count.
unset(ENV{ACCELAB_PLUGIN_PATH})

set(configure_options -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
if(GENERATOR)
  list(APPEND configure_options -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND configure_options -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

# Runs a command; on failure stops the test with the command's output.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

# Sets `out_var` to the `accelab plugins --json` document for one extra plugin directory.
function(list_plugins dir out_var)
  execute_process(COMMAND ${accelab} plugins --json --plugin-path ${dir}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "accelab plugins --plugin-path ${dir} failed (${rc}):\n${err}${json}")
  endif()
  set(${out_var} "${json}" PARENT_SCOPE)
endfunction()

# Sets `out_var` to the path of the plugin offering `strategy`, or "" when none does.
function(plugin_offering json strategy out_var)
  set(${out_var} "" PARENT_SCOPE)
  string(JSON n_plugins LENGTH "${json}" plugins)
  if(n_plugins EQUAL 0)
    return()
  endif()
  math(EXPR last_plugin "${n_plugins} - 1")
  foreach(p RANGE ${last_plugin})
    string(JSON n_strategies LENGTH "${json}" plugins ${p} strategies)
    if(n_strategies EQUAL 0)
      continue()
    endif()
    math(EXPR last_strategy "${n_strategies} - 1")
    foreach(s RANGE ${last_strategy})
      string(JSON name GET "${json}" plugins ${p} strategies ${s} name)
      if(name STREQUAL strategy)
        string(JSON path GET "${json}" plugins ${p} path)
        set(${out_var} "${path}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endforeach()
endfunction()

# Fails unless the plugin offering `strategy` is the file built in `build_dir`.
function(expect_loaded_from build_dir strategy)
  list_plugins(${build_dir} json)
  plugin_offering("${json}" ${strategy} path)
  if(path STREQUAL "")
    message(FATAL_ERROR "strategy '${strategy}' is not listed:\n${json}")
  endif()
  get_filename_component(dir "${path}" DIRECTORY)
  file(REAL_PATH ${build_dir} expected_dir)
  file(REAL_PATH ${dir} actual_dir)
  if(NOT actual_dir STREQUAL expected_dir)
    message(FATAL_ERROR "strategy '${strategy}' comes from ${path}, not from ${build_dir}")
  endif()
  message(STATUS "${strategy} loaded from ${path}")
endfunction()

step("install ${ACCELAB_BUILD_DIR}"
     ${CMAKE_COMMAND} --install ${ACCELAB_BUILD_DIR} --prefix ${prefix})
if(NOT EXISTS ${accelab})
  message(FATAL_ERROR "the install has no ${accelab}")
endif()

# Configures and builds one out-of-tree project into ${WORK_DIR}/<name>-build.
function(build_against_prefix name source)
  set(build ${WORK_DIR}/${name}-build)
  step("configure ${name}" ${CMAKE_COMMAND} -S ${source} -B ${build} ${configure_options})
  step("build ${name}" ${CMAKE_COMMAND} --build ${build})
endfunction()

build_against_prefix(consumer ${CMAKE_CURRENT_LIST_DIR})
build_against_prefix(hello ${source_dir}/plugin-api/examples/hello)

expect_loaded_from(${WORK_DIR}/consumer-build consumer-check)
# The installed tree has its own hello; --plugin-path comes first, so this build's copy wins.
expect_loaded_from(${WORK_DIR}/hello-build hello)
