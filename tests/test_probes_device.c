/* test_probes_device.c: the device probe on the fixture trees (values parsed
 * from each documented layout), on broken input, and on this host. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes.h"

#define TREE(name) MB_FIXTURES "/sysfs/" name

static void probe_tree(const char *root, probes_device_t *d)
{
    probes_opts_t o = {.root = root, .quiet = true};
    cr_assert_eq(probes_device_probe(&o, d), MB_OK, "probe %s: %s", root, mb_err_msg());
}

static bool near(double a, double b) { return fabs(a - b) < 1e-6 * (fabs(b) + 1); }

Test(probes_device, android_three_clusters)
{
    probes_device_t d;
    probe_tree(TREE("android-3cluster"), &d);
    cr_assert(d.cpu.vendor.ok);
    cr_assert_str_eq(d.cpu.vendor.v, "ARM");
    cr_assert_str_eq(d.cpu.brand.v, "Qualcomm Technologies, Inc SM8350");
    cr_assert_str_eq(d.cpu.uarch.v, "Cortex-A55 + Cortex-A78 + Cortex-X1");
    cr_assert(d.cpu.threads.ok && d.cpu.threads.v == 8);
    cr_assert(d.cpu.cores.ok && d.cpu.cores.v == 8);
    cr_assert(!d.cpu.model.ok && d.cpu.model.why[0], "ARM has no x86 model; null with a reason");

    cr_assert_eq(d.cpu.n_clusters, 3);
    const char *roles[] = {"little", "mid", "big"}, *cpus[] = {"0-3", "4-6", "7"};
    const char *names[] = {"Cortex-A55", "Cortex-A78", "Cortex-X1"};
    int n[] = {4, 3, 1}, cap[] = {235, 871, 1024};
    double mhz[] = {1804.8, 2419.2, 2841.6};
    for (int i = 0; i < 3; i++) {
        const probes_cluster_t *c = &d.cpu.clusters[i];
        cr_assert_str_eq(c->role, roles[i]);
        cr_assert_str_eq(c->cpus, cpus[i]);
        cr_assert_eq(c->ncpus, n[i]);
        cr_assert_str_eq(c->core_name.v, names[i]);
        cr_assert(c->capacity.ok && c->capacity.v == cap[i]);
        cr_assert(c->max_mhz.ok && near(c->max_mhz.v, mhz[i]), "cluster %d max %g", i, c->max_mhz.v);
    }
    cr_assert_eq(d.cpu.n_cores_list, 8);
    cr_assert_eq(d.cpu.cores_list[7].arm_part.v, 0xd44);
    cr_assert(near(d.cpu.cores_list[3].cur_mhz.v, 300.0));
    cr_assert_str_eq(d.cpu.cores_list[0].governor.v, "schedutil");
    cr_assert_str_eq(d.cpu.freq_source, "cpufreq");

    /* cpuinfo features of the tree are that source's answer */
    const probes_cpu_source_t *ci = &d.cpu.sources[PROBES_SRC_CPUINFO];
    cr_assert(ci->available);
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_ASIMD));
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_DOTPROD));
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_ARM_FP16));
    cr_assert(!probes_features_has(&ci->features, PROBES_FEAT_I8MM));
    /* host-only sources are off under a tree */
    cr_assert(!d.cpu.sources[PROBES_SRC_CPUID].available);
    cr_assert(!d.cpu.sources[PROBES_SRC_LIBCPUID].available);

    cr_assert_eq(d.cpu.n_caches, 4);
    cr_assert_eq(d.cpu.caches[3].level, 3);
    cr_assert_eq(d.cpu.caches[3].size_bytes.v, 4096 * 1024);

    cr_assert_eq(d.memory.total_bytes.v, 7694136ll * 1024);
    cr_assert_eq(d.memory.available_bytes.v, 3012344ll * 1024);
    cr_assert_eq(d.memory.swap_total_bytes.v, 4194300ll * 1024);
    cr_assert(!d.memory.thp.ok && strstr(d.memory.thp.why, "missing"));
    cr_assert(!d.memory.page_size.ok && d.memory.page_size.why[0]);
    cr_assert_eq(d.memory.n_zram, 1);
    cr_assert_eq(d.memory.zram[0].disksize_bytes.v, 4294967296ll);
    cr_assert_str_eq(d.memory.zram[0].algorithm.v, "zstd");
    cr_assert_eq(d.memory.zram[0].compr_bytes.v, 268435456);

    cr_assert_eq(d.thermal.n_zones, 4);
    cr_assert_str_eq(d.thermal.zones[1].type.v, "cpu-1-0-usr");
    cr_assert(near(d.thermal.zones[1].temp_c.v, 52.3));
    cr_assert_eq(d.thermal.zones[0].ntrips, 3);
    cr_assert_str_eq(d.thermal.zones[0].trips[2].type, "critical");
    cr_assert(near(d.thermal.zones[0].trips[2].temp_c.v, 115.0));
    cr_assert_eq(d.thermal.n_cooling, 3);
    cr_assert_eq(d.thermal.cooling[1].cur_state.v, 2);
    cr_assert_eq(d.thermal.cooling[1].max_state.v, 20);
    cr_assert_eq(d.thermal.n_hwmon, 0);
    cr_assert(d.thermal.hwmon_why[0]);

    cr_assert_eq(d.power.n_batteries, 1, "usb supply is not a battery");
    const probes_battery_t *b = &d.power.batteries[0];
    cr_assert_eq(b->capacity_pct.v, 78);
    cr_assert_str_eq(b->status.v, "Discharging");
    cr_assert_eq(b->current_ua.v, -412000);
    cr_assert_eq(b->voltage_uv.v, 3987000);
    cr_assert(near(b->temp_c.v, 31.2));
    cr_assert_eq(d.power.n_rapl, 0);

    cr_assert(d.system.android);
    cr_assert_str_eq(d.system.android_model.v, "SM-G991U");
    cr_assert_str_eq(d.system.android_sdk.v, "34");
    cr_assert_str_eq(d.system.android_soc.v, "SM8350");
    cr_assert_str_eq(d.system.os_name.v, "Android 14");
    cr_assert_str_eq(d.system.kernel.v, "5.4.254-qgki-27345678-abG991USQSADXC1");
    cr_assert_str_eq(d.system.arch.v, "aarch64");
    cr_assert_eq(strlen(d.fingerprint), 16);
    probes_device_free(&d);
}

