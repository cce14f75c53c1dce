/* names.c: human names for ARM cores (MIDR implementer/part, as printed in
 * /proc/cpuinfo "CPU implementer"/"CPU part") and x86 microarchitectures
 * (vendor, display family, display model). Tables from the vendors' TRMs
 * and the Linux arch/arm64/include/asm/cputype.h / arch/x86 model lists. */
#include "probes_impl.h"

#include <string.h>

typedef struct {
    int impl, part;
    const char *name;
} arm_part_t;

static const arm_part_t arm_parts[] = {
    /* Arm Ltd (0x41) */
    {0x41, 0xc07, "Cortex-A7"},     {0x41, 0xc09, "Cortex-A9"},     {0x41, 0xc0f, "Cortex-A15"},
    {0x41, 0xd01, "Cortex-A32"},    {0x41, 0xd02, "Cortex-A34"},    {0x41, 0xd03, "Cortex-A53"},
    {0x41, 0xd04, "Cortex-A35"},    {0x41, 0xd05, "Cortex-A55"},    {0x41, 0xd06, "Cortex-A65"},
    {0x41, 0xd07, "Cortex-A57"},    {0x41, 0xd08, "Cortex-A72"},    {0x41, 0xd09, "Cortex-A73"},
    {0x41, 0xd0a, "Cortex-A75"},    {0x41, 0xd0b, "Cortex-A76"},    {0x41, 0xd0c, "Neoverse-N1"},
    {0x41, 0xd0d, "Cortex-A77"},    {0x41, 0xd0e, "Cortex-A76AE"},  {0x41, 0xd40, "Neoverse-V1"},
    {0x41, 0xd41, "Cortex-A78"},    {0x41, 0xd42, "Cortex-A78AE"},  {0x41, 0xd43, "Cortex-A65AE"},
    {0x41, 0xd44, "Cortex-X1"},     {0x41, 0xd46, "Cortex-A510"},   {0x41, 0xd47, "Cortex-A710"},
    {0x41, 0xd48, "Cortex-X2"},     {0x41, 0xd49, "Neoverse-N2"},   {0x41, 0xd4a, "Neoverse-E1"},
    {0x41, 0xd4b, "Cortex-A78C"},   {0x41, 0xd4c, "Cortex-X1C"},    {0x41, 0xd4d, "Cortex-A715"},
    {0x41, 0xd4e, "Cortex-X3"},     {0x41, 0xd4f, "Neoverse-V2"},   {0x41, 0xd80, "Cortex-A520"},
    {0x41, 0xd81, "Cortex-A720"},   {0x41, 0xd82, "Cortex-X4"},     {0x41, 0xd84, "Neoverse-V3"},
    {0x41, 0xd85, "Cortex-X925"},   {0x41, 0xd87, "Cortex-A725"},   {0x41, 0xd8e, "Neoverse-N3"},
    /* Qualcomm (0x51) */
    {0x51, 0x800, "Kryo 2xx Gold"}, {0x51, 0x801, "Kryo 2xx Silver"}, {0x51, 0x802, "Kryo 3xx Gold"},
    {0x51, 0x803, "Kryo 3xx Silver"}, {0x51, 0x804, "Kryo 4xx Gold"}, {0x51, 0x805, "Kryo 4xx Silver"},
    {0x51, 0xc00, "Falkor"},        {0x51, 0xc01, "Saphira"},       {0x51, 0x001, "Oryon"},
    /* Samsung (0x53) */
    {0x53, 0x001, "Exynos M1"},     {0x53, 0x002, "Exynos M3"},     {0x53, 0x003, "Exynos M4"},
    {0x53, 0x004, "Exynos M5"},
    /* NVIDIA (0x4e), HiSilicon (0x48), Ampere (0xc0), Apple (0x61) */
    {0x4e, 0x004, "Carmel"},        {0x48, 0xd01, "TaiShan v110"},  {0xc0, 0xac3, "Ampere-1"},
    {0xc0, 0xac4, "Ampere-1a"},     {0x61, 0x022, "Apple M1 Icestorm"}, {0x61, 0x023, "Apple M1 Firestorm"},
};

