/* mb_build.c: version and the git commit the binary was built from. */
#include "mb.h"
#include "mb_build_info.h"

const char *mb_version(void) { return MB_BUILD_VERSION; }
const char *mb_build_commit(void) { return MB_BUILD_COMMIT; }
