/* cmd_probe.c: `mobench probe`: what the device is (and, with --roofline,
 * what it can do: measured bandwidth and peak arithmetic). */
#include "bench.h"
#include "commands.h"
#include "mb.h"
#include "probes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void probe_help(void)
{
    printf("usage: mobench probe [options]\n\n"
           "Prints what the device is: CPU identity from every source (CPUID, libcpuid,\n"
           "HWCAP, /proc/cpuinfo, sysfs) and where they disagree, ISA features used for\n"
           "kernel dispatch, core clusters, caches, memory, thermal zones, frequencies,\n"
           "power and the system. Unreadable fields are null with a reason.\n\n"
           "options:\n"
           "  --json             JSON on stdout (schema: docs/probe.md)   default: table\n"
           "  --sysfs-root DIR   read /proc, /sys and /etc below DIR      default: $MOBENCH_SYSFS_ROOT or /\n"
           "  --roofline         also measure the ceilings on this host: read/copy/triad\n"
           "                     bandwidth and peak f32 FMA / int8 dot per ISA level  default: off\n"
           "  --threads LIST     thread counts for --roofline, e.g. 1,2,4  default: 1,2,4,... and nproc\n"
           "  --buffer SIZE      bandwidth buffer for --roofline (e.g. 512M)  default: min(1 GiB, RAM/4)\n"
           "  --passes N         timed passes per figure (best and median kept)  default: 5\n"
           "  --db FILE          record this device in the store FILE (created if needed), with\n"
           "                     --roofline its ceilings too: 'mobench bench' and 'sweep' then\n"
           "                     compute roofline_pct from them and the report draws its roofline\n"
           "                     chart                                   default: nothing stored\n"
           "  -h, --help         this text\n");
}

/* Records this device (and its ceilings) in the store: the device row that
 * bench and sweep runs hang on, with the ceilings they read back. */
static int store_device(const char *path, const probes_ceilings_t *c)
{
    bench_store_opts_t so = {.sweep = false};
    bench_store_t *s;
    int rc = bench_store_open(path, &so, &s);
    if (rc)
        return rc;
    if (c) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            bench_store_close(s);
            return mb_err_set(MB_ENOMEM, "out of memory writing the ceilings");
        }
        mb_json_t j;
        mb_json_init(&j, f, false);
        probes_ceilings_json(c, &j);
        rc = fclose(f) ? mb_err_set(MB_ENOMEM, "out of memory writing the ceilings") : MB_OK;
        if (!rc)
            rc = bench_store_ceilings_set(s, buf);
        free(buf);
    }
    bench_store_close(s);
    if (!rc)
        MB_INFO("probe: recorded this device%s in %s", c ? " and its ceilings" : "", path);
    return rc;
}

