/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest of the svmgpu command engine: every operation on every address
 * space, the device MMU and its TLB, faults with replay and cancel, and
 * interrupt delivery. docs/device.md is the specification tested here.
 */

#include "svmgpu-qtest.h"

/* COPY system memory -> VRAM -> system memory, byte-exact. */
static void test_copy_sys_vram_sys(void)
{
    g_autofree uint8_t *in = g_malloc(3 * 4096 + 123);
    g_autofree uint8_t *out = g_malloc0(3 * 4096 + 123);
    size_t len = 3 * 4096 + 123;
    uint8_t d[SVMGPU_DESC_SIZE];
    SgDev g;

    for (size_t i = 0; i < len; i++) {
        in[i] = i * 7 + 3;
    }
    sg_start(&g, "");
    qtest_memwrite(g.qts, SG_DATA, in, len);

    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_VRAM, SVMGPU_SPACE_SYS);
    stq_le_p(d + SVMGPU_DESC_DST, 0x1000);
    stq_le_p(d + SVMGPU_DESC_SRC, SG_DATA);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);

    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_VRAM);
    stq_le_p(d + SVMGPU_DESC_DST, SG_DATA + 0x100000);
    stq_le_p(d + SVMGPU_DESC_SRC, 0x1000);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);

    qtest_memread(g.qts, SG_DATA + 0x100000, out, len);
    g_assert_cmpmem(out, len, in, len);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), ==, 2);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 2);
    sg_stop(&g);
}

/* A virtual read of an unmapped page faults; map it, replay, done. */
static void test_fault_replay(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0x7f0000001000ull;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, SG_DATA, 0x1122334455667788ull);
    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_VIRT);
    stq_le_p(d + SVMGPU_DESC_DST, SG_DATA + 0x2000);
    stq_le_p(d + SVMGPU_DESC_SRC, va);
    stq_le_p(d + SVMGPU_DESC_LEN, 8);
    slot = sg_submit(&g, d);

    sg_next_fault(&g, rec);
    g_assert_cmphex(ldq_le_p(rec + SVMGPU_FREC_ADDR), ==, va);
    g_assert_cmpuint(rec[SVMGPU_FREC_ACCESS], ==, SVMGPU_ACCESS_READ);
    g_assert_cmpuint(rec[SVMGPU_FREC_REASON], ==, SVMGPU_FAULT_NOT_PRESENT);
    g_assert_cmpuint(ldl_le_p(rec + SVMGPU_FREC_RING_INDEX), ==, slot);
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_PENDING);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_STATUS) &
                    SVMGPU_STATUS_FAULT_PENDING, ==,
                    SVMGPU_STATUS_FAULT_PENDING);

    sg_map(&g, 0, va, SG_DATA | SVMGPU_PTE_VALID);
    sg_respond(&g, ldl_le_p(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_REPLAY);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x2000), ==,
                    0x1122334455667788ull);
    sg_stop(&g);
}

/* === helpers of the tests below === */

#define SG_STAGE            0x8000000ull    /* bounce buffer for VRAM */
#define SG_OUT              0x9000000ull    /* where reads land */
#define SG_QUIET_US         (50 * 1000)     /* "nothing happens" window */

/* ldl_le_p() returns a signed int: compare unsigned values. */
static uint32_t ld32(const void *p)
{
    return ldl_le_p(p);
}

static void desc_copy(uint8_t *d, uint16_t ctx, uint8_t dsp, uint64_t dst,
                      uint8_t ssp, uint64_t src, uint64_t len)
{
    sg_desc(d, SVMGPU_OP_COPY, dsp, ssp);
    stw_le_p(d + SVMGPU_DESC_CTX, ctx);
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_SRC, src);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
}

static void desc_atomic(uint8_t *d, uint16_t ctx, uint8_t space, uint64_t dst,
                        uint8_t op, uint8_t width, uint64_t operand,
                        uint64_t compare)
{
    sg_desc(d, SVMGPU_OP_ATOMIC, space, 0);
    stw_le_p(d + SVMGPU_DESC_CTX, ctx);
    d[SVMGPU_DESC_ATOMIC_OP] = op;
    d[SVMGPU_DESC_WIDTH] = width;
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_OPERAND, operand);
    stq_le_p(d + SVMGPU_DESC_COMPARE, compare);
}

static void desc_inv(uint8_t *d, uint8_t scope, uint16_t ctx, uint64_t va,
                     uint64_t len)
{
    sg_desc(d, SVMGPU_OP_TLB_INVALIDATE, 0, 0);
    stw_le_p(d + SVMGPU_DESC_CTX, ctx);
    d[SVMGPU_DESC_ATOMIC_OP] = scope;
    stq_le_p(d + SVMGPU_DESC_DST, va);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
}

/*
 * Wait until @slot completes or a fault is recorded for it. A fault where
 * none is expected fails the test at once instead of timing out.
 */
static uint32_t sg_wait_nofault(SgDev *g, uint32_t slot)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;
    uint32_t st;

    while ((st = sg_status(g, slot)) == SVMGPU_DESC_STATUS_PENDING) {
        g_assert_cmpuint(sg_rd(g, SVMGPU_REG_FAULTQ_TAIL), ==, g->fq_head);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
    return st;
}

static uint32_t sg_run_nofault(SgDev *g, const uint8_t *d)
{
    return sg_wait_nofault(g, sg_submit(g, d));
}

static void run_copy(SgDev *g, uint16_t ctx, uint8_t dsp, uint64_t dst,
                     uint8_t ssp, uint64_t src, uint64_t len)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    desc_copy(d, ctx, dsp, dst, ssp, src, len);
    g_assert_cmpuint(sg_run_nofault(g, d), ==, SVMGPU_DESC_STATUS_OK);
}

static void run_inv(SgDev *g, uint8_t scope, uint16_t ctx, uint64_t va,
                    uint64_t len)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    desc_inv(d, scope, ctx, va, len);
    g_assert_cmpuint(sg_run(g, d), ==, SVMGPU_DESC_STATUS_OK);
}

/* VRAM access for the checks, through a bounce buffer in system memory. */
static void vram_write(SgDev *g, uint64_t off, const void *buf, size_t len)
{
    qtest_memwrite(g->qts, SG_STAGE, buf, len);
    run_copy(g, 0, SVMGPU_SPACE_VRAM, off, SVMGPU_SPACE_SYS, SG_STAGE, len);
}

static void vram_read(SgDev *g, uint64_t off, void *buf, size_t len)
{
    qtest_memset(g->qts, SG_STAGE, 0x5a, len);
    run_copy(g, 0, SVMGPU_SPACE_SYS, SG_STAGE, SVMGPU_SPACE_VRAM, off, len);
    qtest_memread(g->qts, SG_STAGE, buf, len);
}

/* Read 8 bytes at @va of @ctx through the engine (a VIRT -> SYS copy). */
static uint64_t virt_read64(SgDev *g, uint16_t ctx, uint64_t va)
{
    qtest_writeq(g->qts, SG_OUT, 0x5a5a5a5a5a5a5a5aull);
    run_copy(g, ctx, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, va, 8);
    return qtest_readq(g->qts, SG_OUT);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (i * 13 + seed * 101 + (i >> 8)) & 0xff;
    }
}

static bool parked(SgDev *g)
{
    return sg_rd(g, SVMGPU_REG_STATUS) & SVMGPU_STATUS_FAULT_PENDING;
}

/*
 * A REPLAY resumes the command where it faulted: the bytes copied before the
 * fault are not copied again. Seen by changing the source of the first page
 * while the command is parked on the third: the first keeps the old data.
 */