Test(probes_device, raspberry_pi)
{
    probes_device_t d;
    probe_tree(TREE("rpi"), &d);
    cr_assert_str_eq(d.cpu.brand.v, "Raspberry Pi 4 Model B Rev 1.4");
    cr_assert_str_eq(d.cpu.uarch.v, "Cortex-A72");
    cr_assert_eq(d.cpu.threads.v, 4);
    cr_assert_eq(d.cpu.n_clusters, 1);
    cr_assert_str_eq(d.cpu.clusters[0].role, "uniform");
    cr_assert_str_eq(d.cpu.clusters[0].cpus, "0-3");
    cr_assert(near(d.cpu.clusters[0].max_mhz.v, 1800.0));
    cr_assert(near(d.cpu.cores_list[2].cur_mhz.v, 600.0));
    cr_assert_str_eq(d.cpu.cores_list[0].governor.v, "ondemand");
    const probes_cpu_source_t *ci = &d.cpu.sources[PROBES_SRC_CPUINFO];
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_ASIMD));
    cr_assert(!probes_features_has(&ci->features, PROBES_FEAT_DOTPROD), "A72 has no dotprod");
    cr_assert_eq(d.thermal.n_zones, 1);
    cr_assert_str_eq(d.thermal.zones[0].type.v, "cpu-thermal");
    cr_assert(near(d.thermal.zones[0].temp_c.v, 48.686));
    cr_assert_eq(d.thermal.n_hwmon, 1, "rpi_volt has no temperature");
    cr_assert_str_eq(d.thermal.hwmon[0].chip, "cpu_thermal");
    cr_assert(!d.thermal.hwmon[0].label.ok);
    cr_assert_str_eq(d.memory.thp.v, "madvise");
    cr_assert_eq(d.memory.total_bytes.v, 7999364ll * 1024);
    cr_assert_str_eq(d.system.os_name.v, "Debian GNU/Linux 12 (bookworm)");
    cr_assert_str_eq(d.system.os_id.v, "debian");
    cr_assert_str_eq(d.system.os_version.v, "12");
    cr_assert_str_eq(d.system.hostname.v, "raspberrypi");
    cr_assert(!d.system.android);
    cr_assert_eq(d.power.n_batteries, 0);
    cr_assert(strstr(d.power.batteries_why, "no batteries"));
    cr_assert_eq(d.cpu.n_caches, 3);
    cr_assert_eq(d.cpu.sources[PROBES_SRC_SYSFS].l2_bytes.v, 1024 * 1024);
    probes_device_free(&d);
}

