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

/* -C/--cpu-mask LIST, --cpu-strict LIST and --cluster LIST of bench and
 * sweep (llama-bench's first two): the pinning axes, as given. */
typedef struct {
    bench_pin_t *pins; /* -C masks or --cluster names */
    size_t n_pins;
    bool *stricts;     /* --cpu-strict values */
    size_t n_stricts;
    bool mask_given, cluster_given;
} cli_pins_t;
enum { CLI_OPT_CPU_MASK = 'C', CLI_OPT_CPU_STRICT = 0x7fff0100, CLI_OPT_CLUSTER };
#define CLI_PIN_LONGOPTS                                         \
    {"cpu-mask", required_argument, NULL, CLI_OPT_CPU_MASK},     \
    {"cpu-strict", required_argument, NULL, CLI_OPT_CPU_STRICT}, \
    {"cluster", required_argument, NULL, CLI_OPT_CLUSTER}
#define CLI_PIN_USAGE                                                                              \
    "  -C, --cpu-mask LIST    pin the threads to the CPUs of a hex mask (llama-bench's -C: 0x0f,\n"  \
    "                         bit i = CPU i, any number of CPUs); a list runs each mask\n"         \
    "  --cpu-strict LIST      0 (default): each thread may run on any CPU of the mask; 1: thread\n" \
    "                         i on the i-th CPU of the mask alone, wrapping round-robin when\n"    \
    "                         there are more threads than CPUs (llama-bench's --cpu-strict)\n"    \
    "  --cluster LIST         pin to the probe's clusters: big, mid, little, or all (every\n"      \
    "                         online CPU); not with -C ('mobench probe' lists the clusters)\n"
/* Takes one of the options above (opt: its val); a usage error (exit code
 * 2) for a bad value. */
int cli_pins_option(const char *cmd, int opt, const char *v, cli_pins_t *p);
/* After the options: checks the combination (-C with --cluster, strict
 * without CPUs), resolves clusters and masks against this device's probe
 * (MOBENCH_SYSFS_ROOT applies), and fills the defaults (one unpinned pin,
 * strict 0) when nothing was given. Exit code 0 or 2. */
int cli_pins_finish(const char *cmd, cli_pins_t *p);
void cli_pins_free(cli_pins_t *p);

#endif