int cmd_probe(int argc, char **argv)
{
    enum { OPT_JSON = 1, OPT_ROOT, OPT_ROOFLINE, OPT_THREADS, OPT_BUFFER, OPT_PASSES, OPT_DB };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"sysfs-root", required_argument, NULL, OPT_ROOT},
        {"roofline", no_argument, NULL, OPT_ROOFLINE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"buffer", required_argument, NULL, OPT_BUFFER},
        {"passes", required_argument, NULL, OPT_PASSES},
        {"db", required_argument, NULL, OPT_DB},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, roofline = false;
    const char *root = NULL, *db_path = NULL;
    probes_ceilings_opts_t copts;
    memset(&copts, 0, sizeof copts);
    optind = 0; /* reset getopt for this argv (GNU: 0 also re-initialises) */
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (o) {
        case OPT_JSON: json = true; break;
        case OPT_ROOT: root = optarg; break;
        case OPT_ROOFLINE: roofline = true; break;
        case OPT_THREADS: {
            char **v;
            size_t n;
            if (mb_split_csv(optarg, &v, &n) != MB_OK || n == 0)
                return cli_usage_error("probe", "--threads: expected a list like 1,2,4, got '%s'", optarg);
            bool ok = n <= PROBES_MAX_THREAD_COUNTS;
            for (size_t i = 0; ok && i < n; i++) {
                int64_t t;
                ok = mb_parse_i64(v[i], &t) == MB_OK && t >= 1 && t <= 256;
                copts.threads[i] = ok ? (int)t : 0;
            }
            copts.n_threads = (int)n;
            mb_strv_free(v, n);
            if (!ok)
                return cli_usage_error("probe", "--threads: '%s' must be up to %d counts, each 1..256", optarg,
                                       PROBES_MAX_THREAD_COUNTS);
            break;
        }
        case OPT_BUFFER:
            if (mb_parse_bytes(optarg, &copts.buffer_bytes) != MB_OK || copts.buffer_bytes < (1u << 20))
                return cli_usage_error("probe", "--buffer: expected a size of at least 1M, got '%s'", optarg);
            break;
        case OPT_PASSES: {
            int64_t p;
            if (mb_parse_i64(optarg, &p) != MB_OK || p < 1 || p > 64)
                return cli_usage_error("probe", "--passes: expected 1..64, got '%s'", optarg);
            copts.passes = (int)p;
            break;
        }
        case OPT_DB:
            if (!*optarg)
                return cli_usage_error("probe", "--db: expected a file name");
            db_path = optarg;
            break;
        case 'h': probe_help(); return MB_EXIT_OK;
        case ':': return cli_usage_error("probe", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 128 && optopt != '?')
                return cli_usage_error("probe", "unknown option '-%c'", optopt);
            return cli_usage_error("probe", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("probe", "unexpected argument '%s'", argv[optind]);
    if (!roofline && (copts.n_threads || copts.buffer_bytes || copts.passes))
        return cli_usage_error("probe", "%s only applies with --roofline",
                               copts.n_threads ? "--threads" : copts.buffer_bytes ? "--buffer" : "--passes");
    if (root) {
        int rc = probes_root_set(root);
        if (rc)
            return cli_usage_error("probe", "--sysfs-root: %s", mb_err_msg());
    }
    probes_device_t dev;
    probes_opts_t popts = {.root = NULL, .quiet = false};
    int rc = probes_device_probe(&popts, &dev);
    if (rc) {
        probes_device_free(&dev);
        return cli_fail("probe", rc);
    }
    if (roofline && strcmp(probes_root_get(), "/")) {
        probes_device_free(&dev);
        return cli_usage_error("probe", "--roofline measures this host; it cannot be combined with --sysfs-root "
                                        "(or MOBENCH_SYSFS_ROOT)");
    }
    if (db_path && strcmp(probes_root_get(), "/")) {
        probes_device_free(&dev);
        return cli_usage_error("probe", "--db records this host; it cannot be combined with --sysfs-root "
                                        "(or MOBENCH_SYSFS_ROOT)");
    }
    probes_ceilings_t ceil;
    if (roofline) {
        MB_INFO("probe: measuring ceilings (bandwidth and peak ops); this takes a few seconds");
        rc = probes_ceilings_measure(&copts, &ceil);
        if (rc) {
            probes_device_free(&dev);
            return cli_fail("probe", rc);
        }
    }
    if (db_path && (rc = store_device(db_path, roofline ? &ceil : NULL))) {
        probes_device_free(&dev);
        return cli_fail("probe", rc);
    }
    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        mb_json_obj_begin(&j);
        probes_device_json_fields(&dev, &j);
        if (roofline) {
            mb_json_key(&j, "ceilings");
            probes_ceilings_json(&ceil, &j);
        }
        mb_json_obj_end(&j);
        fputc('\n', stdout);
    } else {
        probes_device_print(&dev, stdout);
        if (roofline)
            probes_ceilings_print(&ceil, stdout);
    }
    probes_device_free(&dev);
    return fflush(stdout) == 0 ? MB_EXIT_OK : MB_EXIT_FAIL;
}
