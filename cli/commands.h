/* commands.h: the command table. A command joins the table when it works. */
#ifndef MB_COMMANDS_H
#define MB_COMMANDS_H

/* Exit codes (README "Exit codes"). */
enum { MB_EXIT_OK = 0, MB_EXIT_FAIL = 1, MB_EXIT_USAGE = 2, MB_EXIT_REGRESSION = 3 };

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name; returns an exit code */
    const char *summary;
} mb_command_t;

extern const mb_command_t mb_commands[];
extern const int mb_n_commands;

/* Prints "mobench: NAME: MSG" and "Try 'mobench NAME --help'." to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a failed call (code and mb_err_msg()) and returns 1. */
int cli_fail(const char *cmd, int code);

/* One function per command, in cli/cmd_<name>.c. */
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_kernels(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_models(int argc, char **argv);
/* `models list` / `models show` (cli/cmd_models_catalog.c), rows of cmd_models' table */
int cmd_models_list(int argc, char **argv);
int cmd_models_show(int argc, char **argv);
int cmd_models_eval(int argc, char **argv);
int cmd_quality(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

#endif
