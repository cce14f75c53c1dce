/* test_probes_android.c: the probe on a Pixel 8 tree (Tensor G3: 4x A510 +
 * 4x A715 + 1x X3, Android facts from a stand-in getprop only), the cluster
 * roles and CPU masks `--cluster` resolves from, and getprop that hangs,
 * fails or prints garbage (build.prop then answers, with a warning). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes.h"

#define PIXEL8 MB_FIXTURES "/sysfs/pixel8"

static bool near(double a, double b) { return fabs(a - b) < 1e-6 * (fabs(b) + 1); }

static void probe_tree(const char *root, probes_device_t *d, bool quiet)
{
    probes_opts_t o = {.root = root, .quiet = quiet};
    cr_assert_eq(probes_device_probe(&o, d), MB_OK, "probe %s: %s", root, mb_err_msg());
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

Test(probes_android, pixel8_cores_and_clusters)
{
    probes_device_t d;
    probe_tree(PIXEL8, &d, true);
    cr_assert_eq(d.cpu.threads.v, 9);
    cr_assert_str_eq(d.cpu.uarch.v, "Cortex-A510 + Cortex-A715 + Cortex-X3");
    cr_assert_eq(d.cpu.n_cores_list, 9);
    cr_assert_eq(d.cpu.cores_list[0].arm_part.v, 0xd46);
    cr_assert_eq(d.cpu.cores_list[8].arm_part.v, 0xd4e);
    cr_assert_str_eq(d.cpu.cores_list[5].core_type.v, "Cortex-A715");

    cr_assert_eq(d.cpu.n_clusters, 3);
    const char *roles[] = {"little", "mid", "big"}, *cpus[] = {"0-3", "4-7", "8"};
    const char *names[] = {"Cortex-A510", "Cortex-A715", "Cortex-X3"};
    int n[] = {4, 4, 1}, first[] = {0, 4, 8}, cap[] = {250, 620, 1024};
    double mhz[] = {1704.0, 2367.0, 2914.0};
    for (int i = 0; i < 3; i++) {
        const probes_cluster_t *c = &d.cpu.clusters[i];
        cr_assert_str_eq(c->role, roles[i]);
        cr_assert_str_eq(c->cpus, cpus[i]);
        cr_assert_eq(c->ncpus, n[i]);
        cr_assert_str_eq(c->core_name.v, names[i]);
        cr_assert(c->capacity.ok && c->capacity.v == cap[i]);
        cr_assert(c->max_mhz.ok && near(c->max_mhz.v, mhz[i]), "cluster %d max %g", i, c->max_mhz.v);
        for (int cpu = 0; cpu < 16; cpu++)
            cr_assert_eq(probes_cluster_has_cpu(c, cpu), cpu >= first[i] && cpu < first[i] + n[i],
                         "cluster %d cpu %d", i, cpu);
    }
    cr_assert(!probes_cluster_has_cpu(&d.cpu.clusters[0], -1));
    cr_assert(!probes_cluster_has_cpu(&d.cpu.clusters[0], PROBES_MAX_CPUS));
    cr_assert_str_eq(d.cpu.cores_list[0].governor.v, "sched_pixel");

    /* ARM features of the tree: i8mm and bf16 (ARMv9 cores) */
    const probes_cpu_source_t *ci = &d.cpu.sources[PROBES_SRC_CPUINFO];
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_DOTPROD));
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_I8MM));
    cr_assert(probes_features_has(&ci->features, PROBES_FEAT_ARM_BF16));
    probes_device_free(&d);
}

Test(probes_android, pixel8_thermal_battery_getprop)
{
    probes_device_t d;
    probe_tree(PIXEL8, &d, true);
    cr_assert_eq(d.thermal.n_zones, 7);
    const char *types[] = {"BIG", "MID", "LITTLE", "G3D", "TPU", "battery", "skin"};
    double temps[] = {61.25, 54.8, 47.3, 45.1, 43.9, 29.8, 35.2};
    for (int i = 0; i < 7; i++) {
        cr_assert_str_eq(d.thermal.zones[i].type.v, types[i]);
        cr_assert(near(d.thermal.zones[i].temp_c.v, temps[i]), "zone %d: %g", i, d.thermal.zones[i].temp_c.v);
    }
    cr_assert_eq(d.thermal.zones[0].ntrips, 3);
    cr_assert(near(d.thermal.zones[0].trips[2].temp_c.v, 115.0));
    cr_assert_eq(d.thermal.n_cooling, 3);
    cr_assert_eq(d.thermal.cooling[2].cur_state.v, 3);

    cr_assert_eq(d.power.n_batteries, 1, "the usb supply is not a battery");
    const probes_battery_t *b = &d.power.batteries[0];
    cr_assert_str_eq(b->name, "battery");
    cr_assert_eq(b->capacity_pct.v, 64);
    cr_assert_str_eq(b->status.v, "Charging");
    cr_assert_eq(b->current_ua.v, 812000);
    cr_assert_eq(b->voltage_uv.v, 4123000);
    cr_assert(near(b->temp_c.v, 29.8));

    /* no system/build.prop in this tree: every Android fact is getprop's */
    cr_assert(d.system.android);
    cr_assert_str_eq(d.system.android_source, "getprop");
    cr_assert_str_eq(d.system.android_model.v, "Pixel 8");
    cr_assert_str_eq(d.system.android_manufacturer.v, "Google");
    cr_assert_str_eq(d.system.android_device.v, "shiba");
    cr_assert_str_eq(d.system.android_soc.v, "Tensor G3");
    cr_assert_str_eq(d.system.android_soc_manufacturer.v, "Google");
    cr_assert_str_eq(d.system.android_platform.v, "zuma");
    cr_assert_str_eq(d.system.android_release.v, "14");
    cr_assert_str_eq(d.system.android_sdk.v, "34");
    cr_assert_str_eq(d.system.os_name.v, "Android 14");
    cr_assert_str_eq(d.system.arch.v, "aarch64");
    cr_assert_eq(d.memory.total_bytes.v, 7754992ll * 1024);
    probes_device_free(&d);
}