Test(probes_device, x86_laptop_hybrid)
{
    probes_device_t d;
    probe_tree(TREE("x86-laptop"), &d);
    cr_assert_str_eq(d.cpu.vendor.v, "GenuineIntel");
    cr_assert_str_eq(d.cpu.brand.v, "12th Gen Intel(R) Core(TM) i7-1260P");
    cr_assert_eq(d.cpu.family.v, 6);
    cr_assert_eq(d.cpu.model.v, 154);
    cr_assert_eq(d.cpu.stepping.v, 3);
    cr_assert_str_eq(d.cpu.uarch.v, "Alder Lake");
    cr_assert_eq(d.cpu.packages.v, 1);
    cr_assert_eq(d.cpu.cores.v, 12);
    cr_assert_eq(d.cpu.threads.v, 16);
    cr_assert_eq(d.cpu.n_disagreements, 0, "cpuinfo and sysfs agree on this tree");
    cr_assert_eq(d.cpu.n_clusters, 2);
    cr_assert_str_eq(d.cpu.clusters[0].role, "little");
    cr_assert_str_eq(d.cpu.clusters[0].cpus, "8-15");
    cr_assert(near(d.cpu.clusters[0].max_mhz.v, 3400.0));
    cr_assert_str_eq(d.cpu.clusters[1].role, "big");
    cr_assert_str_eq(d.cpu.clusters[1].cpus, "0-7");
    cr_assert(near(d.cpu.clusters[1].max_mhz.v, 4700.0));
    cr_assert_str_eq(d.cpu.cores_list[0].driver.v, "intel_pstate");
    cr_assert_str_eq(d.cpu.cores_list[0].governor.v, "powersave");
    const probes_cpu_source_t *ci = &d.cpu.sources[PROBES_SRC_CPUINFO];
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_AVX2));
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_AVX_VNNI));
    cr_assert(!probes_features_has(&ci->features, PROBES_FEAT_AVX512F));
    cr_assert(probes_features_has(&ci->known, PROBES_FEAT_AVX512F));

    cr_assert_eq(d.thermal.n_zones, 3);
    cr_assert_eq(d.thermal.n_hwmon, 9);
    int found = 0;
    for (size_t i = 0; i < d.thermal.n_hwmon; i++) {
        const probes_hwmon_temp_t *h = &d.thermal.hwmon[i];
        if (!strcmp(h->chip, "coretemp") && h->label.ok && !strcmp(h->label.v, "Package id 0")) {
            cr_assert(near(h->temp_c.v, 52.0));
            found++;
        }
        if (!strcmp(h->chip, "nvme")) {
            cr_assert_str_eq(h->label.v, "Composite");
            cr_assert(near(h->temp_c.v, 38.85));
            found++;
        }
    }
    cr_assert_eq(found, 2);
    cr_assert_eq(d.power.n_rapl, 4, "the 'intel-rapl' control type has no counter");
    cr_assert_str_eq(d.power.rapl[0].zone, "intel-rapl:0");
    cr_assert_str_eq(d.power.rapl[0].name.v, "package-0");
    cr_assert_eq(d.power.rapl[0].energy_uj.v, 123456789012ll);
    cr_assert_str_eq(d.power.rapl[1].name.v, "core");
    cr_assert_str_eq(d.power.rapl[3].name.v, "psys");
    cr_assert_eq(d.power.n_batteries, 1);
    cr_assert_eq(d.power.batteries[0].capacity_pct.v, 91);
    cr_assert(!d.power.batteries[0].temp_c.ok);
    cr_assert_eq(d.system.hypervisor.ok, true);
    cr_assert_eq(d.system.hypervisor.v, 0);
    cr_assert_str_eq(d.system.os_id.v, "ubuntu");
    cr_assert_eq(d.cpu.caches[3].size_bytes.v, 18432 * 1024);
    probes_device_free(&d);
}

