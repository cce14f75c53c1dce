/* unicode.c: code point flags (a binary search over the runs of
 * unicode_data.c, a table for ASCII) and the UTF-8 reading llama.cpp does. */
#include "tokenizer_int.h"

static uint16_t ascii_flags[128];
static bool ascii_ready;

static uint16_t lookup(uint32_t cp)
{
    if (cp >= 0x110000)
        return UNI_UNDEFINED;
    size_t lo = 0, hi = unicode_n_runs; /* runs[lo].first <= cp < runs[hi].first */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (unicode_runs[mid].first <= cp)
            lo = mid;
        else
            hi = mid;
    }
    return unicode_runs[lo].flags;
}

uint16_t unicode_flags(uint32_t cp)
{
    if (cp < 128) {
        /* benign race: every thread writes the same values */
        if (!__atomic_load_n(&ascii_ready, __ATOMIC_ACQUIRE)) {
            for (uint32_t c = 0; c < 128; c++)
                ascii_flags[c] = lookup(c);
            __atomic_store_n(&ascii_ready, true, __ATOMIC_RELEASE);
        }
        return ascii_flags[cp];
    }
    return lookup(cp);
}

size_t unicode_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (!(c & 0x80)) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if (!(c & 0x40))
        goto bad; /* a continuation byte as lead */
    if (!(c & 0x20)) {
        len = 2;
        v = c & 0x1f;
    } else if (!(c & 0x10)) {
        len = 3;
        v = c & 0x0f;
    } else if (!(c & 0x08)) {
        len = 4;
        v = c & 0x07;
    } else {
        goto bad;
    }
    if (len > n)
        goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto bad;
        v = (v << 6) | (s[i] & 0x3f);
    }
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

size_t unicode_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}
