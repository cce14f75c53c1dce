/* cli_opts.c: getopt_long in order, with operands returned where they stand
 * ("+" mode: getopt stops at an operand, we hand it out and go on), so that
 * "sweep FILE --resume RUN" and "sweep --resume RUN FILE" both parse. */
#include "cli_opts.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
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

/* ---- pinning options ------------------------------------------------------------ */
int cli_pins_option(const char *cmd, int opt, const char *v, cli_pins_t *p)
{
    char **parts;
    size_t n;
    const char *name = opt == CLI_OPT_CPU_MASK ? "-C" : opt == CLI_OPT_CLUSTER ? "--cluster" : "--cpu-strict";
    if (mb_split_csv(v, &parts, &n))
        return cli_usage_error(cmd, "%s: %s", name, mb_err_msg());
    int rc = MB_EXIT_OK;
    if (!n)
        rc = cli_usage_error(cmd, "%s: expected a value, got nothing", name);
    if (opt == CLI_OPT_CPU_STRICT) {
        bool *b = rc ? NULL : calloc(n, sizeof *b);
        for (size_t i = 0; b && i < n && !rc; i++) {
            if (strcmp(parts[i], "0") && strcmp(parts[i], "1"))
                rc = cli_usage_error(cmd, "--cpu-strict: expected 0 or 1, got '%s'", parts[i]);
            b[i] = parts[i][0] == '1';
        }
        if (!rc && !b)
            rc = cli_fail(cmd, MB_ENOMEM);
        if (rc) {
            free(b);
        } else {
            free(p->stricts);
            p->stricts = b;
            p->n_stricts = n;
        }
        mb_strv_free(parts, n);
        return rc;
    }
    /* A later -C or --cluster adds to the list (llama-bench repeats options too). */
    bench_pin_t *np = rc ? NULL : realloc(p->pins, (p->n_pins + n) * sizeof *np);
    if (!rc && !np)
        rc = cli_fail(cmd, MB_ENOMEM);
    if (np)
        p->pins = np;
    for (size_t i = 0; !rc && i < n; i++) {
        bench_pin_t *x = &p->pins[p->n_pins];
        memset(x, 0, sizeof *x);
        if (opt == CLI_OPT_CLUSTER) {
            if (bench_cluster_check(parts[i]))
                rc = cli_usage_error(cmd, "--cluster: %s", mb_err_msg());
            else
                snprintf(x->cluster, sizeof x->cluster, "%s", parts[i]);
            p->cluster_given = true;
        } else {
            if (bench_cpuset_parse_hex(parts[i], &x->cpus))
                rc = cli_usage_error(cmd, "-C: %s", mb_err_msg());
            else if (bench_cpuset_empty(&x->cpus))
                rc = cli_usage_error(cmd, "-C: '%s' names no CPU; expected a mask such as 0x0f (leave "
                                     "-C out for no pinning)", parts[i]);
            p->mask_given = true;
        }
        if (!rc)
            p->n_pins++;
    }
    mb_strv_free(parts, n);
    return rc;
}

int cli_pins_finish(const char *cmd, cli_pins_t *p)
{
    if (p->mask_given && p->cluster_given)
        return cli_usage_error(cmd, "-C and --cluster both given: expected one of them (a cluster is a "
                               "mask the probe names)");
    if (!p->n_stricts) {
        if (!(p->stricts = calloc(1, sizeof *p->stricts)))
            return cli_fail(cmd, MB_ENOMEM);
        p->n_stricts = 1;
    }
    if (!p->n_pins) {
        for (size_t i = 0; i < p->n_stricts; i++)
            if (p->stricts[i])
                return cli_usage_error(cmd, "--cpu-strict 1 needs CPUs to pin to: add -C HEX or "
                                       "--cluster NAME (--cluster all for every CPU)");
        if (!(p->pins = calloc(1, sizeof *p->pins)))
            return cli_fail(cmd, MB_ENOMEM);
        p->n_pins = 1; /* not pinned */
        return MB_EXIT_OK;
    }
    probes_device_t dev;
    probes_opts_t po = {.quiet = true};
    int rc = probes_device_probe(&po, &dev);
    if (rc) {
        probes_device_free(&dev);
        return cli_fail(cmd, rc);
    }
    rc = bench_pins_resolve(p->pins, p->n_pins, &dev, NULL);
    probes_device_free(&dev);
    if (rc)
        return cli_usage_error(cmd, "%s", mb_err_msg());
    return MB_EXIT_OK;
}

void cli_pins_free(cli_pins_t *p)
{
    free(p->pins);
    free(p->stricts);
    memset(p, 0, sizeof *p);
}
