/* gnuplot.c: runs gnuplot as a child process on a script file: no shell,
 * nothing built from user data on a command line. */
#include "reports.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* True when prog (a path, or a name searched in $PATH) is executable. */
static bool program_exists(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[4096];
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && len + strlen(prog) + 2 < sizeof buf) {
            memcpy(buf, p, len);
            buf[len] = '/';
            strcpy(buf + len + 1, prog);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
                return true;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

int reports_gnuplot_run(const char *prog, const char *dir, const char *script)
{
    if (!prog || !*prog)
        prog = "gnuplot";
    if (!program_exists(prog))
        return mb_err_set(MB_ENOENT, "%s is not installed: apt-get install gnuplot-nox (then "
                                     "re-run, or run 'gnuplot %s' in %s)", prog, script, dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return mb_err_set(MB_ECHILD, "cannot start %s: %s", prog, strerror(errno));
    if (pid == 0) {
        /* child: cwd = the report directory so the script's relative paths
         * resolve there; gnuplot's messages go to gnuplot.log */
        if (chdir(dir) != 0)
            _exit(126);
        int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            close(nul);
        }
        char *argv[] = {(char *)prog, (char *)script, NULL};
        execvp(prog, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return mb_err_set(MB_ECHILD, "waiting for %s: %s", prog, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return mb_err_set(MB_ENOENT, "%s could not be executed: apt-get install gnuplot-nox", prog);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return mb_err_set(MB_ECHILD, "%s failed on %s/%s (exit %d); see %s/gnuplot.log", prog,
                          dir, script, WIFEXITED(status) ? WEXITSTATUS(status) : -1, dir);
    return 0;
}
