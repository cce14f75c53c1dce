/* mb_file.c: whole-file reads, atomic writes, mkdir -p. */
#include "mb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mb_file_read(const char *path, size_t max_bytes, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (max_bytes == 0)
        max_bytes = 64u << 20;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mb_err_set(mb_err_from_errno(errno), "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return mb_err_set(MB_ENOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                /* Never hand back part of a file: one byte past the limit
                 * means the file is too big, and the caller gets nothing. */
                char extra;
                ssize_t r;
                while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR)
                    ;
                if (r == 0)
                    break;
                int e = errno;
                free(buf);
                close(fd);
                if (r < 0)
                    return mb_err_set(mb_err_from_errno(e), "cannot read %s: %s", path, strerror(e));
                char lim[32];
                mb_fmt_bytes(max_bytes, lim, sizeof lim);
                return mb_err_set(MB_ERANGE, "%s: larger than %s (%zu bytes), the most this file "
                                  "may hold; nothing was read: expected a smaller file", path, lim,
                                  max_bytes);
            }
            size_t ncap = MB_MIN(cap * 2, max_bytes);
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return mb_err_set(MB_ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return mb_err_set(mb_err_from_errno(e), "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return MB_OK;
}

int mb_file_write_atomic(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return mb_err_set(MB_ENOMEM, "out of memory writing %s", path);
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    int rc = MB_OK;
    if (fd < 0) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot create a temporary file beside %s: %s",
                        path, strerror(errno));
        goto err;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = mb_err_set(mb_err_from_errno(errno), "cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
            goto err;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot flush %s: %s", path, strerror(errno));
        unlink(tmp);
        goto err;
    }
    if (rename(tmp, path) != 0) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot rename onto %s: %s", path, strerror(errno));
        unlink(tmp);
    }
err:
    free(tmp);
    return rc;
}

int mb_dir_create(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return mb_err_set(MB_EINVAL, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return mb_err_set(mb_err_from_errno(errno), "cannot create directory %s: %s", buf,
                                  strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return mb_err_set(MB_EIO, "%s exists and is not a directory", path);
    return MB_OK;
}