static void test_replay_resumes(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t src_va = 0x7f0000100000ull, dst_va = 0x7f0000200000ull;
    uint64_t src_pa = SG_DATA, dst_pa = SG_DATA + 0x10000;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    for (int i = 0; i < 3; i++) {
        qtest_memset(g.qts, src_pa + i * 4096, 0x10 + i, 4096);
        qtest_memset(g.qts, dst_pa + i * 4096, 0xee, 4096);
        sg_map(&g, 0, src_va + i * 4096, (src_pa + i * 4096) |
               SVMGPU_PTE_VALID);
    }
    for (int i = 0; i < 2; i++) {
        sg_map(&g, 0, dst_va + i * 4096, (dst_pa + i * 4096) |
               SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    }
    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_VIRT, SVMGPU_SPACE_VIRT);
    stq_le_p(d + SVMGPU_DESC_DST, dst_va);
    stq_le_p(d + SVMGPU_DESC_SRC, src_va);
    stq_le_p(d + SVMGPU_DESC_LEN, 3 * 4096);
    slot = sg_submit(&g, d);

    sg_next_fault(&g, rec);
    g_assert_cmphex(ldq_le_p(rec + SVMGPU_FREC_ADDR), ==, dst_va + 2 * 4096);
    g_assert_cmpuint(rec[SVMGPU_FREC_ACCESS], ==, SVMGPU_ACCESS_WRITE);
    g_assert_cmphex(qtest_readb(g.qts, dst_pa + 4096 + 17), ==, 0x11);

    qtest_memset(g.qts, src_pa, 0x99, 4096);
    sg_map(&g, 0, dst_va + 2 * 4096, (dst_pa + 2 * 4096) |
           SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    sg_respond(&g, ldl_le_p(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_REPLAY);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readb(g.qts, dst_pa + 5), ==, 0x10);
    g_assert_cmphex(qtest_readb(g.qts, dst_pa + 2 * 4096 + 4095), ==, 0x12);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-bytes"), ==, 3 * 4096);
    sg_stop(&g);
}

/*
 * Spurious faults on a long command: every one is answered with a plain
 * REPLAY (nothing to fix), and each costs one replay, never a restart. A
 * 2 MiB virtual COPY and FILL make 512 translations per operand: with 10%
 * spurious faults, about 100 of them on the COPY. Were a replay to start the
 * command over, it would almost never finish.
 */
static void test_spurious_costs_one_replay(void)
{
    uint64_t src_va = 0x100000000ull, dst_va = 0x200000000ull;
    uint64_t src_pa = SG_DATA, dst_pa = SG_DATA + 2 * MiB;
    size_t len = 2 * MiB;
    g_autofree uint8_t *in = g_malloc(len);
    g_autofree uint8_t *out = g_malloc(len);
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t injected, last = 0;
    unsigned faults = 0;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "x-seed=7");
    fill_pattern(in, len, 9);
    qtest_memwrite(g.qts, src_pa, in, len);
    qtest_memset(g.qts, dst_pa, 0xee, len);
    for (size_t off = 0; off < len; off += 4096) {
        sg_map(&g, 0, src_va + off, (src_pa + off) | SVMGPU_PTE_VALID);
        sg_map(&g, 0, dst_va + off, (dst_pa + off) | SVMGPU_PTE_VALID |
               SVMGPU_PTE_WRITE);
    }
    sg_qom_set(&g, "x-inject-spurious-ppm", 100000);
    injected = sg_qom_get(&g, "x-stat-injected");

    desc_copy(d, 0, SVMGPU_SPACE_VIRT, dst_va, SVMGPU_SPACE_VIRT, src_va, len);
    slot = sg_submit(&g, d);
    while (sg_status(&g, slot) == SVMGPU_DESC_STATUS_PENDING) {
        if (sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL) == g.fq_head) {
            g_usleep(100);
            continue;
        }
        sg_next_fault(&g, rec);
        g_assert_cmphex(ldl_le_p(rec + SVMGPU_FREC_FLAGS), ==,
                        SVMGPU_FAULT_FLAG_SPURIOUS);
        /* progress: never back to an offset already passed */
        g_assert_cmphex(ldq_le_p(rec + SVMGPU_FREC_ADDR) & (len - 1), >=,
                        last);
        last = ldq_le_p(rec + SVMGPU_FREC_ADDR) & (len - 1);
        g_assert_cmpuint(++faults, <, 400);
        sg_respond(&g, ldl_le_p(rec + SVMGPU_FREC_ID),
                   SVMGPU_FAULT_RESPONSE_REPLAY);
    }
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(faults, >, 20);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-injected") - injected, ==, faults);
    qtest_memread(g.qts, dst_pa, out, len);
    g_assert_cmpmem(out, len, in, len);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);
    sg_stop(&g);
}

/* === 1. copy-spaces === */

static void test_copy_spaces(void)
{
    size_t len = 5000;
    g_autofree uint8_t *in = g_malloc(len);
    g_autofree uint8_t *out = g_malloc(len);
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t sva = 0x10000000ull, dva = 0x20000000ull, vva = 0x30000000ull;
    /* non-contiguous backing pages, in the "wrong" order */
    uint64_t sp0 = SG_DATA + 0x50000, sp1 = SG_DATA + 0x20000;
    uint64_t dp0 = SG_DATA + 0x60000, dp1 = SG_DATA + 0x30000;
    uint8_t vin[0x300], vout[0x300], tmp[0x300];
    SgDev g;

    sg_start(&g, "");
    fill_pattern(in, len, 1);

    /* sys -> sys, unaligned both sides */
    qtest_memwrite(g.qts, SG_DATA + 3, in, len);
    qtest_memset(g.qts, SG_DATA + 0x10000, 0xee, len + 16);
    run_copy(&g, 0, SVMGPU_SPACE_SYS, SG_DATA + 0x10005,
             SVMGPU_SPACE_SYS, SG_DATA + 3, len);
    qtest_memread(g.qts, SG_DATA + 0x10005, out, len);
    g_assert_cmpmem(out, len, in, len);
    g_assert_cmphex(qtest_readb(g.qts, SG_DATA + 0x10004), ==, 0xee);
    g_assert_cmphex(qtest_readb(g.qts, SG_DATA + 0x10005 + len), ==, 0xee);

    /* vram -> vram */
    vram_write(&g, 0x1003, in, len);
    run_copy(&g, 0, SVMGPU_SPACE_VRAM, 0x80001, SVMGPU_SPACE_VRAM, 0x1003,
             len);
    memset(out, 0, len);
    vram_read(&g, 0x80001, out, len);
    g_assert_cmpmem(out, len, in, len);

    /* virt -> virt, both crossing a page boundary */
    fill_pattern(vin, sizeof(vin), 2);
    sg_map(&g, 0, sva, sp0 | SVMGPU_PTE_VALID);
    sg_map(&g, 0, sva + 0x1000, sp1 | SVMGPU_PTE_VALID);
    sg_map(&g, 0, dva, dp0 | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    sg_map(&g, 0, dva + 0x1000, dp1 | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    qtest_memwrite(g.qts, sp0 + 0xf00, vin, 0x100);
    qtest_memwrite(g.qts, sp1, vin + 0x100, 0x200);
    qtest_memset(g.qts, dp0, 0xee, 0x1000);
    qtest_memset(g.qts, dp1, 0xee, 0x1000);
    run_copy(&g, 0, SVMGPU_SPACE_VIRT, dva + 0xe80, SVMGPU_SPACE_VIRT,
             sva + 0xf00, sizeof(vin));
    qtest_memread(g.qts, dp0 + 0xe80, vout, 0x180);
    qtest_memread(g.qts, dp1, vout + 0x180, 0x180);
    g_assert_cmpmem(vout, sizeof(vout), vin, sizeof(vin));
    g_assert_cmphex(qtest_readb(g.qts, dp0 + 0xe7f), ==, 0xee);
    g_assert_cmphex(qtest_readb(g.qts, dp1 + 0x180), ==, 0xee);

    /* virt (VRAM-aperture leaf) -> vram, and sys -> virt (VRAM leaf) */
    fill_pattern(vin, sizeof(vin), 3);
    vram_write(&g, 0x200000 + 0x40, vin, sizeof(vin));
    sg_map(&g, 0, vva, 0x200000 | SVMGPU_PTE_VALID | SVMGPU_PTE_VRAM |
           SVMGPU_PTE_WRITE);
    run_copy(&g, 0, SVMGPU_SPACE_VRAM, 0x300000, SVMGPU_SPACE_VIRT,
             vva + 0x40, sizeof(vin));
    vram_read(&g, 0x300000, vout, sizeof(vout));
    g_assert_cmpmem(vout, sizeof(vout), vin, sizeof(vin));

    fill_pattern(tmp, sizeof(tmp), 4);
    qtest_memwrite(g.qts, SG_DATA + 0x70000, tmp, sizeof(tmp));
    run_copy(&g, 0, SVMGPU_SPACE_VIRT, vva + 0x800, SVMGPU_SPACE_SYS,
             SG_DATA + 0x70000, sizeof(tmp));
    vram_read(&g, 0x200800, vout, sizeof(vout));
    g_assert_cmpmem(vout, sizeof(vout), tmp, sizeof(tmp));

    /* nothing faulted, and a bad space is refused */
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL), ==, 0);
    desc_copy(d, 0, 3, SG_DATA, SVMGPU_SPACE_SYS, SG_DATA + 0x1000, 8);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_INVALID);
    sg_stop(&g);
}

/* === 2. copy-huge === */

