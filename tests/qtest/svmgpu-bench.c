/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu device benchmark (./svmgpu bench): prints figures, asserts only
 * that the data moved is right. Not part of the test suites: timing is a
 * measurement, never a pass/fail criterion.
 *
 *  - COPY of 64 MiB guest RAM -> VRAM, VRAM -> guest RAM, RAM -> RAM, with
 *    a host memcpy of the same size measured in the same run;
 *  - the round trip of one engine command (NOP) against the round trip of
 *    a device fault (doorbell to fault record visible), measured the same
 *    way (busy polling over the qtest socket).
 */

#include "svmgpu-qtest.h"

#define BENCH_LEN       (64 * MiB)
#define BENCH_RUNS      5
#define RTT_RUNS        200

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static double now_s(void)
{
    return g_get_monotonic_time() / 1e6;
}

/* Busy-poll a descriptor's status: no sleep granularity in the figure. */
static void spin_status(SgDev *g, uint32_t slot)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;

    while (sg_status(g, slot) == SVMGPU_DESC_STATUS_PENDING) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
}

static double bench_copy(SgDev *g, uint8_t dst_space, uint64_t dst,
                         uint8_t src_space, uint64_t src)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    double t[BENCH_RUNS];

    sg_desc(d, SVMGPU_OP_COPY, dst_space, src_space);
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_SRC, src);
    stq_le_p(d + SVMGPU_DESC_LEN, BENCH_LEN);
    for (int i = 0; i < BENCH_RUNS; i++) {
        double start = now_s();
        uint32_t slot = sg_submit(g, d);

        spin_status(g, slot);
        t[i] = now_s() - start;
        g_assert_cmpuint(sg_status(g, slot), ==, SVMGPU_DESC_STATUS_OK);
    }
    return BENCH_LEN / median(t, BENCH_RUNS) / 1e9;
}

/*
 * Host memcpy on memory backed like QEMU's guest RAM (2 MiB-aligned,
 * transparent huge pages), so that the comparison is fair.
 */
static double bench_host_memcpy(void)
{
    void *pa, *pb;
    uint8_t *a, *b;
    double t[BENCH_RUNS];

    g_assert_cmpint(posix_memalign(&pa, 2 * MiB, BENCH_LEN), ==, 0);
    g_assert_cmpint(posix_memalign(&pb, 2 * MiB, BENCH_LEN), ==, 0);
    a = pa;
    b = pb;
#ifdef MADV_HUGEPAGE
    madvise(a, BENCH_LEN, MADV_HUGEPAGE);
    madvise(b, BENCH_LEN, MADV_HUGEPAGE);
#endif
    memset(a, 1, BENCH_LEN);
    memset(b, 2, BENCH_LEN);
    for (int i = 0; i < BENCH_RUNS; i++) {
        double start = now_s();

        memcpy(b, a, BENCH_LEN);
        t[i] = now_s() - start;
        a[i] ^= b[BENCH_LEN - 1 - i];   /* keep the copy observable */
    }
    free(a);
    free(b);
    return BENCH_LEN / median(t, BENCH_RUNS) / 1e9;
}

