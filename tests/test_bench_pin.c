/* Pinning in bench/: hex masks (llama-bench's -C) parsed and printed,
 * cluster roles resolved against fake sysfs trees, masks checked against the
 * online CPUs, the cell key of pinned cells, a sweep's clusters / cpu_mask /
 * cpu_strict axes expanding into cells, the output columns, and a pinned
 * cell stored and read back from the store. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "db.h"

#define TREE(n) MB_FIXTURES "/sysfs/" n

static void probe_tree(const char *root, probes_device_t *d)
{
    probes_opts_t o = {.root = root, .quiet = true};
    cr_assert_eq(probes_device_probe(&o, d), 0, "%s", mb_err_msg());
}

static void hex_of(const char *in, const char *want)
{
    bench_cpuset_t s;
    cr_assert_eq(bench_cpuset_parse_hex(in, &s), MB_OK, "%s: %s", in, mb_err_msg());
    char buf[300];
    bench_cpuset_hex(&s, buf, sizeof buf);
    cr_expect_str_eq(buf, want, "%s", in);
}

Test(bench_pin, hex_masks_parse_in_every_form)
{
    hex_of("0x0f", "0xf");
    hex_of("0XF", "0xf");
    hex_of("f", "0xf");
    hex_of("0x3", "0x3");
    hex_of("FF00000000", "0xff00000000");
    hex_of("0x0", "0x0");
    hex_of(" 0x10 ", "0x10");
    hex_of("0x00000000000000000001", "0x1");
    /* CPU 64 and CPU 1023, the last one CPU_SETSIZE holds */
    hex_of("0x10000000000000000", "0x10000000000000000");
    char big[300] = "0x8";
    for (int i = 0; i < 255; i++)
        strcat(big, "0");
    bench_cpuset_t s;
    cr_assert_eq(bench_cpuset_parse_hex(big, &s), MB_OK, "%s", mb_err_msg());
    cr_assert(bench_cpuset_has(&s, 1023));
    cr_assert_eq(bench_cpuset_count(&s), 1);

    cr_assert_eq(bench_cpuset_parse_hex("0xFF00000000", &s), MB_OK);
    int cpus[64];
    cr_assert_eq(bench_cpuset_cpus(&s, cpus, 64), 8);
    cr_assert_eq(cpus[0], 32);
    cr_assert_eq(cpus[7], 39);
    char list[64];
    bench_cpuset_list(&s, list, sizeof list);
    cr_assert_str_eq(list, "32-39");
    cr_assert_eq(bench_cpuset_parse_hex("0x1d", &s), MB_OK);
    bench_cpuset_list(&s, list, sizeof list);
    cr_assert_str_eq(list, "0,2-4");
}

Test(bench_pin, bad_masks_are_errors)
{
    bench_cpuset_t s;
    const char *bad[] = {"", "0x", "  ", "0xg1", "12z", "-1", "0x1,2", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(bench_cpuset_parse_hex(bad[i], &s), MB_EINVAL, "'%s' accepted", bad[i]);
        cr_expect(strstr(mb_err_msg(), "hex"), "'%s': %s", bad[i], mb_err_msg());
    }
    /* CPU 1024: one bit beyond CPU_SETSIZE */
    char over[300] = "0x1";
    for (int i = 0; i < 256; i++)
        strcat(over, "0");
    cr_assert_eq(bench_cpuset_parse_hex(over, &s), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "CPU 1024") && strstr(mb_err_msg(), "CPU_SETSIZE"), "%s", mb_err_msg());
    /* leading zeros beyond it are fine */
    char zeros[400] = "0x";
    for (int i = 0; i < 300; i++)
        strcat(zeros, "0");
    strcat(zeros, "2");
    cr_assert_eq(bench_cpuset_parse_hex(zeros, &s), MB_OK);
    cr_assert(bench_cpuset_has(&s, 1));
}

static void cluster_is(const probes_device_t *d, const char *role, const char *want)
{
    bench_cpuset_t s;
    cr_assert_eq(bench_cluster_cpus(d, role, &s), MB_OK, "%s: %s", role, mb_err_msg());
    char list[64];
    bench_cpuset_list(&s, list, sizeof list);
    cr_expect_str_eq(list, want, "cluster %s", role);
}

