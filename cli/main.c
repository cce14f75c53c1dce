/* main.c: global options (-v, -q, --version), then dispatch by the command table. */
#include "commands.h"
#include "mb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mobench: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mobench %s --help'.\n", cmd);
    va_end(ap);
    return MB_EXIT_USAGE;
}

int cli_fail(const char *cmd, int code)
{
    const char *msg = mb_err_msg();
    fprintf(stderr, "mobench: %s: %s%s%s\n", cmd, mb_err_str(code), *msg ? ": " : "", msg);
    return MB_EXIT_FAIL;
}

static const mb_command_t *find_command(const char *name)
{
    for (int i = 0; i < mb_n_commands; i++)
        if (!strcmp(mb_commands[i].name, name))
            return &mb_commands[i];
    return NULL;
}

static void print_usage(FILE *f)
{
    fprintf(f, "usage: mobench [-v|-q] <command> [options]\n\n"
               "Which LLM, at which quantization, runs well on this device?\n\ncommands:\n");
    for (int i = 0; i < mb_n_commands; i++)
        fprintf(f, "  %-10s %s\n", mb_commands[i].name, mb_commands[i].summary);
    fprintf(f, "\nglobal options (before the command):\n"
               "  -v, --verbose   more log lines on stderr (repeat for debug)\n"
               "  -q, --quiet     no log lines on stderr, not even warnings\n"
               "  --version       print the version and build commit\n"
               "  -h, --help      this text\n"
               "\n'mobench <command> --help' lists a command's options and defaults.\n"
               "Exit codes: 0 ok, 1 run-time failure, 2 usage error, 3 regression found.\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
        const mb_command_t *c = find_command(argv[1]);
        if (!c)
            return cli_usage_error("help", "unknown command '%s'", argv[1]);
        if (!strcmp(c->name, "help")) {
            print_usage(stdout);
            return MB_EXIT_OK;
        }
        char *sub[] = {argv[1], "--help", NULL};
        return c->fn(2, sub);
    }
    print_usage(stdout);
    return MB_EXIT_OK;
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mobench version\n\nPrints the version and the git commit this binary "
               "was built from (\"unknown\" outside a git checkout). No options.\n");
        return MB_EXIT_OK;
    }
    if (argc > 1)
        return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("mobench %s (commit %s)\n", mb_version(), mb_build_commit());
    return MB_EXIT_OK;
}

int main(int argc, char **argv)
{
    int i = 1;
    int verbosity = MB_LOG_WARN;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            verbosity = verbosity < MB_LOG_INFO ? MB_LOG_INFO : MB_LOG_DEBUG;
        else if (!strcmp(a, "-vv"))
            verbosity = MB_LOG_DEBUG;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            verbosity = MB_LOG_QUIET;
        else if (!strcmp(a, "--version"))
            return cmd_version(1, argv);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_usage(stdout);
            return MB_EXIT_OK;
        } else {
            fprintf(stderr, "mobench: unknown global option '%s'\n", a);
            print_usage(stderr);
            return MB_EXIT_USAGE;
        }
    }
    mb_log_level_set((mb_log_level_t)verbosity);
    if (i >= argc) {
        print_usage(stderr);
        return MB_EXIT_USAGE;
    }
    const mb_command_t *c = find_command(argv[i]);
    if (!c) {
        fprintf(stderr, "mobench: unknown command '%s'\n", argv[i]);
        print_usage(stderr);
        return MB_EXIT_USAGE;
    }
    return c->fn(argc - i, argv + i);
}