static void test_copy_huge(void)
{
    uint64_t va = 0x40000000ull;            /* 2 MiB leaf */
    uint64_t hpa = SG_DATA + 0x400000;      /* 2 MiB-aligned */
    uint64_t npa = SG_DATA + 0x800000;      /* the 4 KiB page after it */
    uint8_t in[0x400], out[0x400];
    SgDev g;

    g_assert_cmphex(hpa & (2 * MiB - 1), ==, 0);
    sg_start(&g, "");
    fill_pattern(in, sizeof(in), 5);
    sg_map(&g, 0, va, hpa | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE |
           SVMGPU_PTE_HUGE);
    sg_map(&g, 0, va + 2 * MiB, npa | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);

    /* inside the huge page, far from its first 4 KiB */
    qtest_writeq(g.qts, hpa + 0x123458, 0x0102030405060708ull);
    g_assert_cmphex(virt_read64(&g, 0, va + 0x123458), ==,
                    0x0102030405060708ull);

    /* read across the end of the huge leaf into the 4 KiB leaf */
    qtest_memwrite(g.qts, hpa + 2 * MiB - 0x180, in, 0x180);
    qtest_memwrite(g.qts, npa, in + 0x180, sizeof(in) - 0x180);
    run_copy(&g, 0, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT,
             va + 2 * MiB - 0x180, sizeof(in));
    qtest_memread(g.qts, SG_OUT, out, sizeof(out));
    g_assert_cmpmem(out, sizeof(out), in, sizeof(in));

    /* write across the same boundary */
    fill_pattern(in, sizeof(in), 6);
    qtest_memwrite(g.qts, SG_STAGE, in, sizeof(in));
    qtest_memset(g.qts, npa, 0xee, 0x1000);
    run_copy(&g, 0, SVMGPU_SPACE_VIRT, va + 2 * MiB - 0x100,
             SVMGPU_SPACE_SYS, SG_STAGE, sizeof(in));
    qtest_memread(g.qts, hpa + 2 * MiB - 0x100, out, 0x100);
    qtest_memread(g.qts, npa, out + 0x100, sizeof(out) - 0x100);
    g_assert_cmpmem(out, sizeof(out), in, sizeof(in));
    g_assert_cmphex(qtest_readb(g.qts, npa + sizeof(in) - 0x100), ==, 0xee);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL), ==, 0);
    sg_stop(&g);
}

/* === 3. fill === */

#define FILL_PATTERN        0x0807060504030201ull

static void check_fill(const uint8_t *buf, size_t size, size_t start,
                       size_t len)
{
    for (size_t i = 0; i < size; i++) {
        if (i < start || i >= start + len) {
            g_assert_cmphex(buf[i], ==, 0xee);
        } else {
            g_assert_cmphex(buf[i], ==, (FILL_PATTERN >> 8 * ((i - start) % 8))
                            & 0xff);
        }
    }
}

static void test_fill(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], buf[64], ee[64];
    SgDev g;

    sg_start(&g, "");
    memset(ee, 0xee, sizeof(ee));

    /* sys, dst+3, 21 bytes */
    qtest_memwrite(g.qts, SG_DATA, ee, sizeof(ee));
    sg_desc(d, SVMGPU_OP_FILL, SVMGPU_SPACE_SYS, 0);
    stq_le_p(d + SVMGPU_DESC_DST, SG_DATA + 3);
    stq_le_p(d + SVMGPU_DESC_LEN, 21);
    stq_le_p(d + SVMGPU_DESC_OPERAND, FILL_PATTERN);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    qtest_memread(g.qts, SG_DATA, buf, sizeof(buf));
    check_fill(buf, sizeof(buf), 3, 21);

    /* VRAM, same shape */
    vram_write(&g, 0x5000, ee, sizeof(ee));
    sg_desc(d, SVMGPU_OP_FILL, SVMGPU_SPACE_VRAM, 0);
    stq_le_p(d + SVMGPU_DESC_DST, 0x5000 + 3);
    stq_le_p(d + SVMGPU_DESC_LEN, 21);
    stq_le_p(d + SVMGPU_DESC_OPERAND, FILL_PATTERN);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    vram_read(&g, 0x5000, buf, sizeof(buf));
    check_fill(buf, sizeof(buf), 3, 21);

    /* VRAM, odd start and an odd length crossing a 4 KiB boundary */
    vram_write(&g, 0x6000 - 32, ee, sizeof(ee));
    sg_desc(d, SVMGPU_OP_FILL, SVMGPU_SPACE_VRAM, 0);
    stq_le_p(d + SVMGPU_DESC_DST, 0x6000 - 27);
    stq_le_p(d + SVMGPU_DESC_LEN, 45);
    stq_le_p(d + SVMGPU_DESC_OPERAND, FILL_PATTERN);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    vram_read(&g, 0x6000 - 32, buf, sizeof(buf));
    check_fill(buf, sizeof(buf), 5, 45);
    sg_stop(&g);
}

/* === 4. write-imm === */

static void test_write_imm(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], buf[24], ee[24];
    uint64_t v = 0x1122334455667788ull;
    SgDev g;

    sg_start(&g, "");
    memset(ee, 0xee, sizeof(ee));
    for (int space = SVMGPU_SPACE_SYS; space <= SVMGPU_SPACE_VRAM; space++) {
        uint64_t base = space == SVMGPU_SPACE_SYS ? SG_DATA : 0x7000;

        if (space == SVMGPU_SPACE_SYS) {
            qtest_memwrite(g.qts, base, ee, sizeof(ee));
        } else {
            vram_write(&g, base, ee, sizeof(ee));
        }
        sg_desc(d, SVMGPU_OP_WRITE_IMM, space, 0);
        d[SVMGPU_DESC_WIDTH] = 4;
        stq_le_p(d + SVMGPU_DESC_DST, base + 4);
        stq_le_p(d + SVMGPU_DESC_OPERAND, v);
        g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
        sg_desc(d, SVMGPU_OP_WRITE_IMM, space, 0);
        d[SVMGPU_DESC_WIDTH] = 8;
        stq_le_p(d + SVMGPU_DESC_DST, base + 8);
        stq_le_p(d + SVMGPU_DESC_OPERAND, v);
        g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);

        if (space == SVMGPU_SPACE_SYS) {
            qtest_memread(g.qts, base, buf, sizeof(buf));
        } else {
            vram_read(&g, base, buf, sizeof(buf));
        }
        g_assert_cmphex(ld32(buf), ==, 0xeeeeeeee);
        g_assert_cmphex(ld32(buf + 4), ==, 0x55667788);
        g_assert_cmphex(ldq_le_p(buf + 8), ==, v);
        g_assert_cmphex(ldq_le_p(buf + 16), ==, 0xeeeeeeeeeeeeeeeeull);
    }

    /* misaligned for the width: INVALID, nothing written */
    qtest_memwrite(g.qts, SG_DATA, ee, sizeof(ee));
    sg_desc(d, SVMGPU_OP_WRITE_IMM, SVMGPU_SPACE_SYS, 0);
    d[SVMGPU_DESC_WIDTH] = 8;
    stq_le_p(d + SVMGPU_DESC_DST, SG_DATA + 4);
    stq_le_p(d + SVMGPU_DESC_OPERAND, v);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_INVALID);
    qtest_memread(g.qts, SG_DATA, buf, sizeof(buf));
    g_assert_cmpmem(buf, sizeof(buf), ee, sizeof(ee));
    sg_stop(&g);
}

/* === 5. atomics === */

typedef struct AtomicCase {
    uint8_t op;
    int64_t old, operand, compare;      /* truncated to the width */
} AtomicCase;

static const AtomicCase atomic_cases[] = {
    { SVMGPU_ATOMIC_ADD, 0x10, 5, 0 },
    { SVMGPU_ATOMIC_ADD, -1, 2, 0 },                    /* wraps */
    { SVMGPU_ATOMIC_XCHG, 0x1234, 0xabcd, 0 },
    { SVMGPU_ATOMIC_CMPXCHG, 7, 9, 7 },                 /* success */
    { SVMGPU_ATOMIC_CMPXCHG, 7, 9, 8 },                 /* failure */
    { SVMGPU_ATOMIC_AND, (int64_t)0xff00ff00ff00ff00ull,
      0x0ff00ff00ff00ff0ll, 0 },
    { SVMGPU_ATOMIC_OR, (int64_t)0xff00ff00ff00ff00ull,
      0x0ff00ff00ff00ff0ll, 0 },
    { SVMGPU_ATOMIC_XOR, (int64_t)0xff00ff00ff00ff00ull,
      0x0ff00ff00ff00ff0ll, 0 },
    { SVMGPU_ATOMIC_UMIN, -1, 1, 0 },
    { SVMGPU_ATOMIC_UMAX, -1, 1, 0 },
    { SVMGPU_ATOMIC_SMIN, -1, 1, 0 },
    { SVMGPU_ATOMIC_SMAX, -1, 1, 0 },
    { SVMGPU_ATOMIC_UMIN, 1, -1, 0 },
    { SVMGPU_ATOMIC_UMAX, 1, -1, 0 },
    { SVMGPU_ATOMIC_SMIN, 1, -1, 0 },
    { SVMGPU_ATOMIC_SMAX, 1, -1, 0 },
    { SVMGPU_ATOMIC_SMIN, -2, -5, 0 },
    { SVMGPU_ATOMIC_SMAX, -2, -5, 0 },
};

static uint64_t width_mask(unsigned w)
{
    return w == 8 ? ~0ull : 0xffffffffull;
}

static int64_t sext(uint64_t v, unsigned w)
{
    return w == 8 ? (int64_t)v : (int64_t)(int32_t)v;
}

