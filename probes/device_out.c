/* device_out.c: the device record as JSON (schema in docs/probe.md) and as a
 * readable table. Null fields carry their reason in the enclosing object's
 * "why" map: {"temp_c": null, ..., "why": {"temp_c": "...: permission denied"}}. */
#include "probes_impl.h"

#include <inttypes.h>
#include <string.h>

#define MAX_WHYS 48

typedef struct {
    const char *key[MAX_WHYS];
    const char *why[MAX_WHYS];
    int n;
} whys_t;

static void why_add(whys_t *w, const char *key, const char *why)
{
    if (w->n < MAX_WHYS) {
        w->key[w->n] = key;
        w->why[w->n] = why && *why ? why : "unknown";
        w->n++;
    }
}

static void j_str(mb_json_t *j, whys_t *w, const char *key, const probes_str_t *v)
{
    mb_json_key(j, key);
    if (v->ok) {
        mb_json_str(j, v->v);
    } else {
        mb_json_null(j);
        why_add(w, key, v->why);
    }
}

static void j_int(mb_json_t *j, whys_t *w, const char *key, const probes_int_t *v)
{
    mb_json_key(j, key);
    if (v->ok) {
        mb_json_int(j, v->v);
    } else {
        mb_json_null(j);
        why_add(w, key, v->why);
    }
}

static void j_bool(mb_json_t *j, whys_t *w, const char *key, const probes_int_t *v)
{
    mb_json_key(j, key);
    if (v->ok) {
        mb_json_bool(j, v->v != 0);
    } else {
        mb_json_null(j);
        why_add(w, key, v->why);
    }
}

static void j_num(mb_json_t *j, whys_t *w, const char *key, const probes_num_t *v)
{
    mb_json_key(j, key);
    if (v->ok) {
        mb_json_num(j, v->v);
    } else {
        mb_json_null(j);
        why_add(w, key, v->why);
    }
}

/* Ends an object: writes "why" if any field was null. */
static void j_end(mb_json_t *j, whys_t *w)
{
    if (w->n) {
        mb_json_key(j, "why");
        mb_json_obj_begin(j);
        for (int i = 0; i < w->n; i++) {
            mb_json_key(j, w->key[i]);
            mb_json_str(j, w->why[i]);
        }
        mb_json_obj_end(j);
    }
    mb_json_obj_end(j);
    w->n = 0;
}

/* llama-bench's -C form: hex, CPU 0 = the lowest bit. */
static void cluster_mask_hex(const probes_cluster_t *cl, char *out, size_t len)
{
    size_t l = (size_t)snprintf(out, len, "0x");
    int top = -1;
    for (int c = PROBES_MAX_CPUS - 1; c >= 0 && top < 0; c--)
        if (probes_cluster_has_cpu(cl, c))
            top = c;
    if (top < 0) {
        snprintf(out + l, len - l, "0");
        return;
    }
    for (int nib = top / 4; nib >= 0 && l + 1 < len; nib--) {
        unsigned v = (unsigned)(cl->mask[nib / 16] >> ((nib % 16) * 4)) & 0xfu;
        out[l++] = "0123456789abcdef"[v];
    }
    out[l] = '\0';
}

static void j_features(mb_json_t *j, const probes_features_t *f, const probes_features_t *known)
{
    mb_json_arr_begin(j);
    for (int i = 0; i < PROBES_FEAT_COUNT; i++)
        if ((!known || probes_features_has(known, (probes_feature_t)i)) &&
            probes_features_has(f, (probes_feature_t)i))
            mb_json_str(j, probes_feature_name((probes_feature_t)i));
    mb_json_arr_end(j);
}

