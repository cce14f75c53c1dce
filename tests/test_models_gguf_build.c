/*
 * test_models_gguf_build.c: synthetic models written as GGUF (models build)
 * and the cache. The tiny catalog models have the shape of llama.cpp's files
 * in ../shared: our file must carry the same metadata keys and values, the
 * same tensors with the same shapes, and (per recipe) the same types.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models.h"

#define PEER_DIR MB_SHARED "/fixtures/gguf-peer"

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mb_build_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

static void build(const char *model, const char *recipe, uint64_t seed, int threads,
                  const char *path)
{
    const models_spec_t *spec;
    const models_recipe_t *r;
    cr_assert_eq(models_catalog_find(model, &spec), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(models_recipe_find(recipe, &r), MB_OK);
    cr_assert_eq(models_build_gguf(spec, r, seed, threads, path), MB_OK, "%s", mb_err_msg());
}

/* Our tiny model vs llama.cpp's file of the same shape and recipe. */
static void compare_with_peer(const char *arch, const char *recipe)
{
    char peer[512], ours[512];
    snprintf(peer, sizeof peer, PEER_DIR "/tiny-%s-%s.gguf", arch, recipe);
    if (access(peer, R_OK) != 0)
        cr_skip("%s absent: not compared with llama.cpp", peer);
    snprintf(ours, sizeof ours, "%s/tiny-%s-%s.gguf", tmpdir, arch, recipe);
    char model[64];
    snprintf(model, sizeof model, "tiny-%s", arch);
    build(model, recipe, 7, 2, ours);
    models_gguf_t *p, *g;
    cr_assert_eq(models_gguf_open(peer, &p), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(models_gguf_open(ours, &g), MB_OK, "%s", mb_err_msg());
    /* every key llama.cpp's file has, with the same value (the name aside) */
    for (int64_t i = 0; i < models_gguf_n_kv(p); i++) {
        const char *key = models_gguf_kv_key(p, i);
        if (!strcmp(key, "general.name"))
            continue;
        int64_t j = models_gguf_find_key(g, key);
        cr_expect_geq(j, 0, "%s: key %s missing", recipe, key);
        if (j < 0)
            continue;
        models_gguf_value_t a, b;
        models_gguf_kv_value(p, i, &a);
        models_gguf_kv_value(g, j, &b);
        cr_expect_eq(a.type, b.type, "%s: %s type %d vs %d", recipe, key, a.type, b.type);
        if (a.type == MODELS_GGUF_STR)
            cr_expect_str_eq(a.str, b.str, "%s", key);
        else if (a.type == MODELS_GGUF_ARR)
            cr_expect_eq(a.arr.n, b.arr.n, "%s", key);
        else
            cr_expect(!memcmp(&a.v, &b.v, sizeof a.v), "%s: values differ", key);
    }
    const char *w;
    cr_expect_eq(models_gguf_get_str(g, "mobench.weights", &w), MB_OK);
    cr_expect_str_eq(w, "synthetic");
    /* same tensors, shapes and types */
    cr_expect_eq(models_gguf_n_tensors(g), models_gguf_n_tensors(p));
    for (int64_t i = 0; i < models_gguf_n_tensors(p); i++) {
        const models_gguf_tensor_t *a = models_gguf_tensor(p, i);
        const models_gguf_tensor_t *b = models_gguf_find_tensor(g, a->name);
        cr_assert_not_null(b, "%s: tensor %s missing", recipe, a->name);
        cr_expect_eq(a->n_dims, b->n_dims, "%s", a->name);
        cr_expect(!memcmp(a->ne, b->ne, sizeof a->ne), "%s: shape differs", a->name);
        cr_expect_eq(a->type, b->type, "%s %s: ours %s, llama.cpp %s", recipe, a->name,
                     engine_type_name(b->type), engine_type_name(a->type));
        cr_expect_eq(a->nbytes, b->nbytes, "%s", a->name);
    }
    models_gguf_close(g);
    models_gguf_close(p);
}

Test(gguf_build, tiny_llama_like_llama_cpp, .init = make_tmpdir, .fini = rm_tmpdir)
{
    compare_with_peer("llama", "Q4_K_M");
    compare_with_peer("llama", "Q2_K");
}

Test(gguf_build, tiny_qwen3_like_llama_cpp, .init = make_tmpdir, .fini = rm_tmpdir)
{
    compare_with_peer("qwen3", "Q8_0");
}

/* Same model and seed: the same bytes, whatever the thread count. */
Test(gguf_build, deterministic, .init = make_tmpdir, .fini = rm_tmpdir)
{
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/a.gguf", tmpdir);
    snprintf(b, sizeof b, "%s/b.gguf", tmpdir);
    snprintf(c, sizeof c, "%s/c.gguf", tmpdir);
    build("tiny-qwen3", "F16", 3, 1, a);
    build("tiny-qwen3", "F16", 3, 2, b);
    build("tiny-qwen3", "F16", 4, 2, c);
    char ha[65], hb[65], hc[65];
    cr_assert_eq(mb_sha256_file(a, ha), MB_OK);
    cr_assert_eq(mb_sha256_file(b, hb), MB_OK);
    cr_assert_eq(mb_sha256_file(c, hc), MB_OK);
    cr_expect_str_eq(ha, hb);
    cr_expect_str_neq(ha, hc, "another seed must give other weights");
    /* and the reader accepts it, F32 norms near 1 */
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open(a, &g), MB_OK, "%s", mb_err_msg());
    uint64_t seed;
    cr_expect_eq(models_gguf_get_u64(g, "mobench.seed", &seed), MB_OK);
    cr_expect_eq(seed, 3);
    /* the generator's version, so caches drop files of an older generator */
    uint64_t gen = 0;
    cr_expect_eq(models_gguf_get_u64(g, "mobench.synth_version", &gen), MB_OK);
    cr_expect_eq(gen, (uint64_t)models_synth_version());
    cr_expect_not_null(models_gguf_find_tensor(g, "blk.3.attn_k_norm.weight"));
    models_gguf_close(g);
}

