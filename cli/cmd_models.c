/* cmd_models.c: `mobench models SUBCOMMAND`: a small dispatcher table.
 * This file: `inspect` (a GGUF file's metadata, tensors, types, bits per
 * weight) and `build` (synthetic weights -> GGUF, or the cache). Catalog
 * subcommands (`list`, `show`, `eval`) live in cmd_models_catalog.c and join
 * the table below with one row each. */
#include "cli_opts.h"
#include "commands.h"
#include "mb.h"
#include "models.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} models_sub_t;

static int models_inspect(int argc, char **argv);
static int models_build(int argc, char **argv);

/* ---- the subcommand table ------------------------------------------------------ */
static const models_sub_t models_subs[] = {
    {"inspect", models_inspect, "a GGUF file: metadata, tensors, types, bits per weight"},
    {"build", models_build, "write a catalog model's synthetic weights as GGUF at a quant recipe"},
    {"list", cmd_models_list, "the catalog: every model with its size and KV cache cost"},
    {"show", cmd_models_show, "one catalog model: hyperparameters, source, bytes per type"},
    {"eval", cmd_models_eval, "a GGUF file's logits for a token sequence (cross-check engines)"},
};

static void models_usage(FILE *f)
{
    fprintf(f, "usage: mobench models SUBCOMMAND [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < MB_ARRAY_LEN(models_subs); i++)
        fprintf(f, "  %-8s %s\n", models_subs[i].name, models_subs[i].summary);
    fprintf(f, "\n'mobench models SUBCOMMAND --help' lists its options.\n");
}

int cmd_models(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        models_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? MB_EXIT_USAGE : MB_EXIT_OK;
    }
    for (size_t i = 0; i < MB_ARRAY_LEN(models_subs); i++)
        if (!strcmp(argv[1], models_subs[i].name))
            return models_subs[i].fn(argc - 1, argv + 1);
    return cli_usage_error("models", "unknown subcommand '%s' (see 'mobench models --help')",
                           argv[1]);
}

/* ---- inspect ---------------------------------------------------------------------- */
#define INSPECT_ARR_HEAD 5 /* array elements shown */
/* models build stopped by SIGINT/SIGTERM (partial file removed): 128 + SIGINT,
 * what a shell reports for an interrupted command. */
#define MODELS_EXIT_INTERRUPTED 130

/* One scalar or array element as text. */
static void value_text(FILE *f, const models_gguf_value_t *v, size_t max_str)
{
    switch (v->type) {
    case MODELS_GGUF_U8: case MODELS_GGUF_U16: case MODELS_GGUF_U32: case MODELS_GGUF_U64:
        fprintf(f, "%" PRIu64, v->v.u64);
        break;
    case MODELS_GGUF_I8: case MODELS_GGUF_I16: case MODELS_GGUF_I32: case MODELS_GGUF_I64:
        fprintf(f, "%" PRId64, v->v.i64);
        break;
    case MODELS_GGUF_F32: fprintf(f, "%.9g", (double)v->v.f32); break;
    case MODELS_GGUF_F64: fprintf(f, "%.17g", v->v.f64); break;
    case MODELS_GGUF_BOOL: fputs(v->v.b ? "true" : "false", f); break;
    case MODELS_GGUF_STR: {
        fputc('"', f);
        size_t n = MB_MIN(v->str_len, max_str);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v->str[i];
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02x", c);
            else
                fputc(c, f);
        }
        fputc('"', f);
        if (n < v->str_len)
            fprintf(f, "... (%zu bytes)", v->str_len);
        break;
    }
    case MODELS_GGUF_ARR: {
        fprintf(f, "[%s x %" PRIu64 "]", models_gguf_vtype_name(v->arr.type), v->arr.n);
        uint64_t n = MB_MIN(v->arr.n, (uint64_t)INSPECT_ARR_HEAD);
        fputs(n ? " " : "", f);
        for (uint64_t i = 0; i < n; i++) {
            models_gguf_value_t e;
            if (models_gguf_arr_get(&v->arr, i, &e))
                break;
            if (i)
                fputs(", ", f);
            if (e.type == MODELS_GGUF_ARR)
                fprintf(f, "[%s x %" PRIu64 "]", models_gguf_vtype_name(e.arr.type), e.arr.n);
            else
                value_text(f, &e, 40);
        }
        if (v->arr.n > n)
            fputs(", ...", f);
        break;
    }
    default: fputs("?", f);
    }
}

