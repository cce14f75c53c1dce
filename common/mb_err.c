/* mb_err.c: error codes and the per-thread last-error message. */
#include "mb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[1024];

const char *mb_err_str(int code)
{
    switch (code) {
    case MB_OK: return "ok";
    case MB_EINVAL: return "invalid argument";
    case MB_ENOMEM: return "out of memory";
    case MB_EIO: return "I/O error";
    case MB_ENOENT: return "not found";
    case MB_EPERM: return "permission denied";
    case MB_EFORMAT: return "malformed input";
    case MB_EUNSUPPORTED: return "unsupported";
    case MB_ERANGE: return "out of range";
    case MB_EBUSY: return "busy";
    case MB_ENOSPC: return "no space left on device";
    case MB_ETIMEOUT: return "timed out";
    case MB_EINTR: return "interrupted";
    case MB_ESHAPE: return "shape mismatch";
    case MB_EALIGN: return "misaligned buffer";
    case MB_EVERSION: return "unsupported version";
    case MB_EDB: return "database error";
    case MB_ECHILD: return "child process failed";
    case MB_ESKIP: return "skipped";
    default: return "unknown error";
    }
}

int mb_err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *mb_err_msg(void) { return err_msg; }

void mb_err_clear(void) { err_msg[0] = '\0'; }

int mb_err_from_errno(int e)
{
    switch (e) {
    case 0: return MB_OK;
    case ENOENT: case ENOTDIR: return MB_ENOENT;
    case EACCES: case EPERM: case EROFS: return MB_EPERM;
    case ENOMEM: return MB_ENOMEM;
    case ENOSPC: case EDQUOT: case EFBIG: return MB_ENOSPC;
    case EINTR: return MB_EINTR;
    case EINVAL: return MB_EINVAL;
    case ERANGE: case EOVERFLOW: return MB_ERANGE;
    case EBUSY: case EAGAIN: return MB_EBUSY;
    case ETIMEDOUT: return MB_ETIMEOUT;
    default: return MB_EIO;
    }
}
