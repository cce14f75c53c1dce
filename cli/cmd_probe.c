/* cmd_probe.c: `mobench probe`: what the device is (and, with --roofline,
 * what it can do: measured bandwidth and peak arithmetic). */
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
           "  -h, --help         this text\n");
}

int cmd_probe(int argc, char **argv)
{
    enum { OPT_JSON = 1, OPT_ROOT };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"sysfs-root", required_argument, NULL, OPT_ROOT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    const char *root = NULL;
    optind = 0; /* reset getopt for this argv (GNU: 0 also re-initialises) */
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (o) {
        case OPT_JSON: json = true; break;
        case OPT_ROOT: root = optarg; break;
        case 'h': probe_help(); return MB_EXIT_OK;
        case ':': return cli_usage_error("probe", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("probe", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("probe", "unexpected argument '%s'", argv[optind]);
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
    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        probes_device_json(&dev, &j);
        fputc('\n', stdout);
    } else {
        probes_device_print(&dev, stdout);
    }
    probes_device_free(&dev);
    return fflush(stdout) == 0 ? MB_EXIT_OK : MB_EXIT_FAIL;
}
