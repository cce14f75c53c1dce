/*
 * mb.h: the base layer every mobench module builds on. Depends on nothing
 * but libc. Error codes, the last-error message, a leveled logger, a
 * monotonic clock, build info, and small shared tools (JSON writer and
 * reader, INI reader, SHA-256, file helpers).
 *
 * Error convention: functions return int, 0 on success or a negative MB_E*
 * code; results go through out-params. On failure the function records a
 * message with mb_err_set(), which says what failed, on which input and
 * what to do; the caller reads it with mb_err_msg().
 */
#ifndef MB_H
#define MB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define MB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MB_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MB_CACHE_LINE 64

/* ---- error codes -------------------------------------------------------- */
enum {
    MB_OK = 0,
    MB_EINVAL = -1,       /* bad argument or option value */
    MB_ENOMEM = -2,       /* allocation failed */
    MB_EIO = -3,          /* read/write failed */
    MB_ENOENT = -4,       /* file, node or name not found */
    MB_EPERM = -5,        /* permission denied */
    MB_EFORMAT = -6,      /* malformed input file */
    MB_EUNSUPPORTED = -7, /* valid but not supported here (not a failure of the run) */
    MB_ERANGE = -8,       /* value out of range / overflow */
    MB_EBUSY = -9,        /* resource locked (e.g. database) */
    MB_ENOSPC = -10,      /* disk full */
    MB_ETIMEOUT = -11,    /* time limit hit */
    MB_EINTR = -12,       /* interrupted by a signal */
    MB_ESHAPE = -13,      /* tensor shape mismatch */
    MB_EALIGN = -14,      /* misaligned buffer */
    MB_EVERSION = -15,    /* file or database from an unsupported version */
    MB_EDB = -16,         /* database error */
    MB_ECHILD = -17,      /* child process failed */
    MB_ESKIP = -18,       /* skipped on purpose (does not fit, not capable) */
};

/* Short name of a code: "invalid argument", "I/O error", ... */
const char *mb_err_str(int code);
/* Records the message for the current thread and returns code, so that
 * `return mb_err_set(MB_EIO, "cannot read %s: %s", path, strerror(errno));` */
int mb_err_set(int code, const char *fmt, ...) MB_PRINTF(2, 3);
/* The last message recorded on this thread ("" if none). */
const char *mb_err_msg(void);
void mb_err_clear(void);
/* Maps an errno value to an MB_E* code. */
int mb_err_from_errno(int e);

/* ---- logging (stderr only; stdout carries results) ------------------------ */
typedef enum {
    MB_LOG_QUIET = -1, /* nothing, not even errors */
    MB_LOG_ERROR = 0,
    MB_LOG_WARN = 1,
    MB_LOG_INFO = 2,
    MB_LOG_DEBUG = 3,
} mb_log_level_t;

void mb_log_level_set(mb_log_level_t level);
mb_log_level_t mb_log_level_get(void);
void mb_log(mb_log_level_t level, const char *fmt, ...) MB_PRINTF(2, 3);
#define MB_ERROR(...) mb_log(MB_LOG_ERROR, __VA_ARGS__)
#define MB_WARN(...) mb_log(MB_LOG_WARN, __VA_ARGS__)
#define MB_INFO(...) mb_log(MB_LOG_INFO, __VA_ARGS__)
#define MB_DEBUG(...) mb_log(MB_LOG_DEBUG, __VA_ARGS__)

/* ---- clock ----------------------------------------------------------------- */
/* Monotonic nanoseconds (CLOCK_MONOTONIC): for durations only. */
uint64_t mb_clock_ns(void);
/* Wall-clock seconds since the epoch, for timestamps in results. */
double mb_clock_wall(void);
/* Sleeps for ns nanoseconds, resuming after signals. */
void mb_clock_sleep_ns(uint64_t ns);

/* ---- build info ------------------------------------------------------------ */
const char *mb_version(void);      /* "0.1.0" */
const char *mb_build_commit(void); /* short git hash, "-dirty" suffix, or "unknown" */

/* ---- files ----------------------------------------------------------------- */
/* Reads a whole file into a NUL-terminated malloc'd buffer (*len without the NUL).
 * max_bytes caps the read (0 = 64 MiB) so a runaway file cannot exhaust memory; a
 * longer file is MB_ERANGE and nothing is returned (never a truncated file). */
int mb_file_read(const char *path, size_t max_bytes, char **out, size_t *len);
/* Writes data to path atomically (temp file + fsync + rename). */
int mb_file_write_atomic(const char *path, const void *data, size_t len);
/* mkdir -p */
int mb_dir_create(const char *path);

/* ---- JSON writer: streaming, handles commas and escaping ------------------- */
#define MB_JSON_MAX_DEPTH 32
typedef struct {
    FILE *f;
    int depth;
    bool first[MB_JSON_MAX_DEPTH]; /* no element yet at this depth */
    bool pretty;
    bool after_key; /* a key was written; the next value follows it */
} mb_json_t;

void mb_json_init(mb_json_t *j, FILE *f, bool pretty);
void mb_json_obj_begin(mb_json_t *j);
void mb_json_obj_end(mb_json_t *j);
void mb_json_arr_begin(mb_json_t *j);
void mb_json_arr_end(mb_json_t *j);
void mb_json_key(mb_json_t *j, const char *key); /* then one value or begin */
void mb_json_str(mb_json_t *j, const char *s);   /* NULL -> null */
void mb_json_num(mb_json_t *j, double v);        /* NaN/inf -> null */
void mb_json_int(mb_json_t *j, int64_t v);
void mb_json_bool(mb_json_t *j, bool v);
void mb_json_null(mb_json_t *j);
/* Emits raw, already valid JSON as a value. */
void mb_json_raw(mb_json_t *j, const char *json);
/* Writes s as a JSON string literal (with quotes) to f. */
void mb_json_escape(FILE *f, const char *s);