/* The new memory value per docs/device.md, computed independently. */
static uint64_t atomic_model(const AtomicCase *c, unsigned w)
{
    uint64_t m = width_mask(w);
    uint64_t old = c->old & m, x = c->operand & m;

    switch (c->op) {
    case SVMGPU_ATOMIC_ADD:
        return (old + x) & m;
    case SVMGPU_ATOMIC_XCHG:
        return x;
    case SVMGPU_ATOMIC_CMPXCHG:
        return old == ((uint64_t)c->compare & m) ? x : old;
    case SVMGPU_ATOMIC_AND:
        return old & x;
    case SVMGPU_ATOMIC_OR:
        return old | x;
    case SVMGPU_ATOMIC_XOR:
        return old ^ x;
    case SVMGPU_ATOMIC_UMIN:
        return MIN(old, x);
    case SVMGPU_ATOMIC_UMAX:
        return MAX(old, x);
    case SVMGPU_ATOMIC_SMIN:
        return sext(old, w) < sext(x, w) ? old : x;
    case SVMGPU_ATOMIC_SMAX:
        return sext(old, w) > sext(x, w) ? old : x;
    }
    g_assert_not_reached();
}

/*
 * Run every case at widths 4 and 8 on @space (SYS or VRAM), one 16-byte
 * cell each: the value, then a sentinel the width-4 ops must not touch.
 */
static void run_atomic_cases(SgDev *g, uint8_t space, uint64_t base)
{
    uint8_t d[SVMGPU_DESC_SIZE], cell[16];
    uint64_t at = base;

    for (unsigned w = 4; w <= 8; w += 4) {
        for (size_t i = 0; i < ARRAY_SIZE(atomic_cases); i++, at += 16) {
            const AtomicCase *c = &atomic_cases[i];
            uint64_t m = width_mask(w);
            uint64_t want = atomic_model(c, w);
            uint32_t slot;

            memset(cell, 0xa5, sizeof(cell));
            if (w == 4) {
                stl_le_p(cell, c->old);
            } else {
                stq_le_p(cell, c->old);
            }
            if (space == SVMGPU_SPACE_SYS) {
                qtest_memwrite(g->qts, at, cell, sizeof(cell));
            } else {
                vram_write(g, at, cell, sizeof(cell));
            }
            desc_atomic(d, 0, space, at, c->op, w, c->operand & m,
                        c->compare & m);
            slot = sg_submit(g, d);
            g_assert_cmpuint(sg_wait(g, slot), ==, SVMGPU_DESC_STATUS_OK);
            g_assert_cmphex(sg_result(g, slot), ==, (uint64_t)c->old & m);
            if (space == SVMGPU_SPACE_SYS) {
                qtest_memread(g->qts, at, cell, sizeof(cell));
            } else {
                vram_read(g, at, cell, sizeof(cell));
            }
            if (w == 4) {
                g_assert_cmphex(ld32(cell), ==, want);
                g_assert_cmphex(ld32(cell + 4), ==, 0xa5a5a5a5);
            } else {
                g_assert_cmphex(ldq_le_p(cell), ==, want);
            }
            g_assert_cmphex(ldq_le_p(cell + 8), ==, 0xa5a5a5a5a5a5a5a5ull);
        }
    }
}

/* One atomic at @at of @space: its status, RESULT in *old. */
static uint32_t atomic1(SgDev *g, uint8_t space, uint64_t at, uint8_t op,
                        unsigned w, uint64_t init, uint64_t x, uint64_t *old,
                        uint64_t *now)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint32_t slot, st;

    if (space == SVMGPU_SPACE_SYS) {
        qtest_writeq(g->qts, at, init);
    } else {
        vram_write(g, at, &init, 8);
    }
    desc_atomic(d, 0, space, at, op, w, x, 0);
    slot = sg_submit(g, d);
    st = sg_wait(g, slot);
    *old = sg_result(g, slot);
    if (space == SVMGPU_SPACE_SYS) {
        *now = qtest_readq(g->qts, at);
    } else {
        vram_read(g, at, now, 8);
    }
    return st;
}

static void check_signedness(SgDev *g, uint8_t space, uint64_t at)
{
    uint64_t old, now;

    /* 0xffffffff vs 1 at width 4: unsigned 4294967295, signed -1 */
    g_assert_cmpuint(atomic1(g, space, at, SVMGPU_ATOMIC_UMIN, 4,
                             0xffffffffull, 1, &old, &now), ==,
                     SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(old, ==, 0xffffffffull);
    g_assert_cmphex(now, ==, 1);
    g_assert_cmpuint(atomic1(g, space, at, SVMGPU_ATOMIC_SMIN, 4,
                             0xffffffffull, 1, &old, &now), ==,
                     SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(now, ==, 0xffffffffull);
    g_assert_cmpuint(atomic1(g, space, at, SVMGPU_ATOMIC_UMAX, 4,
                             0xffffffffull, 1, &old, &now), ==,
                     SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(now, ==, 0xffffffffull);
    g_assert_cmpuint(atomic1(g, space, at, SVMGPU_ATOMIC_SMAX, 4,
                             0xffffffffull, 1, &old, &now), ==,
                     SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(now, ==, 1);
    /* width 4 ADD carries not into the next word, RESULT zero-extended */
    g_assert_cmpuint(atomic1(g, space, at, SVMGPU_ATOMIC_ADD, 4,
                             0x00000007ffffffffull, 1, &old, &now), ==,
                     SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(old, ==, 0xffffffffull);
    g_assert_cmphex(now, ==, 0x0000000700000000ull);
}

static void test_atomics(void)
{
    SgDev g;

    sg_start(&g, "");
    run_atomic_cases(&g, SVMGPU_SPACE_VRAM, 0x10000);
    check_signedness(&g, SVMGPU_SPACE_VRAM, 0x20000);
    sg_stop(&g);

    sg_start(&g, "sysmem-atomics=on");
    run_atomic_cases(&g, SVMGPU_SPACE_SYS, SG_DATA);
    check_signedness(&g, SVMGPU_SPACE_SYS, SG_DATA + 0x10000);
    sg_stop(&g);
}

/* === 6. atomic-permissions === */

static void test_atomic_permissions(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0x50000000ull, pa = SG_DATA + 0x1000;
    uint64_t va_a = 0x50001000ull, pa_a = SG_DATA + 0x2000;
    uint64_t va_v = 0x50002000ull;
    uint64_t old, now;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_CAPS) & SVMGPU_CAP_SYSMEM_ATOMICS,
                    ==, 0);

    /* SYS atomic, sysmem-atomics=off: ATOMIC_DENIED, memory unchanged */
    g_assert_cmpuint(atomic1(&g, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_ATOMIC_ADD,
                             8, 40, 2, &old, &now), ==,
                     SVMGPU_DESC_STATUS_ATOMIC_DENIED);
    g_assert_cmpuint(now, ==, 40);

    /* VIRT on a sysmem leaf with WRITE but no ATOMIC: atomic fault */
    sg_map(&g, 0, va, pa | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    qtest_writeq(g.qts, pa + 8, 40);
    desc_atomic(d, 0, SVMGPU_SPACE_VIRT, va + 8, SVMGPU_ATOMIC_ADD, 8, 2, 0);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    g_assert_cmphex(ldq_le_p(rec + SVMGPU_FREC_ADDR), ==, va + 8);
    g_assert_cmpuint(rec[SVMGPU_FREC_ACCESS], ==, SVMGPU_ACCESS_ATOMIC);
    g_assert_cmpuint(rec[SVMGPU_FREC_REASON], ==, SVMGPU_FAULT_ATOMIC_DENIED);
    g_assert_cmpuint(ld32(rec + SVMGPU_FREC_RING_INDEX), ==, slot);
    sg_respond(&g, ld32(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_cmpuint(qtest_readq(g.qts, pa + 8), ==, 40);

    /* with the ATOMIC bit: OK */
    sg_map(&g, 0, va_a, pa_a | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE |
           SVMGPU_PTE_ATOMIC);
    qtest_writeq(g.qts, pa_a + 8, 40);
    desc_atomic(d, 0, SVMGPU_SPACE_VIRT, va_a + 8, SVMGPU_ATOMIC_ADD, 8, 2, 0);
    slot = sg_submit(&g, d);
    g_assert_cmpuint(sg_wait_nofault(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(sg_result(&g, slot), ==, 40);
    g_assert_cmpuint(qtest_readq(g.qts, pa_a + 8), ==, 42);

    /* a VRAM leaf needs no ATOMIC bit */
    now = 40;
    vram_write(&g, 0x3000 + 8, &now, 8);
    sg_map(&g, 0, va_v, 0x3000 | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE |
           SVMGPU_PTE_VRAM);
    desc_atomic(d, 0, SVMGPU_SPACE_VIRT, va_v + 8, SVMGPU_ATOMIC_ADD, 8, 2, 0);
    slot = sg_submit(&g, d);
    g_assert_cmpuint(sg_wait_nofault(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(sg_result(&g, slot), ==, 40);
    vram_read(&g, 0x3000 + 8, &now, 8);
    g_assert_cmpuint(now, ==, 42);
    sg_stop(&g);

    /* sysmem-atomics=on: SYS atomic OK, VIRT sysmem leaf needs no bit */
    sg_start(&g, "sysmem-atomics=on");
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_CAPS) & SVMGPU_CAP_SYSMEM_ATOMICS,
                    ==, SVMGPU_CAP_SYSMEM_ATOMICS);
    g_assert_cmpuint(atomic1(&g, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_ATOMIC_ADD,
                             8, 40, 2, &old, &now), ==,
                     SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(old, ==, 40);
    g_assert_cmpuint(now, ==, 42);
    sg_map(&g, 0, va, pa | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    qtest_writeq(g.qts, pa + 8, 40);
    desc_atomic(d, 0, SVMGPU_SPACE_VIRT, va + 8, SVMGPU_ATOMIC_ADD, 8, 2, 0);
    slot = sg_submit(&g, d);
    g_assert_cmpuint(sg_wait_nofault(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(qtest_readq(g.qts, pa + 8), ==, 42);
    sg_stop(&g);
}

/* === 7. fence === */

static void run_fence(SgDev *g, uint64_t dst, uint64_t seqno, bool no_irq)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    sg_desc(d, SVMGPU_OP_FENCE, SVMGPU_SPACE_SYS, 0);
    if (no_irq) {
        d[SVMGPU_DESC_FLAGS] |= SVMGPU_DESC_NO_IRQ;
    }
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_OPERAND, seqno);
    g_assert_cmpuint(sg_run(g, d), ==, SVMGPU_DESC_STATUS_OK);
}

static void test_fence(void)
{
    uint64_t seq1 = 0x1234567887654321ull, seq2 = 0xfedcba9801234567ull;
    SgDev g;

    sg_start(&g, "");
    /*
     * qpci_msix_enable() maps the table's BAR (0) again, at a new address:
     * the registers move with it, so g.regs must follow.
     */
    qpci_msix_enable(g.dev);
    g_assert_cmpuint(g.dev->msix_table_off, ==, SVMGPU_MSIX_TABLE_OFFSET);
    g_assert_cmpuint(g.dev->msix_pba_off, ==, SVMGPU_MSIX_PBA_OFFSET);
    g.regs = g.dev->msix_table_bar;
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ID), ==, SVMGPU_ID_MAGIC);
    for (int v = 0; v < SVMGPU_NUM_VECTORS; v++) {
        g_assert_true(qpci_msix_masked(g.dev, v));
        g_assert_false(qpci_msix_pending(g.dev, v));
    }

    /* NO_IRQ: memory and seqno, but no INT_STATUS bit, no pending bit */
    run_fence(&g, SG_DATA + 0x100, seq1, true);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x100), ==, seq1);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_FENCE_SEQNO_LO), ==, (uint32_t)seq1);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_FENCE_SEQNO_HI), ==, seq1 >> 32);
    g_usleep(SG_QUIET_US);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_INT_STATUS), ==, 0);
    g_assert_false(qpci_msix_pending(g.dev, SVMGPU_VEC_COMPLETION));

    /* with an interrupt */
    run_fence(&g, SG_DATA + 0x108, seq2, false);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x108), ==, seq2);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x100), ==, seq1);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_FENCE_SEQNO_LO), ==, (uint32_t)seq2);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_FENCE_SEQNO_HI), ==, seq2 >> 32);
    sg_wait_reg(&g, SVMGPU_REG_INT_STATUS, SVMGPU_INT_COMPLETION,
                SVMGPU_INT_COMPLETION);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_INT_STATUS), ==,
                    SVMGPU_INT_COMPLETION);
    g_assert_true(sg_msix_pending_eventually(&g, SVMGPU_VEC_COMPLETION));
    g_assert_false(qpci_msix_pending(g.dev, SVMGPU_VEC_FAULT));
    g_assert_false(qpci_msix_pending(g.dev, SVMGPU_VEC_ERROR));

    /* W1C */
    sg_wr(&g, SVMGPU_REG_INT_STATUS, SVMGPU_INT_FAULT | SVMGPU_INT_ERROR);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_INT_STATUS), ==,
                    SVMGPU_INT_COMPLETION);
    sg_wr(&g, SVMGPU_REG_INT_STATUS, SVMGPU_INT_COMPLETION);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_INT_STATUS), ==, 0);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);
    sg_stop(&g);
}