Test(probes_device, broken_tree_gives_nulls_with_reasons)
{
    probes_device_t d;
    probe_tree(TREE("broken"), &d);
    cr_assert_gt(d.warnings, 20, "every bad node warns (got %d)", d.warnings);
    /* truncated cpuinfo: the two processors still count, the bad model does not */
    cr_assert_eq(d.cpu.threads.v, 2);
    cr_assert(!d.cpu.model.ok);
    cr_assert(!d.cpu.uarch.ok && strstr(d.cpu.uarch.why, "unknown CPU"));
    cr_assert(!d.cpu.cores.ok, "core_id 'zero' is garbage");
    const probes_core_t *c0 = &d.cpu.cores_list[0];
    cr_assert(!c0->cur_mhz.ok && strstr(c0->cur_mhz.why, "absurd"), "1e9 MHz: %s", c0->cur_mhz.why);
    cr_assert(!c0->max_mhz.ok && strstr(c0->max_mhz.why, "not a number"));
    cr_assert(!c0->min_mhz.ok && strstr(c0->min_mhz.why, "missing"));
    cr_assert(!c0->capacity.ok && strstr(c0->capacity.why, "absurd"));
    cr_assert_str_eq(c0->governor.v, "performance");
    cr_assert(!d.cpu.cores_list[1].cur_mhz.ok, "no cpufreq and no MHz line for cpu1");

    cr_assert(!d.memory.total_bytes.ok && strstr(d.memory.total_bytes.why, "bad value"));
    cr_assert(!d.memory.available_bytes.ok);
    cr_assert(!d.memory.swap_total_bytes.ok && strstr(d.memory.swap_total_bytes.why, "no SwapTotal"));
    cr_assert(d.memory.swap_free_bytes.ok && d.memory.swap_free_bytes.v == 0);
    cr_assert(!d.memory.thp.ok);
    cr_assert(!d.memory.zram[0].disksize_bytes.ok);
    cr_assert(!d.memory.zram[0].orig_bytes.ok);

    cr_assert_eq(d.thermal.n_zones, 4);
    cr_assert(!d.thermal.zones[0].temp_c.ok && strstr(d.thermal.zones[0].temp_c.why, "absurd"),
              "negative temperature: %s", d.thermal.zones[0].temp_c.why);
    cr_assert(!d.thermal.zones[0].trips[0].temp_c.ok);
    cr_assert(!d.thermal.zones[1].type.ok && strstr(d.thermal.zones[1].type.why, "missing"));
    cr_assert(!d.thermal.zones[1].temp_c.ok && strstr(d.thermal.zones[1].temp_c.why, "not a number"));
    cr_assert(!d.thermal.zones[2].temp_c.ok && strstr(d.thermal.zones[2].temp_c.why, "not a regular file"));
    cr_assert(!d.thermal.zones[3].temp_c.ok && strstr(d.thermal.zones[3].temp_c.why, "empty"));
    cr_assert_eq(d.thermal.n_hwmon, 2);
    cr_assert(!d.thermal.hwmon[1].temp_c.ok && strstr(d.thermal.hwmon[1].temp_c.why, "absurd"));
    cr_assert(!d.thermal.cooling[0].cur_state.ok);

    cr_assert(!d.power.rapl[0].energy_uj.ok && strstr(d.power.rapl[0].energy_uj.why, "not an integer"));
    cr_assert(!d.power.batteries[0].capacity_pct.ok && strstr(d.power.batteries[0].capacity_pct.why, "absurd"));
    cr_assert(!d.power.batteries[0].voltage_uv.ok);
    cr_assert(!d.power.batteries[0].temp_c.ok);
    cr_assert(!d.system.kernel.ok && strstr(d.system.kernel.why, "binary"));
    cr_assert(!d.system.os_name.ok && strstr(d.system.os_name.why, "PRETTY_NAME"));
    cr_assert(!d.cpu.caches[0].size_bytes.ok, "the level-2 entry with size 'big' stays, size null");
    probes_device_free(&d);
}

Test(probes_device, fingerprint_is_stable_and_identity_only)
{
    probes_device_t a, b, c;
    probe_tree(TREE("android-3cluster"), &a);
    probe_tree(TREE("android-3cluster"), &b);
    probe_tree(TREE("rpi"), &c);
    cr_assert_str_eq(a.fingerprint, b.fingerprint);
    cr_assert_str_neq(a.fingerprint, c.fingerprint);
    for (int i = 0; i < 16; i++)
        cr_assert(strchr("0123456789abcdef", a.fingerprint[i]));
    probes_device_free(&a);
    probes_device_free(&b);
    probes_device_free(&c);
}

