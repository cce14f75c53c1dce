/* cli_opts.h: what the option parsing of bench, sweep, kernels, models and
 * quality shares: getopt_long in order (options and operands as they come),
 * the usage errors for a missing value or an unknown option (exit code 2),
 * and the default seed of the synthetic weights. */
#ifndef MB_CLI_OPTS_H
#define MB_CLI_OPTS_H

#include "bench.h"

#include <getopt.h>

/* One seed for every command that makes synthetic weights (bench, sweep
 * files, models build, quality): the same model everywhere, so the models
 * cache is shared and numbers are comparable. */
#define CLI_DEFAULT_SEED BENCH_DEFAULT_SEED

enum {
    CLI_OPT_END = -1,
    CLI_OPT_OPERAND = 0x7fff0001, /* a word that is not an option: *arg */
};

typedef struct {
    int argc;
    char **argv;
    char **shown;                  /* argv as the user typed it, for messages (default argv) */
    char shortopts[64];            /* "+:" and the caller's */
    const struct option *longopts;
    bool started, rest;            /* rest: after "--", only operands */
} cli_opts_t;

/* Starts parsing argv[1..] (argv[0] is the command). shortopts as
 * getopt's ("m:q:h"), longopts NULL-terminated. */
void cli_opts_init(cli_opts_t *o, int argc, char **argv, const char *shortopts,
                   const struct option *longopts);
/* The next option (its val), CLI_OPT_OPERAND with *arg the word, ':' (a
 * value is missing) or '?' (unknown option), or CLI_OPT_END. The value of an
 * option is in *arg too. Operands keep their place among the options. */
int cli_opts_next(cli_opts_t *o, const char **arg);
/* Index in argv of the word to look at next (e.g. an optional value). */
int cli_opts_index(const cli_opts_t *o);
/* Consumes the next word (an optional value the caller took). */
void cli_opts_skip(cli_opts_t *o);
/* The usage error (exit code 2) for ':' or '?' from cli_opts_next:
 * "OPT: missing value" / "unknown option 'OPT'". */
int cli_opts_error(const cli_opts_t *o, const char *cmd, int code);

/* --busy-timeout MS: milliseconds (a bare number) or a duration ("2s"),
 * 1 ms to 1 h. A usage error (exit code 2) otherwise. */
int cli_parse_busy_timeout(const char *cmd, const char *v, int *ms);

#endif
