/* cmd_db.c: `mobench db check|export|merge`: look after the results store. */
#include "commands.h"
#include "db.h"
#include "mb.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mobench db check  [--db FILE]\n"
            "       mobench db export --format csv|json [--table NAME] [--run ID] [--db FILE]\n"
            "       mobench db merge  OTHER.db... [--db FILE]\n"
            "\n"
            "Looks after the results database (docs/DB.md).\n"
            "  check   integrity check, schema version and row counts; exit 1 if not ok\n"
            "  export  write the rows to stdout: JSON holds every table, CSV one table\n"
            "  merge   add the rows of other mobench databases (from other devices or\n"
            "          machines); rows already present (same uuid) are skipped, so\n"
            "          merging the same file twice adds nothing\n"
            "\n"
            "options:\n"
            "  --db FILE            database (default: $MOBENCH_DB, else %s)\n"
            "  --format csv|json    export format (required for export)\n"
            "  --table NAME         CSV table: devices, runs, cells, reps, samples, quality\n"
            "                       (default: cells)\n"
            "  --run ID             export one run: a uuid, a unique uuid prefix, 'latest'\n"
            "                       or 'previous' (default: every run)\n"
            "  --busy-timeout MS    wait this long for another writer's lock (default %d)\n"
            "  -h, --help           this text\n",
            DB_DEFAULT_PATH, DB_BUSY_TIMEOUT_MS);
}

/* Readers open for writing when they can, so an old schema gets upgraded, and
 * fall back to read-only for a file they may not write. */
static int open_existing(const char *path, db_t **db)
{
    int err = db_open(path, DB_OPEN_NOCREATE, db);
    if (err == MB_EPERM)
        err = db_open(path, DB_OPEN_NOCREATE | DB_OPEN_READONLY, db);
    return err;
}

static int do_check(const char *path, int busy_ms)
{
    db_t *db = NULL;
    int err = open_existing(path, &db);
    if (err)
        return cli_fail("db check", err);
    if ((err = db_busy_timeout_set(db, busy_ms))) {
        db_close(db);
        return cli_fail("db check", err);
    }
    db_check_t c;
    err = db_check(db, &c);
    db_close(db);
    if (err)
        return cli_fail("db check", err);
    printf("database:       %s\n", path);
    printf("schema version: %d (this mobench: %d)\n", c.schema_version, DB_SCHEMA_VERSION);
    printf("schema:         %s%s\n", c.schema_ok ? "ok" : "DIFFERS: ",
           c.schema_ok ? "" : c.schema_diff);
    printf("integrity:      %s\n", c.integrity);
    printf("foreign keys:   %s (%" PRId64 " violations)\n", c.fk_violations ? "NOT OK" : "ok",
           c.fk_violations);
    printf("devices:        %" PRId64 "\n", c.counts.devices);
    printf("runs:           %" PRId64 "\n", c.counts.runs);
    printf("cells:          %" PRId64 "\n", c.counts.cells);
    printf("reps:           %" PRId64 "\n", c.counts.reps);
    printf("samples:        %" PRId64 "\n", c.counts.samples);
    printf("quality:        %" PRId64 "\n", c.counts.quality);
    printf("status:         %s\n", c.ok ? "ok" : "NOT OK");
    if (!c.ok) {
        fprintf(stderr, "mobench: db check: %s is damaged: copy the readable rows out with "
                        "'mobench db export --format json --db %s' and keep the file for "
                        "inspection\n", path, path);
        return MB_EXIT_FAIL;
    }
    return MB_EXIT_OK;
}

static int do_export(const char *path, int busy_ms, const char *format, const char *table,
                     const char *run)
{
    db_format_t fmt;
    if (!format)
        return cli_usage_error("db", "export needs --format csv|json");
    if (!strcmp(format, "csv"))
        fmt = DB_FMT_CSV;
    else if (!strcmp(format, "json"))
        fmt = DB_FMT_JSON;
    else
        return cli_usage_error("db", "unknown --format '%s': expected csv or json", format);
    db_table_t t = DB_TABLE_CELLS;
    if (table && db_table_parse(table, &t))
        return cli_usage_error("db", "--table: %s", mb_err_msg());
    if (table && fmt == DB_FMT_JSON)
        return cli_usage_error("db", "--table applies to CSV only (JSON holds every table)");
    db_t *db = NULL;
    int err = open_existing(path, &db);
    if (!err)
        err = db_busy_timeout_set(db, busy_ms);
    if (!err)
        err = db_export(db, stdout, fmt, t, run);
    db_close(db);
    return err ? cli_fail("db export", err) : MB_EXIT_OK;
}

static int do_merge(const char *path, int busy_ms, char **others, int n)
{
    if (n == 0)
        return cli_usage_error("db", "merge needs at least one OTHER.db");
    db_t *db = NULL;
    int err = db_open(path, 0, &db);
    if (!err)
        err = db_busy_timeout_set(db, busy_ms);
    if (err) {
        db_close(db);
        return cli_fail("db merge", err);
    }
    int rc = MB_EXIT_OK;
    for (int i = 0; i < n; i++) {
        db_counts_t a;
        err = db_merge(db, others[i], &a);
        if (err) {
            rc = cli_fail("db merge", err);
            continue;
        }
        printf("merged %s into %s: +%" PRId64 " devices, +%" PRId64 " runs, +%" PRId64
               " cells, +%" PRId64 " reps, +%" PRId64 " samples, +%" PRId64 " quality\n",
               others[i], path, a.devices, a.runs, a.cells, a.reps, a.samples, a.quality);
    }
    db_close(db);
    return rc;
}

int cmd_db(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MB_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        usage(stdout);
        return MB_EXIT_OK;
    }
    if (strcmp(sub, "check") && strcmp(sub, "export") && strcmp(sub, "merge"))
        return cli_usage_error("db", "unknown subcommand '%s': expected check, export or merge",
                               sub);
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"table", required_argument, NULL, 't'},
        {"run", required_argument, NULL, 'r'},
        {"busy-timeout", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = db_default_path(), *format = NULL, *table = NULL, *run = NULL;
    int64_t busy = DB_BUSY_TIMEOUT_MS;
    optind = 0; /* full re-initialisation of GNU getopt */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            path = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 't':
            table = optarg;
            break;
        case 'r':
            run = optarg;
            break;
        case 'b':
            if (mb_parse_i64(optarg, &busy) || busy < 0 || busy > 3600000)
                return cli_usage_error("db", "--busy-timeout '%s': give milliseconds, 0 to "
                                       "3600000", optarg);
            break;
        case 'h':
            usage(stdout);
            return MB_EXIT_OK;
        case ':':
            return cli_usage_error("db", "option '%s' needs a value", (argv + 1)[optind - 1]);
        default:
            return cli_usage_error("db", "unknown option '%s'", (argv + 1)[optind - 1]);
        }
    }
    char **rest = argv + 1 + optind;
    int n_rest = argc - 1 - optind;
    if (strcmp(sub, "merge") && n_rest > 0)
        return cli_usage_error("db", "unexpected argument '%s'", rest[0]);
    if (strcmp(sub, "export") && (format || table || run))
        return cli_usage_error("db", "--format, --table and --run apply to 'db export' only");
    if (!strcmp(sub, "check"))
        return do_check(path, (int)busy);
    if (!strcmp(sub, "export"))
        return do_export(path, (int)busy, format, table, run);
    return do_merge(path, (int)busy, rest, n_rest);
}
