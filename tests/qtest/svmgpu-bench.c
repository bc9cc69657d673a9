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
 *    way (busy polling over the qtest socket);
 *  - how long the MMIO writes that wait for the engine (ring disable,
 *    synchronous TLB invalidation, FLR) keep a vCPU in the device, with
 *    the BQL held, while a long COPY runs: the engine leaves a command or
 *    drops its translations at its next step boundary, so each wait is
 *    bounded by one step, not by the length of the command.
 */

#include "svmgpu-qtest.h"

#define BENCH_LEN       (64 * MiB)
#define BENCH_RUNS      5
#define RTT_RUNS        200
#define WAIT_RUNS       20
#define WAIT_COPY_LEN   (128 * MiB)

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

/* Submit a long COPY and wait until the engine is inside it. */
static uint32_t start_long_copy(SgDev *g, uint8_t src_space, uint64_t src)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint32_t slot;

    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, src_space);
    stq_le_p(d + SVMGPU_DESC_DST, 0x10000000);
    stq_le_p(d + SVMGPU_DESC_SRC, src);
    stq_le_p(d + SVMGPU_DESC_LEN, WAIT_COPY_LEN);
    slot = sg_submit(g, d);
    g_usleep(2000);
    return slot;
}

/* The source of the VIRT copies: 2 MiB leaves at @va over guest RAM @ram. */
static void map_source(SgDev *g, uint64_t va, uint64_t ram)
{
    for (uint64_t off = 0; off < WAIT_COPY_LEN; off += 2 * MiB) {
        sg_map(g, 0, va + off, (ram + off) | SVMGPU_PTE_VALID |
               SVMGPU_PTE_HUGE);
    }
}

static double time_write(SgDev *g, uint32_t reg, uint32_t val)
{
    double start = now_s();

    sg_wr(g, reg, val);
    return now_s() - start;
}

static void print_waits(const char *what, double *t, int n, int in_flight)
{
    double max = 0;

    for (int i = 0; i < n; i++) {
        max = MAX(max, t[i]);
    }
    g_test_message("MMIO wait, %s: median %.1f us, max %.1f us "
                   "(%d of %d with the COPY still running)", what,
                   median(t, n) * 1e6, max * 1e6, in_flight, n);
}

static void mmio_waits(const char *machine, const char *where)
{
    double t_read[WAIT_RUNS], t_disable[WAIT_RUNS], t_inv[WAIT_RUNS];
    double t_flr[WAIT_RUNS];
    int busy_read = 0, busy_disable = 0, busy_inv = 0, busy_flr = 0;
    uint64_t va = 0x40000000, ram = 0x4000000;
    uint8_t exp;
    uint16_t devctl;
    SgDev g;

    sg_start_with(&g, machine, "");
    exp = qpci_find_capability(g.dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmpuint(exp, !=, 0);
    map_source(&g, va, ram);

    for (int i = 0; i < WAIT_RUNS; i++) {
        uint32_t slot = start_long_copy(&g, SVMGPU_SPACE_SYS, ram);
        double start = now_s();

        /* the qtest socket's own round trip, for comparison */
        g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ID), ==, SVMGPU_ID_MAGIC);
        t_read[i] = now_s() - start;
        busy_read += sg_status(&g, slot) == SVMGPU_DESC_STATUS_PENDING;
        spin_status(&g, slot);

        slot = start_long_copy(&g, SVMGPU_SPACE_VIRT, va);
        busy_inv += sg_status(&g, slot) == SVMGPU_DESC_STATUS_PENDING;
        t_inv[i] = time_write(&g, SVMGPU_REG_TLB_INV_CONTROL,
                              SVMGPU_TLB_INV_ALL);
        spin_status(&g, slot);

        slot = start_long_copy(&g, SVMGPU_SPACE_SYS, ram);
        busy_disable += sg_status(&g, slot) == SVMGPU_DESC_STATUS_PENDING;
        t_disable[i] = time_write(&g, SVMGPU_REG_RING_CONTROL(0), 0);
        sg_setup_queues(&g);

        slot = start_long_copy(&g, SVMGPU_SPACE_SYS, ram);
        busy_flr += sg_status(&g, slot) == SVMGPU_DESC_STATUS_PENDING;
        devctl = qpci_config_readw(g.dev, exp + PCI_EXP_DEVCTL);
        start = now_s();
        qpci_config_writew(g.dev, exp + PCI_EXP_DEVCTL,
                           devctl | PCI_EXP_DEVCTL_BCR_FLR);
        t_flr[i] = now_s() - start;
        qpci_device_enable(g.dev);
        g.regs = qpci_iomap(g.dev, SVMGPU_BAR_REGS, NULL);
        sg_setup_queues(&g);
        map_source(&g, va, ram);
    }
    g_test_message("MMIO waits %s, during a COPY of %d MiB, %d runs each:",
                   where, (int)(WAIT_COPY_LEN / MiB), WAIT_RUNS);
    print_waits("register read (the qtest socket alone)", t_read, WAIT_RUNS,
                busy_read);
    print_waits("TLB_INV_CONTROL, all contexts (VIRT copy)", t_inv,
                WAIT_RUNS, busy_inv);
    print_waits("ring disable", t_disable, WAIT_RUNS, busy_disable);
    print_waits("FLR (config write)", t_flr, WAIT_RUNS, busy_flr);
    sg_stop(&g);
}

static void bench_mmio_waits(void)
{
    mmio_waits("", "without an IOMMU");
}

/*
 * Behind an IOMMU the engine runs each command under the BQL and lets go
 * of it every 2 MiB: a register read waits for the BQL there too.
 */
static void bench_mmio_waits_iommu(void)
{
    mmio_waits("-device intel-iommu", "behind intel-iommu (remapping off)");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/svmgpu/bench/copy", bench_copies);
    qtest_add_func("/svmgpu/bench/fault-round-trip", bench_fault_round_trip);
    qtest_add_func("/svmgpu/bench/mmio-waits", bench_mmio_waits);
    qtest_add_func("/svmgpu/bench/mmio-waits-iommu", bench_mmio_waits_iommu);
    return g_test_run();
}
