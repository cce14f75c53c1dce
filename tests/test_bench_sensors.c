/* test_bench_sensors.c: the probe-backed sensors on fixture trees
 * (tests/fixtures/sysfs): windows of the sampler's readings, the hottest
 * zone for cooldown, trip points, the RAPL counter; and "no sensors". */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "bench.h"
#include "probes.h"

Test(sensors, laptop_fixture_windows, .timeout = 30)
{
    cr_assert_eq(probes_root_set(MB_FIXTURES "/sysfs/x86-laptop"), 0, "%s", mb_err_msg());
    bench_probe_sensors_t *p;
    cr_assert_eq(bench_probe_sensors_create(&p), 0, "%s", mb_err_msg());
    char d[160];
    bench_probe_sensors_describe(p, d, sizeof d);
    cr_assert(strstr(d, "temperature") && strstr(d, "intel-rapl:0"), "%s", d);
    bench_sensors_t s = bench_probe_sensors(p);
    /* cooldown reads the hottest zone without a running sampler */
    cr_assert_float_eq(s.hottest_c(s.ctx), 52.0, 0.01);
    cr_assert_eq(s.start(s.ctx), 0);
    uint64_t t0 = mb_clock_ns();
    mb_clock_sleep_ns(350000000ull);
    uint64_t t1 = mb_clock_ns();
    bench_sensor_window_t w;
    memset(&w, 0, sizeof w);
    w.energy_j = NAN;
    cr_assert_eq(s.window(s.ctx, t0, t1, &w), 0);
    cr_assert_geq(w.n_samples, 2);
    cr_assert_float_eq(w.temp_max, 52.0, 0.01);
    cr_assert_float_eq(w.temp_min, 52.0, 0.01);
    cr_assert(!w.trip, "52 C is below the fixture's trip points");
    cr_assert(isfinite(w.freq_mean) && w.freq_mean > 100, "freq %g", w.freq_mean);
    /* The fixture's counter does not move: zero joules, but a counter. */
    double e0 = s.energy_j(s.ctx), e1 = s.energy_j(s.ctx);
    cr_assert(isfinite(e0));
    cr_assert_float_eq(e1 - e0, 0, 1e-12);
    s.stop(s.ctx);
    bench_probe_sensors_destroy(p);
    probes_root_set(NULL);
}

Test(sensors, broken_tree_means_no_readings, .timeout = 30)
{
    cr_assert_eq(probes_root_set(MB_FIXTURES "/sysfs/broken"), 0);
    bench_probe_sensors_t *p;
    cr_assert_eq(bench_probe_sensors_create(&p), 0, "%s", mb_err_msg());
    bench_sensors_t s = bench_probe_sensors(p);
    s.start(s.ctx);
    uint64_t t0 = mb_clock_ns();
    mb_clock_sleep_ns(250000000ull);
    bench_sensor_window_t w;
    memset(&w, 0, sizeof w);
    w.temp_max = w.freq_min = w.energy_j = NAN;
    cr_assert_eq(s.window(s.ctx, t0, mb_clock_ns(), &w), 0);
    s.stop(s.ctx);
    /* whatever the broken tree lacks reads as absent, never as a number made up */
    if (w.n_samples == 0) {
        cr_assert(isnan(w.temp_max));
        cr_assert(isnan(w.freq_min));
    }
    bench_probe_sensors_destroy(p);
    probes_root_set(NULL);
}