/* ---- JSON reader: a small DOM, for reading back what we wrote -------------- */
typedef enum {
    MB_JV_NULL, MB_JV_BOOL, MB_JV_NUM, MB_JV_STR, MB_JV_ARR, MB_JV_OBJ
} mb_jv_kind_t;

typedef struct mb_jv mb_jv_t;
struct mb_jv {
    mb_jv_kind_t kind;
    bool b;
    double num;
    char *str;      /* STR */
    char **keys;    /* OBJ: n keys */
    mb_jv_t **items; /* ARR and OBJ: n values */
    size_t n;
};

/* Parses text; on error returns MB_EFORMAT with the offset in mb_err_msg(). */
int mb_jv_parse(const char *text, size_t len, mb_jv_t **out);
void mb_jv_free(mb_jv_t *v);
/* Member of an object (NULL if absent or v is not an object). */
const mb_jv_t *mb_jv_get(const mb_jv_t *v, const char *key);
/* Dotted path lookup: "cpu.features.avx2" (array indexes as numbers). */
const mb_jv_t *mb_jv_path(const mb_jv_t *v, const char *path);

/* ---- INI reader: [section] key = value, # or ; comments ------------------- */
typedef struct {
    char *section; /* "" before the first section header */
    char *key;
    char *value;   /* trimmed; surrounding quotes removed */
    int line;      /* 1-based line number in the file */
} mb_ini_entry_t;

typedef struct {
    char *name;    /* as written between the brackets, trimmed */
    int line;      /* where its header is */
} mb_ini_section_t;

typedef struct {
    char *path;
    mb_ini_entry_t *entries;
    size_t n;
    mb_ini_section_t *sections; /* every header, in file order, empty ones too */
    size_t n_sections;
} mb_ini_t;

/* Parses a file. A malformed line is MB_EFORMAT with "FILE:LINE: ..." */
int mb_ini_load(const char *path, mb_ini_t **out);
int mb_ini_parse(const char *text, const char *name, mb_ini_t **out);
void mb_ini_free(mb_ini_t *ini);
/* Last value for section/key, or NULL. */
const mb_ini_entry_t *mb_ini_find(const mb_ini_t *ini, const char *section, const char *key);
const char *mb_ini_get(const mb_ini_t *ini, const char *section, const char *key, const char *dflt);
/* The closest of the comma-separated words in `choices` to `word` when it is
 * a likely typo (edit distance at most 2, less than half its length), else
 * NULL; the result points into a static buffer. For "did you mean" hints. */
const char *mb_near_miss(const char *word, const char *choices);

/* ---- PRNG and sorting (mb_rng.c) -------------------------------------------
 * One seeded generator for everything reproducible (synthetic weights,
 * bootstrap/permutation statistics): xoshiro256** seeded by splitmix64. */
typedef struct {
    uint64_t s[4];
} mb_rng_t;
void mb_rng_seed(mb_rng_t *r, uint64_t seed);
/* One splitmix64 step: advances *x, returns a well-mixed 64-bit value. */
uint64_t mb_splitmix64(uint64_t *x);
uint64_t mb_rng_next(mb_rng_t *r);
double mb_rng_uniform(mb_rng_t *r); /* [0,1), 53 bits */
double mb_rng_normal(mb_rng_t *r);  /* N(0,1), Box-Muller */
/* qsort comparator for doubles, ascending (NaN compares equal to all). */
int mb_cmp_double(const void *a, const void *b);

/* ---- SHA-256 ----------------------------------------------------------------- */
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} mb_sha256_t;

void mb_sha256_init(mb_sha256_t *s);
void mb_sha256_update(mb_sha256_t *s, const void *data, size_t len);
void mb_sha256_final(mb_sha256_t *s, uint8_t out[32]);
/* Hex digest (65 bytes with NUL) of a buffer / of a file. */
void mb_sha256_hex(const void *data, size_t len, char hex[65]);
int mb_sha256_file(const char *path, char hex[65]);

/* ---- parsing helpers --------------------------------------------------------- */
/* Strict integer/float parsing: the whole string must be consumed. */
int mb_parse_i64(const char *s, int64_t *out);
int mb_parse_f64(const char *s, double *out);
/* "512M", "6G", "1.5GiB", "4096" -> bytes (1024-based). */
int mb_parse_bytes(const char *s, uint64_t *out);
/* "10m", "30s", "2h", "500ms", "1.5" (seconds) -> seconds. */
int mb_parse_duration(const char *s, double *out);
/* "2%", "0.02" -> fraction 0.02 */
int mb_parse_fraction(const char *s, double *out);
/* Splits "a,b,c" into a malloc'd array of malloc'd strings. */
int mb_split_csv(const char *s, char ***out, size_t *n);
void mb_strv_free(char **v, size_t n);
/* Human-readable bytes "1.9 GB" (decimal units, as phones are sold). */
void mb_fmt_bytes(uint64_t bytes, char *buf, size_t len);
char *mb_strdup(const char *s);

#endif /* MB_H */