/* A string with its exact length as JSON (strings in arrays are not NUL-terminated). */
static void json_strn(mb_json_t *j, const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c) {
        mb_json_null(j);
        return;
    }
    memcpy(c, s, n);
    c[n] = '\0';
    mb_json_str(j, c);
    free(c);
}

static void value_json(mb_json_t *j, const models_gguf_value_t *v, int depth)
{
    switch (v->type) {
    case MODELS_GGUF_U8: case MODELS_GGUF_U16: case MODELS_GGUF_U32: case MODELS_GGUF_U64:
        if (v->v.u64 > INT64_MAX)
            mb_json_num(j, (double)v->v.u64);
        else
            mb_json_int(j, (int64_t)v->v.u64);
        break;
    case MODELS_GGUF_I8: case MODELS_GGUF_I16: case MODELS_GGUF_I32: case MODELS_GGUF_I64:
        mb_json_int(j, v->v.i64);
        break;
    case MODELS_GGUF_F32: mb_json_num(j, v->v.f32); break;
    case MODELS_GGUF_F64: mb_json_num(j, v->v.f64); break;
    case MODELS_GGUF_BOOL: mb_json_bool(j, v->v.b); break;
    case MODELS_GGUF_STR: json_strn(j, v->str, v->str_len); break;
    case MODELS_GGUF_ARR: {
        /* summarized: element type, count, the first few elements */
        mb_json_obj_begin(j);
        mb_json_key(j, "array_of");
        mb_json_str(j, models_gguf_vtype_name(v->arr.type));
        mb_json_key(j, "n");
        mb_json_int(j, (int64_t)MB_MIN(v->arr.n, (uint64_t)INT64_MAX));
        mb_json_key(j, "head");
        mb_json_arr_begin(j);
        for (uint64_t i = 0; i < MB_MIN(v->arr.n, (uint64_t)INSPECT_ARR_HEAD); i++) {
            models_gguf_value_t e;
            if (models_gguf_arr_get(&v->arr, i, &e))
                break;
            if (depth < 4)
                value_json(j, &e, depth + 1);
            else
                mb_json_null(j);
        }
        mb_json_arr_end(j);
        mb_json_obj_end(j);
        break;
    }
    default: mb_json_null(j);
    }
}

typedef struct {
    int64_t tensors;
    int64_t params;
    uint64_t bytes;
} type_sum_t;

/* ggml's name of a type id, also of types mobench cannot run. */
static const char *tname(int id)
{
    const char *n = models_gguf_ggml_type_name((uint32_t)id);
    return n ? n : "?";
}

static bool runnable(int id)
{
    return id >= 0 && id < ENGINE_TYPE_COUNT && engine_type_traits((engine_type_t)id) != NULL;
}

static double bpw(uint64_t bytes, int64_t params) { return params ? 8.0 * (double)bytes / (double)params : 0; }

static void shape_text(const models_gguf_tensor_t *t, char *buf, size_t len)
{
    size_t o = 0;
    for (uint32_t d = 0; d < t->n_dims && o < len; d++)
        o += (size_t)snprintf(buf + o, len - o, "%s%" PRId64, d ? " x " : "", t->ne[d]);
}

