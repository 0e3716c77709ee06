# Runs `upline replay` on tests/golden/NAME and compares state and effects byte for byte.
# -DUPLINE=… -DGOLDEN=dir -DOUT=dir
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${UPLINE} replay --plan ${GOLDEN}/plan.json --events ${GOLDEN}/events.jsonl
                        --dump ${OUT}/state.json --effects ${OUT}/effects.jsonl
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "replay exited ${rc}: ${err}")
endif()
foreach(f state.json effects.jsonl)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${GOLDEN}/${f} ${OUT}/${f} RESULT_VARIABLE diff)
  if(NOT diff EQUAL 0)
    execute_process(COMMAND diff -u ${GOLDEN}/${f} ${OUT}/${f} OUTPUT_VARIABLE d)
    string(SUBSTRING "${d}" 0 4000 d)
    message(FATAL_ERROR "${f} differs from the golden file:\n${d}")
  endif()
endforeach()
