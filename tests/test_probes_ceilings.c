/* test_probes_ceilings.c: the ceiling measurement runs and reports sane,
 * positive figures for every ISA level present (tiny sizes: this checks
 * behaviour, not speed; speed is in docs/PERFORMANCE.md). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "probes.h"

Test(probes_ceilings, small_run_reports_each_isa_present)
{
    probes_ceilings_opts_t o;
    memset(&o, 0, sizeof o);
    o.buffer_bytes = 8u << 20;
    o.passes = 2;
    o.threads[0] = 1;
    o.threads[1] = 2;
    o.n_threads = 2;
    o.quiet = true;
    probes_ceilings_t c;
    cr_assert_eq(probes_ceilings_measure(&o, &c), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(c.n_bw, 2);
    cr_assert_eq(c.passes, 2);
    cr_assert_leq(c.buffer_bytes, 8u << 20);
    cr_assert_gt(c.buffer_bytes, 7u << 20);
    for (int i = 0; i < c.n_bw; i++) {
        cr_assert_eq(c.bw[i].threads, i + 1);
        cr_assert(isfinite(c.bw[i].read_gbs) && c.bw[i].read_gbs > 0);
        cr_assert(isfinite(c.bw[i].copy_gbs) && c.bw[i].copy_gbs > 0);
        cr_assert(isfinite(c.bw[i].triad_gbs) && c.bw[i].triad_gbs > 0);
        cr_assert_geq(c.bw[i].read_gbs, c.bw[i].read_median_gbs, "best pass is at least the median");
        /* both read kernels ran; the ceiling is the faster */
        cr_assert(c.bw[i].read_plain_gbs > 0 && c.bw[i].read_prefetch_gbs > 0);
        cr_assert_eq(c.bw[i].read_gbs, fmax(c.bw[i].read_plain_gbs, c.bw[i].read_prefetch_gbs));
    }
    probes_features_t f;
    probes_features_detect(&f);
    bool want_avx512 = probes_features_has(&f, PROBES_FEAT_AVX512F);
    bool want_vnni = probes_features_has(&f, PROBES_FEAT_AVX512_VNNI) && probes_features_has(&f, PROBES_FEAT_AVX512BW);
    bool want_dot = probes_features_has(&f, PROBES_FEAT_DOTPROD);
    bool got_avx512 = false, got_vnni = false, got_dot = false;
    for (int i = 0; i < c.n_peaks; i++) {
        const probes_peak_t *p = &c.peaks[i];
        cr_assert_eq(p->n, 2);
        cr_assert(!strcmp(p->kind, "f32") || !strcmp(p->kind, "i8"));
        for (int k = 0; k < p->n; k++)
            cr_assert(isfinite(p->gops[k]) && p->gops[k] > 0, "%s %dT: %g", p->name, p->threads[k], p->gops[k]);
        got_avx512 |= !strcmp(p->name, "f32_fma_avx512");
        got_vnni |= !strcmp(p->name, "i8_vnni_avx512");
        got_dot |= !strcmp(p->name, "i8_sdot_dotprod");
    }
    cr_assert_eq(got_avx512, want_avx512);
    cr_assert_eq(got_vnni, want_vnni);
    cr_assert_eq(got_dot, want_dot);
#if defined(__x86_64__)
    if (probes_features_has(&f, PROBES_FEAT_AVX2))
        cr_assert_str_neq(c.read_kernel, "scalar");
#endif

    /* JSON round trip */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    mb_json_t j;
    mb_json_init(&j, mf, false);
    probes_ceilings_json(&c, &j);
    fclose(mf);
    mb_jv_t *v;
    cr_assert_eq(mb_jv_parse(buf, len, &v), MB_OK);
    cr_assert_eq(mb_jv_path(v, "bandwidth")->n, 2);
    cr_assert_eq(mb_jv_path(v, "peaks")->n, (size_t)c.n_peaks);
    mb_jv_free(v);
    free(buf);
}

/* The meter behind bench --roofline-paired: the buffer is mapped once and
 * read again at any thread count. */
Test(probes_ceilings, bw_meter_reads_and_rejects_bad_arguments)
{
    probes_bw_meter_t *m = NULL;
    cr_assert_eq(probes_bw_meter_create(8u << 20, &m), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(probes_bw_meter_bytes(m), 8u << 20);
    double g1 = 0, g2 = 0;
    cr_assert_eq(probes_bw_meter_read(m, 1, 2, &g1), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(probes_bw_meter_read(m, 2, 1, &g2), MB_OK, "%s", mb_err_msg());
    cr_assert(g1 > 0 && isfinite(g1) && g2 > 0 && isfinite(g2), "%g %g", g1, g2);
    double g = 1;
    cr_assert_eq(probes_bw_meter_read(m, 0, 2, &g), MB_EINVAL);
    cr_assert(isnan(g));
    cr_assert_eq(probes_bw_meter_read(m, 1, 0, &g), MB_EINVAL);
    cr_assert_eq(probes_bw_meter_read(m, 1, 65, &g), MB_EINVAL);
    cr_assert_eq(probes_bw_meter_read(NULL, 1, 1, &g), MB_EINVAL);
    probes_bw_meter_destroy(m);
    probes_bw_meter_destroy(NULL);
    cr_assert_eq(probes_bw_meter_create(1000, &m), MB_EINVAL);
    cr_assert_null(m);
    cr_assert(strstr(mb_err_msg(), "too small"), "%s", mb_err_msg());
    cr_assert_eq(probes_bw_meter_create(1ull << 60, &m), MB_EINVAL, "beyond half of RAM");
}

Test(probes_ceilings, bad_options_are_rejected)
{
    probes_ceilings_opts_t o;
    probes_ceilings_t c;
    memset(&o, 0, sizeof o);
    o.buffer_bytes = 1000;
    cr_assert_eq(probes_ceilings_measure(&o, &c), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "too small"));
    memset(&o, 0, sizeof o);
    o.buffer_bytes = 4u << 20;
    o.n_threads = 1;
    o.threads[0] = 0;
    cr_assert_eq(probes_ceilings_measure(&o, &c), MB_EINVAL);
    o.threads[0] = 1;
    o.passes = 1000;
    cr_assert_eq(probes_ceilings_measure(&o, &c), MB_EINVAL);
}