Test(bench_pin, clusters_of_a_three_cluster_phone)
{
    probes_device_t d;
    probe_tree(TREE("android-3cluster"), &d); /* 4 x A55, 3 x A78, 1 x X1 */
    cluster_is(&d, "little", "0-3");
    cluster_is(&d, "mid", "4-6");
    cluster_is(&d, "big", "7");
    cluster_is(&d, "all", "0-7");
    bench_cpuset_t s;
    cr_assert_eq(bench_cluster_cpus(&d, "prime", &s), MB_EINVAL);
    probes_device_free(&d);
}

Test(bench_pin, missing_roles_name_the_clusters_present)
{
    probes_device_t d;
    bench_cpuset_t s;
    probe_tree(TREE("rpi"), &d); /* one cluster of 4 x A72 */
    cr_assert_eq(bench_cluster_cpus(&d, "big", &s), MB_ENOENT);
    const char *m = mb_err_msg();
    cr_assert(strstr(m, "no big cluster") && strstr(m, "CPUs 0-3") && strstr(m, "Cortex-A72") &&
              strstr(m, "--cluster all"), "%s", m);
    cluster_is(&d, "all", "0-3");
    probes_device_free(&d);

    probe_tree(TREE("x86-laptop"), &d); /* hybrid: P cores 0-7, E cores 8-15 */
    cluster_is(&d, "big", "0-7");
    cluster_is(&d, "little", "8-15");
    cr_assert_eq(bench_cluster_cpus(&d, "mid", &s), MB_ENOENT);
    m = mb_err_msg();
    cr_assert(strstr(m, "no mid cluster") && strstr(m, "little (CPUs 8-15") && strstr(m, "big (CPUs 0-7") &&
              strstr(m, "little, big, all"), "%s", m);
    probes_device_free(&d);
}

Test(bench_pin, pins_resolve_against_the_online_cpus)
{
    probes_device_t d;
    probe_tree(TREE("rpi"), &d); /* CPUs 0-3 online */
    bench_pin_t p[3];
    memset(p, 0, sizeof p);
    snprintf(p[0].cluster, sizeof p[0].cluster, "all");
    cr_assert_eq(bench_cpuset_parse_hex("0xf0", &p[1].cpus), 0);
    cr_assert_eq(bench_pins_resolve(p, 1, &d, NULL), MB_OK);
    char list[64];
    bench_cpuset_list(&p[0].cpus, list, sizeof list);
    cr_assert_str_eq(list, "0-3");
    /* a mask naming no online CPU: the message names the online ones */
    cr_assert_eq(bench_pins_resolve(&p[1], 1, &d, NULL), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "-C 0xf0") && strstr(mb_err_msg(), "no online CPU") &&
              strstr(mb_err_msg(), "CPUs 4-7") && strstr(mb_err_msg(), "online CPUs are 0-3"), "%s",
              mb_err_msg());
    /* partly online: narrowed to the online part */
    cr_assert_eq(bench_cpuset_parse_hex("0x3c", &p[2].cpus), 0);
    cr_assert_eq(bench_pins_resolve(&p[2], 1, &d, NULL), MB_OK);
    char hex[32];
    bench_cpuset_hex(&p[2].cpus, hex, sizeof hex);
    cr_assert_str_eq(hex, "0xc");
    /* from a sweep file: FILE:LINE */
    bench_pin_t q = {.cluster = "little", .line = 7};
    cr_assert_eq(bench_pins_resolve(&q, 1, &d, "s.ini"), MB_ENOENT);
    cr_assert(!strncmp(mb_err_msg(), "s.ini:7: clusters: ", 19), "%s", mb_err_msg());
    probes_device_free(&d);
}

Test(bench_pin, pinned_cells_have_their_own_key)
{
    bench_cell_t c = {.model = "m", .recipe = "Q4_0", .test = {BENCH_TEST_TG, 0, 16, 0}, .n_threads = 2};
    char k[400];
    bench_cell_key(&c, k, sizeof k);
    cr_assert_str_eq(k, "m/Q4_0/tg16@d0/t2", "unpinned keys as before");
    bench_cpuset_parse_hex("0x3", &c.cpus);
    c.cpu_strict = true;
    bench_cell_key(&c, k, sizeof k);
    cr_assert_str_eq(k, "m/Q4_0/tg16@d0/t2/cpu=0x3,strict");
    snprintf(c.cluster, sizeof c.cluster, "big");
    c.cpu_strict = false;
    bench_cell_key(&c, k, sizeof k);
    cr_assert_str_eq(k, "m/Q4_0/tg16@d0/t2/cpu=big");
    char l[64];
    bench_cell_pin_label(&c, l, sizeof l);
    cr_assert_str_eq(l, "big");
}