Test(probes_device, missing_root_is_an_error)
{
    probes_device_t d;
    probes_opts_t o = {.root = "/nonexistent/mobench-tree", .quiet = true};
    cr_assert_eq(probes_device_probe(&o, &d), MB_ENOENT);
    cr_assert(strstr(mb_err_msg(), "/nonexistent/mobench-tree"));
    probes_device_free(&d);
    cr_assert_eq(probes_root_set("/nonexistent/mobench-tree"), MB_ENOENT);
}

Test(probes_device, empty_root_never_fails)
{
    char dir[] = "/tmp/mb-probe-empty-XXXXXX";
    cr_assert(mkdtemp(dir));
    probes_device_t d;
    probe_tree(dir, &d);
    cr_assert(!d.cpu.threads.ok && d.cpu.threads.why[0]);
    cr_assert(!d.memory.total_bytes.ok);
    cr_assert_eq(d.thermal.n_zones, 0);
    cr_assert(strstr(d.thermal.zones_why, "no thermal zones"));
    cr_assert(!d.system.arch.ok);
    probes_device_free(&d);
    rmdir(dir);
}

Test(probes_device, fifo_does_not_hang)
{
    char dir[] = "/tmp/mb-probe-fifo-XXXXXX";
    cr_assert(mkdtemp(dir));
    char p[512];
    snprintf(p, sizeof p, "%s/sys", dir), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sys/class", dir), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sys/class/thermal", dir), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0", dir), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sys/class/thermal/thermal_zone0/temp", dir);
    cr_assert_eq(mkfifo(p, 0644), 0);
    uint64_t t0 = mb_clock_ns();
    probes_device_t d;
    probe_tree(dir, &d);
    cr_assert_lt(mb_clock_ns() - t0, 2000000000ull);
    cr_assert_eq(d.thermal.n_zones, 1);
    cr_assert(!d.thermal.zones[0].temp_c.ok && strstr(d.thermal.zones[0].temp_c.why, "not a regular file"));
    probes_device_free(&d);
    unlink(p);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    cr_assert_eq(system(p), 0);
}

Test(probes_device, permission_denied_is_a_reason)
{
    if (geteuid() == 0)
        cr_skip("running as root: file modes do not deny reads");
    char dir[] = "/tmp/mb-probe-perm-XXXXXX";
    cr_assert(mkdtemp(dir));
    char p[512];
    snprintf(p, sizeof p, "mkdir -p '%s/sys/class/powercap/intel-rapl:0' && echo 5 > '%s/sys/class/powercap/intel-rapl:0/energy_uj' && chmod 000 '%s/sys/class/powercap/intel-rapl:0/energy_uj'", dir, dir, dir);
    cr_assert_eq(system(p), 0);
    probes_device_t d;
    probe_tree(dir, &d);
    cr_assert_eq(d.power.n_rapl, 1);
    cr_assert(!d.power.rapl[0].energy_uj.ok && strstr(d.power.rapl[0].energy_uj.why, "permission denied"));
    probes_device_free(&d);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    cr_assert_eq(system(p), 0);
}

static mb_jv_t *to_json(const probes_device_t *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    mb_json_t j;
    mb_json_init(&j, f, false);
    probes_device_json(d, &j);
    fclose(f);
    mb_jv_t *v = NULL;
    cr_assert_eq(mb_jv_parse(buf, len, &v), MB_OK, "JSON does not parse: %s", mb_err_msg());
    free(buf);
    return v;
}