Test(gguf_build, cache_builds_once_and_rebuilds_bad_files, .init = make_tmpdir,
     .fini = rm_tmpdir)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    setenv("MOBENCH_CACHE", dir, 1);
    const models_spec_t *spec;
    const models_recipe_t *r;
    cr_assert_eq(models_catalog_find("tiny-llama", &spec), MB_OK);
    cr_assert_eq(models_recipe_find("BF16", &r), MB_OK);
    char path[1024], want[1024];
    snprintf(want, sizeof want, "%s/tiny-llama-s5-BF16.gguf", dir);
    bool built;
    cr_assert_eq(models_cache_get(spec, r, 5, 2, path, sizeof path, &built), MB_OK, "%s",
                 mb_err_msg());
    cr_expect_str_eq(path, want);
    cr_expect(built);
    struct stat st1, st2;
    cr_assert_eq(stat(path, &st1), 0);
    cr_assert_eq(models_cache_get(spec, r, 5, 2, path, sizeof path, &built), MB_OK);
    cr_expect_not(built, "second request must reuse the file");
    /* a damaged file is rebuilt, not used */
    cr_assert_eq(truncate(path, 1000), 0);
    cr_assert_eq(models_cache_get(spec, r, 5, 2, path, sizeof path, &built), MB_OK);
    cr_expect(built);
    cr_assert_eq(stat(path, &st2), 0);
    cr_expect_eq(st2.st_size, st1.st_size);
    /* another seed is another file */
    cr_assert_eq(models_cache_get(spec, r, 6, 2, path, sizeof path, &built), MB_OK);
    cr_expect(built);
    cr_expect(strstr(path, "-s6-"));
    unsetenv("MOBENCH_CACHE");
    setenv("HOME", tmpdir, 1);
    cr_assert_eq(models_cache_dir(path, sizeof path), MB_OK);
    snprintf(want, sizeof want, "%s/.cache/mobench", tmpdir);
    cr_expect_str_eq(path, want);
}

