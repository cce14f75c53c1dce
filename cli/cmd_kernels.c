/* cmd_kernels.c: `mobench kernels`: speed of the matmul kernels against the
 * machine's ceilings. Per format: GEMV (decode, m = 1) weight bytes/s over a
 * matrix far larger than the caches, as a fraction of the measured read
 * bandwidth; GEMM (prefill, 512 tokens x 2048 x 2048 and x 8192) GOP/s as a
 * fraction of the measured int8 (or f32) peak. Medians of --reps runs. */
#include "cli_opts.h"
#include "commands.h"
#include "engine.h"
#include "mb.h"
#include "probes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KB_GEMV_K 4096
#define KB_GEMM_M 512
#define KB_GEMM_K 2048

static const engine_type_t kb_default_formats[] = {
    ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q8_0, ENGINE_TYPE_Q4_K, ENGINE_TYPE_Q6_K, ENGINE_TYPE_Q4_1,
    ENGINE_TYPE_Q5_0, ENGINE_TYPE_Q5_1, ENGINE_TYPE_IQ4_NL, ENGINE_TYPE_Q2_K, ENGINE_TYPE_Q3_K,
    ENGINE_TYPE_Q5_K, ENGINE_TYPE_F16, ENGINE_TYPE_BF16, ENGINE_TYPE_F32,
};

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, mb_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *kb_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63))
        return NULL;
    return p;
}

/* ---- weights: real quantizer output, tiled ---------------------------------- */
/* A matrix of hundreds of MB through a K-quant search would take minutes:
 * quantize 256 rows of Gaussian data with the format's own quantizer and
 * repeat them. The kernels see realistic scales; the bytes still come from
 * DRAM since the matrix is far larger than the caches. */
static int kb_fill(engine_type_t t, int64_t k, int64_t n, uint8_t *dst)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    int64_t rows = MB_MIN(n, 256);
    float *src = malloc(sizeof(float) * (size_t)(rows * k));
    if (!src)
        return mb_err_set(MB_ENOMEM, "cannot allocate %lld x %lld floats", (long long)rows,
                          (long long)k);
    uint64_t s = 0x2545f4914f6cdd1dull;
    for (int64_t i = 0; i < rows * k; i++) {
        /* sum of 4 uniforms: close enough to Gaussian for scales */
        double g = 0;
        for (int j = 0; j < 4; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            g += (double)(s >> 11) / 9007199254740992.0 - 0.5;
        }
        src[i] = (float)(g * 0.05);
    }
    size_t rs = engine_row_size(t, k);
    tr->quantize(src, dst, rows, k, NULL);
    free(src);
    for (int64_t i = rows; i < n; i += rows)
        memcpy(dst + (size_t)i * rs, dst, (size_t)MB_MIN(rows, n - i) * rs);
    return 0;
}

typedef struct {
    engine_type_t type;
    bool specialized;
    double gemv_gbs;
    double gemm_gops[2];
} kb_result_t;

static int kb_time_matmul(engine_pool_t *pool, engine_tensor_t *w, const void *act, int64_t m,
                          float *y, int reps, double *med_s)
{
    double v[64];
    int rc = engine_matmul(pool, w, act, m, y); /* warm-up */
    if (rc)
        return rc;
    for (int i = 0; i < reps; i++) {
        uint64_t t0 = mb_clock_ns();
        engine_matmul(pool, w, act, m, y);
        v[i] = (double)(mb_clock_ns() - t0) * 1e-9;
    }
    *med_s = median(v, reps);
    return 0;
}

