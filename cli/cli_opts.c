/* cli_opts.c: getopt_long in order, with operands returned where they stand
 * ("+" mode: getopt stops at an operand, we hand it out and go on), so that
 * "sweep FILE --resume RUN" and "sweep --resume RUN FILE" both parse. */
#include "cli_opts.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

void cli_opts_init(cli_opts_t *o, int argc, char **argv, const char *shortopts,
                   const struct option *longopts)
{
    memset(o, 0, sizeof *o);
    o->argc = argc;
    o->argv = argv;
    o->shown = argv;
    snprintf(o->shortopts, sizeof o->shortopts, "+:%s", shortopts);
    o->longopts = longopts;
}

int cli_opts_next(cli_opts_t *o, const char **arg)
{
    *arg = NULL;
    if (!o->started) {
        optind = 0; /* GNU: 0 re-initializes getopt for this argv */
        opterr = 0;
        o->started = true;
    }
    for (;;) {
        if (o->rest) {
            if (optind >= o->argc)
                return CLI_OPT_END;
            *arg = o->argv[optind++];
            return CLI_OPT_OPERAND;
        }
        int c = getopt_long(o->argc, o->argv, o->shortopts, o->longopts, NULL);
        if (c != -1) {
            *arg = optarg;
            return c;
        }
        if (optind > 1 && optind <= o->argc && !strcmp(o->argv[optind - 1], "--")) {
            o->rest = true;
            continue;
        }
        if (optind >= o->argc)
            return CLI_OPT_END;
        /* An operand: hand it out and carry on after it. */
        *arg = o->argv[optind++];
        return CLI_OPT_OPERAND;
    }
}

int cli_opts_index(const cli_opts_t *o)
{
    (void)o;
    return optind;
}

void cli_opts_skip(cli_opts_t *o)
{
    if (optind < o->argc)
        optind++;
}

int cli_opts_error(const cli_opts_t *o, const char *cmd, int code)
{
    /* getopt leaves the offending word at optind - 1, except inside a
     * cluster of short options ("-xv"), where optopt names the letter. */
    const char *w = optind > 0 && optind <= o->argc ? o->shown[optind - 1] : "?";
    char sh[3] = {'-', (char)optopt, '\0'};
    if (strncmp(w, "--", 2) && optopt > ' ' && optopt < 127)
        w = sh;
    if (code == ':')
        return cli_usage_error(cmd, "%s: missing value", w);
    return cli_usage_error(cmd, "unknown option '%s'", w);
}

int cli_parse_busy_timeout(const char *cmd, const char *v, int *ms)
{
    int64_t x;
    double secs;
    if (mb_parse_i64(v, &x) == MB_OK)
        secs = (double)x / 1000.0;
    else if (mb_parse_duration(v, &secs) != MB_OK)
        secs = -1;
    if (!(secs >= 0.001 && secs <= 3600))
        return cli_usage_error(cmd, "--busy-timeout: expected milliseconds from 1 to 3600000 (or a "
                               "duration like 30s), got '%s'", v);
    *ms = (int)(secs * 1000 + 0.5);
    return MB_EXIT_OK;
}
