/* upline.h must compile alone, as C99, with every warning an error (see tests/CMakeLists.txt). */
#include "upline/upline.h"

int main(void) {
  upl_engine *engine = NULL;
  upl_effect effect;
  upl_member member;
  (void)engine;
  (void)effect;
  (void)member;
  return UPL_VERSION_NUMBER > 0 ? 0 : 1;
}
