/* test_probes_sampler.c: the background sampler on fixture trees: values
 * appear in the ring, stop is prompt, the ring keeps the newest samples. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "probes.h"

#define TREE(name) MB_FIXTURES "/sysfs/" name

static void wait_count(probes_sampler_t *s, uint64_t n)
{
    uint64_t until = mb_clock_ns() + 5000000000ull;
    while (probes_sampler_count(s) < n && mb_clock_ns() < until)
        mb_clock_sleep_ns(1000000);
    cr_assert_geq(probes_sampler_count(s), n, "sampler produced %llu samples, wanted %llu",
                  (unsigned long long)probes_sampler_count(s), (unsigned long long)n);
}

Test(probes_sampler, laptop_values_appear)
{
    probes_sampler_t *s;
    cr_assert_eq(probes_sampler_create(5, 64, TREE("x86-laptop"), &s), MB_OK, "%s", mb_err_msg());
    int nt, nf;
    probes_sampler_sensors(s, &nt, &nf);
    cr_assert_eq(nt, 3 + 9, "3 thermal zones + 9 hwmon inputs");
    cr_assert_eq(nf, 16);
    cr_assert_eq(probes_sampler_start(s), MB_OK);
    wait_count(s, 3);
    cr_assert_eq(probes_sampler_stop(s), MB_OK);
    probes_sample_t buf[64];
    size_t n;
    cr_assert_eq(probes_sampler_read(s, buf, 64, &n), MB_OK);
    cr_assert_geq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert(fabsf(buf[i].hottest_c - 52.0f) < 1e-3f, "hottest %g", buf[i].hottest_c);
        cr_assert_eq(buf[i].ncpus, 16);
        cr_assert(fabsf(buf[i].mhz[2] - 3500.0f) < 1e-2f);
        cr_assert(fabsf(buf[i].mhz[8] - 1400.0f) < 1e-2f);
        if (i)
            cr_assert_gt(buf[i].t_ns, buf[i - 1].t_ns, "oldest first");
    }
    probes_sampler_destroy(s);
}

/* A phone: 4 zones (two CPU clusters at 45.2 and 52.3 C, battery 31.0,
 * skin 36.5), 8 CPUs in three clusters at their own frequencies. The
 * hottest is the 52.3 C cluster zone, not the first or the last zone read;
 * each CPU's MHz is its own policy's (1094.4 little, 1286.4 mid, 2841.6 X1). */
Test(probes_sampler, android_hottest_zone)
{
    probes_sampler_t *s;
    cr_assert_eq(probes_sampler_create(5, 8, TREE("android-3cluster"), &s), MB_OK);
    int nt, nf;
    probes_sampler_sensors(s, &nt, &nf);
    cr_assert_eq(nt, 4, "4 thermal zones, no hwmon");
    cr_assert_eq(nf, 8);
    cr_assert_eq(probes_sampler_start(s), MB_OK);
    wait_count(s, 2);
    cr_assert_eq(probes_sampler_stop(s), MB_OK);
    probes_sample_t buf[8];
    size_t n;
    cr_assert_eq(probes_sampler_read(s, buf, 8, &n), MB_OK);
    cr_assert_geq(n, 2);
    for (size_t i = 0; i < n; i++) {
        cr_assert(fabsf(buf[i].hottest_c - 52.3f) < 1e-3f, "hottest %g, want 52.3 (cpu-1-0-usr)",
                  buf[i].hottest_c);
        cr_assert_eq(buf[i].ncpus, 8);
        cr_assert(fabsf(buf[i].mhz[0] - 1094.4f) < 1e-2f, "cpu0 %g MHz", buf[i].mhz[0]);
        cr_assert(fabsf(buf[i].mhz[4] - 1286.4f) < 1e-2f, "cpu4 %g MHz", buf[i].mhz[4]);
        cr_assert(fabsf(buf[i].mhz[7] - 2841.6f) < 1e-2f, "cpu7 %g MHz", buf[i].mhz[7]);
    }
    probes_sampler_destroy(s);
}

Test(probes_sampler, broken_values_are_nan)
{
    probes_sampler_t *s;
    cr_assert_eq(probes_sampler_create(5, 8, TREE("broken"), &s), MB_OK);
    cr_assert_eq(probes_sampler_start(s), MB_OK);
    wait_count(s, 2);
    cr_assert_eq(probes_sampler_stop(s), MB_OK);
    probes_sample_t buf[8];
    size_t n;
    probes_sampler_read(s, buf, 8, &n);
    cr_assert_geq(n, 2);
    cr_assert(isnan(buf[0].hottest_c), "-273 C, 'hot', empty and 1e6 C are not temperatures");
    cr_assert_eq(buf[0].ncpus, 1, "only cpu0 has a cpufreq file");
    cr_assert(isnan(buf[0].mhz[0]), "1e9 MHz is not a frequency");
    probes_sampler_destroy(s);
}

Test(probes_sampler, stop_is_prompt_and_restart_works)
{
    probes_sampler_t *s;
    cr_assert_eq(probes_sampler_create(10000, 4, TREE("rpi"), &s), MB_OK);
    cr_assert_eq(probes_sampler_start(s), MB_OK);
    wait_count(s, 1); /* the first sample is taken at once */
    uint64_t t0 = mb_clock_ns();
    cr_assert_eq(probes_sampler_stop(s), MB_OK);
    cr_assert_lt(mb_clock_ns() - t0, 200000000ull, "stop waited for the 10 s period");
    uint64_t c = probes_sampler_count(s);
    cr_assert_eq(probes_sampler_start(s), MB_OK);
    wait_count(s, c + 1);
    cr_assert_eq(probes_sampler_stop(s), MB_OK);
    cr_assert_eq(probes_sampler_stop(s), MB_OK, "stop twice is fine");
    probes_sampler_destroy(s);
    probes_sampler_destroy(NULL);
}

Test(probes_sampler, ring_keeps_newest)
{
    probes_sampler_t *s;
    cr_assert_eq(probes_sampler_create(1, 4, TREE("rpi"), &s), MB_OK);
    cr_assert_eq(probes_sampler_start(s), MB_OK);
    wait_count(s, 10);
    cr_assert_eq(probes_sampler_stop(s), MB_OK);
    probes_sample_t buf[16];
    size_t n;
    probes_sampler_read(s, buf, 16, &n);
    cr_assert_eq(n, 4, "ring capacity");
    probes_sampler_read(s, buf, 2, &n);
    cr_assert_eq(n, 2);
    cr_assert(fabsf(buf[0].hottest_c - 48.686f) < 1e-3f);
    cr_assert(fabsf(buf[1].mhz[3] - 1800.0f) < 1e-2f);
    probes_sampler_destroy(s);
}

Test(probes_sampler, bad_arguments)
{
    probes_sampler_t *s;
    cr_assert_eq(probes_sampler_create(250, 0, "/nonexistent/tree", &s), MB_ENOENT);
    cr_assert_null(s);
    cr_assert_eq(probes_sampler_create(250, (size_t)1 << 30, TREE("rpi"), &s), MB_EINVAL);
    char dir[] = "/tmp/mb-sampler-empty-XXXXXX";
    cr_assert(mkdtemp(dir));
    cr_assert_eq(probes_sampler_create(250, 0, dir, &s), MB_OK, "no sensors is not an error");
    int nt, nf;
    probes_sampler_sensors(s, &nt, &nf);
    cr_assert_eq(nt + nf, 0);
    probes_sampler_destroy(s);
    rmdir(dir);
}
