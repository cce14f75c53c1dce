/* test_bench_sweep_limits.c: what a sweep file may not do (issue 14): an
 * unknown section even when empty, a file past the size limit (never read in
 * part), a file that expands past the cell cap; and a large file under the
 * cap expands to every cell in order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static char *tmp_path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "/tmp/mb_sweep_limits_%d_%s", (int)getpid(), name);
    return p;
}

Test(sweep_limits, empty_unknown_section_is_an_error_with_its_line)
{
    bench_sweep_t *sw = (bench_sweep_t *)1;
    char path[512];
    snprintf(path, sizeof path, "%s/sweeps/empty_unknown_section.ini", MB_FIXTURES);
    cr_assert_eq(bench_sweep_load(path, NULL, &sw), MB_EFORMAT, "%s", mb_err_msg());
    cr_assert_null(sw);
    cr_assert(strstr(mb_err_msg(), "empty_unknown_section.ini:7: unknown section [bogus]"), "%s",
              mb_err_msg());
    cr_assert(strstr(mb_err_msg(), "expected one of: [sweep]"), "%s", mb_err_msg());
}

Test(sweep_limits, near_misses_are_suggested)
{
    bench_sweep_t *sw;
    cr_assert_eq(bench_sweep_parse("[modles]\nnames = a\n", "t.ini", NULL, &sw), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "t.ini:1: unknown section [modles] (did you mean [models]?)"), "%s",
              mb_err_msg());
    cr_assert_eq(bench_sweep_parse("[models]\nname = a\n", "t.ini", NULL, &sw), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "t.ini:2: unknown key 'name' in [models] (did you mean 'names'?)"),
              "%s", mb_err_msg());
    /* nothing close: no guess */
    cr_assert_eq(bench_sweep_parse("[models]\nnames = a\nzzzzzz = 1\n", "t.ini", NULL, &sw), MB_EFORMAT);
    cr_assert_null(strstr(mb_err_msg(), "did you mean"), "%s", mb_err_msg());
}

/* Before: a file over 1 MiB was cut at 1 MiB and the rest silently dropped
 * (here the later 'tg' would have gone). Now: refused, nothing parsed. */
Test(sweep_limits, file_over_the_limit_is_refused_not_truncated)
{
    char *p = tmp_path("big.ini");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("[models]\nnames = tiny-llama\nrecipes = Q4_0\n[tests]\npp = 64\n", f);
    for (int i = 0; i < 40000; i++)
        fputs("# padding comment line to grow the file ..........\n", f);
    fputs("tg = 16\n", f);
    fclose(f);
    bench_sweep_t *sw = (bench_sweep_t *)1;
    int rc = bench_sweep_load(p, NULL, &sw);
    unlink(p);
    cr_assert_eq(rc, MB_ERANGE, "rc %d: %s", rc, mb_err_msg());
    cr_assert_null(sw);
    cr_assert(strstr(mb_err_msg(), "(1048576 bytes), the most this file may hold"), "%s", mb_err_msg());
    cr_assert(strstr(mb_err_msg(), "nothing was read"), "%s", mb_err_msg());
}

Test(sweep_limits, file_at_the_limit_is_read_whole)
{
    char *p = tmp_path("edge.ini");
    const char *head = "[models]\nnames = tiny-llama\nrecipes = Q4_0\n[tests]\npp = 64\n";
    const char *tail = "tg = 16\n";
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(head, f);
    size_t n = strlen(head) + strlen(tail);
    while (n < (1u << 20)) {
        fputc(n + 1 < (1u << 20) && (n % 64) ? '#' : '\n', f);
        n++;
    }
    fputs(tail, f);
    fclose(f);
    bench_sweep_t *sw = NULL;
    int rc = bench_sweep_load(p, NULL, &sw);
    unlink(p);
    cr_assert_eq(rc, 0, "%s", mb_err_msg());
    cr_assert_eq(sw->n_tests, 2, "the last line must count");
    bench_sweep_free(sw);
}

static char *int_list(int from, int n)
{
    char *s = malloc((size_t)n * 9 + 1);
    size_t k = 0;
    for (int i = 0; i < n; i++)
        k += (size_t)sprintf(s + k, "%s%d", i ? "," : "", from + i);
    return s;
}

/* Before: 10^6 cells were expanded (and --dry-run priced each); now the
 * file is refused with the product of its axes. */
Test(sweep_limits, cell_cap_names_the_product)
{
    char *pp = int_list(1, 1000), *th = int_list(1, 1000);
    size_t len = strlen(pp) + strlen(th) + 256;
    char *text = malloc(len);
    snprintf(text, len, "[models]\nnames = a\nrecipes = b\n[tests]\npp = %s\nthreads = %s\n", pp, th);
    bench_sweep_t *sw = (bench_sweep_t *)1;
    cr_assert_eq(bench_sweep_parse(text, "million.ini", NULL, &sw), MB_ERANGE, "%s", mb_err_msg());
    cr_assert_null(sw);
    cr_assert(strstr(mb_err_msg(), "models 1 x recipes 1 x threads 1000 x depths 1 x tests 1000 x pinnings 1 x cpu_strict 1 = "
                                   "1000000 cells"), "%s", mb_err_msg());
    cr_assert(strstr(mb_err_msg(), "100000"), "%s", mb_err_msg());
    free(pp);
    free(th);
    free(text);
}

Test(sweep_limits, large_file_under_the_cap_expands_in_order)
{
    char *pp = int_list(1, 500), *th = int_list(1, 100);
    size_t len = strlen(pp) + strlen(th) + 256;
    char *text = malloc(len);
    snprintf(text, len, "[models]\nnames = a, b\nrecipes = q\n[tests]\npp = %s\nthreads = %s\n", pp, th);
    bench_sweep_t *sw;
    cr_assert_eq(bench_sweep_parse(text, "big.ini", NULL, &sw), 0, "%s", mb_err_msg());
    cr_assert_eq(bench_sweep_n_cells(sw), 2 * 500 * 100);
    bench_cell_t *cells;
    size_t n;
    cr_assert_eq(bench_sweep_cells(sw, &cells, &n), 0, "%s", mb_err_msg());
    cr_assert_eq(n, 100000);
    /* models x recipes x threads x depths x tests, tests innermost */
    cr_assert_str_eq(cells[0].model, "a");
    cr_assert_eq(cells[0].test.n_prompt, 1);
    cr_assert_eq(cells[1].test.n_prompt, 2);
    cr_assert_eq(cells[500].n_threads, 2);
    cr_assert_str_eq(cells[50000].model, "b");
    cr_assert_eq(cells[99999].n_threads, 100);
    cr_assert_eq(cells[99999].test.n_prompt, 500);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(cells[i].index, (int)i);
    free(cells);
    bench_sweep_free(sw);
    free(pp);
    free(th);
    free(text);
}
