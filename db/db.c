/* db.c: opening, errors, statement cache, transactions, uuids, enums, check. */
#include "db_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* access(2) for the effective user (a test may drop root with seteuid). */
static int can(const char *p, int mode)
{
    return faccessat(AT_FDCWD, p, mode, AT_EACCESS);
}

static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, len, ".");
    else if (slash == path)
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* ---- errors --------------------------------------------------------------- */
int db_sqlite_err(sqlite3 *h, const char *path, int rc, const char *what)
{
    const char *emsg = h ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
    int sys = h ? sqlite3_system_errno(h) : 0;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return mb_err_set(MB_EBUSY,
                          "%s: database %s is locked by another writer (%s): wait for the "
                          "other mobench to finish, or raise the busy timeout",
                          what, path, emsg);
    case SQLITE_FULL:
        return mb_err_set(MB_ENOSPC,
                          "%s: database %s is full (no space left on its disk, or its page "
                          "limit reached): the transaction was rolled back and earlier rows "
                          "are intact; free disk space and run again",
                          what, path);
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return mb_err_set(MB_EPERM,
                          "%s: database %s is read-only (%s): check the permissions of the "
                          "file and its directory, or choose another file with --db",
                          what, path, emsg);
    case SQLITE_CANTOPEN: {
        /* sqlite3_system_errno() may come from a fallback attempt: look at
         * the file and its directory ourselves. */
        char dir[4096];
        struct stat sb;
        dir_of(path, dir, sizeof dir);
        if (stat(dir, &sb) != 0)
            sys = ENOENT;
        else if (can(dir, W_OK) != 0 || (can(path, F_OK) == 0 && can(path, R_OK) != 0))
            sys = EACCES;
        if (sys == EACCES || sys == EPERM || sys == EROFS)
            return mb_err_set(MB_EPERM,
                              "%s: cannot open database %s: %s: check the permissions of "
                              "the file and its directory, or choose another file with --db",
                              what, path, strerror(sys));
        if (sys == ENOENT)
            return mb_err_set(MB_ENOENT, "%s: cannot open database %s: its directory does "
                              "not exist: create it or choose another file with --db",
                              what, path);
        return mb_err_set(MB_EIO, "%s: cannot open database %s: %s", what, path, emsg);
    }
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return mb_err_set(MB_EFORMAT,
                          "%s: %s is not a SQLite database or is corrupt (%s): run "
                          "'mobench db check --db %s', move the file aside, or choose "
                          "another file with --db",
                          what, path, emsg, path);
    case SQLITE_NOMEM:
        return mb_err_set(MB_ENOMEM, "%s: out of memory on database %s", what, path);
    case SQLITE_IOERR:
        if (sys == ENOSPC || sys == EDQUOT)
            return mb_err_set(MB_ENOSPC,
                              "%s: no space left on the disk of database %s: the "
                              "transaction was rolled back and earlier rows are intact; "
                              "free disk space and run again",
                              what, path);
        if (sys == EROFS || sys == EACCES)
            return mb_err_set(MB_EPERM, "%s: cannot write database %s: %s", what, path,
                              strerror(sys));
        return mb_err_set(MB_EIO, "%s: I/O error on database %s: %s%s%s", what, path, emsg,
                          sys ? ": " : "", sys ? strerror(sys) : "");
    case SQLITE_CONSTRAINT:
        return mb_err_set(MB_EINVAL, "%s: database %s rejected the row: %s", what, path, emsg);
    default:
        return mb_err_set(MB_EDB, "%s: database %s: %s", what, path, emsg);
    }
}

int db_fail(db_t *db, int rc, const char *what)
{
    return db_sqlite_err(db->h, db->path, rc, what);
}

