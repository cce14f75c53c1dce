/* mb_json.c: a streaming JSON writer and a small DOM reader. */
#include "mb.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ---------------------------------------------------------------- */

void mb_json_init(mb_json_t *j, FILE *f, bool pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
    j->first[0] = true;
}

static void indent(mb_json_t *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Called before every value: writes the separating comma unless a key
 * was just written (keys write their own comma). */

static void before_value(mb_json_t *j)
{

    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->f);
        j->first[j->depth] = false;
        indent(j);
    }
}

static void open_(mb_json_t *j, char c)
{
    before_value(j);
    fputc(c, j->f);
    if (j->depth < MB_JSON_MAX_DEPTH - 1)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_(mb_json_t *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        indent(j);
    fputc(c, j->f);
    if (j->depth == 0 && j->pretty)
        fputc('\n', j->f);
}

void mb_json_obj_begin(mb_json_t *j) { open_(j, '{'); }
void mb_json_obj_end(mb_json_t *j) { close_(j, '}'); }
void mb_json_arr_begin(mb_json_t *j) { open_(j, '['); }
void mb_json_arr_end(mb_json_t *j) { close_(j, ']'); }

void mb_json_escape(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void mb_json_key(mb_json_t *j, const char *key)
{
    before_value(j);
    mb_json_escape(j->f, key);
    fputs(j->pretty ? ": " : ":", j->f);
    j->after_key = true;
}

void mb_json_str(mb_json_t *j, const char *s)
{
    if (!s) {
        mb_json_null(j);
        return;
    }
    before_value(j);
    mb_json_escape(j->f, s);
}

void mb_json_num(mb_json_t *j, double v)
{
    if (!isfinite(v)) {
        mb_json_null(j);
        return;
    }
    before_value(j);
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        fprintf(j->f, "%lld", (long long)v);
        return;
    }
    /* The shortest of %.15g..%.17g that reads back as v: 0.05, not
     * 0.050000000000000003 (%.17g always round-trips). */
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, j->f);
}

void mb_json_int(mb_json_t *j, int64_t v)
{
    before_value(j);
    fprintf(j->f, "%lld", (long long)v);
}

