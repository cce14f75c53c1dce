/* mb_rng.c: the one seeded PRNG (xoshiro256** seeded through splitmix64)
 * and the double comparator for qsort, shared by synthetic weights, the
 * regression statistics and every median. */
#include "mb.h"

#include <math.h>

uint64_t mb_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void mb_rng_seed(mb_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = mb_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t mb_rng_next(mb_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

double mb_rng_uniform(mb_rng_t *r)
{
    return (double)(mb_rng_next(r) >> 11) * 0x1.0p-53;
}

double mb_rng_normal(mb_rng_t *r)
{
    /* Box-Muller; u1 in (0,1] so log() is finite. */
    double u1 = 1.0 - mb_rng_uniform(r);
    double u2 = mb_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int mb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
