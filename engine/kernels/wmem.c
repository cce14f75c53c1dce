/*
 * wmem.c: memory for repacked weights. Decode streams every weight once per
 * token; with 4 KiB pages each 4 KiB of the stream costs a TLB miss and a
 * page walk, and a matrix smaller than 2 MiB in a mapping of its own can
 * never sit on a transparent huge page. So packed tensors are carved, first
 * fit, out of shared 64 MiB mappings that are 2 MiB aligned and advised
 * MADV_HUGEPAGE as a whole: every matrix, however small, lies on huge pages
 * (with THP forced on for every page, GEMV over 2048 x 2048 Q4_0 matrices
 * went 28 -> 34 GB/s on one core; these chunks: decode of Llama-3.2-1B +2 %
 * over huge pages per tensor; docs/PERFORMANCE.md, session 3). Only touched pages become
 * resident: a chunk's unused end costs address space, and at most the rest
 * of the last huge page it touched. A tensor larger than half a chunk gets a
 * mapping of its own, its whole huge pages advised. A chunk is unmapped when
 * the last tensor in it is freed. Thread-safe (one lock; allocation is rare).
 */
#include "kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define WM_HUGE ((size_t)2 << 20)
#define WM_CHUNK ((size_t)64 << 20)
#define WM_ALIGN ((size_t)MB_CACHE_LINE)

typedef struct wm_chunk {
    struct wm_chunk *next;
    uint8_t *base;
    size_t size, used;
    int refs;
} wm_chunk_t;

static pthread_mutex_t wm_lock = PTHREAD_MUTEX_INITIALIZER;
static wm_chunk_t *wm_chunks;

/* len bytes (a multiple of the page size) at a 2 MiB-aligned address */
static uint8_t *map_aligned(size_t len)
{
    const size_t over = len + WM_HUGE;
    uint8_t *base = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)base + WM_HUGE - 1) & ~(uintptr_t)(WM_HUGE - 1));
    if (p > base)
        munmap(base, (size_t)(p - base));
    if (base + over > p + len)
        munmap(p + len, (size_t)(base + over - (p + len)));
#ifdef MADV_HUGEPAGE
    if (len >= WM_HUGE) /* advice only: without THP the pages stay small */
        madvise(p, len / WM_HUGE * WM_HUGE, MADV_HUGEPAGE);
#endif
    return p;
}

void *kern_wmem_alloc(size_t bytes)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t need = (bytes + WM_ALIGN - 1) / WM_ALIGN * WM_ALIGN;
    if (!bytes || need < bytes)
        return NULL;
    void *out = NULL;
    pthread_mutex_lock(&wm_lock);
    wm_chunk_t *c = NULL;
    if (need <= WM_CHUNK / 2)
        for (c = wm_chunks; c; c = c->next)
            if (c->size == WM_CHUNK && c->size - c->used >= need)
                break;
    if (!c) {
        const size_t size = need <= WM_CHUNK / 2 ? WM_CHUNK : (need + page - 1) / page * page;
        if (size < need || !(c = calloc(1, sizeof *c)))
            goto out;
        if (!(c->base = map_aligned(size))) {
            free(c);
            goto out;
        }
        c->size = size;
        c->next = wm_chunks;
        wm_chunks = c;
    }
    out = c->base + c->used;
    c->used += need;
    c->refs++;
out:
    pthread_mutex_unlock(&wm_lock);
    return out;
}

void kern_wmem_free(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&wm_lock);
    for (wm_chunk_t **pc = &wm_chunks; *pc; pc = &(*pc)->next) {
        wm_chunk_t *c = *pc;
        if ((uint8_t *)p < c->base || (uint8_t *)p >= c->base + c->size)
            continue;
        if (--c->refs == 0) {
            *pc = c->next;
            munmap(c->base, c->size);
            free(c);
        }
        break;
    }
    pthread_mutex_unlock(&wm_lock);
}
