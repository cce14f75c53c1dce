/* test_probes_parse.c: the small parsers and tables behind the probe: cpu
 * lists, ARM part names, x86 microarchitectures, the root setting. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "probes_impl.h"

Test(probes_parse, cpulist)
{
    bool m[64];
    memset(m, 0, sizeof m);
    cr_assert_eq(pr_cpulist_parse("0-3,6,8-9\n", m, 64), 7);
    cr_assert(m[0] && m[3] && m[6] && m[8] && m[9] && !m[4] && !m[7]);
    memset(m, 0, sizeof m);
    cr_assert_eq(pr_cpulist_parse("\n", m, 64), 0);
    cr_assert_eq(pr_cpulist_parse("3-1", m, 64), -1);
    cr_assert_eq(pr_cpulist_parse("a", m, 64), -1);
    cr_assert_eq(pr_cpulist_parse("0-3x", m, 64), -1);
    cr_assert_eq(pr_cpulist_parse("-1", m, 64), -1);
    cr_assert_eq(pr_cpulist_parse("0-100000000", m, 64), -1, "absurd ranges are garbage, not loops");
    memset(m, 0, sizeof m);
    cr_assert_eq(pr_cpulist_parse("60-70", m, 64), 4, "cpus beyond the mask are ignored");
}

Test(probes_parse, arm_parts)
{
    cr_assert_str_eq(probes_arm_part_name(0x41, 0xd08), "Cortex-A72");
    cr_assert_str_eq(probes_arm_part_name(0x41, 0xd05), "Cortex-A55");
    cr_assert_str_eq(probes_arm_part_name(0x41, 0xd44), "Cortex-X1");
    cr_assert_str_eq(probes_arm_part_name(0x41, 0xd0c), "Neoverse-N1");
    cr_assert_str_eq(probes_arm_part_name(0x51, 0x804), "Kryo 4xx Gold");
    cr_assert_null(probes_arm_part_name(0x41, 0xfff));
    cr_assert_null(probes_arm_part_name(0x99, 0xd08), "part numbers are per implementer");
}

Test(probes_parse, x86_uarch)
{
    cr_assert_str_eq(pr_x86_uarch("AuthenticAMD", 0x1a, 0x02), "Zen 5");
    cr_assert_str_eq(pr_x86_uarch("AuthenticAMD", 0x19, 0x61), "Zen 4");
    cr_assert_str_eq(pr_x86_uarch("AuthenticAMD", 0x19, 0x21), "Zen 3");
    cr_assert_str_eq(pr_x86_uarch("AuthenticAMD", 0x17, 0x31), "Zen 2");
    cr_assert_str_eq(pr_x86_uarch("GenuineIntel", 6, 0x9a), "Alder Lake");
    cr_assert_str_eq(pr_x86_uarch("GenuineIntel", 6, 0x8f), "Sapphire Rapids");
    cr_assert_null(pr_x86_uarch("GenuineIntel", 6, 0x01));
    cr_assert_null(pr_x86_uarch("CentaurHauls", 6, 0x0f));
}

Test(probes_parse, root_setting)
{
    unsetenv("MOBENCH_SYSFS_ROOT");
    cr_assert_eq(probes_root_set(NULL), MB_OK);
    cr_assert_str_eq(probes_root_get(), "/");
    setenv("MOBENCH_SYSFS_ROOT", MB_FIXTURES "/sysfs/rpi", 1);
    cr_assert_str_eq(probes_root_get(), MB_FIXTURES "/sysfs/rpi");
    cr_assert_eq(probes_root_set(MB_FIXTURES "/sysfs/broken"), MB_OK);
    cr_assert_str_eq(probes_root_get(), MB_FIXTURES "/sysfs/broken", "the option beats the environment");
    cr_assert_eq(probes_root_set(MB_FIXTURES "/sysfs/make_fixtures.py"), MB_ENOENT, "a file is not a root");
    cr_assert_str_eq(probes_root_get(), MB_FIXTURES "/sysfs/broken", "a failed set keeps the old root");
    cr_assert_eq(probes_root_set(""), MB_OK);
    cr_assert_str_eq(probes_root_get(), MB_FIXTURES "/sysfs/rpi");
    unsetenv("MOBENCH_SYSFS_ROOT");
}

Test(probes_parse, reads_are_capped_and_typed)
{
    int warnings = 0;
    pr_ctx_t c = {.root = MB_FIXTURES "/sysfs/x86-laptop", .host = false, .quiet = true, .warnings = &warnings};
    char *buf;
    char why[PROBES_WHY_LEN];
    cr_assert_eq(pr_read(&c, "proc/cpuinfo", 100, &buf, why), MB_OK);
    cr_assert_eq(strlen(buf), 100, "the cap limits the read");
    free(buf);
    cr_assert_eq(pr_read(&c, "sys", PR_SMALL_MAX, &buf, why), MB_EFORMAT, "a directory is not read");
    cr_assert(strstr(why, "not a regular file"));
    cr_assert_eq(pr_read(&c, "nope", PR_SMALL_MAX, &buf, why), MB_ENOENT);
    cr_assert(strstr(why, "nope: missing"));
    probes_num_t t;
    pr_read_num(&c, &t, "sys/class/thermal/thermal_zone0/temp", "t", 1e-3, 0, 150, "C", true);
    cr_assert(t.ok && t.v > 27.7 && t.v < 27.9);
    pr_read_num(&c, &t, "sys/class/thermal/thermal_zone0/temp", "t", 1.0, 0, 150, "C", true);
    cr_assert(!t.ok && strstr(t.why, "absurd"));
    cr_assert_eq(warnings, 1, "one warning for the one bad value");
}