/* === 8. tlb-stale-until-invalidated === */

#define TLB_VA              0x60000000ull
#define TLB_A               0xaaaaaaaa00000001ull
#define TLB_B               0xbbbbbbbb00000002ull

/* Invalidations that must not drop (ctx 0, TLB_VA): other ctx, range. */
static void inv_others(SgDev *g)
{
    run_inv(g, SVMGPU_TLB_INV_RANGE, 2, TLB_VA, 4096);
    run_inv(g, SVMGPU_TLB_INV_CONTEXT, 2, 0, 0);
    run_inv(g, SVMGPU_TLB_INV_RANGE, 0, TLB_VA + 4096, 4096);
    run_inv(g, SVMGPU_TLB_INV_RANGE, 0, TLB_VA - 4096, 4096);
    run_inv(g, SVMGPU_TLB_INV_RANGE, 0, TLB_VA + 4096, 1 * MiB);
}

static void test_tlb_stale(void)
{
    uint64_t pa = SG_DATA + 0x10000, pb = SG_DATA + 0x11000;
    uint64_t pages[2] = { pa, pb }, vals[2] = { TLB_A, TLB_B };
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t leaf, leaf1;
    uint32_t slot;
    int cur = 0;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, pa, TLB_A);
    qtest_writeq(g.qts, pb, TLB_B);
    /* neighbours and another context, so their tables exist */
    sg_map(&g, 0, TLB_VA - 4096, pa | SVMGPU_PTE_VALID);
    sg_map(&g, 0, TLB_VA + 4096, pa | SVMGPU_PTE_VALID);
    sg_map(&g, 2, TLB_VA, pa | SVMGPU_PTE_VALID);
    leaf1 = sg_map(&g, 1, TLB_VA, pa | SVMGPU_PTE_VALID);
    leaf = sg_map(&g, 0, TLB_VA, pa | SVMGPU_PTE_VALID);
    g_assert_cmphex(virt_read64(&g, 0, TLB_VA), ==, TLB_A);
    /* context 1 caches page A, then its leaf moves to B in memory */
    g_assert_cmphex(virt_read64(&g, 1, TLB_VA), ==, TLB_A);
    qtest_writeq(g.qts, leaf1, pb | SVMGPU_PTE_VALID);

    for (int round = 0; round < 4; round++) {
        int next = !cur;

        qtest_writeq(g.qts, leaf, pages[next] | SVMGPU_PTE_VALID);
        g_assert_cmphex(virt_read64(&g, 0, TLB_VA), ==, vals[cur]);
        inv_others(&g);
        g_assert_cmphex(virt_read64(&g, 0, TLB_VA), ==, vals[cur]);
        switch (round) {
        case 0:
            run_inv(&g, SVMGPU_TLB_INV_RANGE, 0, TLB_VA, 4096);
            break;
        case 1:
            run_inv(&g, SVMGPU_TLB_INV_CONTEXT, 0, 0, 0);
            break;
        case 2:     /* CTX names another context: ignored by ALL */
            run_inv(&g, SVMGPU_TLB_INV_ALL, 2, 0, 0);
            break;
        case 3:     /* one byte at the end of the page is enough */
            run_inv(&g, SVMGPU_TLB_INV_RANGE, 0, TLB_VA + 4095, 1);
            break;
        }
        g_assert_cmphex(virt_read64(&g, 0, TLB_VA), ==, vals[next]);
        /* ctx 0 scopes keep ctx 1's entry; ALL drops it */
        g_assert_cmphex(virt_read64(&g, 1, TLB_VA), ==,
                        round < 2 ? TLB_A : TLB_B);
        cur = next;
    }

    /* VALID cleared, not invalidated: still translates */
    qtest_writeq(g.qts, leaf, pages[cur]);
    g_assert_cmphex(virt_read64(&g, 0, TLB_VA), ==, vals[cur]);
    run_inv(&g, SVMGPU_TLB_INV_RANGE, 0, TLB_VA, 4096);
    desc_copy(d, 0, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, TLB_VA, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    g_assert_cmphex(ldq_le_p(rec + SVMGPU_FREC_ADDR), ==, TLB_VA);
    g_assert_cmpuint(rec[SVMGPU_FREC_REASON], ==, SVMGPU_FAULT_NOT_PRESENT);
    g_assert_cmpuint(rec[SVMGPU_FREC_ACCESS], ==, SVMGPU_ACCESS_READ);
    sg_respond(&g, ld32(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_cmphex(virt_read64(&g, 1, TLB_VA), ==, TLB_B);
    sg_stop(&g);
}

/* === 9. tlb-permission-upgrade === */

static void test_tlb_permission_upgrade(void)
{
    uint64_t va = 0x70000000ull, pa = SG_DATA + 0x3000;
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t leaf;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, pa, 0x1111111111111111ull);
    leaf = sg_map(&g, 0, va, pa | SVMGPU_PTE_VALID);
    g_assert_cmphex(virt_read64(&g, 0, va), ==, 0x1111111111111111ull);

    /* widen to WRITE in memory only: the write re-walks and succeeds */
    qtest_writeq(g.qts, leaf, pa | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    qtest_writeq(g.qts, SG_STAGE, 0x2222222222222222ull);
    run_copy(&g, 0, SVMGPU_SPACE_VIRT, va, SVMGPU_SPACE_SYS, SG_STAGE, 8);
    g_assert_cmphex(qtest_readq(g.qts, pa), ==, 0x2222222222222222ull);

    /* widen to ATOMIC the same way (the entry is now cached writable) */
    qtest_writeq(g.qts, leaf, pa | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE |
                 SVMGPU_PTE_ATOMIC);
    desc_atomic(d, 0, SVMGPU_SPACE_VIRT, va, SVMGPU_ATOMIC_ADD, 8, 1, 0);
    slot = sg_submit(&g, d);
    g_assert_cmpuint(sg_wait_nofault(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(sg_result(&g, slot), ==, 0x2222222222222222ull);
    g_assert_cmphex(qtest_readq(g.qts, pa), ==, 0x2222222222222223ull);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL), ==, 0);
    sg_stop(&g);
}

/* === 10. faults === */

static void check_record(const uint8_t *rec, uint64_t addr, uint32_t id,
                         uint16_t ctx, uint8_t access, uint8_t reason,
                         uint32_t slot)
{
    g_assert_cmphex(ldq_le_p(rec + SVMGPU_FREC_ADDR), ==, addr);
    g_assert_cmpuint(ld32(rec + SVMGPU_FREC_ID), ==, id);
    g_assert_cmpuint(lduw_le_p(rec + SVMGPU_FREC_CTX), ==, ctx);
    g_assert_cmpuint(rec[SVMGPU_FREC_ACCESS], ==, access);
    g_assert_cmpuint(rec[SVMGPU_FREC_REASON], ==, reason);
    g_assert_cmpuint(ld32(rec + SVMGPU_FREC_RING_INDEX), ==, slot);
    g_assert_cmphex(ld32(rec + SVMGPU_FREC_FLAGS), ==, 0);
    g_assert_cmpuint(rec[SVMGPU_FREC_RING], ==, 0);
    for (int i = SVMGPU_FREC_RESERVED; i < SVMGPU_FAULT_RECORD_SIZE; i++) {
        g_assert_cmphex(rec[i], ==, 0);
    }
}

static void test_faults(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], imm[SVMGPU_DESC_SIZE];
    uint8_t rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0x80000000ull, pa = SG_DATA + 0x4000;
    uint32_t slot, next, tail;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, pa + 0x10, 0x3333333333333333ull);
    qtest_writeq(g.qts, SG_STAGE, 0x4444444444444444ull);
    sg_map(&g, 3, va, pa | SVMGPU_PTE_VALID);

    /* write to a read-only leaf, with a command queued behind it */
    desc_copy(d, 3, SVMGPU_SPACE_VIRT, va + 0x10, SVMGPU_SPACE_SYS,
              SG_STAGE, 8);
    slot = sg_submit(&g, d);
    sg_desc(imm, SVMGPU_OP_WRITE_IMM, SVMGPU_SPACE_SYS, 0);
    imm[SVMGPU_DESC_WIDTH] = 8;
    stq_le_p(imm + SVMGPU_DESC_DST, SG_DATA + 0x100);
    stq_le_p(imm + SVMGPU_DESC_OPERAND, 0x5555);
    next = sg_submit(&g, imm);
    sg_next_fault(&g, rec);
    check_record(rec, va + 0x10, 1, 3, SVMGPU_ACCESS_WRITE,
                 SVMGPU_FAULT_WRITE_DENIED, slot);
    g_assert_true(parked(&g));
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_INT_STATUS) & SVMGPU_INT_FAULT, ==,
                    SVMGPU_INT_FAULT);
    sg_wr(&g, SVMGPU_REG_INT_STATUS, SVMGPU_INT_FAULT);
    g_usleep(SG_QUIET_US);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), ==, slot);
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_PENDING);
    g_assert_cmpuint(sg_status(&g, next), ==, SVMGPU_DESC_STATUS_PENDING);

    /* REPLAY without a fix: a new fault, id + 1 */
    sg_respond(&g, 1, SVMGPU_FAULT_RESPONSE_REPLAY);
    sg_next_fault(&g, rec);
    check_record(rec, va + 0x10, 2, 3, SVMGPU_ACCESS_WRITE,
                 SVMGPU_FAULT_WRITE_DENIED, slot);
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_PENDING);

    /* CANCEL: FAULT, and the next command runs */
    sg_respond(&g, 2, SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_cmpuint(sg_wait(&g, next), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x100), ==, 0x5555);
    g_assert_cmphex(qtest_readq(g.qts, pa + 0x10), ==, 0x3333333333333333ull);
    g_assert_false(parked(&g));

    /* VA at or above 2^48: ADDRESS (ctx 3 has a table) */
    desc_copy(d, 3, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT,
              1ull << SVMGPU_VA_BITS, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    check_record(rec, 1ull << SVMGPU_VA_BITS, 3, 3, SVMGPU_ACCESS_READ,
                 SVMGPU_FAULT_ADDRESS, slot);
    sg_respond(&g, 3, SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);

    desc_copy(d, 3, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT,
              0xffff800000000000ull, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    check_record(rec, 0xffff800000000000ull, 4, 3, SVMGPU_ACCESS_READ,
                 SVMGPU_FAULT_ADDRESS, slot);
    sg_respond(&g, 4, SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);

    /* context without a root table: NOT_PRESENT */
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_CTX_ROOT_LO(5)), ==, 0);
    desc_copy(d, 5, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, va, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    check_record(rec, va, 5, 5, SVMGPU_ACCESS_READ,
                 SVMGPU_FAULT_NOT_PRESENT, slot);
    sg_respond(&g, 5, SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);

    /* fault queue disabled: FAULT at once, no record */
    sg_wr(&g, SVMGPU_REG_FAULTQ_CONTROL, 0);
    tail = sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL);
    qtest_memset(g.qts, SG_FAULTQ_ADDR, 0, SG_FAULTQ_SIZE *
                 SVMGPU_FAULT_RECORD_SIZE);
    desc_copy(d, 3, SVMGPU_SPACE_VIRT, va + 0x10, SVMGPU_SPACE_SYS,
              SG_STAGE, 8);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_false(parked(&g));
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL), ==, tail);
    for (int i = 0; i < SG_FAULTQ_SIZE; i++) {
        g_assert_cmphex(qtest_readq(g.qts, SG_FAULTQ_ADDR +
                                    i * SVMGPU_FAULT_RECORD_SIZE), ==, 0);
    }
    g_assert_cmphex(qtest_readq(g.qts, pa + 0x10), ==, 0x3333333333333333ull);
    sg_stop(&g);
}

