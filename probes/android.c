/* android.c: Android's system properties from `getprop`, run as a child
 * with a time limit. On a phone most ro.* facts (ro.soc.model,
 * ro.soc.manufacturer, ...) live in vendor/odm property files or are set at
 * boot, so getprop answers more than system/build.prop; device.c reads both
 * and prefers getprop.
 *
 * Which getprop: on this host, the first `getprop` on PATH, else
 * /system/bin/getprop; under a --sysfs-root tree only ROOT/system/bin/getprop
 * (a host getprop would describe the host, not the tree). */
#include "probes_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define GETPROP_TIMEOUT_MS 3000
#define GETPROP_MAX (1u << 20)

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool find_getprop(const pr_ctx_t *c, char *out, size_t len)
{
    if (!c->host) {
        pr_path(c, out, len, "system/bin/getprop");
        return executable(out);
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t dl = colon ? (size_t)(colon - path) : strlen(path);
        if (dl && dl + 9 < len) {
            snprintf(out, len, "%.*s/getprop", (int)dl, path);
            if (executable(out))
                return true;
        }
        path = colon ? colon + 1 : NULL;
    }
    snprintf(out, len, "/system/bin/getprop");
    return executable(out);
}

/* "[key]: [value]" lines -> "key=value" lines (the build.prop form). */
static void to_kv(char *text)
{
    char *w = text;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        char *k = p[0] == '[' ? p + 1 : NULL;
        char *ke = k ? strstr(k, "]: [") : NULL;
        char *v = ke ? ke + 4 : NULL;
        char *ve = v ? strrchr(v, ']') : NULL;
        if (ve && ke > k) {
            size_t kl = (size_t)(ke - k), vl = (size_t)(ve - v);
            memmove(w, k, kl);
            w += kl;
            *w++ = '=';
            memmove(w, v, vl);
            w += vl;
            *w++ = '\n';
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    *w = '\0';
}

int pr_getprop_read(const pr_ctx_t *c, char **out, char why[PROBES_WHY_LEN])
{
    *out = NULL;
    char exe[1024];
    if (!find_getprop(c, exe, sizeof exe)) {
        pr_why(why, c->host ? "no getprop on PATH or at /system/bin/getprop" : "no system/bin/getprop in the tree");
        return MB_ENOENT;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        pr_why(why, "getprop: pipe: %s", strerror(errno));
        return MB_EIO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {exe, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        pr_why(why, "getprop: %s: %s", exe, strerror(rc));
        return MB_EIO;
    }
    size_t cap = 64u << 10, n = 0;
    char *buf = malloc(cap + 1);
    uint64_t deadline = mb_clock_ns() + (uint64_t)GETPROP_TIMEOUT_MS * 1000000u;
    bool timed_out = false, too_big = false;
    while (buf) {
        uint64_t now = mb_clock_ns();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        struct pollfd pf = {.fd = fds[0], .events = POLLIN};
        int pr = poll(&pf, 1, (int)((deadline - now) / 1000000u) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            timed_out = pr == 0;
            break;
        }
        if (n == cap) {
            if (cap >= GETPROP_MAX) {
                too_big = true;
                break;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fds[0], buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    if (timed_out || too_big || !buf)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!buf) {
        pr_why(why, "getprop: out of memory");
        return MB_ENOMEM;
    }
    if (timed_out || too_big) {
        free(buf);
        if (timed_out)
            pr_why(why, "%s timed out after %d ms (killed)", exe, GETPROP_TIMEOUT_MS);
        else
            pr_why(why, "%s printed more than %u bytes", exe, GETPROP_MAX);
        return timed_out ? MB_ETIMEOUT : MB_EIO;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        pr_why(why, "%s failed (%s %d)", exe, WIFEXITED(st) ? "exit status" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return MB_EIO;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        free(buf);
        pr_why(why, "%s printed binary content", exe);
        return MB_EIO;
    }
    to_kv(buf);
    if (!buf[0]) {
        free(buf);
        pr_why(why, "%s printed no [key]: [value] lines", exe);
        return MB_EIO;
    }
    *out = buf;
    return MB_OK;
}
