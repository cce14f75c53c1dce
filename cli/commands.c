/* commands.c: the one table of mobench commands. */
#include "commands.h"

const mb_command_t mb_commands[] = {
    {"help", cmd_help, "list the commands, or explain one: mobench help COMMAND"},
    {"version", cmd_version, "print the version and the git commit of this build"},
};
const int mb_n_commands = (int)(sizeof mb_commands / sizeof mb_commands[0]);