const char *probes_arm_part_name(int implementer, int part)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(arm_parts); i++)
        if (arm_parts[i].impl == implementer && arm_parts[i].part == part)
            return arm_parts[i].name;
    return NULL;
}

typedef struct {
    int family, lo, hi;
    const char *name;
} x86_range_t;

static const x86_range_t amd[] = {
    {0x17, 0x00, 0x2f, "Zen/Zen+"},  {0x17, 0x30, 0xaf, "Zen 2"},
    {0x19, 0x00, 0x0f, "Zen 3"},     {0x19, 0x10, 0x1f, "Zen 4"},  {0x19, 0x20, 0x5f, "Zen 3"},
    {0x19, 0x60, 0x7f, "Zen 4"},     {0x19, 0xa0, 0xaf, "Zen 4c"},
    {0x1a, 0x00, 0xff, "Zen 5"},
};

static const x86_range_t intel[] = {
    {6, 0x2a, 0x2a, "Sandy Bridge"},  {6, 0x2d, 0x2d, "Sandy Bridge-E"}, {6, 0x3a, 0x3a, "Ivy Bridge"},
    {6, 0x3e, 0x3e, "Ivy Bridge-E"},  {6, 0x3c, 0x3c, "Haswell"},      {6, 0x3f, 0x3f, "Haswell-E"},
    {6, 0x45, 0x46, "Haswell"},       {6, 0x3d, 0x3d, "Broadwell"},    {6, 0x47, 0x47, "Broadwell"},
    {6, 0x4f, 0x4f, "Broadwell-E"},   {6, 0x56, 0x56, "Broadwell-DE"}, {6, 0x4e, 0x4e, "Skylake"},
    {6, 0x5e, 0x5e, "Skylake"},       {6, 0x55, 0x55, "Skylake-SP/Cascade Lake"},
    {6, 0x8e, 0x8e, "Kaby/Coffee/Whiskey Lake"}, {6, 0x9e, 0x9e, "Kaby/Coffee Lake"},
    {6, 0xa5, 0xa6, "Comet Lake"},    {6, 0x66, 0x66, "Cannon Lake"},  {6, 0x7d, 0x7e, "Ice Lake"},
    {6, 0x6a, 0x6c, "Ice Lake-SP"},   {6, 0x8c, 0x8d, "Tiger Lake"},   {6, 0xa7, 0xa7, "Rocket Lake"},
    {6, 0x97, 0x97, "Alder Lake"},    {6, 0x9a, 0x9a, "Alder Lake"},   {6, 0xbe, 0xbe, "Alder Lake-N"},
    {6, 0xb7, 0xb7, "Raptor Lake"},   {6, 0xba, 0xba, "Raptor Lake"},  {6, 0xbf, 0xbf, "Raptor Lake"},
    {6, 0xaa, 0xac, "Meteor Lake"},   {6, 0xbd, 0xbd, "Lunar Lake"},   {6, 0xc5, 0xc6, "Arrow Lake"},
    {6, 0x8f, 0x8f, "Sapphire Rapids"}, {6, 0xcf, 0xcf, "Emerald Rapids"}, {6, 0xad, 0xae, "Granite Rapids"},
    {6, 0xaf, 0xaf, "Sierra Forest"}, {6, 0x5c, 0x5c, "Goldmont"},     {6, 0x7a, 0x7a, "Goldmont Plus"},
    {6, 0x86, 0x86, "Tremont"},       {6, 0x96, 0x96, "Tremont"},      {6, 0x9c, 0x9c, "Tremont"},
};

const char *pr_x86_uarch(const char *vendor, int family, int model)
{
    const x86_range_t *t = NULL;
    size_t n = 0;
    if (!strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine")) {
        t = amd;
        n = MB_ARRAY_LEN(amd);
    } else if (!strcmp(vendor, "GenuineIntel")) {
        t = intel;
        n = MB_ARRAY_LEN(intel);
    }
    for (size_t i = 0; i < n; i++)
        if (t[i].family == family && model >= t[i].lo && model <= t[i].hi)
            return t[i].name;
    return NULL;
}