/* ---- statements and transactions -------------------------------------------- */
int db_stmt(db_t *db, const char *sql, sqlite3_stmt **out)
{
    for (int i = 0; i < db->n_cache; i++) {
        if (db->cache[i].sql == sql) {
            sqlite3_reset(db->cache[i].st);
            sqlite3_clear_bindings(db->cache[i].st);
            *out = db->cache[i].st;
            return 0;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, "preparing a statement");
    if (db->n_cache < DB_STMT_CACHE) {
        db->cache[db->n_cache].sql = sql;
        db->cache[db->n_cache].st = st;
        db->n_cache++;
    } else {
        /* Cannot happen with the fixed set of statements; keep it safe anyway. */
        sqlite3_finalize(st);
        return mb_err_set(MB_EDB, "database %s: statement cache full", db->path);
    }
    *out = st;
    return 0;
}

int db_begin(db_t *db, const char *what)
{
    db->nested = !sqlite3_get_autocommit(db->h);
    int rc = sqlite3_exec(db->h, db->nested ? "SAVEPOINT db_write" : "BEGIN IMMEDIATE", NULL,
                          NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(db, rc, what);
}

int db_commit(db_t *db, const char *what)
{
    int rc = sqlite3_exec(db->h, db->nested ? "RELEASE db_write" : "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return 0;
    int err = db_fail(db, rc, what);
    db_rollback(db);
    return err;
}

void db_rollback(db_t *db)
{
    /* Reset statements first: an active read would keep the transaction open. */
    for (int i = 0; i < db->n_cache; i++)
        sqlite3_reset(db->cache[i].st);
    if (sqlite3_get_autocommit(db->h))
        return; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    if (db->nested)
        sqlite3_exec(db->h, "ROLLBACK TO db_write; RELEASE db_write", NULL, NULL, NULL);
    else
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void db_bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

void db_bind_size(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

double db_col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

int64_t db_col_size(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

const char *db_col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

void db_col_uuid(sqlite3_stmt *st, int i, char out[DB_UUID_LEN])
{
    const char *s = db_col_text(st, i);
    snprintf(out, DB_UUID_LEN, "%s", s ? s : "");
}

/* ---- open / close ------------------------------------------------------------ */
const char *db_default_path(void)
{
    const char *env = getenv("MOBENCH_DB");
    return env && *env ? env : DB_DEFAULT_PATH;
}

static int pragma_text(db_t *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *s = db_col_text(st, 0);
            snprintf(out, len, "%s", s ? s : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            out[0] = '\0';
            rc = SQLITE_OK;
        }
    }
    int err = rc == SQLITE_OK ? 0 : db_fail(db, rc, "configuring the database");
    sqlite3_finalize(st);
    return err;
}


/* A reader of a WAL database needs the -shm file, or must be able to create
 * it. In a directory we cannot write, with no -shm and no pending -wal, the
 * file alone holds every row: read it as an immutable snapshot. Sets *uri
 * (malloc'd) in that case, leaves it NULL otherwise. */
int db_readonly_uri(const char *path, char **uri)
{
    char dir[4096], aux[4200];
    struct stat sb;
    *uri = NULL;
    dir_of(path, dir, sizeof dir);
    if (can(dir, W_OK) == 0)
        return 0;
    snprintf(aux, sizeof aux, "%s-shm", path);
    if (can(aux, F_OK) == 0)
        return 0;
    snprintf(aux, sizeof aux, "%s-wal", path);
    if (stat(aux, &sb) == 0 && sb.st_size > 0)
        return mb_err_set(MB_EPERM, "database %s has unsaved changes in %s but its directory "
                          "is not writable, so they cannot be read: open it once by a user "
                          "who may write %s", path, aux, dir);
    size_t len = strlen(path);
    char *u = malloc(len * 3 + 32);
    if (!u)
        return mb_err_set(MB_ENOMEM, "out of memory opening %s", path);
    char *o = u + sprintf(u, "file:");
    for (const char *p = path; *p; p++) {
        if (*p == '?' || *p == '#' || *p == '%')
            o += sprintf(o, "%%%02X", (unsigned char)*p);
        else
            *o++ = *p;
    }
    strcpy(o, "?immutable=1");
    *uri = u;
    return 0;
}

int db_open(const char *path, unsigned flags, db_t **out)
{
    *out = NULL;
    if (!path || !*path)
        return mb_err_set(MB_EINVAL, "no database path given: pass --db FILE or set MOBENCH_DB");
    bool ro = flags & DB_OPEN_READONLY;
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode))
        return mb_err_set(MB_EINVAL, "database path %s is a directory: give a file name, "
                          "e.g. %s/mobench.db", path, path);
    if (!exists && (ro || (flags & DB_OPEN_NOCREATE)))
        return mb_err_set(MB_ENOENT, "no database at %s: run a benchmark first, or pass "
                          "--db FILE (or set MOBENCH_DB)", path);

    /* A writer killed mid-transaction leaves a WAL whose index the next
     * connection must rebuild, which a read-only connection cannot do
     * (SQLITE_READONLY_RECOVERY). When we may write the file, let a brief
     * read-write connection recover it first. */
    if (ro && exists) {
        char wal[4096];
        struct stat wb;
        snprintf(wal, sizeof wal, "%s-wal", path);
        if (stat(wal, &wb) == 0 && wb.st_size > 0 && can(path, W_OK) == 0 && can(wal, W_OK) == 0) {
            sqlite3 *h = NULL;
            if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
                sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
                sqlite3_exec(h, "PRAGMA schema_version", NULL, NULL, NULL);
            }
            sqlite3_close(h);
        }
    }

    db_t *db = calloc(1, sizeof *db);
    if (!db)
        return mb_err_set(MB_ENOMEM, "out of memory opening database %s", path);
    db->path = mb_strdup(path);
    db->flags = flags;
    db->busy_ms = DB_BUSY_TIMEOUT_MS;
    int err = 0;
    if (!db->path) {
        err = mb_err_set(MB_ENOMEM, "out of memory opening database %s", path);
        goto err;
    }
    int oflags = ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    char *uri = NULL;
    if (ro && (err = db_readonly_uri(path, &uri)))
        goto err;
    if (uri)
        oflags |= SQLITE_OPEN_URI;
    const char *vfs = NULL;
    if ((err = db_fault_vfs(&vfs))) {
        free(uri);
        goto err;
    }
    int rc = sqlite3_open_v2(uri ? uri : path, &db->h, oflags, vfs);
    free(uri);
    if (rc != SQLITE_OK) {
        err = db_fail(db, rc, "opening");
        goto err;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, db->busy_ms);
    /* SQLite silently falls back to read-only for an unwritable file; a
     * writer must learn that now, not when its first cell ends. */
    if (!ro && sqlite3_db_readonly(db->h, "main") == 1) {
        err = mb_err_set(MB_EPERM, "database %s is read-only (the file is not writable): "
                         "check its permissions, or choose another file with --db", path);
        goto err;
    }
    /* Before any pragma that writes (WAL mode rewrites the header): a
     * version we cannot read leaves the file byte for byte as it was. */
    if ((err = db_schema_precheck(db->h, path)))
        goto err;
    if (!ro) {
        char mode[16];
        /* Switching a file to WAL takes an exclusive lock and SQLite does not
         * wait on the busy handler for it: when several writers open a new
         * file at once, retry within the busy timeout. */
        uint64_t t0 = mb_clock_ns();
        while ((err = pragma_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode)) == MB_EBUSY &&
               mb_clock_ns() - t0 < (uint64_t)db->busy_ms * 1000000u)
            mb_clock_sleep_ns(5000000u);
        if (err)
            goto err;
        if (strcmp(mode, "wal") != 0) {
            char dir[4096];
            dir_of(path, dir, sizeof dir);
            if (can(dir, W_OK) != 0) {
                err = mb_err_set(MB_EPERM, "database %s cannot be written: its directory %s "
                                 "is not writable (SQLite needs to create its -wal file "
                                 "there): check permissions, or choose another file with --db",
                                 path, dir);
            } else {
                err = mb_err_set(MB_EDB, "database %s could not switch to WAL mode (still "
                                 "'%s'): is it on a network file system? Use a local disk",
                                 path, mode);
            }
            goto err;
        }
        char dummy[16];
        /* FULL: a committed cell survives a power cut, not just a crash. */
        if ((err = pragma_text(db, "PRAGMA synchronous = FULL", dummy, sizeof dummy)))
            goto err;
    }
    char dummy[16];
    if ((err = pragma_text(db, "PRAGMA foreign_keys = ON", dummy, sizeof dummy)))
        goto err;
    if ((err = db_schema_apply(db->h, path, ro)))
        goto err;
    *out = db;
    return 0;
err:
    db_close(db);
    return err;
}

void db_close(db_t *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->n_cache; i++)
        sqlite3_finalize(db->cache[i].st);
    if (db->h)
        sqlite3_close(db->h);
    free(db->path);
    free(db);
}