Test(probes_android, pixel8_json_clusters_and_android)
{
    probes_device_t d;
    probe_tree(PIXEL8, &d, true);
    mb_jv_t *v = to_json(&d);
    const char *masks[] = {"0xf", "0xf0", "0x100"};
    const char *roles[] = {"little", "mid", "big"};
    for (int i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "cpu.clusters.%d.mask", i);
        cr_assert_str_eq(mb_jv_path(v, key)->str, masks[i]);
        snprintf(key, sizeof key, "cpu.clusters.%d.role", i);
        cr_assert_str_eq(mb_jv_path(v, key)->str, roles[i]);
    }
    const mb_jv_t *l = mb_jv_path(v, "cpu.clusters.1.cpu_list");
    cr_assert(l && l->kind == MB_JV_ARR && l->n == 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert(near(l->items[i]->num, 4.0 + (double)i));
    cr_assert_str_eq(mb_jv_path(v, "system.android.soc")->str, "Tensor G3");
    cr_assert_str_eq(mb_jv_path(v, "system.android.soc_manufacturer")->str, "Google");
    cr_assert_str_eq(mb_jv_path(v, "system.android.source")->str, "getprop");
    mb_jv_free(v);
    probes_device_free(&d);
}

/* A minimal tree in a temp dir: one A55 core, a build.prop and a getprop
 * script with the given body. */
static void make_tree(char *dir, size_t len, const char *getprop_body)
{
    snprintf(dir, len, "/tmp/mb_android_XXXXXX");
    cr_assert(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/proc' '%s/system/bin' && "
             "printf 'processor\\t: 0\\nCPU implementer\\t: 0x41\\nCPU part\\t: 0xd05\\n' > '%s/proc/cpuinfo' && "
             "printf 'ro.product.model=FromBuildProp\\nro.build.version.release=13\\n' > '%s/system/build.prop'",
             dir, dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    if (getprop_body) {
        char p[512];
        snprintf(p, sizeof p, "%s/system/bin/getprop", dir);
        FILE *f = fopen(p, "w");
        cr_assert(f);
        fprintf(f, "#!/bin/sh\n%s\n", getprop_body);
        fclose(f);
        cr_assert_eq(chmod(p, 0755), 0);
    }
}

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(probes_android, getprop_and_build_prop_merge)
{
    char dir[64];
    make_tree(dir, sizeof dir, "echo '[ro.product.model]: [FromGetprop]'; echo '[ro.soc.model]: [SM8550]'");
    probes_device_t d;
    probe_tree(dir, &d, true);
    cr_assert_str_eq(d.system.android_source, "getprop+build.prop");
    cr_assert_str_eq(d.system.android_model.v, "FromGetprop", "getprop wins over build.prop");
    cr_assert_str_eq(d.system.android_soc.v, "SM8550");
    cr_assert_str_eq(d.system.android_release.v, "13", "build.prop fills what getprop lacks");
    cr_assert(!d.system.android_sdk.ok && strstr(d.system.android_sdk.why, "ro.build.version.sdk"));
    probes_device_free(&d);
    rm_tree(dir);
}

Test(probes_android, getprop_hangs_is_killed)
{
    char dir[64];
    make_tree(dir, sizeof dir, "exec sleep 30");
    probes_device_t d;
    uint64_t t0 = mb_clock_ns();
    probe_tree(dir, &d, true);
    double s = (double)(mb_clock_ns() - t0) / 1e9;
    cr_assert(s < 15.0, "a hanging getprop must not hang the probe (%.1f s)", s);
    cr_assert(d.warnings >= 1, "the timeout is a warning");
    cr_assert_str_eq(d.system.android_source, "build.prop");
    cr_assert_str_eq(d.system.android_model.v, "FromBuildProp");
    probes_device_free(&d);
    rm_tree(dir);
}

Test(probes_android, getprop_fails_or_prints_garbage)
{
    const char *bodies[] = {"exit 3", "echo 'not a property line'", "kill -9 $$"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char dir[64];
        make_tree(dir, sizeof dir, bodies[i]);
        probes_device_t d;
        probe_tree(dir, &d, true);
        cr_assert(d.warnings >= 1, "%s: a failing getprop is a warning", bodies[i]);
        cr_assert_str_eq(d.system.android_source, "build.prop", "%s", bodies[i]);
        cr_assert_str_eq(d.system.android_model.v, "FromBuildProp");
        probes_device_free(&d);
        rm_tree(dir);
    }
}

Test(probes_android, no_getprop_no_build_prop_is_not_android)
{
    char dir[64];
    make_tree(dir, sizeof dir, NULL);
    char p[600];
    snprintf(p, sizeof p, "%s/system/build.prop", dir);
    cr_assert_eq(unlink(p), 0);
    probes_device_t d;
    probe_tree(dir, &d, true);
    cr_assert(!d.system.android);
    cr_assert(strstr(d.system.android_model.why, "not Android"));
    probes_device_free(&d);
    rm_tree(dir);
}
