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
    size_t cap = 0;
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
