/* db_fault.c: fault injection for tests. With MOBENCH_DB_FAULT set, db_open()
 * opens the store through a shim VFS over SQLite's default one that fails one
 * write the way a broken or full disk does, so tests can check what a real
 * I/O error or ENOSPC does to a run (tests/test_db_fault.c). Unset (always,
 * outside tests) it costs one getenv per open and changes nothing.
 *
 *   MOBENCH_DB_FAULT=KIND:WHERE:N
 *     KIND   ioerr  the write fails with SQLITE_IOERR_WRITE (errno EIO)
 *            full   the write fails with SQLITE_FULL (errno ENOSPC)
 *     WHERE  write  the Nth write (xWrite, any file of any store) of the process
 *            cell   the first write of the Nth db_cell_commit() of the process
 *     N      1 or more
 *
 * One write fails, once: the next one succeeds again (space freed, a
 * transient error), which is what lets a test check that the run is still
 * closed afterwards. */
#include "db_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_VFS_NAME "mobench-fault"

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, allocated right after this struct */
} fault_file_t;

static struct {
    bool parsed, on;
    bool full;          /* SQLITE_FULL, else SQLITE_IOERR_WRITE */
    bool per_cell;      /* N counts db_cell_commit() calls, else writes */
    long n;
    atomic_long writes; /* writes seen */
    atomic_long cells;  /* db_cell_commit() calls seen */
    atomic_bool armed;  /* fail the next write */
    atomic_bool fired;
    char spec[64];
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
} g_fault;

static sqlite3_vfs *real_vfs(sqlite3_vfs *v)
{
    return (sqlite3_vfs *)v->pAppData;
}

/* ---- file methods: forward, except one write -------------------------------------- */
static sqlite3_file *rf(sqlite3_file *f)
{
    return ((fault_file_t *)f)->real;
}