static int kb_run_format(engine_pool_t *pool, engine_type_t t, size_t gemv_bytes, int reps,
                         kb_result_t *res)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    int rc = 0;
    uint8_t *wd = NULL, *act = NULL;
    float *x = NULL, *y = NULL;
    res->type = t;
    res->specialized = engine_kernels_specialized(engine_kernels_name(), t);
    res->gemv_gbs = res->gemm_gops[0] = res->gemm_gops[1] = NAN;

    /* GEMV: k = 4096, as many rows as fill gemv_bytes. */
    size_t rs = engine_row_size(t, KB_GEMV_K);
    int64_t n = (int64_t)(gemv_bytes / rs);
    size_t wbytes = rs * (size_t)n;
    size_t gemm_w = engine_row_size(t, KB_GEMM_K) * 8192;
    wd = kb_alloc(MB_MAX(wbytes, gemm_w));
    x = kb_alloc(sizeof(float) * KB_GEMM_M * KB_GEMM_K);
    y = kb_alloc(sizeof(float) * (size_t)MB_MAX(n, (int64_t)KB_GEMM_M * 8192));
    act = kb_alloc(MB_MAX(engine_act_bytes(t, KB_GEMV_K, 1), engine_act_bytes(t, KB_GEMM_K, KB_GEMM_M)));
    if (!wd || !x || !y || !act) {
        rc = mb_err_set(MB_ENOMEM, "cannot allocate %zu MB of %s weights for the benchmark; "
                        "lower --gemv-mb", wbytes >> 20, tr->name);
        goto err;
    }
    for (int64_t i = 0; i < KB_GEMM_M * KB_GEMM_K; i++)
        x[i] = (float)((i * 7919) % 2001 - 1000) * 1e-3f;
    if ((rc = kb_fill(t, KB_GEMV_K, n, wd)))
        goto err;
    engine_tensor_t w = {.name = "bench", .type = t, .ne = {KB_GEMV_K, n, 1, 1}, .data = wd,
                         .nbytes = wbytes};
    if ((rc = engine_tensor_prepare(&w)) ||
        (rc = engine_act_quantize(pool, t, x, KB_GEMV_K, 1, act)))
        goto err;
    double s;
    if ((rc = kb_time_matmul(pool, &w, act, 1, y, reps, &s)))
        goto err;
    res->gemv_gbs = (double)wbytes / s * 1e-9;
    engine_tensor_release(&w);

    /* GEMM: 512 tokens x 2048 x {2048, 8192}. */
    const int64_t ns[2] = {2048, 8192};
    if ((rc = kb_fill(t, KB_GEMM_K, 8192, wd)) ||
        (rc = engine_act_quantize(pool, t, x, KB_GEMM_K, KB_GEMM_M, act)))
        goto err;
    for (int i = 0; i < 2; i++) {
        engine_tensor_t g = {.name = "bench", .type = t, .ne = {KB_GEMM_K, ns[i], 1, 1},
                             .data = wd, .nbytes = engine_row_size(t, KB_GEMM_K) * (size_t)ns[i]};
        if ((rc = engine_tensor_prepare(&g)) ||
            (rc = kb_time_matmul(pool, &g, act, KB_GEMM_M, y, reps, &s)))
            goto err;
        res->gemm_gops[i] = 2.0 * KB_GEMM_M * KB_GEMM_K * (double)ns[i] / s * 1e-9;
        engine_tensor_release(&g);
    }
err:
    free(wd);
    free(act);
    free(x);
    free(y);
    return rc;
}

