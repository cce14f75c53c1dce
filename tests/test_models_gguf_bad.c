/*
 * test_models_gguf_bad.c: the corpus of malformed GGUF files in
 * tests/fixtures/gguf-bad/. Each must be refused with its own code and
 * message (never a crash, also under ASan), from the file and from memory,
 * and the committed files must equal what gen_bad.c makes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "models.h"

#define GEN_BAD_NO_MAIN
#include "fixtures/gguf-bad/gen_bad.c"

#define BAD_DIR MB_FIXTURES "/gguf-bad/"

typedef struct {
    const char *file;
    int code;
    const char *msg[3]; /* substrings the message must contain */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"empty.gguf", MB_EFORMAT, {"truncated header", "0 bytes"}},
    {"truncated-header.gguf", MB_EFORMAT, {"truncated header", "10 bytes"}},
    {"bad-magic.gguf", MB_EFORMAT, {"not a GGUF file", "bad magic 47 47 4d 4c"}},
    {"version1.gguf", MB_EVERSION, {"GGUF version 1", "re-convert"}},
    {"version4.gguf", MB_EVERSION, {"GGUF version 4", "2 and 3"}},
    {"huge-n-tensors.gguf", MB_EFORMAT, {"claims 4611686018427387904 tensors"}},
    {"huge-n-kv.gguf", MB_EFORMAT, {"claims 4611686018427387904 metadata entries"}},
    {"key-too-long.gguf", MB_EFORMAT, {"metadata key at offset 24", "length 1000000"}},
    {"string-too-long.gguf", MB_EFORMAT, {"string value at offset 48", "key 'general.name'"}},
    {"array-too-long.gguf", MB_EFORMAT, {"'tokenizer.ggml.scores'", "claims 2305843009213693952 elements"}},
    {"nested-too-deep.gguf", MB_EFORMAT, {"'x.nested'", "nested deeper than 8"}},
    {"bad-value-type.gguf", MB_EFORMAT, {"'general.name'", "unknown value type 13"}},
    {"bad-bool.gguf", MB_EFORMAT, {"'x.flag'", "bool value 2"}},
    {"dup-key.gguf", MB_EFORMAT, {"duplicate metadata key 'general.architecture'"}},
    {"bad-alignment.gguf", MB_EFORMAT, {"'general.alignment'", "is 24, not a power of two"}},
    {"huge-alignment.gguf", MB_EFORMAT, {"'general.alignment'", "is 1073741824, not a power of two up to 65536"}},
    {"truncated-infos.gguf", MB_EFORMAT, {"truncated at offset 90", "tensor dimension", "tensor 'w'"}},
    {"empty-name.gguf", MB_EFORMAT, {"tensor 0 (info at offset 24)", "is empty"}},
    {"long-name.gguf", MB_EFORMAT, {"name of 65 bytes", "1..64"}},
    {"too-many-dims.gguf", MB_EFORMAT, {"tensor 'w'", "n_dims = 5"}},
    {"zero-dim.gguf", MB_EFORMAT, {"tensor 'w'", "dimension 1 is 0"}},
    {"dims-overflow.gguf", MB_EFORMAT, {"tensor 'w'", "overflow 64 bits"}},
    {"unknown-type.gguf", MB_EFORMAT, {"tensor 'w'", "unknown type id 99"}},
    {"unsupported-type.gguf", MB_EUNSUPPORTED, {"tensor 'w'", "IQ2_XXS (id 16)", "no kernels"}},
    {"bad-row-length.gguf", MB_EFORMAT, {"row length 33", "Q4_0 block size 32"}},
    {"misaligned-offset.gguf", MB_EFORMAT, {"data offset 16", "alignment 32"}},
    {"data-out-of-bounds.gguf", MB_EFORMAT, {"tensor 'w'", "lies outside the file"}},
    {"offset-beyond-file.gguf", MB_EFORMAT, {"[1152921504606846976, +64)", "outside the file"}},
    {"overlap.gguf", MB_EFORMAT, {"'a'", "'b'", "overlap"}},
    {"dup-tensor.gguf", MB_EFORMAT, {"duplicate tensor name 'w'"}},
    {"bad-utf8-name.gguf", MB_EFORMAT, {"tensor name at offset", "not valid UTF-8", "byte 0x80"}},
    {"bad-utf8-value.gguf", MB_EFORMAT, {"string value at offset", "not valid UTF-8", "byte 0xc0"}},
    {"big-endian.gguf", MB_EUNSUPPORTED, {"0x03000000", "big-endian"}},
};

static void check_msg(const bad_case_t *c, int rc, const char *how)
{
    const char *msg = mb_err_msg();
    cr_expect_eq(rc, c->code, "%s (%s): code %d (%s), want %d; message: %s", c->file, how, rc,
                 mb_err_str(rc), c->code, msg);
    for (int k = 0; k < 3 && c->msg[k]; k++)
        cr_expect(strstr(msg, c->msg[k]) != NULL, "%s (%s): message lacks \"%s\": %s", c->file,
                  how, c->msg[k], msg);
}