static void bench_copies(void)
{
    uint64_t ram_a = 0x4000000, ram_b = 0x8000000;
    double host, to_vram, from_vram, ram_ram;
    SgDev g;
    g_autofree uint8_t *pat = g_malloc(4096);
    g_autofree uint8_t *out = g_malloc(4096);

    sg_start(&g, "vram-size=128M");
    for (int i = 0; i < 4096; i++) {
        pat[i] = i * 13 + 5;
    }
    for (uint64_t off = 0; off < BENCH_LEN; off += 4 * MiB) {
        qtest_memwrite(g.qts, ram_a + off, pat, 4096);
    }

    host = bench_host_memcpy();
    to_vram = bench_copy(&g, SVMGPU_SPACE_VRAM, 0, SVMGPU_SPACE_SYS, ram_a);
    from_vram = bench_copy(&g, SVMGPU_SPACE_SYS, ram_b, SVMGPU_SPACE_VRAM, 0);
    ram_ram = bench_copy(&g, SVMGPU_SPACE_SYS, ram_b, SVMGPU_SPACE_SYS, ram_a);

    qtest_memread(g.qts, ram_b + 60 * MiB, out, 4096);
    g_assert_cmpmem(out, 4096, pat, 4096);
    g_test_message("COPY 64 MiB, median of %d: host memcpy %.2f GB/s; "
                   "RAM->VRAM %.2f GB/s (%.0f%%); VRAM->RAM %.2f GB/s "
                   "(%.0f%%); RAM->RAM %.2f GB/s (%.0f%%)", BENCH_RUNS, host,
                   to_vram, 100 * to_vram / host, from_vram,
                   100 * from_vram / host, ram_ram, 100 * ram_ram / host);
    sg_stop(&g);
}

static void bench_fault_round_trip(void)
{
    uint8_t nop[SVMGPU_DESC_SIZE], rd[SVMGPU_DESC_SIZE];
    uint8_t fence[SVMGPU_DESC_SIZE];
    uint8_t rec[SVMGPU_FAULT_RECORD_SIZE];
    double t_nop[RTT_RUNS], t_fence[RTT_RUNS], t_fault[RTT_RUNS];
    SgDev g;

    sg_start(&g, "");
    sg_desc(nop, SVMGPU_OP_NOP, 0, 0);
    sg_desc(rd, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_VIRT);
    stq_le_p(rd + SVMGPU_DESC_DST, SG_DATA);
    stq_le_p(rd + SVMGPU_DESC_SRC, 0x10000000);
    stq_le_p(rd + SVMGPU_DESC_LEN, 8);

    /* A FENCE writes memory and raises a vector, as a fault does. */
    sg_desc(fence, SVMGPU_OP_FENCE, SVMGPU_SPACE_SYS, 0);
    stq_le_p(fence + SVMGPU_DESC_DST, SG_DATA + 0x100);
    for (int i = 0; i < RTT_RUNS; i++) {
        double start = now_s();

        spin_status(&g, sg_submit(&g, nop));
        t_nop[i] = now_s() - start;
        start = now_s();
        spin_status(&g, sg_submit(&g, fence));
        t_fence[i] = now_s() - start;
    }
    for (int i = 0; i < RTT_RUNS; i++) {
        uint64_t id_at = SG_FAULTQ_ADDR + SVMGPU_FREC_ID +
                         (uint64_t)g.fq_head * SVMGPU_FAULT_RECORD_SIZE;
        double start;
        uint32_t slot;

        /* Poll the record in RAM, as the NOP's status is polled in RAM. */
        qtest_writel(g.qts, id_at, 0);
        start = now_s();
        slot = sg_submit(&g, rd);
        while (!qtest_readl(g.qts, id_at)) {
            /* spin: the record is the end of the round trip */
        }
        t_fault[i] = now_s() - start;
        sg_next_fault(&g, rec);
        sg_respond(&g, ldl_le_p(rec + SVMGPU_FREC_ID),
                   SVMGPU_FAULT_RESPONSE_CANCEL);
        g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);
    }
    g_test_message("round trip, median of %d (qtest socket polling "
                   "included): NOP %.1f us; FENCE (memory write + vector) "
                   "%.1f us; fault (doorbell to record + vector) %.1f us",
                   RTT_RUNS, median(t_nop, RTT_RUNS) * 1e6,
                   median(t_fence, RTT_RUNS) * 1e6,
                   median(t_fault, RTT_RUNS) * 1e6);
    sg_stop(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/svmgpu/bench/copy", bench_copies);
    qtest_add_func("/svmgpu/bench/fault-round-trip", bench_fault_round_trip);
    return g_test_run();
}