static void kb_usage(FILE *f)
{
    fprintf(f,
            "usage: mobench kernels [--format F[,F...]] [--threads N] [--kernel V] [--reps R]\n"
            "                       [--gemv-mb MB] [--json]\n\n"
            "Speed of the matmul kernels against this machine's ceilings, per weight format:\n"
            "  GEMV (decode, 1 token): weight bytes/s over a k=4096 matrix of --gemv-mb MB,\n"
            "    and its ratio to the read bandwidth the probe measures with the same threads\n"
            "    over a buffer of the same size (probes_ceilings_measure; median pass);\n"
            "  GEMM (prefill): GOP/s at 512 tokens x 2048 x 2048 and x 8192, and its ratio\n"
            "    to the probe's int8 peak (quantized formats) or f32 peak (F32/F16/BF16;\n"
            "    BF16's vdpbf16ps does twice the flops of an f32 FMA, so it can exceed it).\n"
            "Weights: 256 rows from the format's own quantizer, repeated to fill the matrix.\n"
            "Every figure is the median of R runs (after one warm-up run).\n\n"
            "options:\n"
            "  --format F     formats to run (default: all); e.g. q4_0,q4_k\n"
            "  --threads N    threads (default: all online CPUs)\n"
            "  --kernel V     force a kernel variant (default: the best capable one)\n"
            "  --reps R       runs per measurement, >= 5 (default 7)\n"
            "  --gemv-mb MB   size of the GEMV matrix (default 512, at least 64)\n"
            "  --json         JSON on stdout instead of the table\n"
            "  --list         list the kernel variants, whether this CPU can run them and\n"
            "                 which formats each has its own code for (others: reference),\n"
            "                 then the plan dispatch binds: per format the variant that runs\n"
            "                 it (* = a fallback from the chosen one), repacking, quantizer\n"
            "  --isa LIST     with --list: for a CPU with these features instead of this\n"
            "                 one, e.g. avx2,fma,f16c,avx512f (names as in probe's JSON)\n");
}

/* --list [--isa LIST] [--kernel V]: every compiled-in variant and whether a
 * CPU with those features (default: this one) can run it, then the plan
 * dispatch would bind there: per weight format the variant whose matmul
 * runs it (marked when it falls back from the chosen variant), whether it
 * is repacked, and its activation quantizer. */
static int kb_list(const char *isa, const char *kernel, bool json)
{
    probes_features_t feat;
    if (isa) {
        if (probes_features_parse(isa, &feat)) {
            fprintf(stderr, "mobench kernels: --isa: %s\n", mb_err_msg());
            return MB_EXIT_USAGE;
        }
    } else {
        probes_features_detect(&feat);
    }
    engine_kernels_plan_t plan;
    if (engine_kernels_plan(&feat, kernel, &plan)) {
        fprintf(stderr, "mobench kernels: %s\n", mb_err_msg());
        return MB_EXIT_USAGE;
    }
    const char *names[16];
    bool capable[16];
    int n = engine_kernels_list(names, 16, &feat, capable);
    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "cpu");
        mb_json_str(&j, isa ? "given" : "this");
        mb_json_key(&j, "variants");
        mb_json_arr_begin(&j);
        for (int i = 0; i < n && i < 16; i++) {
            mb_json_obj_begin(&j);
            mb_json_key(&j, "name");
            mb_json_str(&j, names[i]);
            mb_json_key(&j, "capable");
            mb_json_bool(&j, capable[i]);
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_key(&j, "chosen");
        mb_json_str(&j, plan.variant);
        mb_json_key(&j, "ops");
        mb_json_str(&j, plan.ops);
        mb_json_key(&j, "formats");
        mb_json_arr_begin(&j);
        for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
            const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
            if (!plan.mm[t] || !tr)
                continue;
            mb_json_obj_begin(&j);
            mb_json_key(&j, "format");
            mb_json_str(&j, tr->name);
            mb_json_key(&j, "matmul");
            mb_json_str(&j, plan.mm[t]);
            mb_json_key(&j, "fallback");
            mb_json_bool(&j, plan.fallback[t]);
            mb_json_key(&j, "repacked");
            mb_json_bool(&j, plan.packed[t]);
            mb_json_key(&j, "activation");
            mb_json_str(&j, engine_type_name(tr->vec_dot_type));
            mb_json_key(&j, "quantizer");
            mb_json_str(&j, plan.act[tr->vec_dot_type] ? plan.act[tr->vec_dot_type] : "reference");
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_obj_end(&j);
        putchar('\n');
        return MB_EXIT_OK;
    }
    printf("%-8s %-8s %s\n", "variant", "capable", "own code for (the rest run the scalar reference)");
    for (int i = 0; i < n && i < 16; i++) {
        printf("%-8s %-8s", names[i], capable[i] ? "yes" : "no");
        for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
            const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
            if (tr && tr->quantize && t != ENGINE_TYPE_Q8_1 && t != ENGINE_TYPE_Q8_K &&
                engine_kernels_specialized(names[i], (engine_type_t)t))
                printf(" %s", tr->name);
        }
        printf("\n");
    }
    printf("\nchosen on %s: %s (attention and activations: %s)\n",
           isa ? "a CPU with the --isa features" : "this CPU", plan.variant, plan.ops);
    printf("%-8s %-10s %-9s %-10s %s\n", "format", "matmul", "repacked", "activation",
           "quantizer");
    bool any = false;
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
        const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
        if (!plan.mm[t] || !tr)
            continue;
        char mm[24];
        snprintf(mm, sizeof mm, "%s%s", plan.mm[t], plan.fallback[t] ? " *" : "");
        any |= plan.fallback[t];
        printf("%-8s %-10s %-9s %-10s %s\n", tr->name, mm, plan.packed[t] ? "yes" : "no",
               engine_type_name(tr->vec_dot_type),
               tr->vec_dot_type == ENGINE_TYPE_F32 ? "(copy)"
               : plan.act[tr->vec_dot_type]        ? plan.act[tr->vec_dot_type]
                                                   : "reference");
    }
    if (any)
        printf("* fallback: %s has no kernel for the format that this CPU can run\n",
               plan.variant);
    return MB_EXIT_OK;
}