static int models_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false, sha = false;
    enum { OPT_JSON = 1000, OPT_SHA };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"sha256", no_argument, NULL, OPT_SHA},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "h", longopts);
    int oc;
    const char *word;
    while ((oc = cli_opts_next(&op, &word)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            printf("usage: mobench models inspect FILE.gguf [--json] [--sha256]\n\n"
                   "Reads a GGUF file (versions 2 and 3), checks every tensor's shape, type and\n"
                   "position, and prints its metadata (arrays summarized: type, length, first %d\n"
                   "elements), its tensors (type, shape, bytes, bits per weight), a summary per\n"
                   "type, and the totals.\n\n"
                   "  --json     one JSON object on stdout instead of tables\n"
                   "  --sha256   also print the file's SHA-256 (reads the whole file)\n",
                   INSPECT_ARR_HEAD);
            return MB_EXIT_OK;
        case OPT_JSON: json = true; break;
        case OPT_SHA: sha = true; break;
        case CLI_OPT_OPERAND:
            if (path)
                return cli_usage_error("models inspect", "one file at a time ('%s' and '%s')", path, word);
            path = word;
            break;
        default:
            return cli_opts_error(&op, "models inspect", oc);
        }
    }
    if (!path)
        return cli_usage_error("models inspect", "which file? mobench models inspect FILE.gguf");

    models_gguf_t *g;
    /* any ggml type: a file mobench cannot run can still be inspected */
    int rc = models_gguf_open_ex(path, MODELS_GGUF_OPEN_ANY_TYPE, &g);
    if (rc)
        return cli_fail("models inspect", rc);
    char hex[65] = "";
    if (sha)
        models_gguf_sha256(g, hex);

    type_sum_t sums[MODELS_GGUF_GGML_TYPE_COUNT];
    memset(sums, 0, sizeof sums);
    int64_t total_params = 0;
    uint64_t total_bytes = 0;
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        type_sum_t *s = &sums[(unsigned)t->type % MODELS_GGUF_GGML_TYPE_COUNT];
        s->tensors++;
        s->params += models_gguf_tensor_nelem(t);
        s->bytes += t->nbytes;
        total_params += models_gguf_tensor_nelem(t);
        total_bytes += t->nbytes;
    }
    const char *arch = NULL;
    models_gguf_get_str(g, "general.architecture", &arch);

    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "file");
        mb_json_str(&j, path);
        mb_json_key(&j, "gguf_version");
        mb_json_int(&j, models_gguf_version(g));
        mb_json_key(&j, "file_bytes");
        mb_json_int(&j, (int64_t)models_gguf_file_size(g));
        mb_json_key(&j, "alignment");
        mb_json_int(&j, models_gguf_alignment(g));
        mb_json_key(&j, "data_offset");
        mb_json_int(&j, (int64_t)models_gguf_data_offset(g));
        if (sha) {
            mb_json_key(&j, "sha256");
            mb_json_str(&j, hex);
        }
        mb_json_key(&j, "architecture");
        mb_json_str(&j, arch);
        mb_json_key(&j, "metadata");
        mb_json_obj_begin(&j);
        for (int64_t i = 0; i < models_gguf_n_kv(g); i++) {
            models_gguf_value_t v;
            models_gguf_kv_value(g, i, &v);
            mb_json_key(&j, models_gguf_kv_key(g, i));
            value_json(&j, &v, 0);
        }
        mb_json_obj_end(&j);
        mb_json_key(&j, "tensors");
        mb_json_arr_begin(&j);
        for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
            const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
            mb_json_obj_begin(&j);
            mb_json_key(&j, "name");
            mb_json_str(&j, t->name);
            mb_json_key(&j, "type");
            mb_json_str(&j, tname((int)t->type));
            mb_json_key(&j, "shape");
            mb_json_arr_begin(&j);
            for (uint32_t d = 0; d < t->n_dims; d++)
                mb_json_int(&j, t->ne[d]);
            mb_json_arr_end(&j);
            mb_json_key(&j, "offset");
            mb_json_int(&j, (int64_t)t->offset);
            mb_json_key(&j, "bytes");
            mb_json_int(&j, (int64_t)t->nbytes);
            mb_json_key(&j, "bpw");
            mb_json_num(&j, bpw(t->nbytes, models_gguf_tensor_nelem(t)));
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_key(&j, "types");
        mb_json_arr_begin(&j);
        for (int ty = 0; ty < MODELS_GGUF_GGML_TYPE_COUNT; ty++) {
            if (!sums[ty].tensors)
                continue;
            mb_json_obj_begin(&j);
            mb_json_key(&j, "type");
            mb_json_str(&j, tname(ty));
            mb_json_key(&j, "runnable");
            mb_json_bool(&j, runnable(ty));
            mb_json_key(&j, "tensors");
            mb_json_int(&j, sums[ty].tensors);
            mb_json_key(&j, "params");
            mb_json_int(&j, sums[ty].params);
            mb_json_key(&j, "bytes");
            mb_json_int(&j, (int64_t)sums[ty].bytes);
            mb_json_key(&j, "bpw");
            mb_json_num(&j, bpw(sums[ty].bytes, sums[ty].params));
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_key(&j, "n_tensors");
        mb_json_int(&j, models_gguf_n_tensors(g));
        mb_json_key(&j, "params");
        mb_json_int(&j, total_params);
        mb_json_key(&j, "tensor_bytes");
        mb_json_int(&j, (int64_t)total_bytes);
        mb_json_key(&j, "bpw");
        mb_json_num(&j, bpw(total_bytes, total_params));
        mb_json_obj_end(&j);
        fputc('\n', stdout);
        models_gguf_close(g);
        return MB_EXIT_OK;
    }

    char fsz[32], tsz[32];
    mb_fmt_bytes(models_gguf_file_size(g), fsz, sizeof fsz);
    printf("%s: GGUF v%u, %s, architecture %s\n", path, models_gguf_version(g), fsz,
           arch ? arch : "(none)");
    printf("%lld metadata keys, %lld tensors, alignment %u, data at offset %llu\n",
           (long long)models_gguf_n_kv(g), (long long)models_gguf_n_tensors(g),
           models_gguf_alignment(g), (unsigned long long)models_gguf_data_offset(g));
    if (sha)
        printf("sha256 %s\n", hex);

    printf("\nmetadata:\n");
    size_t kw = 10;
    for (int64_t i = 0; i < models_gguf_n_kv(g); i++)
        kw = MB_MAX(kw, strlen(models_gguf_kv_key(g, i)));
    kw = MB_MIN(kw, (size_t)48);
    for (int64_t i = 0; i < models_gguf_n_kv(g); i++) {
        models_gguf_value_t v;
        models_gguf_kv_value(g, i, &v);
        printf("  %-*s %-4s ", (int)kw, models_gguf_kv_key(g, i), models_gguf_vtype_name(v.type));
        value_text(stdout, &v, 200);
        if (!strcmp(models_gguf_kv_key(g, i), "general.file_type") && v.type == MODELS_GGUF_U32)
            for (int k = 0; k < models_recipe_count(); k++)
                if (models_recipe_get(k)->file_type == v.v.u64)
                    printf(" (%s)", models_recipe_get(k)->name);
        putchar('\n');
    }

    size_t nw = 6;
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++)
        nw = MB_MAX(nw, strlen(models_gguf_tensor(g, i)->name));
    printf("\ntensors:\n  %-*s %-7s %-22s %12s %6s\n", (int)nw, "name", "type", "shape", "bytes",
           "bpw");
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        char shape[96];
        shape_text(t, shape, sizeof shape);
        printf("  %-*s %-7s %-22s %12zu %6.2f\n", (int)nw, t->name, tname((int)t->type),
               shape, t->nbytes, bpw(t->nbytes, models_gguf_tensor_nelem(t)));
    }

    printf("\ntypes:\n  %-7s %7s %14s %14s %6s\n", "type", "tensors", "params", "bytes", "bpw");
    bool all_runnable = true;
    for (int ty = 0; ty < MODELS_GGUF_GGML_TYPE_COUNT; ty++) {
        if (!sums[ty].tensors)
            continue;
        all_runnable &= runnable(ty);
        printf("  %-7s %7lld %14lld %14llu %6.3f%s\n", tname(ty),
               (long long)sums[ty].tensors, (long long)sums[ty].params,
               (unsigned long long)sums[ty].bytes, bpw(sums[ty].bytes, sums[ty].params),
               runnable(ty) ? "" : "  (no mobench kernels)");
    }
    mb_fmt_bytes(total_bytes, tsz, sizeof tsz);
    printf("  %-7s %7lld %14lld %14llu %6.3f\n", "total", (long long)models_gguf_n_tensors(g),
           (long long)total_params, (unsigned long long)total_bytes,
           bpw(total_bytes, total_params));
    printf("\n%lld parameters in %s of tensor data: %.3f bits per weight\n",
           (long long)total_params, tsz, bpw(total_bytes, total_params));
    if (!all_runnable)
        printf("mobench cannot run this file: some tensor types have no kernels here\n");
    models_gguf_close(g);
    return MB_EXIT_OK;
}

