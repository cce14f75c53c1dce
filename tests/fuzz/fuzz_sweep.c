/*
 * fuzz_sweep.c: libFuzzer target for the sweep-file parser and the INI
 * reader under it. Invariants beyond "no crash, no sanitizer report": an
 * error always has a message; an accepted file expands to exactly
 * bench_sweep_n_cells() cells, never more than BENCH_SWEEP_MAX_CELLS, each
 * naming a model and recipe of the file; a message never carries a raw
 * control byte.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    bench_sweep_t *sw = NULL;
    int rc = bench_sweep_parse(text, "fuzz.ini", NULL, &sw);
    if (rc) {
        const char *m = mb_err_msg();
        if (!m || !*m || sw)
            abort();
        for (const unsigned char *p = (const unsigned char *)m; *p; p++)
            if (*p < 0x20 && *p != '\t')
                abort();
    } else {
        size_t n_expected = bench_sweep_n_cells(sw);
        if (!n_expected || n_expected > BENCH_SWEEP_MAX_CELLS)
            abort();
        bench_cell_t *cells = NULL;
        size_t n = 0;
        if (bench_sweep_cells(sw, &cells, &n) == MB_OK) {
            if (n != n_expected)
                abort();
            for (size_t i = 0; i < n; i++)
                if (!cells[i].model[0] || !cells[i].recipe[0] || cells[i].index != (int)i)
                    abort();
        }
        free(cells);
        bench_sweep_free(sw);
    }
    free(text);
    return 0;
}