static const char SWEEP_CLUSTERS[] =
    "[models]\nnames = m\nrecipes = Q4_0\n"
    "[tests]\ntg = 16\nthreads = 1, 2\nclusters = big, little\ncpu_strict = 0, 1\n";

Test(bench_pin, sweep_clusters_axis_expands_into_cells)
{
    bench_sweep_t *sw = NULL;
    cr_assert_eq(bench_sweep_parse(SWEEP_CLUSTERS, "c.ini", NULL, &sw), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(sw->n_pins, 2);
    cr_assert_eq(sw->n_stricts, 2);
    cr_assert_eq(bench_sweep_n_cells(sw), 8);
    bench_cell_t *cells = NULL;
    size_t n = 0;
    /* unresolved clusters are refused */
    cr_assert_eq(bench_sweep_cells(sw, &cells, &n), MB_EINVAL);
    probes_device_t d;
    probe_tree(TREE("android-3cluster"), &d);
    cr_assert_eq(bench_pins_resolve(sw->pins, sw->n_pins, &d, sw->path), MB_OK, "%s", mb_err_msg());
    probes_device_free(&d);
    cr_assert_eq(bench_sweep_cells(sw, &cells, &n), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(n, 8);
    /* threads x pins x stricts, in that nesting */
    const char *want[] = {
        "m/Q4_0/tg16@d0/t1/cpu=big", "m/Q4_0/tg16@d0/t1/cpu=big,strict",
        "m/Q4_0/tg16@d0/t1/cpu=little", "m/Q4_0/tg16@d0/t1/cpu=little,strict",
        "m/Q4_0/tg16@d0/t2/cpu=big", "m/Q4_0/tg16@d0/t2/cpu=big,strict",
        "m/Q4_0/tg16@d0/t2/cpu=little", "m/Q4_0/tg16@d0/t2/cpu=little,strict",
    };
    for (size_t i = 0; i < n; i++) {
        char k[400];
        bench_cell_key(&cells[i], k, sizeof k);
        cr_expect_str_eq(k, want[i]);
        cr_expect_eq(cells[i].index, (int)i);
    }
    char list[32];
    bench_cpuset_list(&cells[0].cpus, list, sizeof list);
    cr_assert_str_eq(list, "7");
    bench_cpuset_list(&cells[2].cpus, list, sizeof list);
    cr_assert_str_eq(list, "0-3");
    free(cells);
    bench_sweep_free(sw);
}

Test(bench_pin, sweep_cpu_mask_key_and_errors)
{
    bench_sweep_t *sw = NULL;
    cr_assert_eq(bench_sweep_parse("[models]\nnames = m\nrecipes = Q4_0\n[tests]\ntg = 4\ncpu_mask = 0x0f, 0x30\n",
                                   "m.ini", NULL, &sw), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(sw->n_pins, 2);
    cr_assert_eq(sw->pins[1].cpus.bits[0], 0x30u);
    cr_assert_eq(sw->pins[0].line, 6);
    bench_cell_t *cells = NULL;
    size_t n = 0;
    cr_assert_eq(bench_sweep_cells(sw, &cells, &n), MB_OK);
    cr_assert_eq(n, 2);
    cr_assert(!cells[0].cpu_strict);
    free(cells);
    bench_sweep_free(sw);

    /* the default: one cell, not pinned */
    cr_assert_eq(bench_sweep_parse("[models]\nnames = m\nrecipes = Q4_0\n[tests]\ntg = 4\n", "d.ini", NULL, &sw), 0);
    cr_assert_eq(bench_sweep_cells(sw, &cells, &n), MB_OK);
    cr_assert_eq(n, 1);
    cr_assert(bench_cpuset_empty(&cells[0].cpus));
    free(cells);
    bench_sweep_free(sw);

    struct { const char *text, *msg; } bad[] = {
        {"[tests]\ntg = 4\ncpu_mask = 0xzz\n", "x.ini:6: cpu_mask: CPU mask '0xzz'"},
        {"[tests]\ntg = 4\ncpu_mask = 0x0\n", "x.ini:6: cpu_mask: '0x0' names no CPU"},
        {"[tests]\ntg = 4\nclusters = huge\n", "x.ini:6: clusters: unknown cluster 'huge'"},
        {"[tests]\ntg = 4\nclusters = big\ncpu_mask = 0x1\n", "x.ini:7: clusters and cpu_mask (line 6)"},
        {"[tests]\ntg = 4\ncpu_strict = 1\n", "x.ini:6: cpu_strict = 1 needs CPUs"},
        {"[tests]\ntg = 4\ncpu_strict = 2\n", "x.ini:6: cpu_strict: expected integers from 0 to 1"},
        {"[tests]\ntg = 4\nclusters =\n", "x.ini:6: clusters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "[models]\nnames = m\nrecipes = Q4_0\n%s", bad[i].text);
        cr_expect_eq(bench_sweep_parse(text, "x.ini", NULL, &sw), MB_EFORMAT, "accepted: %s", bad[i].text);
        cr_expect(strstr(mb_err_msg(), bad[i].msg), "want '%s' in: %s", bad[i].msg, mb_err_msg());
    }
}

/* The output columns of a pinned result in csv and json. */
Test(bench_pin, output_columns)
{
    bench_cell_t c = {.model = "m", .recipe = "Q4_0", .test = {BENCH_TEST_TG, 0, 4, 0}, .n_threads = 2,
                      .cpu_strict = true, .cluster = "big"};
    bench_cpuset_parse_hex("0xF0", &c.cpus);
    bench_result_t r;
    bench_result_init(&r, &c);
    r.status = BENCH_CELL_FAILED;
    snprintf(r.cpus_ran, sizeof r.cpus_ran, "t0:4 t1:5");
    const char *names[128];
    int nc = bench_out_columns(names, 128);
    int at_mask = -1, at_threads = -1, at_strict = -1, at_cluster = -1, at_ran = -1;
    for (int i = 0; i < nc; i++) {
        at_mask = strcmp(names[i], "cpu_mask") ? at_mask : i;
        at_strict = strcmp(names[i], "cpu_strict") ? at_strict : i;
        at_threads = strcmp(names[i], "n_threads") ? at_threads : i;
        at_cluster = strcmp(names[i], "cluster") ? at_cluster : i;
        at_ran = strcmp(names[i], "cpus_ran") ? at_ran : i;
    }
    cr_assert(at_threads >= 0 && at_mask == at_threads + 1 && at_strict == at_mask + 1,
              "llama-bench's order: n_threads, cpu_mask, cpu_strict");
    cr_assert(at_cluster > 0 && at_ran > 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bench_out_t *o;
    cr_assert_eq(bench_out_begin(f, BENCH_OUT_JSON, "cpu", &o), 0);
    bench_out_row(o, &r);
    bench_out_end(o);
    fclose(f);
    cr_assert(strstr(buf, "\"cpu_mask\":\"0xf0\",\"cpu_strict\":true"), "%s", buf);
    cr_assert(strstr(buf, "\"cluster\":\"big\",\"cpus_ran\":\"t0:4 t1:5\""), "%s", buf);
    free(buf);

    f = open_memstream(&buf, &len);
    cr_assert_eq(bench_out_begin(f, BENCH_OUT_CSV, "cpu", &o), 0);
    bench_out_row(o, &r);
    bench_out_end(o);
    fclose(f);
    cr_assert(strstr(buf, ",n_threads,cpu_mask,cpu_strict,"), "%s", buf);
    cr_assert(strstr(buf, ",2,0xf0,1,"), "%s", buf);
    cr_assert(strstr(buf, ",big,t0:4 t1:5,"), "%s", buf);
    free(buf);

    f = open_memstream(&buf, &len);
    cr_assert_eq(bench_out_begin(f, BENCH_OUT_MD, "cpu", &o), 0);
    bench_out_row(o, &r);
    bench_out_end(o);
    fclose(f);
    cr_assert(strstr(buf, "| cpus ") && strstr(buf, "| big strict "), "%s", buf);
    free(buf);

    /* not pinned: llama-bench's "0x0" and false */
    bench_result_t u;
    bench_cell_t uc = {.model = "m", .recipe = "Q4_0", .test = {BENCH_TEST_TG, 0, 4, 0}, .n_threads = 2};
    bench_result_init(&u, &uc);
    f = open_memstream(&buf, &len);
    cr_assert_eq(bench_out_begin(f, BENCH_OUT_JSONL, "cpu", &o), 0);
    bench_out_row(o, &u);
    bench_out_end(o);
    fclose(f);
    cr_assert(strstr(buf, "\"cpu_mask\":\"0x0\",\"cpu_strict\":false"), "%s", buf);
    free(buf);
}

/* The pipe protocol carries cpus_ran; the store keeps the pinning. */
Test(bench_pin, stored_with_the_cell)
{
    bench_cell_t c = {.model = "m", .recipe = "Q4_0", .test = {BENCH_TEST_TG, 0, 4, 0}, .n_threads = 2,
                      .cpu_strict = true, .cluster = "little"};
    bench_cpuset_parse_hex("0x3", &c.cpus);
    bench_result_t r, back;
    bench_result_init(&r, &c);
    r.status = BENCH_CELL_OK;
    snprintf(r.cpus_ran, sizeof r.cpus_ran, "t0:0 t1:1");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(bench_result_write_json(f, &r), 0);
    fclose(f);
    bench_result_init(&back, &c);
    cr_assert_eq(bench_result_read_json(buf, len, &back), 0, "%s", mb_err_msg());
    cr_assert_str_eq(back.cpus_ran, "t0:0 t1:1");
    free(buf);
    bench_result_clear(&back);

    char dir[] = "/tmp/mb-pin-XXXXXX", path[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.db", dir);
    bench_store_t *st = NULL;
    bench_store_opts_t so = {.sweep = false, .cmdline = "test"};
    cr_assert_eq(bench_store_open(path, &so, &st), 0, "%s", mb_err_msg());
    bench_sink_t sink = bench_store_sink(st);
    cr_assert_eq(sink.run_begin(sink.ctx, NULL), 0, "%s", mb_err_msg());
    r.status = BENCH_CELL_FAILED; /* no reps needed */
    snprintf(r.reason, sizeof r.reason, "test");
    cr_assert_eq(sink.cell_commit(sink.ctx, &r), 0, "%s", mb_err_msg());
    bench_cell_t plain = c;
    memset(&plain.cpus, 0, sizeof plain.cpus);
    plain.cpu_strict = false;
    plain.cluster[0] = '\0';
    bench_result_t pr;
    bench_result_init(&pr, &plain);
    pr.status = BENCH_CELL_FAILED;
    cr_assert_eq(sink.cell_commit(sink.ctx, &pr), 0, "%s", mb_err_msg());
    cr_assert_eq(sink.run_end(sink.ctx, BENCH_CELL_OK), 0);
    char run[64];
    snprintf(run, sizeof run, "%s", bench_store_run(st));
    bench_store_close(st);

    db_t *db = NULL;
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), 0, "%s", mb_err_msg());
    db_cell_t *cells = NULL;
    size_t n = 0;
    db_filter_t fl = {.run = run};
    cr_assert_eq(db_cells_get(db, &fl, &cells, &n), 0, "%s", mb_err_msg());
    cr_assert_eq(n, 2);
    cr_assert_str_eq(cells[0].cpu_mask, "0x3");
    cr_assert(cells[0].cpu_strict);
    cr_assert_str_eq(cells[0].cluster, "little");
    cr_assert_str_eq(cells[0].cpus_ran, "t0:0 t1:1");
    cr_assert_str_eq(cells[1].cpu_mask, "0x0");
    cr_assert(!cells[1].cpu_strict);
    cr_assert_null(cells[1].cluster);
    cr_assert_null(cells[1].cpus_ran);
    db_cells_free(cells, n);
    db_close(db);

    /* a resumed run finds the pinned cell by its key, not the plain one as it */
    cr_assert_eq(bench_store_open(path, &so, &st), 0);
    sink = bench_store_sink(st);
    cr_assert_eq(sink.run_begin(sink.ctx, run), 0, "%s", mb_err_msg());
    bool done = false;
    cr_assert_eq(sink.cell_done(sink.ctx, &c, &done), 0);
    cr_assert(done);
    bench_cell_t other = c;
    other.cpu_strict = false;
    cr_assert_eq(sink.cell_done(sink.ctx, &other, &done), 0);
    cr_assert(!done, "a cell pinned differently is another cell");
    bench_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