/* ---- build ---------------------------------------------------------------------------- */
static void build_help(void)
{
    printf("usage: mobench models build MODEL --quant RECIPE [--seed S] [-o FILE.gguf] "
           "[--threads N]\n\n"
           "Writes MODEL's synthetic weights (deterministic from MODEL and the seed; see\n"
           "docs/SYNTHETIC.md), quantized with RECIPE's per-tensor types, as a GGUF file that\n"
           "llama.cpp can load too (with a minimal synthetic vocabulary). Prints the path.\n\n"
           "  --quant RECIPE  ");
    for (int i = 0; i < models_recipe_count(); i++)
        printf("%s%s", i ? ", " : "", models_recipe_get(i)->name);
    printf("\n  --seed S        weights seed (default %d, as bench, sweep and quality: the\n"
           "                  same cached model)\n", CLI_DEFAULT_SEED);
    printf("  -o FILE         output file; without it the file goes to the cache\n"
           "                  ($MOBENCH_CACHE, else ~/.cache/mobench) and is reused when\n"
           "                  it is there already\n"
           "  --threads N     threads for generating and quantizing (default: all cores)\n"
           "\nCtrl-C (SIGINT) or SIGTERM stops the build within a moment and removes the\n"
           "partial file; the exit status is then 130.\n"
           "Models: 'mobench models list'.\n");
}