static void j_source(mb_json_t *j, const probes_cpu_source_t *s)
{
    whys_t w = {0};
    mb_json_obj_begin(j);
    mb_json_key(j, "available");
    mb_json_bool(j, s->available);
    if (!s->available || s->why[0]) {
        mb_json_key(j, "note");
        mb_json_str(j, s->why);
    }
    if (s->available) {
        if (s->version.ok)
            j_str(j, &w, "version", &s->version);
        j_str(j, &w, "vendor", &s->vendor);
        j_str(j, &w, "brand", &s->brand);
        j_str(j, &w, "uarch", &s->uarch);
        j_int(j, &w, "family", &s->family);
        j_int(j, &w, "model", &s->model);
        j_int(j, &w, "stepping", &s->stepping);
        j_int(j, &w, "packages", &s->packages);
        j_int(j, &w, "cores", &s->cores);
        j_int(j, &w, "threads", &s->threads);
        j_int(j, &w, "l1d_bytes", &s->l1d_bytes);
        j_int(j, &w, "l2_bytes", &s->l2_bytes);
        j_int(j, &w, "l3_bytes", &s->l3_bytes);
        mb_json_key(j, "features");
        if (s->known.bits)
            j_features(j, &s->features, &s->known);
        else {
            mb_json_null(j);
            why_add(&w, "features", "this source does not report ISA features");
        }
        mb_json_key(j, "features_known");
        if (s->known.bits)
            j_features(j, &s->known, NULL);
        else
            mb_json_null(j);
    }
    j_end(j, &w);
}

