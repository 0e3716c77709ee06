# `upline replay` maps a regular events file; its last line may end exactly at a page boundary, with
# no newline and nothing readable after it. Such a file must replay exactly as the same bytes read
# from standard input. The file is 65536 bytes: a whole number of pages for 4, 16 and 64 KiB pages.
# -DUPLINE=… -DGOLDEN=dir -DOUT=dir
set(size 65536)
file(MAKE_DIRECTORY ${OUT})
file(STRINGS ${GOLDEN}/events.jsonl lines)
set(body "")
set(last "")
foreach(line IN LISTS lines)
  string(LENGTH "${body}${last}${line}\n" n)
  if(n GREATER ${size})
    break()
  endif()
  string(APPEND body "${last}")
  set(last "${line}\n")
endforeach()
# The last event loses its newline and gains spaces before its closing brace up to `size` bytes.
string(REGEX REPLACE "}\n$" "" last "${last}")
string(LENGTH "${body}${last}}" n)
math(EXPR pad "${size} - ${n}")
string(REPEAT " " ${pad} spaces)
file(WRITE ${OUT}/events.jsonl "${body}${last}${spaces}}")
file(SIZE ${OUT}/events.jsonl written)
if(NOT written EQUAL size)
  message(FATAL_ERROR "built ${written} bytes, wanted ${size}")
endif()

execute_process(COMMAND ${UPLINE} replay --plan ${GOLDEN}/plan.json --events ${OUT}/events.jsonl
                        --dump ${OUT}/mapped.json --effects ${OUT}/mapped.jsonl RESULT_VARIABLE rc1)
execute_process(COMMAND ${UPLINE} replay --plan ${GOLDEN}/plan.json --events -
                        --dump ${OUT}/read.json --effects ${OUT}/read.jsonl
                INPUT_FILE ${OUT}/events.jsonl RESULT_VARIABLE rc2)
if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
  message(FATAL_ERROR "replay exited ${rc1} (file) and ${rc2} (standard input)")
endif()
foreach(pair "mapped.json;read.json" "mapped.jsonl;read.jsonl")
  list(GET pair 0 a)
  list(GET pair 1 b)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/${a} ${OUT}/${b} RESULT_VARIABLE diff)
  if(NOT diff EQUAL 0)
    message(FATAL_ERROR "${a} and ${b} differ")
  endif()
endforeach()
# The last event was applied, not dropped: its effect line is the last one.
file(STRINGS ${OUT}/mapped.jsonl effects)
list(LENGTH effects count)
string(REGEX MATCHALL "\n" newlines "${body}")
list(LENGTH newlines expected)
math(EXPR expected "${expected} + 1")
if(NOT count EQUAL expected)
  message(FATAL_ERROR "${count} effect lines for ${expected} events")
endif()