int cmd_kernels(int argc, char **argv)
{
    const char *formats = NULL, *kernel = NULL;
    int64_t threads = 0, reps = 7, gemv_mb = 512;
    const char *isa = NULL;
    bool json = false, list = false;
    enum { OPT_JSON = 1000, OPT_LIST, OPT_ISA, OPT_FORMAT, OPT_KERNEL, OPT_THREADS, OPT_REPS, OPT_GEMV };
    static const struct option longopts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"reps", required_argument, NULL, OPT_REPS},
        {"gemv-mb", required_argument, NULL, OPT_GEMV},
        {"json", no_argument, NULL, OPT_JSON},
        {"list", no_argument, NULL, OPT_LIST},
        {"isa", required_argument, NULL, OPT_ISA},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "h", longopts);
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            kb_usage(stdout);
            return MB_EXIT_OK;
        case OPT_JSON: json = true; break;
        case OPT_LIST: list = true; break;
        case OPT_ISA: isa = v; break;
        case OPT_FORMAT: formats = v; break;
        case OPT_KERNEL: kernel = v; break;
        case OPT_THREADS:
            if (mb_parse_i64(v, &threads) || threads < 1 || threads > 256)
                return cli_usage_error("kernels", "--threads '%s': need an integer 1..256", v);
            break;
        case OPT_REPS:
            if (mb_parse_i64(v, &reps) || reps < 5 || reps > 64)
                return cli_usage_error("kernels", "--reps '%s': need an integer 5..64", v);
            break;
        case OPT_GEMV:
            if (mb_parse_i64(v, &gemv_mb) || gemv_mb < 64 || gemv_mb > 65536)
                return cli_usage_error("kernels", "--gemv-mb '%s': need an integer 64..65536", v);
            break;
        case CLI_OPT_OPERAND:
            return cli_usage_error("kernels", "unexpected argument '%s'", v);
        default:
            return cli_opts_error(&op, "kernels", oc);
        }
    }
    if (isa && !list)
        return cli_usage_error("kernels", "--isa goes with --list (it asks about another CPU; "
                               "nothing is measured there)");
    if (list)
        return kb_list(isa, kernel, json);

    engine_type_t types[ENGINE_TYPE_COUNT];
    int nt = 0;
    if (formats) {
        char **names = NULL;
        size_t nn = 0;
        if (mb_split_csv(formats, &names, &nn))
            return cli_usage_error("kernels", "--format '%s': cannot parse", formats);
        for (size_t i = 0; i < nn && nt < ENGINE_TYPE_COUNT; i++) {
            engine_type_t t;
            const engine_type_traits_t *tr;
            if (engine_type_from_name(names[i], &t) || !(tr = engine_type_traits(t)) ||
                !tr->vec_dot_ref || !tr->quantize || t == ENGINE_TYPE_Q8_1 ||
                t == ENGINE_TYPE_Q8_K) {
                int rc = cli_usage_error("kernels", "--format: '%s' is not a weight format; use "
                                         "one of Q4_0 Q8_0 Q4_K Q6_K Q4_1 Q5_0 Q5_1 IQ4_NL Q2_K "
                                         "Q3_K Q5_K F16 BF16 F32",
                                         names[i]);
                mb_strv_free(names, nn);
                return rc;
            }
            types[nt++] = t;
        }
        mb_strv_free(names, nn);
    } else {
        for (size_t i = 0; i < MB_ARRAY_LEN(kb_default_formats); i++)
            types[nt++] = kb_default_formats[i];
    }

    probes_features_t feat;
    probes_features_detect(&feat);
    int rc = engine_kernels_init(&feat, kernel);
    if (rc == MB_EINVAL)
        return cli_usage_error("kernels", "%s", mb_err_msg());
    if (rc)
        return cli_fail("kernels", rc);
    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? nc : 1;
    }
    engine_pool_t *pool = NULL;
    if ((rc = engine_pool_create((int)threads, &pool)))
        return cli_fail("kernels", rc);

    /* The probe's ceilings with the same threads: read bandwidth over a
     * buffer as large as the GEMV matrix, f32 and int8 peaks. */
    size_t bw_bytes = (size_t)gemv_mb << 20;
    probes_ceilings_opts_t copts = {.threads = {(int)threads}, .n_threads = 1,
                                    .buffer_bytes = bw_bytes, .passes = (int)reps};
    probes_ceilings_t *ceil = calloc(1, sizeof *ceil);
    if (!ceil) {
        engine_pool_destroy(pool);
        return cli_fail("kernels", mb_err_set(MB_ENOMEM, "cannot allocate the ceilings record"));
    }
    MB_INFO("kernels: measuring the ceilings (read bandwidth over %lld MB, peaks) with %lld threads",
            (long long)gemv_mb, (long long)threads);
    if ((rc = probes_ceilings_measure(&copts, ceil))) {
        free(ceil);
        engine_pool_destroy(pool);
        return cli_fail("kernels", rc);
    }
    /* Medians against medians: a busy machine shows in both alike. */
    double read_gbs = ceil->n_bw > 0 ? ceil->bw[0].read_median_gbs : NAN;
    double peak_i8 = NAN, peak_f32 = NAN;
    const char *peak_i8_name = "", *peak_f32_name = "";
    for (int i = 0; i < ceil->n_peaks; i++)
        for (int j = 0; j < ceil->peaks[i].n; j++) {
            if (ceil->peaks[i].threads[j] != (int)threads)
                continue;
            double g = ceil->peaks[i].gops_median[j];
            bool i8 = !strcmp(ceil->peaks[i].kind, "i8");
            if (i8 && !(g <= peak_i8)) {
                peak_i8 = g;
                peak_i8_name = ceil->peaks[i].name;
            } else if (!i8 && !(g <= peak_f32)) {
                peak_f32 = g;
                peak_f32_name = ceil->peaks[i].name;
            }
        }

    kb_result_t res[ENGINE_TYPE_COUNT];
    int nres = 0;
    for (int i = 0; i < nt; i++) {
        MB_INFO("kernels: %s", engine_type_name(types[i]));
        rc = kb_run_format(pool, types[i], bw_bytes, (int)reps, &res[nres]);
        if (rc) {
            engine_pool_destroy(pool);
            return cli_fail("kernels", rc);
        }
        nres++;
    }
    engine_pool_destroy(pool);

    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "kernel");
        mb_json_str(&j, engine_kernels_name());
        mb_json_key(&j, "threads");
        mb_json_int(&j, threads);
        mb_json_key(&j, "reps");
        mb_json_int(&j, reps);
        mb_json_key(&j, "read_gbs");
        mb_json_num(&j, read_gbs);
        mb_json_key(&j, "peak_i8_gops");
        mb_json_num(&j, peak_i8);
        mb_json_key(&j, "peak_i8_kernel");
        mb_json_str(&j, peak_i8_name);
        mb_json_key(&j, "peak_f32_gflops");
        mb_json_num(&j, peak_f32);
        mb_json_key(&j, "peak_f32_kernel");
        mb_json_str(&j, peak_f32_name);
        mb_json_key(&j, "formats");
        mb_json_arr_begin(&j);
        for (int i = 0; i < nres; i++) {
            mb_json_obj_begin(&j);
            mb_json_key(&j, "format");
            mb_json_str(&j, engine_type_name(res[i].type));
            mb_json_key(&j, "specialized");
            mb_json_bool(&j, res[i].specialized);
            mb_json_key(&j, "gemv_gbs");
            mb_json_num(&j, res[i].gemv_gbs);
            mb_json_key(&j, "gemv_of_read_bw");
            mb_json_num(&j, res[i].gemv_gbs / read_gbs);
            mb_json_key(&j, "gemm_2048_gops");
            mb_json_num(&j, res[i].gemm_gops[0]);
            mb_json_key(&j, "gemm_8192_gops");
            mb_json_num(&j, res[i].gemm_gops[1]);
            double pk = engine_type_traits(res[i].type)->quantized ? peak_i8 : peak_f32;
            mb_json_key(&j, "gemm_2048_of_peak");
            mb_json_num(&j, res[i].gemm_gops[0] / pk);
            mb_json_key(&j, "gemm_8192_of_peak");
            mb_json_num(&j, res[i].gemm_gops[1] / pk);
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_obj_end(&j);
        fputc('\n', stdout);
        free(ceil);
        return MB_EXIT_OK;
    }
    printf("kernel variant %s, %lld threads, median of %lld runs\n", engine_kernels_name(),
           (long long)threads, (long long)reps);
    printf("ceilings (probe, %lld threads, median passes): read %.1f GB/s (%lld MB buffer), int8 %.1f GOP/s (%s), "
           "f32 %.1f GFLOP/s (%s)\n\n",
           (long long)threads, read_gbs, (long long)gemv_mb, peak_i8, peak_i8_name, peak_f32,
           peak_f32_name);
    printf("%-7s %-10s %9s %6s  %10s %6s  %10s %6s\n", "format", "code", "GEMV GB/s", "%read",
           "GEMM 2048", "%peak", "GEMM 8192", "%peak");
    for (int i = 0; i < nres; i++) {
        double pk = engine_type_traits(res[i].type)->quantized ? peak_i8 : peak_f32;
        printf("%-7s %-10s %9.1f %5.0f%%  %10.1f %5.1f%%  %10.1f %5.1f%%\n",
               engine_type_name(res[i].type),
               res[i].specialized ? engine_kernels_name() : "reference", res[i].gemv_gbs,
               100.0 * res[i].gemv_gbs / read_gbs, res[i].gemm_gops[0],
               100.0 * res[i].gemm_gops[0] / pk, res[i].gemm_gops[1],
               100.0 * res[i].gemm_gops[1] / pk);
    }
    printf("\nGEMM in GOP/s (2 ops per multiply-add), against the int8 peak for quantized formats\n"
           "and the f32 peak for F32/F16/BF16; 'reference' = the scalar reference code.\n");
    free(ceil);
    return MB_EXIT_OK;
}