/* === 11. fault-response-errors === */

static void check_bad_response(SgDev *g, uint32_t slot, bool still_parked)
{
    sg_wait_reg(g, SVMGPU_REG_ERROR, SVMGPU_ERROR_BAD_RESPONSE,
                SVMGPU_ERROR_BAD_RESPONSE);
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_INT_STATUS) & SVMGPU_INT_ERROR, ==,
                    SVMGPU_INT_ERROR);
    sg_wr(g, SVMGPU_REG_ERROR, SVMGPU_ERROR_BAD_RESPONSE);
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_ERROR), ==, 0);
    sg_wr(g, SVMGPU_REG_INT_STATUS, SVMGPU_INT_ERROR);
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_INT_STATUS) & SVMGPU_INT_ERROR, ==,
                    0);
    if (still_parked) {
        g_usleep(SG_QUIET_US);
        g_assert_true(parked(g));
        g_assert_cmpuint(sg_status(g, slot), ==, SVMGPU_DESC_STATUS_PENDING);
        g_assert_cmpuint(sg_rd(g, SVMGPU_REG_RING_HEAD(0)), ==, slot);
        /* and no new fault was recorded */
        g_assert_cmpuint(sg_rd(g, SVMGPU_REG_FAULTQ_TAIL), ==, g->fq_head);
    }
}

static void test_fault_response_errors(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0x90000000ull;
    uint32_t slot, id;
    SgDev g;

    sg_start(&g, "");

    /* nothing pending */
    sg_respond(&g, 1, SVMGPU_FAULT_RESPONSE_REPLAY);
    check_bad_response(&g, 0, false);

    desc_copy(d, 0, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, va, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    id = ld32(rec + SVMGPU_FREC_ID);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);

    sg_respond(&g, id + 1, SVMGPU_FAULT_RESPONSE_REPLAY);
    check_bad_response(&g, slot, true);
    sg_respond(&g, id + 1, SVMGPU_FAULT_RESPONSE_CANCEL);
    check_bad_response(&g, slot, true);
    sg_respond(&g, id, SVMGPU_FAULT_RESPONSE_REPLAY |
               SVMGPU_FAULT_RESPONSE_CANCEL);
    check_bad_response(&g, slot, true);
    sg_respond(&g, id, 0);
    check_bad_response(&g, slot, true);

    /* the right answer */
    qtest_writeq(g.qts, SG_DATA, 0x6666666666666666ull);
    sg_map(&g, 0, va, SG_DATA | SVMGPU_PTE_VALID);
    sg_respond(&g, id, SVMGPU_FAULT_RESPONSE_REPLAY);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_OUT), ==, 0x6666666666666666ull);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);

    /* answering the same fault again: nothing pending any more */
    sg_respond(&g, id, SVMGPU_FAULT_RESPONSE_CANCEL);
    check_bad_response(&g, 0, false);
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    sg_stop(&g);
}

