/* cooldown.c: between cells, wait for the device to cool back to where the
 * run started, so that a cell does not inherit the previous one's heat. */
#include "bench.h"

#include <math.h>

int bench_cooldown_wait(const bench_cooldown_t *c, const bench_sensors_t *s, double baseline_c,
                        const bench_clock_t *clock, void (*sleep_ns)(uint64_t ns),
                        volatile const int *stop, double *waited, char *how, size_t how_len)
{
    *waited = 0;
    if (c->mode == BENCH_COOLDOWN_NONE) {
        snprintf(how, how_len, "none");
        return MB_OK;
    }
    const uint64_t step = 250000000ull; /* 0.25 s: short enough to notice a signal */
    uint64_t t0 = clock->now_ns(clock->ctx);
    double temp = s && s->hottest_c ? s->hottest_c(s->ctx) : NAN;
    if (c->mode == BENCH_COOLDOWN_FIXED || !isfinite(temp) || !isfinite(baseline_c)) {
        uint64_t until = t0 + (uint64_t)(c->delay_s * 1e9);
        while (clock->now_ns(clock->ctx) < until && !(stop && *stop)) {
            uint64_t left = until - clock->now_ns(clock->ctx);
            sleep_ns(left < step ? left : step);
        }
        *waited = (double)(clock->now_ns(clock->ctx) - t0) * 1e-9;
        snprintf(how, how_len, "fixed %.0f s%s", c->delay_s,
                 c->mode == BENCH_COOLDOWN_FIXED ? "" : ": no thermal sensors");
        return MB_OK;
    }
    double target = baseline_c + c->within_c;
    uint64_t limit = t0 + (uint64_t)(c->max_wait_s * 1e9);
    while (temp > target && clock->now_ns(clock->ctx) < limit && !(stop && *stop)) {
        sleep_ns(step);
        temp = s->hottest_c(s->ctx);
        if (!isfinite(temp))
            break;
    }
    *waited = (double)(clock->now_ns(clock->ctx) - t0) * 1e-9;
    if (isfinite(temp) && temp <= target)
        snprintf(how, how_len, "thermal: %.1f C (baseline %.1f C) after %.1f s", temp, baseline_c, *waited);
    else
        snprintf(how, how_len, "thermal: still %.1f C after the %.0f s limit (baseline %.1f C)", temp,
                 c->max_wait_s, baseline_c);
    return MB_OK;
}