Test(gguf_build, writer_fill_errors, .init = make_tmpdir, .fini = rm_tmpdir)
{
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    int64_t ne[2] = {32, 2};
    cr_assert_eq(models_gguf_writer_add_tensor(w, "x", ENGINE_TYPE_Q8_0, 2, ne, NULL, 68), MB_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/x.gguf", tmpdir);
    cr_expect_eq(models_gguf_writer_write(w, path), MB_EINVAL);
    cr_expect(strstr(mb_err_msg(), "no fill function"), "%s", mb_err_msg());
    void *buf;
    size_t len;
    cr_expect_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_EINVAL);
    cr_expect_neq(access(path, F_OK), 0, "no file is left behind");
    models_gguf_writer_destroy(w);
}

/* Every catalog architecture writes a readable file with llama.cpp's keys: the
 * real specs shrunk to a few layers and small widths (same switches). */
Test(gguf_build, every_catalog_arch_small, .init = make_tmpdir, .fini = rm_tmpdir)
{
    const models_recipe_t *r;
    cr_assert_eq(models_recipe_find("Q8_0", &r), MB_OK);
    for (int i = 0; i < models_catalog_count(); i++) {
        models_spec_t s = *models_catalog_get(i);
        engine_hparams_t *hp = &s.hp;
        hp->n_vocab = 512;
        hp->n_embd = 256;
        hp->n_ff = 512;
        hp->n_layer = 5;
        hp->head_dim = 32;
        hp->n_kv_shared = MB_MIN(hp->n_kv_shared, 2);
        hp->n_layer_sparse = MB_MIN(hp->n_layer_sparse, 2);
        hp->laurel_rank = MB_MIN(hp->laurel_rank, 32);
        hp->n_embd_per_layer = MB_MIN(hp->n_embd_per_layer, 32);
        hp->n_vocab_per_layer = MB_MIN(hp->n_vocab_per_layer, 512);
        cr_assert_eq(engine_hparams_validate(hp), MB_OK, "%s: %s", s.name, mb_err_msg());
        char path[512];
        snprintf(path, sizeof path, "%s/%s.gguf", tmpdir, s.name);
        cr_assert_eq(models_build_gguf(&s, r, 1, 2, path), MB_OK, "%s: %s", s.name,
                     mb_err_msg());
        models_gguf_t *g;
        cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s: %s", s.name, mb_err_msg());
        const char *arch;
        cr_assert_eq(models_gguf_get_str(g, "general.architecture", &arch), MB_OK);
        cr_expect_str_eq(arch, engine_arch_name(hp->arch));
        char key[128];
        uint32_t v;
        snprintf(key, sizeof key, "%s.block_count", arch);
        cr_expect_eq(models_gguf_get_u32(g, key, &v), MB_OK, "%s", mb_err_msg());
        cr_expect_eq(v, 5);
        snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
        cr_expect_eq(models_gguf_get_u32(g, key, &v), MB_OK);
        cr_expect_eq(v, (uint32_t)hp->n_head_kv);
        models_tensor_info_t *infos;
        int n;
        cr_assert_eq(models_spec_tensors(&s, &infos, &n), MB_OK);
        bool listed = false; /* rope_freqs.weight: from the catalog, or added by the build */
        for (int k = 0; k < n; k++)
            listed |= !strcmp(infos[k].name, "rope_freqs.weight");
        int64_t want = n + (hp->rope_llama3 && !listed ? 1 : 0);
        cr_expect_eq(models_gguf_n_tensors(g), want, "%s", s.name);
        for (int k = 0; k < n; k++)
            cr_expect_not_null(models_gguf_find_tensor(g, infos[k].name), "%s: %s", s.name,
                               infos[k].name);
        if (hp->rope_llama3)
            cr_expect_not_null(models_gguf_find_tensor(g, "rope_freqs.weight"), "%s", s.name);
        if (hp->arch == ENGINE_ARCH_GEMMA3N) {
            models_gguf_arr_t a;
            cr_expect_eq(models_gguf_get_arr(g, "gemma3n.attention.sliding_window_pattern", &a),
                         MB_OK);
            cr_expect_eq(a.n, 5);
        }
        free(infos);
        models_gguf_close(g);
        unlink(path);
    }
}
