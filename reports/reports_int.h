/* reports_int.h: helpers shared inside mb_reports (not public). */
#ifndef REPORTS_INT_H
#define REPORTS_INT_H

#include "reports.h"

#include <stdio.h>

/* A document written as markdown or HTML: headings, paragraphs, tables. */
typedef struct {
    FILE *f;
    reports_fmt_t fmt; /* MD or HTML */
    int row;           /* rows written in the current table */
} reports_doc_t;

void reports_doc_h(reports_doc_t *d, int level, const char *fmt, ...) MB_PRINTF(3, 4);
void reports_doc_p(reports_doc_t *d, const char *fmt, ...) MB_PRINTF(2, 3);
/* Table: header cells separated by '|' ("model|recipe|t/s"). */
void reports_doc_table(reports_doc_t *d, const char *header);
void reports_doc_row(reports_doc_t *d, int n, const char *const *cells);
void reports_doc_table_end(reports_doc_t *d);
void reports_doc_li(reports_doc_t *d, const char *fmt, ...) MB_PRINTF(2, 3);
void reports_doc_list_end(reports_doc_t *d);

/* "1.9 GB" or "-" when 0. */
void reports_fmt_bytes(uint64_t b, char *buf, size_t len);
/* v with digits decimals, or "-" for NaN. */
void reports_fmt_num(char *buf, size_t len, int digits, double v);

/* A measured or derived number for JSON, rounded to 10 significant digits
 * (no 0.35461433200000003 from ms / 1000: the measurements carry far fewer
 * digits) and written by mb_json_num (shortest text that reads back). */
void reports_json_num(mb_json_t *j, double v);

/* model matches one of the comma-separated fnmatch patterns ("" = all). */
bool reports_model_in(const char *patterns, const char *model);

/* The CSS of every HTML page mobench writes (inline, no external refs). */
extern const char reports_css[];


/* ---- charts (charts.c) ---------------------------------------------------- */
typedef struct {
    char name[32];        /* file stem: NAME.gp, NAME.dat, NAME.png, NAME.svg */
    char title[128];
    char caption[1024];
    bool has_data;        /* false: the chart shows a "no data" note */
    bool rendered;        /* gnuplot produced NAME.png and NAME.svg */
    char *html;           /* extra HTML under the chart (malloc'd) or NULL */
} reports_chart_t;

#define REPORTS_MAX_CHARTS 8
/* Writes the .dat and .gp files of every chart into dir. */
int reports_charts_write(const reports_data_t *d, const reports_classes_t *cl, const char *dir,
                         reports_chart_t *charts, int *n);
/* Frees what reports_charts_write allocated in charts[0..REPORTS_MAX_CHARTS). */
void reports_charts_free(reports_chart_t *charts);
/* Index of the device with the most cells (the report's main device), -1 if none. */
int reports_main_device(const reports_data_t *d);
/* Label safe inside a gnuplot single-quoted string and a data file: anything
 * outside [A-Za-z0-9._,:@+ -] becomes '_'. */
void reports_label(char *dst, size_t len, const char *src);

#endif
