/* mb_ini.c: INI files ([section], key = value) with file:line errors.
 * Used for the model catalog, sweep files and device classes. */
#include "mb.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

void mb_ini_free(mb_ini_t *ini)
{
    if (!ini)
        return;
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->entries[i].section);
        free(ini->entries[i].key);
        free(ini->entries[i].value);
    }
    free(ini->entries);
    for (size_t i = 0; i < ini->n_sections; i++)
        free(ini->sections[i].name);
    free(ini->sections);
    free(ini->path);
    free(ini);
}

int mb_ini_parse(const char *text, const char *name, mb_ini_t **out)
{
    *out = NULL;
    mb_ini_t *ini = calloc(1, sizeof *ini);
    char *copy = mb_strdup(text);
    char *section = mb_strdup("");
    int rc = MB_OK;
    size_t cap = 0, scap = 0;
    if (!ini || !copy || !section || !(ini->path = mb_strdup(name))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory parsing %s", name);
        goto err;
    }
    int lineno = 0;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e || e[1] != '\0') {
                rc = mb_err_set(MB_EFORMAT, "%s:%d: expected a section header '[name]', got '%s'",
                                name, lineno, s);
                goto err;
            }
            *e = '\0';
            char *sec = trim(s + 1);
            if (!*sec) {
                rc = mb_err_set(MB_EFORMAT, "%s:%d: empty section name", name, lineno);
                goto err;
            }
            free(section);
            if (!(section = mb_strdup(sec))) {
                rc = mb_err_set(MB_ENOMEM, "out of memory parsing %s", name);
                goto err;
            }
            /* Headers are kept too, so that a reader can refuse an unknown
             * section even when it holds no key. */
            if (ini->n_sections == scap) {
                scap = scap ? scap * 2 : 8;
                mb_ini_section_t *ns = realloc(ini->sections, scap * sizeof *ns);
                if (!ns) {
                    rc = mb_err_set(MB_ENOMEM, "out of memory parsing %s", name);
                    goto err;
                }
                ini->sections = ns;
            }
            mb_ini_section_t *hs = &ini->sections[ini->n_sections];
            if (!(hs->name = mb_strdup(sec))) {
                rc = mb_err_set(MB_ENOMEM, "out of memory parsing %s", name);
                goto err;
            }
            hs->line = lineno;
            ini->n_sections++;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = mb_err_set(MB_EFORMAT, "%s:%d: expected 'key = value', got '%s'", name, lineno, s);
            goto err;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key) {
            rc = mb_err_set(MB_EFORMAT, "%s:%d: missing key before '='", name, lineno);
            goto err;
        }
        /* Strip an inline comment that follows whitespace: "x = 1  # note" */
        if (*val != '"') {
            for (char *c = val; *c; c++)
                if ((*c == '#' || *c == ';') && c > val && isspace((unsigned char)c[-1])) {
                    *c = '\0';
                    val = trim(val);
                    break;
                }
        } else {
            char *endq = strrchr(val + 1, '"');
            if (!endq) {
                rc = mb_err_set(MB_EFORMAT, "%s:%d: unterminated quoted value", name, lineno);
                goto err;
            }
            *endq = '\0';
            val++;
        }
        if (ini->n == cap) {
            cap = cap ? cap * 2 : 32;
            mb_ini_entry_t *ne = realloc(ini->entries, cap * sizeof *ne);
            if (!ne) {
                rc = mb_err_set(MB_ENOMEM, "out of memory parsing %s", name);
                goto err;
            }
            ini->entries = ne;
        }
        mb_ini_entry_t *e = &ini->entries[ini->n];
        e->section = mb_strdup(section);
        e->key = mb_strdup(key);
        e->value = mb_strdup(val);
        e->line = lineno;
        ini->n++;
        if (!e->section || !e->key || !e->value) {
            rc = mb_err_set(MB_ENOMEM, "out of memory parsing %s", name);
            goto err;
        }
    }
    free(copy);
    free(section);
    *out = ini;
    return MB_OK;
err:
    free(copy);
    free(section);
    mb_ini_free(ini);
    return rc;
}

int mb_ini_load(const char *path, mb_ini_t **out)
{
    char *text;
    size_t len;
    int rc = mb_file_read(path, 16u << 20, &text, &len);
    if (rc)
        return rc;
    if (strlen(text) != len) {
        free(text);
        return mb_err_set(MB_EFORMAT, "%s: binary data (NUL byte) in a text file", path);
    }
    rc = mb_ini_parse(text, path, out);
    free(text);
    return rc;
}

const mb_ini_entry_t *mb_ini_find(const mb_ini_t *ini, const char *section, const char *key)
{
    for (size_t i = ini->n; i-- > 0;)
        if (!strcmp(ini->entries[i].section, section) && !strcmp(ini->entries[i].key, key))
            return &ini->entries[i];
    return NULL;
}

const char *mb_ini_get(const mb_ini_t *ini, const char *section, const char *key, const char *dflt)
{
    const mb_ini_entry_t *e = mb_ini_find(ini, section, key);
    return e ? e->value : dflt;
}

/* Levenshtein distance, capped: words here are short identifiers. */
static size_t edit_distance(const char *a, const char *b, size_t blen)
{
    size_t alen = strlen(a);
    if (alen > 63 || blen > 63)
        return (size_t)-1;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = MB_MIN(sub, MB_MIN(del, ins));
        }
        memcpy(prev, cur, (blen + 1) * sizeof *prev);
    }
    return prev[blen];
}

const char *mb_near_miss(const char *word, const char *choices)
{
    static char best[64];
    size_t best_d = (size_t)-1, wl = strlen(word);
    for (const char *p = choices; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n && n < sizeof best) {
            size_t d = edit_distance(word, p, n);
            if (d < best_d) {
                best_d = d;
                memcpy(best, p, n);
                best[n] = '\0';
            }
        }
        p += n;
    }
    return best_d <= 2 && best_d * 2 < MB_MAX(wl, 2) ? best : NULL;
}
