/* mb_log.c: leveled logging to stderr. stdout is for results only. */
#include "mb.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic int log_level = MB_LOG_WARN;

void mb_log_level_set(mb_log_level_t level) { atomic_store(&log_level, (int)level); }

mb_log_level_t mb_log_level_get(void) { return (mb_log_level_t)atomic_load(&log_level); }

void mb_log(mb_log_level_t level, const char *fmt, ...)
{
    static const char *tag[] = {"error", "warning", "info", "debug"};
    if ((int)level > atomic_load(&log_level) || level < MB_LOG_ERROR)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fputs per line so lines from threads do not interleave. */
    char out[2100];
    snprintf(out, sizeof out, "mobench: %s: %s\n", tag[level], line);
    fputs(out, stderr);
}