/* === 12. faultq-overflow === */

static void test_faultq_overflow(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0xa0000000ull;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    sg_wr(&g, SVMGPU_REG_FAULTQ_CONTROL, 0);
    sg_wr64(&g, SVMGPU_REG_FAULTQ_BASE_LO, SG_FAULTQ_ADDR);
    sg_wr(&g, SVMGPU_REG_FAULTQ_SIZE, 2);
    sg_wr(&g, SVMGPU_REG_FAULTQ_CONTROL, SVMGPU_FAULTQ_CONTROL_ENABLE);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_SIZE), ==, 2);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_HEAD), ==, 0);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL), ==, 0);
    qtest_memset(g.qts, SG_FAULTQ_ADDR, 0, 2 * SVMGPU_FAULT_RECORD_SIZE);

    desc_copy(d, 0, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, va, 8);
    slot = sg_submit(&g, d);
    sg_wait_reg(&g, SVMGPU_REG_FAULTQ_TAIL, ~0u, 1);
    qtest_memread(g.qts, SG_FAULTQ_ADDR, rec, sizeof(rec));
    check_record(rec, va, 1, 0, SVMGPU_ACCESS_READ, SVMGPU_FAULT_NOT_PRESENT,
                 slot);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);

    /* replay unfixed with HEAD not moved: the queue is full */
    sg_respond(&g, 1, SVMGPU_FAULT_RESPONSE_REPLAY);
    sg_wait_reg(&g, SVMGPU_REG_ERROR, SVMGPU_ERROR_FAULTQ_OVERFLOW,
                SVMGPU_ERROR_FAULTQ_OVERFLOW);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_INT_STATUS) & SVMGPU_INT_ERROR, ==,
                    SVMGPU_INT_ERROR);
    g_usleep(SG_QUIET_US);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_FAULTQ_TAIL), ==, 1);
    g_assert_cmphex(qtest_readq(g.qts, SG_FAULTQ_ADDR +
                                SVMGPU_FAULT_RECORD_SIZE), ==, 0);
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_PENDING);
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), ==, slot);

    /* consume: the second record appears, at slot 1 */
    sg_wr(&g, SVMGPU_REG_FAULTQ_HEAD, 1);
    sg_wait_reg(&g, SVMGPU_REG_FAULTQ_TAIL, ~0u, 0);
    qtest_memread(g.qts, SG_FAULTQ_ADDR + SVMGPU_FAULT_RECORD_SIZE, rec,
                  sizeof(rec));
    check_record(rec, va, 2, 0, SVMGPU_ACCESS_READ, SVMGPU_FAULT_NOT_PRESENT,
                 slot);
    sg_wr(&g, SVMGPU_REG_FAULTQ_HEAD, 0);
    sg_wr(&g, SVMGPU_REG_ERROR, SVMGPU_ERROR_FAULTQ_OVERFLOW);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);

    sg_respond(&g, 2, SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_false(parked(&g));
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);
    sg_stop(&g);
}

/* === 13. counters === */

static void test_counters(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0xb0000000ull;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 0);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-faults"), ==, 0);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-bytes"), ==, 0);

    /* COPY 100 bytes, FILL 21 bytes: 121 bytes moved */
    run_copy(&g, 0, SVMGPU_SPACE_SYS, SG_DATA + 0x1000, SVMGPU_SPACE_SYS,
             SG_DATA, 100);
    sg_desc(d, SVMGPU_OP_FILL, SVMGPU_SPACE_VRAM, 0);
    stq_le_p(d + SVMGPU_DESC_DST, 3);
    stq_le_p(d + SVMGPU_DESC_LEN, 21);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 2);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-bytes"), ==, 121);

    /* WRITE_IMM, ATOMIC, NOP, FENCE: commands, but not COPY/FILL bytes */
    sg_desc(d, SVMGPU_OP_WRITE_IMM, SVMGPU_SPACE_SYS, 0);
    d[SVMGPU_DESC_WIDTH] = 8;
    stq_le_p(d + SVMGPU_DESC_DST, SG_DATA + 0x2000);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    desc_atomic(d, 0, SVMGPU_SPACE_VRAM, 0x1000, SVMGPU_ATOMIC_ADD, 8, 1, 0);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    run_fence(&g, SG_DATA + 0x3000, 1, true);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 6);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-bytes"), ==, 121);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-faults"), ==, 0);

    /* a fault, replayed unfixed (second fault), then cancelled */
    desc_copy(d, 0, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, va, 64);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-faults"), ==, 1);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 6);
    sg_respond(&g, ld32(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_REPLAY);
    sg_next_fault(&g, rec);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-faults"), ==, 2);
    sg_respond(&g, ld32(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 7);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-faults"), ==, 2);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-bytes"), ==, 121);

    /* a faulting copy that is fixed and replayed moves its bytes once */
    qtest_memset(g.qts, SG_DATA + 0x5000, 0x77, 64);
    sg_map(&g, 0, va, (SG_DATA + 0x5000) | SVMGPU_PTE_VALID);
    desc_copy(d, 0, SVMGPU_SPACE_SYS, SG_OUT, SVMGPU_SPACE_VIRT, va, 64);
    g_assert_cmpuint(sg_run_nofault(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-commands"), ==, 8);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-bytes"), ==, 185);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-faults"), ==, 2);
    sg_stop(&g);
}

/* === rings and synchronous invalidation === */

#define RING1_ADDR  (SG_RING_ADDR + 0x10000)

/* Submit @d on ring 1 (set up by the caller) at slot @slot. */
static void ring1_submit(SgDev *g, const uint8_t *d, uint32_t slot)
{
    uint8_t copy[SVMGPU_DESC_SIZE];

    memcpy(copy, d, sizeof(copy));
    stl_le_p(copy + SVMGPU_DESC_STATUS, SVMGPU_DESC_STATUS_PENDING);
    qtest_memwrite(g->qts, RING1_ADDR + slot * SVMGPU_DESC_SIZE, copy,
                   sizeof(copy));
    sg_wr(g, SVMGPU_REG_RING_TAIL(1), (slot + 1) % 8);
}

static uint32_t ring1_wait(SgDev *g, uint32_t slot)
{
    uint64_t at = RING1_ADDR + slot * SVMGPU_DESC_SIZE + SVMGPU_DESC_STATUS;
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;
    uint32_t st;

    while (!(st = qtest_readl(g->qts, at))) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
    return st;
}

