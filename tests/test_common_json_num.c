/* mb_json_num: doubles are printed with the shortest of %.15g..%.17g that
 * parses back to the same value (no float noise such as
 * 0.050000000000000003 in report/recommend/compare JSON), integers without a
 * fraction, non-finite values as null. */
#include <criterion/criterion.h>

#include "mb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* v written alone by mb_json_num, into buf. */
static void write_num(double v, char *buf, size_t len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    cr_assert_not_null(f);
    mb_json_t j;
    mb_json_init(&j, f, false);
    mb_json_num(&j, v);
    fclose(f);
    snprintf(buf, len, "%s", text);
    free(text);
}

Test(common_json_num, shortest_round_trip)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.05, "0.05"},
        {2419.2, "2419.2"},
        {0.1 + 0.2, "0.30000000000000004"}, /* needs 17 digits to round-trip */
        {1.0 / 3.0, "0.3333333333333333"}, /* 16 digits */
        {0.25, "0.25"},
        {-42, "-42"},
        {1e15, "1e+15"},
        {123456789012345.0, "123456789012345"},
        {1e-300, "1e-300"},
        {-0.001, "-0.001"},
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(cases); i++) {
        char buf[64];
        write_num(cases[i].v, buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].text, "case %zu: %.17g", i, cases[i].v);
    }
    char buf[64];
    write_num(NAN, buf, sizeof buf);
    cr_assert_str_eq(buf, "null");
    write_num(INFINITY, buf, sizeof buf);
    cr_assert_str_eq(buf, "null");
    /* beyond the int64 range: printed as a double, no overflowing cast */
    write_num(1e19, buf, sizeof buf);
    cr_assert_str_eq(buf, "1e+19");
}

Test(common_json_num, every_value_parses_back_equal)
{
    /* a spread of values with noisy binary expansions: each one's text is
     * at most 17 significant digits and reads back bit-identical */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v = (double)(x >> 11) * 0x1.0p-53 * pow(10.0, (double)(i % 40) - 20.0);
        if (i % 3 == 0)
            v = round(v * 1000.0) / 1000.0 * 0.1; /* decimal-ish values: 0.1 x k/1000 */
        char buf[64];
        write_num(v, buf, sizeof buf);
        double back = strtod(buf, NULL);
        cr_assert(back == v, "%s does not read back as %.17g", buf, v);
        int sig = 0;
        bool lead = true; /* zeros before the first other digit do not count */
        for (const char *p = buf; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9' && !(lead && *p == '0')) {
                lead = false;
                sig++;
            }
        cr_assert_leq(sig, 17, "%s: too many digits", buf);
    }
    /* a product that is not the double nearest 2419.2 stays distinct: the
     * writer never changes a value, it only drops digits that do not matter */
    char buf[64];
    write_num(24.192 * 100, buf, sizeof buf);
    cr_assert_eq(strtod(buf, NULL), 24.192 * 100, "%s", buf);
}