int probes_device_json_fields(const probes_device_t *d, mb_json_t *j)
{
    whys_t w = {0};
    mb_json_key(j, "schema");
    mb_json_str(j, "mobench.probe/1");
    mb_json_key(j, "root");
    mb_json_str(j, d->root);
    mb_json_key(j, "fingerprint");
    mb_json_str(j, d->fingerprint);
    mb_json_key(j, "timestamp");
    mb_json_num(j, d->timestamp);
    mb_json_key(j, "warnings");
    mb_json_int(j, d->warnings);

    /* cpu */
    mb_json_key(j, "cpu");
    mb_json_obj_begin(j);
    whys_t wc = {0};
    j_str(j, &wc, "vendor", &d->cpu.vendor);
    j_str(j, &wc, "brand", &d->cpu.brand);
    j_str(j, &wc, "uarch", &d->cpu.uarch);
    j_int(j, &wc, "family", &d->cpu.family);
    j_int(j, &wc, "model", &d->cpu.model);
    j_int(j, &wc, "stepping", &d->cpu.stepping);
    j_int(j, &wc, "packages", &d->cpu.packages);
    j_int(j, &wc, "cores", &d->cpu.cores);
    j_int(j, &wc, "threads", &d->cpu.threads);
    mb_json_key(j, "features");
    j_features(j, &d->cpu.features, NULL);
    mb_json_key(j, "features_source");
    mb_json_str(j, d->cpu.features_source);
    mb_json_key(j, "freq_source");
    if (d->cpu.freq_source[0])
        mb_json_str(j, d->cpu.freq_source);
    else {
        mb_json_null(j);
        why_add(&wc, "freq_source", "no cpufreq and no 'cpu MHz' in proc/cpuinfo");
    }

    mb_json_key(j, "clusters");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->cpu.n_clusters; i++) {
        const probes_cluster_t *cl = &d->cpu.clusters[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "role");
        mb_json_str(j, cl->role);
        mb_json_key(j, "cpus");
        mb_json_str(j, cl->cpus);
        mb_json_key(j, "ncpus");
        mb_json_int(j, cl->ncpus);
        mb_json_key(j, "cpu_list");
        mb_json_arr_begin(j);
        for (int c = 0; c < PROBES_MAX_CPUS; c++)
            if (probes_cluster_has_cpu(cl, c))
                mb_json_int(j, c);
        mb_json_arr_end(j);
        char hex[PROBES_MAX_CPUS / 4 + 3];
        cluster_mask_hex(cl, hex, sizeof hex);
        mb_json_key(j, "mask");
        mb_json_str(j, hex);
        j_str(j, &w, "core", &cl->core_name);
        j_num(j, &w, "max_mhz", &cl->max_mhz);
        j_int(j, &w, "capacity", &cl->capacity);
        j_end(j, &w);
    }
    mb_json_arr_end(j);

    mb_json_key(j, "caches");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->cpu.n_caches; i++) {
        const probes_cache_t *k = &d->cpu.caches[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "level");
        mb_json_int(j, k->level);
        mb_json_key(j, "type");
        mb_json_str(j, k->type);
        j_int(j, &w, "size_bytes", &k->size_bytes);
        j_int(j, &w, "line_bytes", &k->line_bytes);
        j_int(j, &w, "ways", &k->ways);
        mb_json_key(j, "shared_cpus");
        mb_json_str(j, k->shared_cpus[0] ? k->shared_cpus : NULL);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->cpu.n_caches || d->cpu.caches_why[0])
        why_add(&wc, "caches", d->cpu.caches_why);

    mb_json_key(j, "cores");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->cpu.n_cores_list; i++) {
        const probes_core_t *k = &d->cpu.cores_list[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "cpu");
        mb_json_int(j, k->cpu);
        mb_json_key(j, "cluster");
        mb_json_int(j, k->cluster);
        j_int(j, &w, "package", &k->package);
        j_int(j, &w, "core_id", &k->core_id);
        j_num(j, &w, "cur_mhz", &k->cur_mhz);
        j_num(j, &w, "min_mhz", &k->min_mhz);
        j_num(j, &w, "max_mhz", &k->max_mhz);
        j_num(j, &w, "scaling_max_mhz", &k->scaling_max_mhz);
        j_str(j, &w, "governor", &k->governor);
        j_str(j, &w, "driver", &k->driver);
        j_int(j, &w, "capacity", &k->capacity);
        j_int(j, &w, "arm_implementer", &k->arm_implementer);
        j_int(j, &w, "arm_part", &k->arm_part);
        j_str(j, &w, "core_type", &k->core_type);
        j_end(j, &w);
    }
    mb_json_arr_end(j);

    mb_json_key(j, "sources");
    mb_json_obj_begin(j);
    for (int i = 0; i < PROBES_SRC_COUNT; i++) {
        mb_json_key(j, d->cpu.sources[i].name);
        j_source(j, &d->cpu.sources[i]);
    }
    mb_json_obj_end(j);

    mb_json_key(j, "disagreements");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->cpu.n_disagreements; i++) {
        const probes_disagreement_t *x = &d->cpu.disagreements[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "field");
        mb_json_str(j, x->field);
        mb_json_key(j, "source");
        mb_json_str(j, x->source);
        mb_json_key(j, "value");
        mb_json_str(j, x->value);
        mb_json_key(j, "reference");
        mb_json_str(j, x->reference);
        mb_json_key(j, "reference_value");
        mb_json_str(j, x->ref_value);
        mb_json_obj_end(j);
    }
    mb_json_arr_end(j);
    j_end(j, &wc);

    /* memory */
    mb_json_key(j, "memory");
    mb_json_obj_begin(j);
    whys_t wm = {0};
    j_int(j, &wm, "total_bytes", &d->memory.total_bytes);
    j_int(j, &wm, "available_bytes", &d->memory.available_bytes);
    j_int(j, &wm, "swap_total_bytes", &d->memory.swap_total_bytes);
    j_int(j, &wm, "swap_free_bytes", &d->memory.swap_free_bytes);
    j_int(j, &wm, "page_size", &d->memory.page_size);
    j_str(j, &wm, "thp", &d->memory.thp);
    mb_json_key(j, "zram");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->memory.n_zram; i++) {
        const probes_zram_t *z = &d->memory.zram[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "name");
        mb_json_str(j, z->name);
        j_int(j, &w, "disksize_bytes", &z->disksize_bytes);
        j_str(j, &w, "algorithm", &z->algorithm);
        j_int(j, &w, "orig_bytes", &z->orig_bytes);
        j_int(j, &w, "compr_bytes", &z->compr_bytes);
        j_int(j, &w, "mem_used_bytes", &z->mem_used_bytes);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->memory.n_zram)
        why_add(&wm, "zram", d->memory.zram_why);
    j_end(j, &wm);

    /* thermal */
    mb_json_key(j, "thermal");
    mb_json_obj_begin(j);
    whys_t wt = {0};
    mb_json_key(j, "zones");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->thermal.n_zones; i++) {
        const probes_thermal_zone_t *z = &d->thermal.zones[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "index");
        mb_json_int(j, z->index);
        j_str(j, &w, "type", &z->type);
        j_num(j, &w, "temp_c", &z->temp_c);
        mb_json_key(j, "trips");
        mb_json_arr_begin(j);
        for (int t = 0; t < z->ntrips; t++) {
            whys_t wtr = {0};
            mb_json_obj_begin(j);
            mb_json_key(j, "type");
            mb_json_str(j, z->trips[t].type[0] ? z->trips[t].type : NULL);
            j_num(j, &wtr, "temp_c", &z->trips[t].temp_c);
            j_end(j, &wtr);
        }
        mb_json_arr_end(j);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->thermal.n_zones)
        why_add(&wt, "zones", d->thermal.zones_why);
    mb_json_key(j, "hwmon");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->thermal.n_hwmon; i++) {
        const probes_hwmon_temp_t *h = &d->thermal.hwmon[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "chip");
        mb_json_str(j, h->chip);
        mb_json_key(j, "sensor");
        mb_json_str(j, h->sensor);
        j_str(j, &w, "label", &h->label);
        j_num(j, &w, "temp_c", &h->temp_c);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->thermal.n_hwmon)
        why_add(&wt, "hwmon", d->thermal.hwmon_why);
    mb_json_key(j, "cooling");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->thermal.n_cooling; i++) {
        const probes_cooling_t *k = &d->thermal.cooling[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "index");
        mb_json_int(j, k->index);
        j_str(j, &w, "type", &k->type);
        j_int(j, &w, "cur_state", &k->cur_state);
        j_int(j, &w, "max_state", &k->max_state);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->thermal.n_cooling)
        why_add(&wt, "cooling", d->thermal.cooling_why);
    j_end(j, &wt);

    /* power */
    mb_json_key(j, "power");
    mb_json_obj_begin(j);
    whys_t wp = {0};
    mb_json_key(j, "rapl");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->power.n_rapl; i++) {
        const probes_rapl_t *r = &d->power.rapl[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "zone");
        mb_json_str(j, r->zone);
        j_str(j, &w, "name", &r->name);
        j_int(j, &w, "energy_uj", &r->energy_uj);
        j_int(j, &w, "max_energy_range_uj", &r->max_energy_range_uj);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->power.n_rapl)
        why_add(&wp, "rapl", d->power.rapl_why);
    mb_json_key(j, "batteries");
    mb_json_arr_begin(j);
    for (size_t i = 0; i < d->power.n_batteries; i++) {
        const probes_battery_t *b = &d->power.batteries[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "name");
        mb_json_str(j, b->name);
        j_int(j, &w, "capacity_pct", &b->capacity_pct);
        j_str(j, &w, "status", &b->status);
        j_str(j, &w, "technology", &b->technology);
        j_int(j, &w, "current_ua", &b->current_ua);
        j_int(j, &w, "voltage_uv", &b->voltage_uv);
        j_num(j, &w, "temp_c", &b->temp_c);
        j_end(j, &w);
    }
    mb_json_arr_end(j);
    if (!d->power.n_batteries)
        why_add(&wp, "batteries", d->power.batteries_why);
    j_end(j, &wp);

    /* system */
    mb_json_key(j, "system");
    mb_json_obj_begin(j);
    whys_t ws = {0};
    j_str(j, &ws, "kernel", &d->system.kernel);
    j_str(j, &ws, "kernel_version", &d->system.kernel_version);
    j_str(j, &ws, "arch", &d->system.arch);
    j_str(j, &ws, "hostname", &d->system.hostname);
    j_str(j, &ws, "os_name", &d->system.os_name);
    j_str(j, &ws, "os_id", &d->system.os_id);
    j_str(j, &ws, "os_version", &d->system.os_version);
    j_bool(j, &ws, "hypervisor", &d->system.hypervisor);
    j_str(j, &ws, "hypervisor_vendor", &d->system.hypervisor_vendor);
    mb_json_key(j, "android");
    if (d->system.android) {
        mb_json_obj_begin(j);
        j_str(j, &w, "manufacturer", &d->system.android_manufacturer);
        j_str(j, &w, "model", &d->system.android_model);
        j_str(j, &w, "device", &d->system.android_device);
        j_str(j, &w, "release", &d->system.android_release);
        j_str(j, &w, "sdk", &d->system.android_sdk);
        j_str(j, &w, "soc", &d->system.android_soc);
        j_str(j, &w, "platform", &d->system.android_platform);
        j_str(j, &w, "build", &d->system.android_build);
        j_str(j, &w, "soc_manufacturer", &d->system.android_soc_manufacturer);
        mb_json_key(j, "source");
        mb_json_str(j, d->system.android_source);
        j_end(j, &w);
    } else {
        mb_json_null(j);
        why_add(&ws, "android", "not Android (no getprop, no system/build.prop)");
    }
    j_end(j, &ws);
    return MB_OK;
}

