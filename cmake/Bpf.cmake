# agentwatch_bpf_skeleton(NAME SOURCE)
#
# Compiles SOURCE (a bpf/*.bpf.c) with clang -target bpf (CO-RE, -g -O2)
# against the checked-in bpf/vmlinux/<arch>/vmlinux.h, generates its libbpf
# skeleton with `bpftool gen skeleton`, and defines the INTERFACE library
# NAME_skel that puts the skeleton header (NAME.skel.h) on the include path.
# The object depends on every header SOURCE includes (bpf/agentwatch/*.bpf.h,
# events.h, ...) through the depfile clang writes (-MD -MF).
find_program(BPF_CLANG NAMES clang clang-16 clang-14 REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_ARCH arm64)
else()
  message(FATAL_ERROR "agentwatch: no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(BPF_VMLINUX_DIR ${CMAKE_SOURCE_DIR}/bpf/vmlinux/${BPF_ARCH})
if(NOT EXISTS ${BPF_VMLINUX_DIR}/vmlinux.h)
  message(FATAL_ERROR "missing ${BPF_VMLINUX_DIR}/vmlinux.h: run scripts/gen-vmlinux.sh")
endif()

function(agentwatch_bpf_skeleton NAME SOURCE)
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(obj ${out_dir}/${NAME}.bpf.o)
  set(skel ${out_dir}/${NAME}.skel.h)
  set(dep ${out_dir}/${NAME}.bpf.d)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${BPF_CLANG} -g -O2 -Wall -target bpf -D__TARGET_ARCH_${BPF_ARCH}
      -I${CMAKE_SOURCE_DIR}/bpf -I${BPF_VMLINUX_DIR}
      -MD -MF ${dep} -MT ${obj}
      -c ${SOURCE} -o ${obj}
    DEPENDS ${SOURCE} ${CMAKE_SOURCE_DIR}/bpf/events.h
    DEPFILE ${dep}
    COMMENT "clang -target bpf ${NAME}.bpf.c")
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${NAME}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "bpftool gen skeleton ${NAME}")
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel})
  add_library(${NAME}_skel INTERFACE)
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  target_include_directories(${NAME}_skel INTERFACE ${out_dir} ${CMAKE_SOURCE_DIR}/bpf)
  target_link_libraries(${NAME}_skel INTERFACE PkgConfig::LIBBPF)
  set(${NAME}_BPF_OBJECT ${obj} CACHE INTERNAL "")
endfunction()
