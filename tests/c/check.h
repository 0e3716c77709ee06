/* check.h — the C tests' assertions: count, report file:line and go on; main() returns failed != 0. */
#ifndef UPLINE_TESTS_C_CHECK_H
#define UPLINE_TESTS_C_CHECK_H

#include <stdio.h>

#include "upline/upline.h"

static int passed, failed;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) {                                                       \
      ++passed;                                                       \
    } else {                                                          \
      ++failed;                                                       \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

#define CHECK_STATUS(expr, want)                                                              \
  do {                                                                                        \
    upl_status got_ = (expr);                                                                 \
    if (got_ == (want)) {                                                                     \
      ++passed;                                                                               \
    } else {                                                                                  \
      ++failed;                                                                               \
      fprintf(stderr, "%s:%d: %s gave %s (%s), want %s\n", __FILE__, __LINE__, #expr,         \
              upl_status_str(got_), upl_last_error(), upl_status_str(want));                  \
    }                                                                                         \
  } while (0)

#endif