int probes_device_json(const probes_device_t *dev, mb_json_t *j)
{
    mb_json_obj_begin(j);
    int rc = probes_device_json_fields(dev, j);
    mb_json_obj_end(j);
    return rc;
}

/* ---- table ---------------------------------------------------------------------- */

static const char *s_or(const probes_str_t *v, char *buf, size_t len)
{
    if (v->ok)
        return v->v;
    snprintf(buf, len, "n/a (%s)", v->why);
    return buf;
}

static void fmt_bytes_or(const probes_int_t *v, char *buf, size_t len)
{
    if (v->ok)
        mb_fmt_bytes((uint64_t)v->v, buf, len);
    else
        snprintf(buf, len, "n/a (%s)", v->why);
}

void probes_device_print(const probes_device_t *d, FILE *f)
{
    char b1[256], b2[256], b3[256];
    fprintf(f, "Device %s  (root %s)\n\n", d->fingerprint, d->root);
    fprintf(f, "CPU\n");
    fprintf(f, "  %-14s %s\n", "vendor", s_or(&d->cpu.vendor, b1, sizeof b1));
    fprintf(f, "  %-14s %s\n", "brand", s_or(&d->cpu.brand, b1, sizeof b1));
    fprintf(f, "  %-14s %s\n", "uarch", s_or(&d->cpu.uarch, b1, sizeof b1));
    if (d->cpu.family.ok || d->cpu.model.ok || d->cpu.stepping.ok) {
        fprintf(f, "  %-14s", "id");
        if (d->cpu.family.ok)
            fprintf(f, " family %" PRId64 " (0x%" PRIx64 ")", d->cpu.family.v, d->cpu.family.v);
        if (d->cpu.model.ok)
            fprintf(f, " model %" PRId64 " (0x%" PRIx64 ")", d->cpu.model.v, d->cpu.model.v);
        if (d->cpu.stepping.ok)
            fprintf(f, " stepping %" PRId64, d->cpu.stepping.v);
        fputc('\n', f);
    }
    fprintf(f, "  %-14s packages %s, cores %s, threads %s\n", "topology",
            d->cpu.packages.ok ? (snprintf(b1, sizeof b1, "%" PRId64, d->cpu.packages.v), b1) : "n/a",
            d->cpu.cores.ok ? (snprintf(b2, sizeof b2, "%" PRId64, d->cpu.cores.v), b2) : "n/a",
            d->cpu.threads.ok ? (snprintf(b3, sizeof b3, "%" PRId64, d->cpu.threads.v), b3) : "n/a");
    fprintf(f, "  %-14s", "features");
    for (int i = 0; i < PROBES_FEAT_COUNT; i++)
        if (probes_features_has(&d->cpu.features, (probes_feature_t)i))
            fprintf(f, " %s", probes_feature_name((probes_feature_t)i));
    fprintf(f, "  [%s]\n", d->cpu.features_source);
    const probes_cpu_source_t *ci = &d->cpu.sources[PROBES_SRC_CPUINFO];
    if (!d->cpu.sources[PROBES_SRC_CPUID].available && !d->cpu.sources[PROBES_SRC_HWCAP].available &&
        ci->available && ci->known.bits) {
        /* under a tree the dispatch set is this host's: show the tree's own answer too */
        fprintf(f, "  %-14s", "cpuinfo flags");
        for (int i = 0; i < PROBES_FEAT_COUNT; i++)
            if (probes_features_has(&ci->features, (probes_feature_t)i))
                fprintf(f, " %s", probes_feature_name((probes_feature_t)i));
        fprintf(f, "  [proc/cpuinfo of the tree]\n");
    }
    for (size_t i = 0; i < d->cpu.n_clusters; i++) {
        const probes_cluster_t *cl = &d->cpu.clusters[i];
        char mhz[32] = "n/a";
        if (cl->max_mhz.ok)
            snprintf(mhz, sizeof mhz, "%.0f MHz", cl->max_mhz.v);
        fprintf(f, "  %-14s %-11s cpus %-8s (%d) %-14s max %s", i ? "" : "clusters", cl->role, cl->cpus, cl->ncpus,
                cl->core_name.ok ? cl->core_name.v : "-", mhz);
        if (cl->capacity.ok)
            fprintf(f, " capacity %" PRId64, cl->capacity.v);
        fputc('\n', f);
    }
    for (size_t i = 0; i < d->cpu.n_caches; i++) {
        const probes_cache_t *k = &d->cpu.caches[i];
        /* caches come in binary units: 32 KiB, not "32.8 kB" */
        if (k->size_bytes.ok && k->size_bytes.v % (1 << 20) == 0)
            snprintf(b1, sizeof b1, "%" PRId64 " MiB", k->size_bytes.v >> 20);
        else if (k->size_bytes.ok && k->size_bytes.v % 1024 == 0)
            snprintf(b1, sizeof b1, "%" PRId64 " KiB", k->size_bytes.v >> 10);
        else
            fmt_bytes_or(&k->size_bytes, b1, sizeof b1);
        fprintf(f, "  %-14s L%d %-12s %s shared with cpus %s\n", i ? "" : "caches (cpu0)", k->level, k->type, b1,
                k->shared_cpus[0] ? k->shared_cpus : "?");
    }
    fprintf(f, "  %-14s", "sources");
    for (int i = 0; i < PROBES_SRC_COUNT; i++)
        fprintf(f, " %s%s", d->cpu.sources[i].name, d->cpu.sources[i].available ? "" : "(n/a)");
    fputc('\n', f);
    if (d->cpu.n_disagreements) {
        fprintf(f, "  disagreements between sources:\n");
        for (size_t i = 0; i < d->cpu.n_disagreements; i++) {
            const probes_disagreement_t *x = &d->cpu.disagreements[i];
            fprintf(f, "    %-20s %s says '%s', %s says '%s'\n", x->field, x->source, x->value, x->reference,
                    x->ref_value);
        }
    }
    fprintf(f, "\nFrequency (%s)\n", d->cpu.freq_source[0] ? d->cpu.freq_source : "no source");
    for (size_t i = 0; i < d->cpu.n_cores_list; i++) {
        const probes_core_t *k = &d->cpu.cores_list[i];
        fprintf(f, "  cpu%-4d", k->cpu);
        fprintf(f, k->cur_mhz.ok ? " cur %6.0f" : " cur    n/a", k->cur_mhz.v);
        fprintf(f, k->min_mhz.ok ? "  min %6.0f" : "  min    n/a", k->min_mhz.v);
        fprintf(f, k->max_mhz.ok ? "  max %6.0f MHz" : "  max    n/a    ", k->max_mhz.v);
        fprintf(f, "  %s\n", k->governor.ok ? k->governor.v : "");
    }
    fprintf(f, "\nMemory\n");
    fmt_bytes_or(&d->memory.total_bytes, b1, sizeof b1);
    fmt_bytes_or(&d->memory.available_bytes, b2, sizeof b2);
    fprintf(f, "  %-14s %s (available %s)\n", "RAM", b1, b2);
    fmt_bytes_or(&d->memory.swap_total_bytes, b1, sizeof b1);
    fmt_bytes_or(&d->memory.swap_free_bytes, b2, sizeof b2);
    fprintf(f, "  %-14s %s (free %s)\n", "swap", b1, b2);
    for (size_t i = 0; i < d->memory.n_zram; i++) {
        fmt_bytes_or(&d->memory.zram[i].disksize_bytes, b1, sizeof b1);
        fprintf(f, "  %-14s %s %s\n", d->memory.zram[i].name, b1,
                d->memory.zram[i].algorithm.ok ? d->memory.zram[i].algorithm.v : "");
    }
    fprintf(f, "  %-14s %s\n", "page size",
            d->memory.page_size.ok ? (snprintf(b1, sizeof b1, "%" PRId64 " bytes", d->memory.page_size.v), b1)
                                   : "n/a");
    fprintf(f, "  %-14s %s\n", "THP", s_or(&d->memory.thp, b1, sizeof b1));
    fprintf(f, "\nThermal\n");
    if (!d->thermal.n_zones && !d->thermal.n_hwmon)
        fprintf(f, "  n/a (%s; %s)\n", d->thermal.zones_why, d->thermal.hwmon_why);
    for (size_t i = 0; i < d->thermal.n_zones; i++) {
        const probes_thermal_zone_t *z = &d->thermal.zones[i];
        fprintf(f, "  zone%-3d %-20s %s", z->index, z->type.ok ? z->type.v : "?",
                z->temp_c.ok ? (snprintf(b1, sizeof b1, "%.1f C", z->temp_c.v), b1) : "n/a");
        for (int t = 0; t < z->ntrips; t++)
            if (z->trips[t].temp_c.ok)
                fprintf(f, "  %s@%.0f", z->trips[t].type, z->trips[t].temp_c.v);
        fputc('\n', f);
    }
    for (size_t i = 0; i < d->thermal.n_hwmon; i++) {
        const probes_hwmon_temp_t *h = &d->thermal.hwmon[i];
        fprintf(f, "  %-10s %-7s %-16s %s\n", h->chip, h->sensor, h->label.ok ? h->label.v : "",
                h->temp_c.ok ? (snprintf(b1, sizeof b1, "%.1f C", h->temp_c.v), b1) : "n/a");
    }
    for (size_t i = 0; i < d->thermal.n_cooling; i++) {
        const probes_cooling_t *k = &d->thermal.cooling[i];
        fprintf(f, "  cooling%-3d %-20s state %" PRId64 "/%" PRId64 "\n", k->index, k->type.ok ? k->type.v : "?",
                k->cur_state.ok ? k->cur_state.v : -1, k->max_state.ok ? k->max_state.v : -1);
    }
    fprintf(f, "\nPower\n");
    if (!d->power.n_rapl)
        fprintf(f, "  RAPL: n/a (%s)\n", d->power.rapl_why);
    for (size_t i = 0; i < d->power.n_rapl; i++) {
        const probes_rapl_t *r = &d->power.rapl[i];
        fprintf(f, "  %-16s %-10s %s\n", r->zone, r->name.ok ? r->name.v : "?",
                r->energy_uj.ok ? (snprintf(b1, sizeof b1, "%" PRId64 " uJ", r->energy_uj.v), b1)
                                : (snprintf(b1, sizeof b1, "n/a (%s)", r->energy_uj.why), b1));
    }
    if (!d->power.n_batteries)
        fprintf(f, "  battery: n/a (%s)\n", d->power.batteries_why);
    for (size_t i = 0; i < d->power.n_batteries; i++) {
        const probes_battery_t *b = &d->power.batteries[i];
        fprintf(f, "  %-16s %s%% %s", b->name,
                b->capacity_pct.ok ? (snprintf(b1, sizeof b1, "%" PRId64, b->capacity_pct.v), b1) : "?",
                b->status.ok ? b->status.v : "");
        if (b->temp_c.ok)
            fprintf(f, " %.1f C", b->temp_c.v);
        fputc('\n', f);
    }
    fprintf(f, "\nSystem\n");
    fprintf(f, "  %-14s %s\n", "kernel", s_or(&d->system.kernel, b1, sizeof b1));
    fprintf(f, "  %-14s %s\n", "arch", s_or(&d->system.arch, b1, sizeof b1));
    fprintf(f, "  %-14s %s\n", "os", s_or(&d->system.os_name, b1, sizeof b1));
    fprintf(f, "  %-14s %s\n", "hostname", s_or(&d->system.hostname, b1, sizeof b1));
    if (d->system.android)
        fprintf(f, "  %-14s %s %s (SDK %s, %s)\n", "android",
                d->system.android_manufacturer.ok ? d->system.android_manufacturer.v : "?",
                d->system.android_model.ok ? d->system.android_model.v : "?",
                d->system.android_sdk.ok ? d->system.android_sdk.v : "?",
                d->system.android_soc.ok ? d->system.android_soc.v : "?");
    fprintf(f, "  %-14s %s%s%s\n", "hypervisor",
            d->system.hypervisor.ok ? (d->system.hypervisor.v ? "yes" : "no") : "unknown",
            d->system.hypervisor_vendor.ok ? " " : "", d->system.hypervisor_vendor.ok ? d->system.hypervisor_vendor.v : "");
    if (d->warnings)
        fprintf(f, "\n%d field(s) could not be read; see the warnings on stderr or the 'why' maps in --json.\n",
                d->warnings);
}