/* A fault parks only its ring: the others keep running. */
static void test_rings_independent(void)
{
    uint8_t rd[SVMGPU_DESC_SIZE], wr[SVMGPU_DESC_SIZE];
    uint8_t rec0[SVMGPU_FAULT_RECORD_SIZE], rec1[SVMGPU_FAULT_RECORD_SIZE];
    uint32_t slot0;
    SgDev g;

    sg_start(&g, "");
    sg_wr64(&g, SVMGPU_REG_RING_BASE_LO(1), RING1_ADDR);
    sg_wr(&g, SVMGPU_REG_RING_SIZE(1), 8);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(1), SVMGPU_RING_CONTROL_ENABLE);

    /* ring 0: a read of an unmapped VA parks */
    sg_desc(rd, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_VIRT);
    stq_le_p(rd + SVMGPU_DESC_DST, SG_DATA);
    stq_le_p(rd + SVMGPU_DESC_SRC, 0x40000000);
    stq_le_p(rd + SVMGPU_DESC_LEN, 8);
    slot0 = sg_submit(&g, rd);
    sg_next_fault(&g, rec0);
    g_assert_cmpuint(rec0[SVMGPU_FREC_RING], ==, 0);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_RING_CONTROL(0)), ==,
                    SVMGPU_RING_CONTROL_ENABLE | SVMGPU_RING_CONTROL_PARKED);

    /* ring 1 runs meanwhile */
    sg_desc(wr, SVMGPU_OP_WRITE_IMM, SVMGPU_SPACE_SYS, 0);
    wr[SVMGPU_DESC_WIDTH] = 8;
    stq_le_p(wr + SVMGPU_DESC_DST, SG_DATA + 0x100);
    stq_le_p(wr + SVMGPU_DESC_OPERAND, 0x5151515151515151ull);
    ring1_submit(&g, wr, 0);
    g_assert_cmpuint(ring1_wait(&g, 0), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x100), ==,
                    0x5151515151515151ull);
    g_assert_cmpuint(sg_status(&g, slot0), ==, SVMGPU_DESC_STATUS_PENDING);

    /* ring 1 faults too: a second record, naming ring 1 */
    stq_le_p(rd + SVMGPU_DESC_SRC, 0x40001000);
    ring1_submit(&g, rd, 1);
    sg_next_fault(&g, rec1);
    g_assert_cmpuint(rec1[SVMGPU_FREC_RING], ==, 1);
    g_assert_cmpuint(ldl_le_p(rec1 + SVMGPU_FREC_RING_INDEX), ==, 1);
    g_assert_cmpuint(ldl_le_p(rec1 + SVMGPU_FREC_ID), ==,
                     ldl_le_p(rec0 + SVMGPU_FREC_ID) + 1);

    /* answered out of order, each by its id */
    sg_map(&g, 0, 0x40001000, (SG_DATA + 0x1000) | SVMGPU_PTE_VALID);
    sg_respond(&g, ldl_le_p(rec1 + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_REPLAY);
    g_assert_cmpuint(ring1_wait(&g, 1), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmpuint(sg_status(&g, slot0), ==, SVMGPU_DESC_STATUS_PENDING);
    sg_respond(&g, ldl_le_p(rec0 + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmpuint(sg_wait(&g, slot0), ==, SVMGPU_DESC_STATUS_FAULT);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);
    sg_stop(&g);
}

static void tlb_inv_mmio(SgDev *g, uint32_t scope, uint16_t ctx,
                         uint64_t start, uint64_t len)
{
    sg_wr(g, SVMGPU_REG_TLB_INV_CTX, ctx);
    sg_wr64(g, SVMGPU_REG_TLB_INV_START_LO, start);
    sg_wr64(g, SVMGPU_REG_TLB_INV_LEN_LO, len);
    sg_wr(g, SVMGPU_REG_TLB_INV_CONTROL, scope);
}

/* Read 8 bytes at @va of context 0 through the engine. */
static uint64_t virt_read(SgDev *g, uint64_t va)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_VIRT);
    stq_le_p(d + SVMGPU_DESC_DST, SG_DATA + 0x8000);
    stq_le_p(d + SVMGPU_DESC_SRC, va);
    stq_le_p(d + SVMGPU_DESC_LEN, 8);
    g_assert_cmpuint(sg_run(g, d), ==, SVMGPU_DESC_STATUS_OK);
    return qtest_readq(g->qts, SG_DATA + 0x8000);
}

/* The MMIO invalidation: stale before, fresh after, each scope. */
static void test_tlb_inv_mmio(void)
{
    uint64_t va = 0x50000000, pa = SG_DATA + 0x10000, pb = SG_DATA + 0x11000;
    static const uint32_t scopes[] = {
        SVMGPU_TLB_INV_RANGE, SVMGPU_TLB_INV_CONTEXT, SVMGPU_TLB_INV_ALL,
    };
    uint64_t leaf;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, pa, 0xaaaa);
    qtest_writeq(g.qts, pb, 0xbbbb);
    for (int i = 0; i < ARRAY_SIZE(scopes); i++) {
        leaf = sg_map(&g, 0, va, pa | SVMGPU_PTE_VALID);
        tlb_inv_mmio(&g, SVMGPU_TLB_INV_ALL, 0, 0, 0);
        g_assert_cmphex(virt_read(&g, va), ==, 0xaaaa);
        qtest_writeq(g.qts, leaf, pb | SVMGPU_PTE_VALID);
        g_assert_cmphex(virt_read(&g, va), ==, 0xaaaa);   /* stale */
        tlb_inv_mmio(&g, SVMGPU_TLB_INV_RANGE, 0, va + 4096, 4096);
        g_assert_cmphex(virt_read(&g, va), ==, 0xaaaa);   /* not covered */
        tlb_inv_mmio(&g, scopes[i], 0, va + 0xff8, 8);
        g_assert_cmphex(virt_read(&g, va), ==, 0xbbbb);
    }

    /* bad scope or context: ignored and flagged */
    tlb_inv_mmio(&g, 3, 0, 0, 0);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, SVMGPU_ERROR_TLB_INV);
    sg_wr(&g, SVMGPU_REG_ERROR, SVMGPU_ERROR_TLB_INV);
    tlb_inv_mmio(&g, SVMGPU_TLB_INV_CONTEXT, 16, 0, 0);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, SVMGPU_ERROR_TLB_INV);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_TLB_INV_CONTROL), ==, 0);
    sg_stop(&g);
}

/*
 * An invalidation while a long virtual copy is in flight returns, and the
 * copy completes: the wait for the step in flight is bounded.
 */
static void test_tlb_inv_during_copy(void)
{
    uint64_t va = 0x200000000ull, len = 32 * MiB;
    uint8_t d[SVMGPU_DESC_SIZE];
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    for (uint64_t off = 0; off < len; off += 2 * MiB) {
        sg_map(&g, 0, va + off, (0x4000000 + off) | SVMGPU_PTE_VALID |
               SVMGPU_PTE_HUGE);
    }
    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_VIRT);
    stq_le_p(d + SVMGPU_DESC_DST, 0x8000000);
    stq_le_p(d + SVMGPU_DESC_SRC, va);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
    qtest_writeq(g.qts, 0x4000000 + len - 8, 0x1234);
    slot = sg_submit(&g, d);
    for (int i = 0; i < 50; i++) {
        tlb_inv_mmio(&g, SVMGPU_TLB_INV_CONTEXT, 0, 0, 0);
    }
    g_assert_cmpuint(sg_wait(&g, slot), ==, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, 0x8000000 + len - 8), ==, 0x1234);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_ERROR), ==, 0);
    sg_stop(&g);
}

/*
 * Disabling a ring is synchronous: a big copy in flight is abandoned, its
 * destination stops changing when the write returns, and no status is
 * written back; the ring then works again.
 */
static void test_ring_disable_is_synchronous(void)
{
    uint64_t src = 0x1000000, dst = 0x10000000, len = 128 * MiB;
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t last, probe[4];
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    qtest_memset(g.qts, src + len - 4096, 0xab, 4096);
    sg_desc(d, SVMGPU_OP_COPY, SVMGPU_SPACE_SYS, SVMGPU_SPACE_SYS);
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_SRC, src);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
    slot = sg_submit(&g, d);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), 0);

    /* From now on nothing of that command reaches memory. */
    for (int i = 0; i < 4; i++) {
        probe[i] = qtest_readq(g.qts, dst + len / 4 * i + len / 8);
    }
    last = qtest_readq(g.qts, dst + len - 8);
    g_usleep(200 * 1000);
    for (int i = 0; i < 4; i++) {
        g_assert_cmphex(qtest_readq(g.qts, dst + len / 4 * i + len / 8), ==,
                        probe[i]);
    }
    g_assert_cmphex(qtest_readq(g.qts, dst + len - 8), ==, last);
    g_assert_cmpuint(sg_status(&g, slot), ==, SVMGPU_DESC_STATUS_PENDING);

    /* Enabled again: a fresh command runs normally. */
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), SVMGPU_RING_CONTROL_ENABLE);
    g.tail = 0;
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    g_assert_cmpuint(sg_run(&g, d), ==, SVMGPU_DESC_STATUS_OK);
    sg_stop(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/svmgpu/engine/copy-sys-vram-sys", test_copy_sys_vram_sys);
    qtest_add_func("/svmgpu/engine/fault-replay", test_fault_replay);
    qtest_add_func("/svmgpu/engine/replay-resumes", test_replay_resumes);
    qtest_add_func("/svmgpu/engine/spurious-costs-one-replay",
                   test_spurious_costs_one_replay);
    qtest_add_func("/svmgpu/engine/copy-spaces", test_copy_spaces);
    qtest_add_func("/svmgpu/engine/copy-huge", test_copy_huge);
    qtest_add_func("/svmgpu/engine/fill", test_fill);
    qtest_add_func("/svmgpu/engine/write-imm", test_write_imm);
    qtest_add_func("/svmgpu/engine/atomics", test_atomics);
    qtest_add_func("/svmgpu/engine/atomic-permissions",
                   test_atomic_permissions);
    qtest_add_func("/svmgpu/engine/fence", test_fence);
    qtest_add_func("/svmgpu/engine/tlb-stale-until-invalidated",
                   test_tlb_stale);
    qtest_add_func("/svmgpu/engine/tlb-permission-upgrade",
                   test_tlb_permission_upgrade);
    qtest_add_func("/svmgpu/engine/faults", test_faults);
    qtest_add_func("/svmgpu/engine/fault-response-errors",
                   test_fault_response_errors);
    qtest_add_func("/svmgpu/engine/faultq-overflow", test_faultq_overflow);
    qtest_add_func("/svmgpu/engine/counters", test_counters);
    qtest_add_func("/svmgpu/engine/rings-independent",
                   test_rings_independent);
    qtest_add_func("/svmgpu/engine/tlb-inv-mmio", test_tlb_inv_mmio);
    qtest_add_func("/svmgpu/engine/tlb-inv-during-copy",
                   test_tlb_inv_during_copy);
    qtest_add_func("/svmgpu/engine/ring-disable-is-synchronous",
                   test_ring_disable_is_synchronous);
    return g_test_run();
}
