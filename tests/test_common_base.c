/* The base layer: errors, JSON round trip, INI errors with file:line,
 * SHA-256 test vectors, strict parsing. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mb.h"

Test(common, err_set_returns_code_and_keeps_message)
{
    int rc = mb_err_set(MB_EIO, "cannot read %s", "x.gguf");
    cr_assert_eq(rc, MB_EIO);
    cr_assert_str_eq(mb_err_msg(), "cannot read x.gguf");
    cr_assert_str_eq(mb_err_str(MB_ENOSPC), "no space left on device");
    cr_assert_eq(mb_err_from_errno(2 /* ENOENT */), MB_ENOENT);
}

Test(common, sha256_known_vectors)
{
    char hex[65];
    mb_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mb_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mb_sha256_hex(m, strlen(m), hex);
    cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Streaming in odd pieces gives the same digest. */
    mb_sha256_t s;
    uint8_t d[32];
    mb_sha256_init(&s);
    for (size_t i = 0; i < strlen(m); i += 7)
        mb_sha256_update(&s, m + i, MB_MIN(7, strlen(m) - i));
    mb_sha256_final(&s, d);
    cr_assert_eq(d[0], 0x24);
    cr_assert_eq(d[31], 0xc1);
}

Test(common, json_write_then_parse)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mb_json_t j;
    mb_json_init(&j, f, true);
    mb_json_obj_begin(&j);
    mb_json_key(&j, "name");
    mb_json_str(&j, "tab\there \"q\"");
    mb_json_key(&j, "n");
    mb_json_int(&j, -42);
    mb_json_key(&j, "x");
    mb_json_num(&j, 0.25);
    mb_json_key(&j, "nan");
    mb_json_num(&j, 0.0 / 0.0);
    mb_json_key(&j, "list");
    mb_json_arr_begin(&j);
    mb_json_bool(&j, true);
    mb_json_null(&j);
    mb_json_obj_begin(&j);
    mb_json_obj_end(&j);
    mb_json_arr_end(&j);
    mb_json_obj_end(&j);
    fclose(f);
    mb_jv_t *v;
    cr_assert_eq(mb_jv_parse(buf, len, &v), 0, "%s\n%s", mb_err_msg(), buf);
    cr_assert_str_eq(mb_jv_get(v, "name")->str, "tab\there \"q\"");
    cr_assert_eq(mb_jv_get(v, "n")->num, -42);
    cr_assert_eq(mb_jv_get(v, "x")->num, 0.25);
    cr_assert_eq(mb_jv_get(v, "nan")->kind, MB_JV_NULL);
    cr_assert_eq(mb_jv_path(v, "list.0")->kind, MB_JV_BOOL);
    cr_assert_eq(mb_jv_path(v, "list.2")->kind, MB_JV_OBJ);
    cr_assert_null(mb_jv_path(v, "list.3"));
    mb_jv_free(v);
    free(buf);
}

Test(common, json_rejects_garbage)
{
    const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "[1] x", "{\"a\":\"\\q\"}"};
    for (size_t i = 0; i < MB_ARRAY_LEN(bad); i++) {
        mb_jv_t *v = NULL;
        cr_assert_eq(mb_jv_parse(bad[i], strlen(bad[i]), &v), MB_EFORMAT, "accepted '%s'", bad[i]);
        cr_assert_null(v);
    }
}

Test(common, ini_parses_sections_and_reports_line)
{
    mb_ini_t *ini;
    const char *text = "# sweep\n[run]\nmodels = a, b  # two\nname = \"x # y\"\n\n[cell]\nreps=5\n";
    cr_assert_eq(mb_ini_parse(text, "t.ini", &ini), 0, "%s", mb_err_msg());
    cr_assert_str_eq(mb_ini_get(ini, "run", "models", NULL), "a, b");
    cr_assert_str_eq(mb_ini_get(ini, "run", "name", NULL), "x # y");
    cr_assert_eq(mb_ini_find(ini, "cell", "reps")->line, 7);
    cr_assert_null(mb_ini_get(ini, "cell", "nope", NULL));
    mb_ini_free(ini);

    cr_assert_eq(mb_ini_parse("[ok]\na = 1\nthis line is wrong\n", "bad.ini", &ini), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "bad.ini:3:") != NULL, "%s", mb_err_msg());
    cr_assert_eq(mb_ini_parse("[open\n", "bad2.ini", &ini), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "bad2.ini:1:") != NULL, "%s", mb_err_msg());
}

Test(common, strict_parsers)
{
    int64_t i;
    double d;
    uint64_t b;
    cr_assert_eq(mb_parse_i64("512", &i), 0);
    cr_assert_eq(i, 512);
    cr_assert_eq(mb_parse_i64("12x", &i), MB_EINVAL);
    cr_assert_eq(mb_parse_i64("", &i), MB_EINVAL);
    cr_assert_eq(mb_parse_f64("1e3", &d), 0);
    cr_assert_eq(d, 1000.0);
    cr_assert_eq(mb_parse_bytes("6G", &b), 0);
    cr_assert_eq(b, 6ull << 30);
    cr_assert_eq(mb_parse_bytes("512 MiB", &b), 0);
    cr_assert_eq(b, 512ull << 20);
    cr_assert_eq(mb_parse_bytes("5 parsecs", &b), MB_EINVAL);
    cr_assert_eq(mb_parse_duration("10m", &d), 0);
    cr_assert_eq(d, 600.0);
    cr_assert_eq(mb_parse_duration("500ms", &d), 0);
    cr_assert_float_eq(d, 0.5, 1e-12);
    cr_assert_eq(mb_parse_fraction("2%", &d), 0);
    cr_assert_float_eq(d, 0.02, 1e-12);
    cr_assert_eq(mb_parse_fraction("2x", &d), MB_EINVAL);
    char **v;
    size_t n;
    cr_assert_eq(mb_split_csv(" Q4_0, Q4_K_M ,,Q8_0", &v, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(v[1], "Q4_K_M");
    mb_strv_free(v, n);
}

Test(common, file_atomic_write_and_read)
{
    char dir[] = "/tmp/mbtestXXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[300], sub[200];
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    cr_assert_eq(mb_dir_create(sub), 0, "%s", mb_err_msg());
    snprintf(path, sizeof path, "%s/f.txt", sub);
    cr_assert_eq(mb_file_write_atomic(path, "hello", 5), 0);
    char *txt;
    size_t len;
    cr_assert_eq(mb_file_read(path, 0, &txt, &len), 0);
    cr_assert_eq(len, 5);
    cr_assert_str_eq(txt, "hello");
    free(txt);
    cr_assert_eq(mb_file_read("/nonexistent/x", 0, &txt, &len), MB_ENOENT);
    cr_assert(strstr(mb_err_msg(), "/nonexistent/x") != NULL);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
