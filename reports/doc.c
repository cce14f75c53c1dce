/* doc.c: one small writer for markdown and HTML documents, so the
 * recommendation tables read the same in a terminal and in the report. */
#include "reports_int.h"

#include <math.h>
#include <stdlib.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

const char reports_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;"
    "max-width:1100px;padding:0 12px 40px;color:#1d232a;line-height:1.45}"
    "h1{font-size:1.6em;margin-top:.8em}h2{font-size:1.3em;border-bottom:1px solid #ccd;"
    "padding-bottom:4px;margin-top:1.6em}h3{font-size:1.08em}"
    ".tw{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;font-size:.9em;margin:8px 0}"
    "th,td{border:1px solid #d5d9e0;padding:3px 7px;text-align:left;white-space:nowrap}"
    "th{background:#eef1f6}tr:nth-child(even) td{background:#f8f9fb}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "img{max-width:100%;height:auto;border:1px solid #e3e6eb}"
    ".note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px}"
    ".bad{color:#b00020;font-weight:600}.good{color:#1b7f3b}"
    "figure{margin:14px 0}figcaption{font-size:.9em;color:#555}"
    "@media(max-width:600px){body{font-size:15px}th,td{padding:2px 4px}}";

const char *reports_css_text(void)
{
    return reports_css;
}

void reports_fmt_bytes(uint64_t b, char *buf, size_t len)
{
    if (b == 0)
        snprintf(buf, len, "-");
    else
        mb_fmt_bytes(b, buf, len);
}

void reports_fmt_num(char *buf, size_t len, int digits, double v)
{
    if (isfinite(v))
        snprintf(buf, len, "%.*f", digits, v);
    else
        snprintf(buf, len, "-");
}

int reports_out_open(reports_out_t *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (!path || !*path) {
        o->f = stdout;
        return 0;
    }
    if (strlen(path) >= sizeof o->path)
        return mb_err_set(MB_EINVAL, "output path too long (%zu bytes)", strlen(path));
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);
    o->f = fopen(o->tmp, "w");
    if (!o->f)
        return mb_err_set(mb_err_from_errno(errno), "cannot write %s: %s; check the directory "
                                                    "of --output", o->tmp, strerror(errno));
    return 0;
}

int reports_out_close(reports_out_t *o, bool ok)
{
    if (!o->f)
        return 0;
    if (o->f == stdout) {
        o->f = NULL;
        return fflush(stdout) ? mb_err_set(MB_EIO, "writing to stdout failed: %s",
                                           strerror(errno)) : 0;
    }
    int rc = 0;
    if ((ferror(o->f) | (fclose(o->f) != 0)) && ok)
        rc = mb_err_set(MB_EIO, "writing %s failed (disk full?)", o->tmp);
    o->f = NULL;
    if (ok && !rc && rename(o->tmp, o->path) != 0)
        rc = mb_err_set(mb_err_from_errno(errno), "cannot rename %s to %s: %s", o->tmp, o->path,
                        strerror(errno));
    if (!ok || rc)
        remove(o->tmp);
    return rc;
}

void reports_json_num(mb_json_t *j, double v)
{
    if (isfinite(v) && v != 0) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.10g", v);
        v = strtod(buf, NULL);
    }
    mb_json_num(j, v);
}

static void vtext(reports_doc_t *d, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (d->fmt == REPORTS_FMT_HTML)
        reports_html_escape(d->f, buf);
    else
        fputs(buf, d->f);
}

void reports_doc_h(reports_doc_t *d, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (d->fmt == REPORTS_FMT_HTML) {
        fprintf(d->f, "<h%d>", level);
        vtext(d, fmt, ap);
        fprintf(d->f, "</h%d>\n", level);
    } else {
        fprintf(d->f, "\n%.*s ", level, "######");
        vtext(d, fmt, ap);
        fputs("\n\n", d->f);
    }
    va_end(ap);
}

void reports_doc_p(reports_doc_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(d->fmt == REPORTS_FMT_HTML ? "<p>" : "", d->f);
    vtext(d, fmt, ap);
    fputs(d->fmt == REPORTS_FMT_HTML ? "</p>\n" : "\n\n", d->f);
    va_end(ap);
}

void reports_doc_li(reports_doc_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (d->fmt == REPORTS_FMT_HTML) {
        if (d->row++ == 0)
            fputs("<ul>\n", d->f);
        fputs("<li>", d->f);
    } else {
        fputs("- ", d->f);
    }
    vtext(d, fmt, ap);
    fputs(d->fmt == REPORTS_FMT_HTML ? "</li>\n" : "\n", d->f);
    va_end(ap);
}

void reports_doc_list_end(reports_doc_t *d)
{
    if (d->fmt == REPORTS_FMT_HTML && d->row > 0)
        fputs("</ul>\n", d->f);
    else if (d->fmt != REPORTS_FMT_HTML)
        fputc('\n', d->f);
    d->row = 0;
}

void reports_doc_table(reports_doc_t *d, const char *header)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", header);
    int n = 0;
    if (d->fmt == REPORTS_FMT_HTML)
        fputs("<div class=\"tw\"><table>\n<tr>", d->f);
    for (char *save = NULL, *tok = strtok_r(buf, "|", &save); tok;
         tok = strtok_r(NULL, "|", &save), n++) {
        if (d->fmt == REPORTS_FMT_HTML) {
            fputs("<th>", d->f);
            reports_html_escape(d->f, tok);
            fputs("</th>", d->f);
        } else {
            fprintf(d->f, "| %s ", tok);
        }
    }
    if (d->fmt == REPORTS_FMT_HTML) {
        fputs("</tr>\n", d->f);
    } else {
        fputs("|\n", d->f);
        for (int i = 0; i < n; i++)
            fputs("|---", d->f);
        fputs("|\n", d->f);
    }
    d->row = 0;
}

/* A cell that reads as a number is right-aligned in HTML. */
static int numeric(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("0123456789.-+% ", *s) && strncmp(s, "GB", 2) && strncmp(s, "MB", 2))
            return 0;
    return 1;
}

void reports_doc_row(reports_doc_t *d, int n, const char *const *cells)
{
    if (d->fmt == REPORTS_FMT_HTML) {
        fputs("<tr>", d->f);
        for (int i = 0; i < n; i++) {
            fputs(numeric(cells[i]) ? "<td class=\"n\">" : "<td>", d->f);
            reports_html_escape(d->f, cells[i]);
            fputs("</td>", d->f);
        }
        fputs("</tr>\n", d->f);
    } else {
        for (int i = 0; i < n; i++) {
            fputs("| ", d->f);
            for (const char *c = cells[i]; *c; c++) /* a '|' would split the cell */
                fputc(*c == '|' ? '/' : *c, d->f);
            fputc(' ', d->f);
        }
        fputs("|\n", d->f);
    }
    d->row++;
}

void reports_doc_table_end(reports_doc_t *d)
{
    fputs(d->fmt == REPORTS_FMT_HTML ? "</table></div>\n" : "\n", d->f);
    d->row = 0;
}

void reports_html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}
