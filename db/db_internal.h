/* db_internal.h: shared by the .c files of db/ only; never included outside db/.
 * The public API is db.h. */
#ifndef DB_INTERNAL_H
#define DB_INTERNAL_H

#include "db.h"

#include <sqlite3.h>

/* RETURNING (3.35), UPDATE ... FROM (3.33), sqlite3_changes64 (3.37). */
#if SQLITE_VERSION_NUMBER < 3037000
#error "mobench needs SQLite 3.37 or newer (Debian 12 ships 3.40): install libsqlite3-dev"
#endif

#define DB_STMT_CACHE 48

struct db {
    sqlite3 *h;
    char *path;
    unsigned flags;
    int busy_ms;
    struct {
        const char *sql; /* a string literal: cached by address */
        sqlite3_stmt *st;
    } cache[DB_STMT_CACHE];
    int n_cache;
    bool nested; /* db_begin() ran inside the caller's transaction: a savepoint */
};

/* Maps a SQLite result code to an MB_E* code with a message that says what
 * was being done, on which file, and what to do. */
int db_sqlite_err(sqlite3 *h, const char *path, int rc, const char *what);
int db_fail(db_t *db, int rc, const char *what);
/* Version check, creation and upgrades (db_schema.c). */
int db_schema_apply(sqlite3 *h, const char *path, bool readonly);
/* The version check alone, before anything else touches the file (WAL mode
 * rewrites the header): MB_EVERSION / MB_EFORMAT for a version outside
 * 1..DB_SCHEMA_VERSION (0 only on an empty file). */
int db_schema_precheck(sqlite3 *h, const char *path);
/* Compares the live schema with the one this build creates: 0 same, 1
 * different (first difference in diff), negative on error. */
int db_schema_compare(sqlite3 *h, char *diff, size_t diff_len);
/* For a read-only open of path: a "file:...?immutable=1" URI (malloc'd) when
 * the directory cannot be written and holds no -shm or -wal, else NULL. */
int db_readonly_uri(const char *path, char **uri);
/* A cached prepared statement for a string literal, reset and unbound. */
int db_stmt(db_t *db, const char *sql, sqlite3_stmt **out);
/* BEGIN IMMEDIATE (waits up to the busy timeout) / COMMIT / ROLLBACK; inside
 * a transaction the caller opened with db_exec() (bulk loading), a savepoint
 * instead, so that one failed cell still rolls back alone. */
int db_begin(db_t *db, const char *what);
int db_commit(db_t *db, const char *what);
void db_rollback(db_t *db);

/* Fault injection for tests (db_fault.c): with MOBENCH_DB_FAULT set, *name is
 * the shim VFS that fails one write (NULL when unset); MB_EINVAL for a bad
 * spec. db_fault_cell_begin() marks the start of a cell's transaction. */
int db_fault_vfs(const char **name);
void db_fault_cell_begin(void);

/* Binding helpers: NULL strings, NAN doubles and negative sizes become NULL. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);
void db_bind_real(sqlite3_stmt *st, int i, double v);
void db_bind_size(sqlite3_stmt *st, int i, int64_t v);
double db_col_real(sqlite3_stmt *st, int i);
int64_t db_col_size(sqlite3_stmt *st, int i);
const char *db_col_text(sqlite3_stmt *st, int i);
void db_col_uuid(sqlite3_stmt *st, int i, char out[DB_UUID_LEN]);

/* Decodes a stored enum name ("run_status", "run_kind", "cell_status",
 * "test", "weights"); the schema's CHECK constraints keep them valid. */
int db_enum_value(const char *kind, const char *s);

#endif