void mb_json_bool(mb_json_t *j, bool v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void mb_json_null(mb_json_t *j)
{
    before_value(j);
    fputs("null", j->f);
}

void mb_json_raw(mb_json_t *j, const char *json)
{
    before_value(j);
    fputs(json, j->f);
}

/* ---- reader ---------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n, i;
    int depth;
} jp_t;

static void jp_ws(jp_t *p)
{
    while (p->i < p->n && isspace((unsigned char)p->s[p->i]))
        p->i++;
}

static int jp_fail(jp_t *p, const char *what)
{
    return mb_err_set(MB_EFORMAT, "JSON: %s at offset %zu", what, p->i);
}

static int jp_value(jp_t *p, mb_jv_t **out);

static int jp_hex4(jp_t *p, unsigned *cp)
{
    if (p->i + 4 > p->n)
        return jp_fail(p, "short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return jp_fail(p, "bad \\u escape");
    }
    *cp = v;
    return 0;
}

static int jp_string(jp_t *p, char **out)
{
    p->i++; /* opening quote */
    size_t cap = 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return MB_ENOMEM;
    for (;;) {
        if (p->i >= p->n) {
            free(b);
            return jp_fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->i++];
        char tmp[4];
        size_t tn = 0;
        if (c == '"')
            break;
        if (c == '\\') {
            if (p->i >= p->n) {
                free(b);
                return jp_fail(p, "unterminated escape");
            }
            char e = p->s[p->i++];
            switch (e) {
            case '"': tmp[tn++] = '"'; break;
            case '\\': tmp[tn++] = '\\'; break;
            case '/': tmp[tn++] = '/'; break;
            case 'b': tmp[tn++] = '\b'; break;
            case 'f': tmp[tn++] = '\f'; break;
            case 'n': tmp[tn++] = '\n'; break;
            case 'r': tmp[tn++] = '\r'; break;
            case 't': tmp[tn++] = '\t'; break;
            case 'u': {
                unsigned cp = 0;
                if (jp_hex4(p, &cp)) {
                    free(b);
                    return MB_EFORMAT;
                }
                if (cp < 0x80) tmp[tn++] = (char)cp;
                else if (cp < 0x800) {
                    tmp[tn++] = (char)(0xc0 | (cp >> 6));
                    tmp[tn++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    tmp[tn++] = (char)(0xe0 | (cp >> 12));
                    tmp[tn++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    tmp[tn++] = (char)(0x80 | (cp & 0x3f));
                }
                break;
            }
            default:
                free(b);
                return jp_fail(p, "bad escape");
            }
        } else if (c < 0x20) {
            free(b);
            return jp_fail(p, "control character in string");
        } else {
            tmp[tn++] = (char)c;
        }
        if (n + tn + 1 > cap) {
            cap = cap * 2 + tn;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return MB_ENOMEM;
            }
            b = nb;
        }
        memcpy(b + n, tmp, tn);
        n += tn;
    }
    b[n] = '\0';
    *out = b;
    return 0;
}

static int jp_push(mb_jv_t *v, char *key, mb_jv_t *item)
{
    if ((v->n & (v->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = v->n ? v->n * 2 : 1;
        mb_jv_t **ni = realloc(v->items, cap * sizeof *ni);
        if (!ni)
            return MB_ENOMEM;
        v->items = ni;
        if (v->kind == MB_JV_OBJ) {
            char **nk = realloc(v->keys, cap * sizeof *nk);
            if (!nk)
                return MB_ENOMEM;
            v->keys = nk;
        }
    }
    if (v->kind == MB_JV_OBJ)
        v->keys[v->n] = key;
    v->items[v->n++] = item;
    return 0;
}

static int jp_value(jp_t *p, mb_jv_t **out)
{
    jp_ws(p);
    if (p->i >= p->n)
        return jp_fail(p, "unexpected end");
    if (++p->depth > 256)
        return jp_fail(p, "nesting too deep");
    mb_jv_t *v = calloc(1, sizeof *v);
    if (!v)
        return MB_ENOMEM;
    int rc = 0;
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        v->kind = c == '{' ? MB_JV_OBJ : MB_JV_ARR;
        char close = c == '{' ? '}' : ']';
        p->i++;
        jp_ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
        } else {
            for (;;) {
                char *key = NULL;
                jp_ws(p);
                if (v->kind == MB_JV_OBJ) {
                    if (p->i >= p->n || p->s[p->i] != '"') {
                        rc = jp_fail(p, "expected a key");
                        goto err;
                    }
                    if ((rc = jp_string(p, &key)))
                        goto err;
                    jp_ws(p);
                    if (p->i >= p->n || p->s[p->i] != ':') {
                        free(key);
                        rc = jp_fail(p, "expected ':'");
                        goto err;
                    }
                    p->i++;
                }
                mb_jv_t *item;
                if ((rc = jp_value(p, &item))) {
                    free(key);
                    goto err;
                }
                if ((rc = jp_push(v, key, item))) {
                    free(key);
                    mb_jv_free(item);
                    goto err;
                }
                jp_ws(p);
                if (p->i < p->n && p->s[p->i] == ',') {
                    p->i++;
                    continue;
                }
                if (p->i < p->n && p->s[p->i] == close) {
                    p->i++;
                    break;
                }
                rc = jp_fail(p, "expected ',' or a closing bracket");
                goto err;
            }
        }
    } else if (c == '"') {
        v->kind = MB_JV_STR;
        if ((rc = jp_string(p, &v->str)))
            goto err;
    } else if (!strncmp(p->s + p->i, "true", MB_MIN(4, p->n - p->i)) && p->n - p->i >= 4) {
        v->kind = MB_JV_BOOL;
        v->b = true;
        p->i += 4;
    } else if (!strncmp(p->s + p->i, "false", MB_MIN(5, p->n - p->i)) && p->n - p->i >= 5) {
        v->kind = MB_JV_BOOL;
        p->i += 5;
    } else if (!strncmp(p->s + p->i, "null", MB_MIN(4, p->n - p->i)) && p->n - p->i >= 4) {
        v->kind = MB_JV_NULL;
        p->i += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t k = 0;
        while (p->i < p->n && k < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[p->i]))
            buf[k++] = p->s[p->i++];
        buf[k] = '\0';
        char *end;
        v->kind = MB_JV_NUM;
        v->num = strtod(buf, &end);
        if (*end) {
            rc = jp_fail(p, "bad number");
            goto err;
        }
    } else {
        rc = jp_fail(p, "unexpected character");
        goto err;
    }
    p->depth--;
    *out = v;
    return 0;
err:
    mb_jv_free(v);
    return rc;
}

int mb_jv_parse(const char *text, size_t len, mb_jv_t **out)
{
    jp_t p = {text, len, 0, 0};
    *out = NULL;
    mb_jv_t *v;
    int rc = jp_value(&p, &v);
    if (rc)
        return rc == MB_ENOMEM ? mb_err_set(MB_ENOMEM, "JSON: out of memory") : MB_EFORMAT;
    jp_ws(&p);
    if (p.i != p.n) {
        mb_jv_free(v);
        return jp_fail(&p, "trailing characters");
    }
    *out = v;
    return 0;
}

void mb_jv_free(mb_jv_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        if (v->keys)
            free(v->keys[i]);
        mb_jv_free(v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->str);
    free(v);
}

const mb_jv_t *mb_jv_get(const mb_jv_t *v, const char *key)
{
    if (!v || v->kind != MB_JV_OBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return v->items[i];
    return NULL;
}

const mb_jv_t *mb_jv_path(const mb_jv_t *v, const char *path)
{
    char part[256];
    while (v && *path) {
        size_t k = strcspn(path, ".");
        if (k >= sizeof part)
            return NULL;
        memcpy(part, path, k);
        part[k] = '\0';
        path += k + (path[k] == '.');
        if (v->kind == MB_JV_ARR) {
            char *end;
            unsigned long idx = strtoul(part, &end, 10);
            v = (*end || idx >= v->n) ? NULL : v->items[idx];
        } else {
            v = mb_jv_get(v, part);
        }
    }
    return v;
}