const char *db_path(const db_t *db)
{
    return db ? db->path : NULL;
}

int db_busy_timeout_set(db_t *db, int ms)
{
    if (ms < 0)
        return mb_err_set(MB_EINVAL, "busy timeout %d ms is negative: give 0 or more", ms);
    db->busy_ms = ms;
    sqlite3_busy_timeout(db->h, ms);
    return 0;
}

int db_exec(db_t *db, const char *sql)
{
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(db, rc, "running maintenance SQL");
}

/* ---- uuids and time ------------------------------------------------------------- */
int db_uuid_new(char out[DB_UUID_LEN])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    if (got < sizeof b) {
        /* Old kernels without getrandom(2). */
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return mb_err_set(MB_EIO, "cannot read /dev/urandom for a uuid: %s", strerror(errno));
        ssize_t r = read(fd, b, sizeof b);
        close(fd);
        if (r != (ssize_t)sizeof b)
            return mb_err_set(MB_EIO, "short read from /dev/urandom for a uuid");
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    snprintf(out, DB_UUID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

int db_time_parse(const char *s, double *out)
{
    if (!s || !*s)
        return mb_err_set(MB_EINVAL, "empty date: give YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] "
                          "(UTC) or epoch seconds");
    double v;
    if (mb_parse_f64(s, &v) == 0) {
        *out = v;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    int k = sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n);
    if (k == 3 && (s[n] == 'T' || s[n] == ' ')) {
        int n2 = 0;
        int k2 = sscanf(s + n + 1, "%2d:%2d%n:%2d%n", &h, &mi, &n2, &sec, &n2);
        if (k2 < 2)
            k = 0;
        n += 1 + n2;
    }
    if (k != 3 || s[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60 || h < 0 || mi < 0 || sec < 0)
        return mb_err_set(MB_EINVAL, "bad date '%s': give YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] "
                          "(UTC) or epoch seconds", s);
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (double)timegm(&tm);
    return 0;
}

/* ---- enums ---------------------------------------------------------------------- */
static const char *const RUN_STATUS[] = {"running", "done", "interrupted", "failed"};
static const char *const RUN_KIND[] = {"bench", "sweep"};
static const char *const CELL_STATUS[] = {"ok", "skipped", "failed", "oom", "timeout",
                                          "interrupted"};
static const char *const TESTS[] = {"pp", "tg", "pg", "depth"};
static const char *const WEIGHTS[] = {"synthetic", "file"};
static const char *const TABLES[] = {"devices", "runs", "cells", "reps", "samples", "quality"};

#define ENUM_NAME(arr, v) ((unsigned)(v) < MB_ARRAY_LEN(arr) ? (arr)[v] : "?")

const char *db_run_status_name(db_run_status_t s) { return ENUM_NAME(RUN_STATUS, s); }
const char *db_run_kind_name(db_run_kind_t k) { return ENUM_NAME(RUN_KIND, k); }
const char *db_cell_status_name(db_cell_status_t s) { return ENUM_NAME(CELL_STATUS, s); }
const char *db_test_name(db_test_t t) { return ENUM_NAME(TESTS, t); }
const char *db_weights_name(db_weights_t w) { return ENUM_NAME(WEIGHTS, w); }
const char *db_table_name(db_table_t t) { return ENUM_NAME(TABLES, t); }

static int enum_parse(const char *const *names, size_t n, const char *what, const char *s,
                      int *out)
{
    for (size_t i = 0; s && i < n; i++) {
        if (!strcmp(names[i], s)) {
            *out = (int)i;
            return 0;
        }
    }
    char list[128] = "";
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
    return mb_err_set(MB_EINVAL, "unknown %s '%s': expected one of %s", what, s ? s : "(null)",
                      list);
}

int db_enum_value(const char *kind, const char *s)
{
    int v = 0;
    if (!strcmp(kind, "run_status"))
        enum_parse(RUN_STATUS, MB_ARRAY_LEN(RUN_STATUS), kind, s, &v);
    else if (!strcmp(kind, "run_kind"))
        enum_parse(RUN_KIND, MB_ARRAY_LEN(RUN_KIND), kind, s, &v);
    else if (!strcmp(kind, "cell_status"))
        enum_parse(CELL_STATUS, MB_ARRAY_LEN(CELL_STATUS), kind, s, &v);
    else if (!strcmp(kind, "test"))
        enum_parse(TESTS, MB_ARRAY_LEN(TESTS), kind, s, &v);
    else if (!strcmp(kind, "weights"))
        enum_parse(WEIGHTS, MB_ARRAY_LEN(WEIGHTS), kind, s, &v);
    return v;
}

int db_run_status_parse(const char *s, db_run_status_t *out)
{
    int v = 0;
    int err = enum_parse(RUN_STATUS, MB_ARRAY_LEN(RUN_STATUS), "run status", s, &v);
    *out = (db_run_status_t)v;
    return err;
}

int db_cell_status_parse(const char *s, db_cell_status_t *out)
{
    int v = 0;
    int err = enum_parse(CELL_STATUS, MB_ARRAY_LEN(CELL_STATUS), "cell status", s, &v);
    *out = (db_cell_status_t)v;
    return err;
}

int db_test_parse(const char *s, db_test_t *out)
{
    int v = 0;
    int err = enum_parse(TESTS, MB_ARRAY_LEN(TESTS), "test", s, &v);
    *out = (db_test_t)v;
    return err;
}

int db_table_parse(const char *s, db_table_t *out)
{
    int v = 0;
    int err = enum_parse(TABLES, MB_ARRAY_LEN(TABLES), "table", s, &v);
    *out = (db_table_t)v;
    return err;
}

/* ---- check ------------------------------------------------------------------------ */
static int count_table(db_t *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int err = db_stmt(db, sql, &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return db_fail(db, rc, "counting rows");
    *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int db_counts(db_t *db, db_counts_t *out)
{
    memset(out, 0, sizeof *out);
    int err;
    if ((err = count_table(db, "SELECT count(*) FROM devices", &out->devices)) ||
        (err = count_table(db, "SELECT count(*) FROM runs", &out->runs)) ||
        (err = count_table(db, "SELECT count(*) FROM cells", &out->cells)) ||
        (err = count_table(db, "SELECT count(*) FROM reps", &out->reps)) ||
        (err = count_table(db, "SELECT count(*) FROM samples", &out->samples)) ||
        (err = count_table(db, "SELECT count(*) FROM quality", &out->quality)))
        return err;
    return 0;
}

int db_check(db_t *db, db_check_t *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, "PRAGMA integrity_check(20)", -1, &st, NULL);
    size_t off = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            break;
        const char *line = db_col_text(st, 0);
        if (off < sizeof out->integrity)
            off += (size_t)snprintf(out->integrity + off, sizeof out->integrity - off, "%s%s",
                                    off ? "; " : "", line ? line : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
        if ((rc & 0xff) != SQLITE_CORRUPT && (rc & 0xff) != SQLITE_NOTADB)
            return db_fail(db, rc, "checking integrity");
        snprintf(out->integrity, sizeof out->integrity, "corrupt: %s", sqlite3_errmsg(db->h));
    }
    st = NULL;
    rc = sqlite3_prepare_v2(db->h, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            out->fk_violations++;
    }
    sqlite3_finalize(st);
    bool fk_read = rc == SQLITE_DONE || rc == SQLITE_OK;
    out->schema_version = DB_SCHEMA_VERSION;
    sqlite3_stmt *v = NULL;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK &&
        sqlite3_step(v) == SQLITE_ROW)
        out->schema_version = sqlite3_column_int(v, 0);
    sqlite3_finalize(v);
    bool counted = db_counts(db, &out->counts) == 0;
    int cmp = db_schema_compare(db->h, out->schema_diff, sizeof out->schema_diff);
    if (cmp < 0)
        snprintf(out->schema_diff, sizeof out->schema_diff, "%s", mb_err_msg());
    out->schema_ok = cmp == 0;
    out->ok = !strcmp(out->integrity, "ok") && fk_read && out->fk_violations == 0 && counted &&
              out->schema_version == DB_SCHEMA_VERSION && out->schema_ok;
    mb_err_clear();
    return 0;
}