static int f_close(sqlite3_file *f)
{
    return rf(f)->pMethods->xClose(rf(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return rf(f)->pMethods->xRead(rf(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    long w = atomic_fetch_add(&g_fault.writes, 1) + 1;
    bool hit = g_fault.per_cell ? atomic_exchange(&g_fault.armed, false) : w == g_fault.n;
    if (hit && !atomic_exchange(&g_fault.fired, true)) {
        errno = g_fault.full ? ENOSPC : EIO; /* what sqlite3_system_errno() reports */
        return g_fault.full ? SQLITE_FULL : SQLITE_IOERR_WRITE;
    }
    return rf(f)->pMethods->xWrite(rf(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return rf(f)->pMethods->xTruncate(rf(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    return rf(f)->pMethods->xSync(rf(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return rf(f)->pMethods->xFileSize(rf(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return rf(f)->pMethods->xLock(rf(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return rf(f)->pMethods->xUnlock(rf(f), lock);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
    return rf(f)->pMethods->xCheckReservedLock(rf(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return rf(f)->pMethods->xFileControl(rf(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return rf(f)->pMethods->xSectorSize(rf(f));
}

static int f_caps(sqlite3_file *f)
{
    return rf(f)->pMethods->xDeviceCharacteristics(rf(f));
}

/* WAL needs the shared-memory methods (version 2 and up). */
static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
    return rf(f)->pMethods->xShmMap(rf(f), pg, sz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return rf(f)->pMethods->xShmLock(rf(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    rf(f)->pMethods->xShmBarrier(rf(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return rf(f)->pMethods->xShmUnmap(rf(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    if (rf(f)->pMethods->iVersion < 3) {
        *pp = NULL; /* no memory mapping: SQLite reads instead */
        return SQLITE_OK;
    }
    return rf(f)->pMethods->xFetch(rf(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    if (rf(f)->pMethods->iVersion < 3)
        return SQLITE_OK;
    return rf(f)->pMethods->xUnfetch(rf(f), off, p);
}

static const sqlite3_io_methods FAULT_IO = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_lock,
    .xFileControl = f_control,
    .xSectorSize = f_sector,
    .xDeviceCharacteristics = f_caps,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

/* ---- VFS methods: forward to the default VFS ---------------------------------------- */
static int v_open(sqlite3_vfs *v, const char *name, sqlite3_file *file, int flags, int *out)
{
    fault_file_t *f = (fault_file_t *)file;
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs(v)->xOpen(real_vfs(v), name, f->real, flags, out);
    /* SQLite calls xClose only when pMethods is set: mirror the real file. */
    f->base.pMethods = f->real->pMethods ? &FAULT_IO : NULL;
    return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
    return real_vfs(v)->xDelete(real_vfs(v), name, sync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return real_vfs(v)->xAccess(real_vfs(v), name, flags, out);
}

static int v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return real_vfs(v)->xFullPathname(real_vfs(v), name, n, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
    return real_vfs(v)->xDlOpen(real_vfs(v), name);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    real_vfs(v)->xDlError(real_vfs(v), n, msg);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    return real_vfs(v)->xDlSym(real_vfs(v), h, sym);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
    real_vfs(v)->xDlClose(real_vfs(v), h);
}

static int v_random(sqlite3_vfs *v, int n, char *out)
{
    return real_vfs(v)->xRandomness(real_vfs(v), n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
    return real_vfs(v)->xSleep(real_vfs(v), us);
}

static int v_time(sqlite3_vfs *v, double *out)
{
    return real_vfs(v)->xCurrentTime(real_vfs(v), out);
}

static int v_last_error(sqlite3_vfs *v, int n, char *out)
{
    return real_vfs(v)->xGetLastError(real_vfs(v), n, out);
}

static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    if (real_vfs(v)->iVersion >= 2 && real_vfs(v)->xCurrentTimeInt64)
        return real_vfs(v)->xCurrentTimeInt64(real_vfs(v), out);
    double d = 0;
    int rc = real_vfs(v)->xCurrentTime(real_vfs(v), &d);
    *out = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

/* ---- the switch ---------------------------------------------------------------------- */
static int parse_spec(const char *s)
{
    char kind[16], where[16];
    long n = 0;
    int used = 0;
    if (sscanf(s, "%15[a-z]:%15[a-z]:%ld%n", kind, where, &n, &used) != 3 || s[used] != '\0' ||
        n < 1 || (strcmp(kind, "ioerr") && strcmp(kind, "full")) ||
        (strcmp(where, "write") && strcmp(where, "cell")))
        return mb_err_set(MB_EINVAL, "MOBENCH_DB_FAULT='%s' is not KIND:WHERE:N (KIND ioerr or "
                          "full, WHERE write or cell, N 1 or more, e.g. ioerr:cell:2): it is a "
                          "test hook that makes one store write fail; unset it", s);
    g_fault.full = !strcmp(kind, "full");
    g_fault.per_cell = !strcmp(where, "cell");
    g_fault.n = n;
    return 0;
}

int db_fault_vfs(const char **name)
{
    *name = NULL;
    const char *s = getenv("MOBENCH_DB_FAULT");
    if (!s || !*s)
        return 0;
    if (g_fault.parsed) {
        /* Parsed once per process: the counters run across every open. */
        if (strcmp(s, g_fault.spec))
            return mb_err_set(MB_EINVAL, "MOBENCH_DB_FAULT changed from '%s' to '%s' within "
                              "one process: set it once, before the first store is opened",
                              g_fault.spec, s);
        *name = g_fault.on ? FAULT_VFS_NAME : NULL;
        return 0;
    }
    int err = parse_spec(s);
    if (err)
        return err;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return mb_err_set(MB_EDB, "MOBENCH_DB_FAULT: SQLite has no default VFS to wrap");
    g_fault.real = real;
    g_fault.vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(fault_file_t) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = FAULT_VFS_NAME,
        .pAppData = real,
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_fullpath,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_random,
        .xSleep = v_sleep,
        .xCurrentTime = v_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_time64,
    };
    int rc = sqlite3_vfs_register(&g_fault.vfs, 0);
    if (rc != SQLITE_OK)
        return mb_err_set(MB_EDB, "MOBENCH_DB_FAULT: cannot register the fault VFS: %s",
                          sqlite3_errstr(rc));
    snprintf(g_fault.spec, sizeof g_fault.spec, "%s", s);
    g_fault.parsed = g_fault.on = true;
    MB_WARN("db: MOBENCH_DB_FAULT=%s: one store write will fail on purpose (a test hook)", s);
    *name = FAULT_VFS_NAME;
    return 0;
}

void db_fault_cell_begin(void)
{
    if (g_fault.on && g_fault.per_cell && atomic_fetch_add(&g_fault.cells, 1) + 1 == g_fault.n)
        atomic_store(&g_fault.armed, true);
}