static int models_build(int argc, char **argv)
{
    const char *name = NULL, *quant = NULL, *out = NULL;
    int64_t seed = CLI_DEFAULT_SEED, threads = 0;
    enum { OPT_SEED = 1000 };
    static const struct option longopts[] = {
        {"quant", required_argument, NULL, 'q'},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "q:t:o:h", longopts);
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            build_help();
            return MB_EXIT_OK;
        case 'q': quant = v; break;
        case OPT_SEED:
            if (mb_parse_i64(v, &seed) || seed < 0)
                return cli_usage_error("models build", "--seed needs a number >= 0");
            break;
        case 't':
            if (mb_parse_i64(v, &threads) || threads < 1 || threads > 256)
                return cli_usage_error("models build", "--threads needs a number 1..256");
            break;
        case 'o': out = v; break;
        case CLI_OPT_OPERAND:
            if (name)
                return cli_usage_error("models build", "one model at a time ('%s' and '%s')", name, v);
            name = v;
            break;
        default:
            return cli_opts_error(&op, "models build", oc);
        }
    }
    if (!name)
        return cli_usage_error("models build", "which model? (see 'mobench models list')");
    if (!quant)
        return cli_usage_error("models build", "--quant RECIPE is required");
    const models_spec_t *spec;
    const models_recipe_t *r;
    int rc = models_catalog_find(name, &spec);
    if (rc)
        return cli_fail("models build", rc);
    if ((rc = models_recipe_find(quant, &r)))
        return cli_usage_error("models build", "%s", mb_err_msg());
    if (out) {
        rc = models_build_gguf(spec, r, (uint64_t)seed, (int)threads, out);
        if (rc == MB_EINTR) {
            fprintf(stderr, "mobench: models build: %s\n", mb_err_msg());
            return MODELS_EXIT_INTERRUPTED;
        }
        if (rc)
            return cli_fail("models build", rc);
        printf("%s\n", out);
        return MB_EXIT_OK;
    }
    char path[2048];
    bool built = false;
    rc = models_cache_get(spec, r, (uint64_t)seed, (int)threads, path, sizeof path, &built);
    if (rc == MB_EINTR) {
        fprintf(stderr, "mobench: models build: %s\n", mb_err_msg());
        return MODELS_EXIT_INTERRUPTED;
    }
    if (rc)
        return cli_fail("models build", rc);
    if (!built)
        MB_INFO("models build: %s is in the cache already", path);
    printf("%s\n", path);
    return MB_EXIT_OK;
}