Test(gguf_bad, every_file_refused_with_its_message)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(bad_cases); i++) {
        const bad_case_t *c = &bad_cases[i];
        char path[512];
        snprintf(path, sizeof path, BAD_DIR "%s", c->file);
        models_gguf_t *g = (models_gguf_t *)0x1;
        mb_err_clear();
        int rc = models_gguf_open(path, &g);
        cr_expect_null(g, "%s: handle must be NULL on failure", c->file);
        check_msg(c, rc, "file");
        cr_expect(strstr(mb_err_msg(), c->file) != NULL, "%s: message must name the file: %s",
                  c->file, mb_err_msg());
        models_gguf_close(g);

        /* same bytes from memory (no mapping): an exact-size heap copy, so ASan sees overreads */
        char *buf = NULL;
        size_t len = 0;
        cr_assert_eq(mb_file_read(path, 0, &buf, &len), MB_OK);
        void *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        rc = models_gguf_open_memory(exact, len, c->file, &g);
        check_msg(c, rc, "memory");
        free(exact);
    }
}

Test(gguf_bad, messages_are_distinct)
{
    char seen[MB_ARRAY_LEN(bad_cases)][1024];
    for (size_t i = 0; i < MB_ARRAY_LEN(bad_cases); i++) {
        char path[512];
        snprintf(path, sizeof path, BAD_DIR "%s", bad_cases[i].file);
        models_gguf_t *g;
        models_gguf_open(path, &g);
        /* strip the file name so only the diagnosis is compared */
        const char *m = mb_err_msg();
        const char *p = strstr(m, bad_cases[i].file);
        snprintf(seen[i], sizeof seen[i], "%s", p ? p + strlen(bad_cases[i].file) : m);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(seen[i], seen[j], "%s and %s give the same message",
                              bad_cases[i].file, bad_cases[j].file);
    }
}

Test(gguf_bad, basis_is_valid)
{
    models_gguf_t *g;
    int rc = models_gguf_open(BAD_DIR "valid-basis.gguf", &g);
    cr_assert_eq(rc, MB_OK, "%s", mb_err_msg());
    cr_expect_eq(models_gguf_n_tensors(g), 1);
    const char *arch;
    cr_expect_eq(models_gguf_get_str(g, "general.architecture", &arch), MB_OK);
    cr_expect_str_eq(arch, "llama");
    models_gguf_close(g);
}

Test(gguf_bad, corpus_matches_generator)
{
    static gb_t gb;
    for (size_t i = 0; i < MB_ARRAY_LEN(gen_bad_cases); i++) {
        gen_bad_cases[i].make(&gb);
        char path[512];
        snprintf(path, sizeof path, BAD_DIR "%s", gen_bad_cases[i].file);
        char *buf = NULL;
        size_t len = 0;
        cr_assert_eq(mb_file_read(path, 0, &buf, &len), MB_OK, "%s", mb_err_msg());
        cr_expect(len == gb.n && !memcmp(buf, gb.b, len),
                  "%s differs from gen_bad.c's output: regenerate the corpus", path);
        free(buf);
        /* every generated case is covered by the table above */
        bool listed = false;
        for (size_t j = 0; j < MB_ARRAY_LEN(bad_cases); j++)
            listed |= !strcmp(bad_cases[j].file, gen_bad_cases[i].file);
        cr_expect(listed, "%s has no expected message", gen_bad_cases[i].file);
    }
}

/* Every prefix of a valid file is refused cleanly (never read past the end). */
Test(gguf_bad, every_truncation_refused)
{
    static gb_t gb;
    gb_valid(&gb);
    for (size_t n = 0; n < gb.n; n++) {
        void *p = malloc(n ? n : 1);
        memcpy(p, gb.b, n);
        models_gguf_t *g = NULL;
        int rc = models_gguf_open_memory(p, n, "prefix", &g);
        cr_expect_eq(rc, MB_EFORMAT, "prefix of %zu bytes: %d %s", n, rc, mb_err_msg());
        cr_expect_null(g);
        free(p);
    }
}

/* With MODELS_GGUF_OPEN_ANY_TYPE a type the engine cannot run is accepted
 * (for inspect), sizes still checked; other rules stay. */
Test(gguf_bad, any_type_flag_for_inspect)
{
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open_ex(BAD_DIR "unsupported-type.gguf", MODELS_GGUF_OPEN_ANY_TYPE,
                                     &g),
                 MB_OK, "%s", mb_err_msg());
    const models_gguf_tensor_t *t = models_gguf_find_tensor(g, "w");
    cr_assert_not_null(t);
    cr_expect_eq((int)t->type, 16);
    cr_expect_eq(t->nbytes, 66);
    cr_expect_str_eq(models_gguf_ggml_type_name((uint32_t)t->type), "IQ2_XXS");
    models_gguf_close(g);
    cr_expect_eq(models_gguf_open_ex(BAD_DIR "unknown-type.gguf", MODELS_GGUF_OPEN_ANY_TYPE, &g),
                 MB_EFORMAT);
    cr_expect_eq(models_gguf_open_ex(BAD_DIR "overlap.gguf", MODELS_GGUF_OPEN_ANY_TYPE, &g),
                 MB_EFORMAT);
}