Test(probes_device, json_has_schema_and_reasons)
{
    probes_device_t d;
    probe_tree(TREE("broken"), &d);
    mb_jv_t *v = to_json(&d);
    const char *req[] = {"schema", "fingerprint", "cpu", "cpu.vendor", "cpu.features", "cpu.clusters",
                         "cpu.cores", "cpu.sources", "cpu.disagreements", "memory", "memory.total_bytes",
                         "thermal.zones", "thermal.hwmon", "power.rapl", "power.batteries", "system",
                         "system.kernel"};
    for (size_t i = 0; i < sizeof req / sizeof *req; i++)
        cr_assert(mb_jv_path(v, req[i]), "missing key %s", req[i]);
    cr_assert_eq(mb_jv_path(v, "memory.total_bytes")->kind, MB_JV_NULL);
    const mb_jv_t *why = mb_jv_path(v, "memory.why.total_bytes");
    cr_assert(why && why->kind == MB_JV_STR && strstr(why->str, "bad value"));
    cr_assert_eq(mb_jv_path(v, "thermal.zones.0.temp_c")->kind, MB_JV_NULL);
    cr_assert(strstr(mb_jv_path(v, "thermal.zones.0.why.temp_c")->str, "absurd"));
    mb_jv_free(v);
    probes_device_free(&d);

    probe_tree(TREE("android-3cluster"), &d);
    v = to_json(&d);
    cr_assert_str_eq(mb_jv_path(v, "schema")->str, "mobench.probe/1");
    cr_assert(near(mb_jv_path(v, "thermal.zones.1.temp_c")->num, 52.3));
    cr_assert_str_eq(mb_jv_path(v, "cpu.clusters.2.role")->str, "big");
    cr_assert_str_eq(mb_jv_path(v, "system.android.model")->str, "SM-G991U");
    cr_assert_eq(mb_jv_path(v, "cpu.sources.cpuinfo.available")->b, true);
    mb_jv_free(v);
    probes_device_free(&d);
}

/* On this machine: dispatch features = CPUID+XGETBV, and every place libcpuid
 * (or cpuinfo) disagrees with it is recorded. */
Test(probes_device, host_records_source_disagreements)
{
    probes_device_t d;
    probe_tree("/", &d);
    probes_features_t f;
    probes_features_detect(&f);
    cr_assert_eq(d.cpu.features.bits, f.bits);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert(d.cpu.threads.ok && d.cpu.threads.v == n, "threads %lld vs %ld", (long long)d.cpu.threads.v, n);
#if defined(__x86_64__)
    const probes_cpu_source_t *cpuid = &d.cpu.sources[PROBES_SRC_CPUID];
    cr_assert(cpuid->available);
    cr_assert_eq(cpuid->features.bits, f.bits);
    const probes_cpu_source_t *lc = &d.cpu.sources[PROBES_SRC_LIBCPUID];
    if (!lc->available)
        cr_skip("libcpuid unavailable: %s", lc->why);
    for (int i = 0; i < PROBES_FEAT_COUNT; i++) {
        if (!probes_features_has(&lc->known, (probes_feature_t)i))
            continue;
        bool differs = probes_features_has(&lc->features, (probes_feature_t)i) != probes_features_has(&f, (probes_feature_t)i);
        char field[64];
        snprintf(field, sizeof field, "feature %s", probes_feature_name((probes_feature_t)i));
        bool recorded = false;
        for (size_t k = 0; k < d.cpu.n_disagreements; k++)
            recorded |= !strcmp(d.cpu.disagreements[k].field, field) && !strcmp(d.cpu.disagreements[k].source, "libcpuid");
        cr_assert_eq(recorded, differs, "%s: libcpuid differs=%d recorded=%d", field, differs, recorded);
    }
    if (probes_features_has(&f, PROBES_FEAT_AVX512_BF16) && !probes_features_has(&lc->known, PROBES_FEAT_AVX512_BF16)) {
        bool recorded = false;
        for (size_t k = 0; k < d.cpu.n_disagreements; k++)
            recorded |= !strcmp(d.cpu.disagreements[k].field, "feature avx512_bf16") &&
                        strstr(d.cpu.disagreements[k].value, "not reported");
        cr_assert(recorded, "libcpuid cannot see avx512_bf16: the record must say so");
    }
    if (lc->cores.ok && d.cpu.cores.ok && lc->cores.v != d.cpu.cores.v) {
        bool recorded = false;
        for (size_t k = 0; k < d.cpu.n_disagreements; k++)
            recorded |= !strcmp(d.cpu.disagreements[k].field, "cores") && !strcmp(d.cpu.disagreements[k].source, "libcpuid");
        cr_assert(recorded, "libcpuid's core count %lld vs %lld not recorded", (long long)lc->cores.v, (long long)d.cpu.cores.v);
    }
#endif
    probes_device_free(&d);
}
