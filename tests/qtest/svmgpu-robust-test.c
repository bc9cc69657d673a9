/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest of the svmgpu device's robustness: invalid and out-of-range
 * commands, page-table errors, ring and fault-queue misconfiguration,
 * random descriptors, reset and FLR in the middle of work, and every
 * fault-injection knob. docs/device.md is the specification tested here.
 */

#include "svmgpu-qtest.h"

/* Sentinel area for "an INVALID command changes nothing". */
#define RB_SENT             SG_DATA
#define RB_SENT_LEN         0x20000
#define RB_SENT_BYTE        0x5a
#define RB_DST              (SG_DATA + 0x10000)
/* Bounce buffer to read VRAM back through the engine. */
#define RB_BOUNCE           (SG_DATA + 0x800000)
#define RB_UNMAPPED         0x0000100000000000ull
#define RB_MSI_AREA         0xfee00000ull

/* === small helpers === */

/* Compare with the case named in the failure message. */
static void rb_check(const char *what, uint64_t got, uint64_t want)
{
    g_autofree char *g_str = g_strdup_printf("%s: 0x%" PRIx64, what, got);
    g_autofree char *w_str = g_strdup_printf("%s: 0x%" PRIx64, what, want);

    g_assert_cmpstr(g_str, ==, w_str);
}

/* Wait for @slot's status, answering every fault with CANCEL. */
static uint32_t rb_wait_cancel(SgDev *g, uint32_t slot)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;
    uint8_t rec[SVMGPU_FAULT_RECORD_SIZE];
    uint32_t st;

    while ((st = sg_status(g, slot)) == SVMGPU_DESC_STATUS_PENDING) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (sg_rd(g, SVMGPU_REG_FAULTQ_TAIL) != g->fq_head) {
            sg_next_fault(g, rec);
            sg_respond(g, ldl_le_p(rec + SVMGPU_FREC_ID),
                       SVMGPU_FAULT_RESPONSE_CANCEL);
        } else {
            g_usleep(100);
        }
    }
    return st;
}

static uint32_t rb_run(SgDev *g, const uint8_t *d)
{
    return rb_wait_cancel(g, sg_submit(g, d));
}

static void rb_expect(SgDev *g, const char *what, const uint8_t *d,
                      uint32_t want)
{
    rb_check(what, rb_run(g, d), want);
}

static void d_imm(uint8_t *d, uint8_t space, uint64_t dst, uint64_t val,
                  uint8_t width)
{
    sg_desc(d, SVMGPU_OP_WRITE_IMM, space, 0);
    d[SVMGPU_DESC_WIDTH] = width;
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_OPERAND, val);
}

static void d_copy(uint8_t *d, uint8_t dsp, uint64_t dst, uint8_t ssp,
                   uint64_t src, uint64_t len)
{
    sg_desc(d, SVMGPU_OP_COPY, dsp, ssp);
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_SRC, src);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
}

static void d_fill(uint8_t *d, uint8_t space, uint64_t dst, uint64_t pat,
                   uint64_t len)
{
    sg_desc(d, SVMGPU_OP_FILL, space, 0);
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_OPERAND, pat);
    stq_le_p(d + SVMGPU_DESC_LEN, len);
}

static void d_atomic(uint8_t *d, uint8_t space, uint64_t dst, uint8_t op,
                     uint64_t val, uint8_t width)
{
    sg_desc(d, SVMGPU_OP_ATOMIC, space, 0);
    d[SVMGPU_DESC_ATOMIC_OP] = op;
    d[SVMGPU_DESC_WIDTH] = width;
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_OPERAND, val);
}

static void d_fence(uint8_t *d, uint8_t space, uint64_t dst, uint64_t seq)
{
    sg_desc(d, SVMGPU_OP_FENCE, space, 0);
    stq_le_p(d + SVMGPU_DESC_DST, dst);
    stq_le_p(d + SVMGPU_DESC_OPERAND, seq);
}

static void d_tlb_inv(uint8_t *d, uint8_t scope, uint16_t ctx)
{
    sg_desc(d, SVMGPU_OP_TLB_INVALIDATE, 0, 0);
    d[SVMGPU_DESC_ATOMIC_OP] = scope;
    stw_le_p(d + SVMGPU_DESC_CTX, ctx);
}

static void rb_tlb_inv_all(SgDev *g)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    d_tlb_inv(d, SVMGPU_TLB_INV_ALL, 0);
    rb_expect(g, "TLB_INVALIDATE all", d, SVMGPU_DESC_STATUS_OK);
}

/* A WRITE_IMM to system memory succeeds and lands. */
static void rb_check_alive(SgDev *g, const char *what)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t val = 0x0123456789abcdefull ^ g_get_monotonic_time();

    g_assert_cmphex(sg_rd(g, SVMGPU_REG_ID), ==, SVMGPU_ID_MAGIC);
    qtest_writeq(g->qts, SG_DATA + 0x7f0000, 0);
    d_imm(d, SVMGPU_SPACE_SYS, SG_DATA + 0x7f0000, val, 8);
    rb_expect(g, what, d, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g->qts, SG_DATA + 0x7f0000), ==, val);
}

/* Read VRAM through the engine (COPY to a bounce buffer). */
static void rb_vram_read(SgDev *g, uint64_t off, void *buf, size_t len)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    d_copy(d, SVMGPU_SPACE_SYS, RB_BOUNCE, SVMGPU_SPACE_VRAM, off, len);
    rb_expect(g, "VRAM read-back", d, SVMGPU_DESC_STATUS_OK);
    qtest_memread(g->qts, RB_BOUNCE, buf, len);
}

static void rb_check_bytes(const char *what, const uint8_t *buf, size_t len,
                           uint8_t want)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != want) {
            g_autofree char *w = g_strdup_printf("%s: byte 0x%zx", what, i);

            rb_check(w, buf[i], want);
        }
    }
}

static void rb_check_sentinel(SgDev *g, const char *what)
{
    g_autofree uint8_t *buf = g_malloc(RB_SENT_LEN);

    qtest_memread(g->qts, RB_SENT, buf, RB_SENT_LEN);
    rb_check_bytes(what, buf, RB_SENT_LEN, RB_SENT_BYTE);
}

/* Clear the sticky error and interrupt causes. */
static void rb_clear_errors(SgDev *g)
{
    sg_wr(g, SVMGPU_REG_ERROR, 0xffffffff);
    sg_wr(g, SVMGPU_REG_INT_STATUS, 0xffffffff);
}

/* Address of the level-@level entry for @va in context @ctx's tables. */
static uint64_t rb_pt_entry(SgDev *g, uint16_t ctx, uint64_t va, int level)
{
    uint64_t table = sg_rd(g, SVMGPU_REG_CTX_ROOT_LO(ctx)) |
                     (uint64_t)sg_rd(g, SVMGPU_REG_CTX_ROOT_HI(ctx)) << 32;

    for (int l = SVMGPU_PT_LEVELS - 1; ; l--) {
        uint64_t at = table +
                      ((va >> (SVMGPU_PAGE_SHIFT + 9 * l)) &
                       (SVMGPU_PT_ENTRIES - 1)) * 8;

        if (l == level) {
            return at;
        }
        table = qtest_readq(g->qts, at) & SVMGPU_PTE_ADDR_MASK;
        g_assert_cmphex(table, !=, 0);
    }
}

/* === 1. invalid descriptors === */

static void rb_expect_invalid(SgDev *g, const char *what, const uint8_t *d)
{
    uint32_t fq_tail = sg_rd(g, SVMGPU_REG_FAULTQ_TAIL);

    rb_expect(g, what, d, SVMGPU_DESC_STATUS_INVALID);
    rb_check_sentinel(g, what);
    rb_check(what, sg_rd(g, SVMGPU_REG_FAULTQ_TAIL), fq_tail);
}

static void test_invalid_descriptors(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], vram[0x2000];
    static const uint8_t bad_widths[] = { 0, 1, 2, 3, 16 };
    static const uint8_t bad_flags[] = { 0x20, 0x40, 0x80 };
    SgDev g;

    sg_start(&g, "num-contexts=4");
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_NUM_CONTEXTS), ==, 4);
    qtest_memset(g.qts, RB_SENT, RB_SENT_BYTE, RB_SENT_LEN);
    d_fill(d, SVMGPU_SPACE_VRAM, 0, 0xa5a5a5a5a5a5a5a5ull, sizeof(vram));
    rb_expect(&g, "FILL VRAM", d, SVMGPU_DESC_STATUS_OK);

    /* Unknown opcodes, fully formed otherwise. */
    for (int op = 7; op <= 255; op += 248) {
        g_autofree char *w = g_strdup_printf("opcode %d", op);

        sg_desc(d, op, SVMGPU_SPACE_SYS, SVMGPU_SPACE_SYS);
        d[SVMGPU_DESC_WIDTH] = 8;
        stq_le_p(d + SVMGPU_DESC_DST, RB_DST);
        stq_le_p(d + SVMGPU_DESC_SRC, RB_SENT);
        stq_le_p(d + SVMGPU_DESC_LEN, 64);
        stq_le_p(d + SVMGPU_DESC_OPERAND, 0x1111111111111111ull);
        rb_expect_invalid(&g, w, d);
    }

    /* Undefined flag bits. */
    for (int i = 0; i < ARRAY_SIZE(bad_flags); i++) {
        g_autofree char *w = g_strdup_printf("flags 0x%x", bad_flags[i]);

        d_imm(d, SVMGPU_SPACE_SYS, RB_DST, 0x2222222222222222ull, 8);
        d[SVMGPU_DESC_FLAGS] |= bad_flags[i];
        rb_expect_invalid(&g, w, d);
    }

    /* Address space 3. */
    d_imm(d, 3, RB_DST, 0x3333333333333333ull, 8);
    rb_expect_invalid(&g, "WRITE_IMM dst space 3", d);
    d_fill(d, 3, RB_DST, 0x3333333333333333ull, 64);
    rb_expect_invalid(&g, "FILL dst space 3", d);
    d_copy(d, SVMGPU_SPACE_SYS, RB_DST, 3, RB_SENT, 64);
    rb_expect_invalid(&g, "COPY src space 3", d);
    d_copy(d, 3, RB_DST, SVMGPU_SPACE_SYS, RB_SENT, 64);
    rb_expect_invalid(&g, "COPY dst space 3", d);

    /* Reserved fields. */
    d_imm(d, SVMGPU_SPACE_SYS, RB_DST, 0x4444444444444444ull, 8);
    stw_le_p(d + SVMGPU_DESC_RESERVED0, 1);
    rb_expect_invalid(&g, "reserved0 = 1", d);
    stw_le_p(d + SVMGPU_DESC_RESERVED0, 0x8000);
    rb_expect_invalid(&g, "reserved0 = 0x8000", d);
    stw_le_p(d + SVMGPU_DESC_RESERVED0, 0);
    stl_le_p(d + SVMGPU_DESC_RESERVED1, 1);
    rb_expect_invalid(&g, "reserved1 = 1", d);
    stl_le_p(d + SVMGPU_DESC_RESERVED1, 0x80000000);
    rb_expect_invalid(&g, "reserved1 = 0x80000000", d);
    d_copy(d, SVMGPU_SPACE_SYS, RB_DST, SVMGPU_SPACE_SYS, RB_SENT, 64);
    stl_le_p(d + SVMGPU_DESC_RESERVED1, 0x10000);
    rb_expect_invalid(&g, "COPY reserved1", d);

    /* Widths. */
    for (int i = 0; i < ARRAY_SIZE(bad_widths); i++) {
        g_autofree char *w = g_strdup_printf("WRITE_IMM width %d",
                                             bad_widths[i]);
        g_autofree char *a = g_strdup_printf("ATOMIC width %d",
                                             bad_widths[i]);

        d_imm(d, SVMGPU_SPACE_SYS, RB_DST, 0x5555555555555555ull,
              bad_widths[i]);
        rb_expect_invalid(&g, w, d);
        d_atomic(d, SVMGPU_SPACE_VRAM, 0x1000, SVMGPU_ATOMIC_ADD, 1,
                 bad_widths[i]);
        rb_expect_invalid(&g, a, d);
    }

    /* Misalignment. */
    d_imm(d, SVMGPU_SPACE_SYS, RB_DST + 2, 0x6666666666666666ull, 4);
    rb_expect_invalid(&g, "WRITE_IMM width 4 at +2", d);
    d_imm(d, SVMGPU_SPACE_SYS, RB_DST + 4, 0x6666666666666666ull, 8);
    rb_expect_invalid(&g, "WRITE_IMM width 8 at +4", d);
    d_imm(d, SVMGPU_SPACE_VRAM, 0x1001, 0x6666666666666666ull, 4);
    rb_expect_invalid(&g, "WRITE_IMM VRAM width 4 at +1", d);
    d_atomic(d, SVMGPU_SPACE_VRAM, 0x1002, SVMGPU_ATOMIC_ADD, 1, 4);
    rb_expect_invalid(&g, "ATOMIC width 4 at +2", d);
    d_atomic(d, SVMGPU_SPACE_VRAM, 0x1004, SVMGPU_ATOMIC_XCHG, 1, 8);
    rb_expect_invalid(&g, "ATOMIC width 8 at +4", d);

    /* Atomic operation and TLB scope out of range. */
    d_atomic(d, SVMGPU_SPACE_VRAM, 0x1000, SVMGPU_ATOMIC_NUM_OPS, 1, 8);
    rb_expect_invalid(&g, "ATOMIC op 10", d);
    d_atomic(d, SVMGPU_SPACE_VRAM, 0x1000, 255, 1, 4);
    rb_expect_invalid(&g, "ATOMIC op 255", d);
    d_tlb_inv(d, 3, 0);
    rb_expect_invalid(&g, "TLB_INVALIDATE scope 3", d);
    d_tlb_inv(d, 255, 0);
    rb_expect_invalid(&g, "TLB_INVALIDATE scope 255", d);

    /* LEN beyond 1 GiB. */
    d_copy(d, SVMGPU_SPACE_SYS, RB_DST, SVMGPU_SPACE_SYS, RB_SENT,
           GiB + 1);
    rb_expect_invalid(&g, "COPY len 1 GiB + 1", d);
    d_copy(d, SVMGPU_SPACE_SYS, RB_DST, SVMGPU_SPACE_SYS, RB_SENT,
           UINT64_MAX);
    rb_expect_invalid(&g, "COPY len 2^64 - 1", d);
    d_fill(d, SVMGPU_SPACE_SYS, RB_DST, 0x7777777777777777ull, GiB + 1);
    rb_expect_invalid(&g, "FILL len 1 GiB + 1", d);
    d_fill(d, SVMGPU_SPACE_VRAM, 0, 0x7777777777777777ull, 1ull << 63);
    rb_expect_invalid(&g, "FILL VRAM len 2^63", d);

    /* Context out of range (num-contexts=4). */
    sg_map(&g, 3, 0x10000, RB_DST | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    d_imm(d, SVMGPU_SPACE_VIRT, 0x10000, 0x8888888888888888ull, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 4);
    rb_expect_invalid(&g, "WRITE_IMM VIRT ctx 4", d);
    stw_le_p(d + SVMGPU_DESC_CTX, 0xffff);
    rb_expect_invalid(&g, "WRITE_IMM VIRT ctx 0xffff", d);
    d_copy(d, SVMGPU_SPACE_SYS, RB_DST, SVMGPU_SPACE_VIRT, 0x10000, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 4);
    rb_expect_invalid(&g, "COPY VIRT src ctx 4", d);
    d_tlb_inv(d, SVMGPU_TLB_INV_CONTEXT, 4);
    rb_expect_invalid(&g, "TLB_INVALIDATE context 4", d);

    /* VRAM untouched by the invalid atomics and fills. */
    rb_vram_read(&g, 0, vram, sizeof(vram));
    rb_check_bytes("VRAM after invalid commands", vram, sizeof(vram), 0xa5);

    /* The engine goes on: a good command works (also via ctx 3). */
    d_imm(d, SVMGPU_SPACE_VIRT, 0x10008, 0x9999999999999999ull, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 3);
    rb_expect(&g, "WRITE_IMM VIRT ctx 3", d, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, RB_DST + 8), ==,
                    0x9999999999999999ull);
    rb_check_alive(&g, "good command after invalid ones");
    sg_stop(&g);
}

/* === 2. out-of-range addresses === */

static void test_out_of_range(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t top = SG_VRAM_SIZE, bar0;
    SgDev g;

    sg_start(&g, "");
    bar0 = g.regs.addr;
    g_assert_false(g.regs.is_io);

    /* VRAM offsets. */
    d_imm(d, SVMGPU_SPACE_VRAM, top - 4, 1, 4);
    rb_expect(&g, "WRITE_IMM VRAM last word", d, SVMGPU_DESC_STATUS_OK);
    d_imm(d, SVMGPU_SPACE_VRAM, top, 1, 4);
    rb_expect(&g, "WRITE_IMM VRAM at size", d, SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_imm(d, SVMGPU_SPACE_VRAM, 1ull << 40, 1, 8);
    rb_expect(&g, "WRITE_IMM VRAM at 1 TiB", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_atomic(d, SVMGPU_SPACE_VRAM, top, SVMGPU_ATOMIC_ADD, 1, 8);
    rb_expect(&g, "ATOMIC VRAM at size", d, SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_fence(d, SVMGPU_SPACE_VRAM, top + 8, 1);
    d[SVMGPU_DESC_FLAGS] |= SVMGPU_DESC_NO_IRQ;
    rb_expect(&g, "FENCE VRAM beyond", d, SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_fill(d, SVMGPU_SPACE_VRAM, top - 0x100, 0, 0x200);
    rb_expect(&g, "FILL VRAM across the end", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, top - 0x100,
           0x200);
    rb_expect(&g, "COPY from VRAM across the end", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_copy(d, SVMGPU_SPACE_VRAM, 0xffffffffffffff00ull, SVMGPU_SPACE_SYS,
           SG_DATA, 0x200);
    rb_expect(&g, "COPY to VRAM, offset + len wraps", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM,
           0xffffffffffffff00ull, 0x200);
    rb_expect(&g, "COPY from VRAM, offset + len wraps", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_fill(d, SVMGPU_SPACE_VRAM, 0xffffffffffffff00ull, 0, 0x200);
    rb_expect(&g, "FILL VRAM, offset + len wraps", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_copy(d, SVMGPU_SPACE_VRAM, 0, SVMGPU_SPACE_VRAM, 0x1000, top);
    rb_expect(&g, "COPY VRAM len = VRAM size, from 4 KiB", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);

    /* VRAM-aperture PTEs beyond VRAM. */
    sg_map(&g, 0, 0x40000000, (2 * top) | SVMGPU_PTE_VALID |
           SVMGPU_PTE_WRITE | SVMGPU_PTE_VRAM);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VIRT, 0x40000000, 8);
    rb_expect(&g, "read via VRAM PTE beyond VRAM", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    d_imm(d, SVMGPU_SPACE_VIRT, 0x40000008, 1, 8);
    rb_expect(&g, "write via VRAM PTE beyond VRAM", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);
    sg_map(&g, 0, 0x40200000, top | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE |
           SVMGPU_PTE_VRAM | SVMGPU_PTE_HUGE);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VIRT, 0x40200000, 8);
    rb_expect(&g, "read via huge VRAM PTE at VRAM size", d,
              SVMGPU_DESC_STATUS_VRAM_RANGE);

    /* System addresses that are not RAM. */
    d_imm(d, SVMGPU_SPACE_SYS, RB_UNMAPPED, 1, 8);
    rb_expect(&g, "WRITE_IMM to unmapped bus address", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_SYS, RB_UNMAPPED, 64);
    rb_expect(&g, "COPY from unmapped bus address", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);
    d_fill(d, SVMGPU_SPACE_SYS, RB_UNMAPPED, 0, 4096);
    rb_expect(&g, "FILL unmapped bus address", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);
    d_imm(d, SVMGPU_SPACE_SYS, RB_MSI_AREA, 0x12345678, 4);
    rb_expect(&g, "WRITE_IMM to the MSI area", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_SYS, RB_MSI_AREA, 64);
    rb_expect(&g, "COPY from the MSI area", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);
    d_fence(d, SVMGPU_SPACE_SYS, RB_MSI_AREA, 5);
    d[SVMGPU_DESC_FLAGS] |= SVMGPU_DESC_NO_IRQ;
    rb_expect(&g, "FENCE to the MSI area", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_SYS,
           512 * MiB - 0x100, 0x200);
    rb_expect(&g, "COPY across the end of RAM", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);

    /* The device's own BAR 0. */
    sg_wr(&g, SVMGPU_REG_SCRATCH, 0x600dcafe);
    d_imm(d, SVMGPU_SPACE_SYS, bar0 + SVMGPU_REG_SCRATCH, 0xbad, 4);
    rb_expect(&g, "WRITE_IMM to own BAR 0", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_SCRATCH), ==, 0x600dcafe);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_SYS, bar0, 64);
    rb_expect(&g, "COPY from own BAR 0", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    d_copy(d, SVMGPU_SPACE_SYS, bar0 + SVMGPU_REG_RING_TAIL(0),
           SVMGPU_SPACE_SYS, SG_DATA, 4);
    rb_expect(&g, "COPY to own BAR 0", d, SVMGPU_DESC_STATUS_DMA_ERROR);

    /* A system PTE that points at no RAM. */
    sg_map(&g, 0, 0x50000000, RB_MSI_AREA | SVMGPU_PTE_VALID |
           SVMGPU_PTE_WRITE);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VIRT, 0x50000000, 8);
    rb_expect(&g, "read via PTE to the MSI area", d,
              SVMGPU_DESC_STATUS_DMA_ERROR);

    g_assert_cmphex(sg_rd(&g, SVMGPU_REG_SCRATCH), ==, 0x600dcafe);
    rb_check_alive(&g, "good command after out-of-range ones");
    sg_stop(&g);
}

/* === 3. page-table errors === */

/* Read 8 bytes at @va of context @ctx: the status. */
static uint32_t rb_virt_read(SgDev *g, uint16_t ctx, uint64_t va)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0x100, SVMGPU_SPACE_VIRT, va, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, ctx);
    return rb_run(g, d);
}

#define RB_VA(n)            ((uint64_t)(n) << 39)

static void test_mmu_errors(void)
{
    const uint64_t page = SG_DATA | SVMGPU_PTE_VALID;
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t at, t, va;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, SG_DATA, 0xfeedf00dfeedf00dull);

    /* A good 4 KiB and a good 2 MiB mapping, as a reference. */
    sg_map(&g, 0, RB_VA(1), page);
    rb_check("good 4K leaf", rb_virt_read(&g, 0, RB_VA(1)),
             SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x100), ==,
                    0xfeedf00dfeedf00dull);
    sg_map(&g, 0, RB_VA(2), page | SVMGPU_PTE_HUGE);
    rb_check("good 2M leaf", rb_virt_read(&g, 0, RB_VA(2)),
             SVMGPU_DESC_STATUS_OK);

    /* Reserved bits in a leaf and in a table entry. */
    sg_map(&g, 0, RB_VA(3), page | SVMGPU_BIT64(5));
    rb_check("leaf with bit 5", rb_virt_read(&g, 0, RB_VA(3)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(4), page | SVMGPU_BIT64(60));
    rb_check("leaf with bit 60", rb_virt_read(&g, 0, RB_VA(4)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(5), page | SVMGPU_BIT64(8));
    rb_check("leaf with bit 8", rb_virt_read(&g, 0, RB_VA(5)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(6), page | SVMGPU_BIT64(52));
    rb_check("leaf with bit 52", rb_virt_read(&g, 0, RB_VA(6)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(7), page);
    at = rb_pt_entry(&g, 0, RB_VA(7), 2);
    qtest_writeq(g.qts, at, qtest_readq(g.qts, at) | SVMGPU_BIT64(7));
    rb_check("level-2 entry with bit 7", rb_virt_read(&g, 0, RB_VA(7)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(8), page | SVMGPU_PTE_HUGE | SVMGPU_BIT64(63));
    rb_check("huge leaf with bit 63", rb_virt_read(&g, 0, RB_VA(8)),
             SVMGPU_DESC_STATUS_MMU_ERROR);

    /* HUGE anywhere but level 1. */
    sg_map(&g, 0, RB_VA(9), page);
    at = rb_pt_entry(&g, 0, RB_VA(9), 0);
    qtest_writeq(g.qts, at, page | SVMGPU_PTE_HUGE);
    rb_check("HUGE at level 0", rb_virt_read(&g, 0, RB_VA(9)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(10), page);
    at = rb_pt_entry(&g, 0, RB_VA(10), 2);
    qtest_writeq(g.qts, at, qtest_readq(g.qts, at) | SVMGPU_PTE_HUGE);
    rb_check("HUGE at level 2", rb_virt_read(&g, 0, RB_VA(10)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(11), page);
    at = rb_pt_entry(&g, 0, RB_VA(11), 3);
    qtest_writeq(g.qts, at, qtest_readq(g.qts, at) | SVMGPU_PTE_HUGE);
    rb_check("HUGE at level 3", rb_virt_read(&g, 0, RB_VA(11)),
             SVMGPU_DESC_STATUS_MMU_ERROR);

    /* A 2 MiB leaf whose address is not 2 MiB-aligned. */
    sg_map(&g, 0, RB_VA(12), (SG_DATA + 0x1000) | SVMGPU_PTE_VALID |
           SVMGPU_PTE_HUGE);
    rb_check("huge leaf at +4K", rb_virt_read(&g, 0, RB_VA(12)),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(13), (SG_DATA + 0x100000) | SVMGPU_PTE_VALID |
           SVMGPU_PTE_HUGE);
    rb_check("huge leaf at +1M", rb_virt_read(&g, 0, RB_VA(13)),
             SVMGPU_DESC_STATUS_MMU_ERROR);

    /* Tables that are not RAM. */
    sg_wr64(&g, SVMGPU_REG_CTX_ROOT_LO(1), RB_MSI_AREA);
    rb_check("root at the MSI area", rb_virt_read(&g, 1, 0x1000),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_wr64(&g, SVMGPU_REG_CTX_ROOT_LO(2), RB_UNMAPPED);
    rb_check("root at an unmapped address", rb_virt_read(&g, 2, 0x1000),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_wr64(&g, SVMGPU_REG_CTX_ROOT_LO(4), g.regs.addr);
    rb_check("root at own BAR 0", rb_virt_read(&g, 4, 0x1000),
             SVMGPU_DESC_STATUS_MMU_ERROR);
    sg_map(&g, 0, RB_VA(14), page);
    at = rb_pt_entry(&g, 0, RB_VA(14), 1);
    qtest_writeq(g.qts, at, RB_MSI_AREA | SVMGPU_PTE_VALID);
    rb_check("level-0 table at the MSI area",
             rb_virt_read(&g, 0, RB_VA(14)), SVMGPU_DESC_STATUS_MMU_ERROR);

    /*
     * A cycle: the root's entry points to the root itself, so every level
     * walks the same table. Any status will do; it must terminate.
     */
    t = sg_pt_alloc(&g);
    qtest_writeq(g.qts, t + 5 * 8, t | SVMGPU_PTE_VALID | SVMGPU_PTE_WRITE);
    sg_wr64(&g, SVMGPU_REG_CTX_ROOT_LO(3), t);
    va = RB_VA(5) | 5ull << 30 | 5ull << 21 | 5ull << 12 | 0x10;
    rb_virt_read(&g, 3, va);
    rb_virt_read(&g, 3, RB_VA(5) | 0x1000);
    d_imm(d, SVMGPU_SPACE_VIRT, va + 0x40, 0x1111, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 3);
    rb_run(&g, d);
    /* The same with HUGE on the self-pointer. */
    t = sg_pt_alloc(&g);
    qtest_writeq(g.qts, t + 6 * 8, t | SVMGPU_PTE_VALID | SVMGPU_PTE_HUGE);
    sg_wr64(&g, SVMGPU_REG_CTX_ROOT_LO(5), t);
    va = RB_VA(6) | 6ull << 30 | 6ull << 21 | 6ull << 12;
    rb_virt_read(&g, 5, va);

    rb_tlb_inv_all(&g);
    rb_check_alive(&g, "good command after MMU errors");
    rb_check("good 4K leaf again", rb_virt_read(&g, 0, RB_VA(1)),
             SVMGPU_DESC_STATUS_OK);
    sg_stop(&g);
}

/* === 4. ring and fault-queue configuration errors === */

typedef struct RbQueueRegs {
    const char *name;
    uint32_t base, size, head, tail, control;
    uint64_t good_base;
    uint32_t good_size, align;
} RbQueueRegs;

static const RbQueueRegs rb_ring_regs = {
    "ring", SVMGPU_REG_RING_BASE_LO(0), SVMGPU_REG_RING_SIZE(0),
    SVMGPU_REG_RING_HEAD(0), SVMGPU_REG_RING_TAIL(0),
    SVMGPU_REG_RING_CONTROL(0),
    SG_RING_ADDR, SG_RING_SIZE, SVMGPU_DESC_SIZE,
};

static const RbQueueRegs rb_faultq_regs = {
    "faultq", SVMGPU_REG_FAULTQ_BASE_LO, SVMGPU_REG_FAULTQ_SIZE,
    SVMGPU_REG_FAULTQ_HEAD, SVMGPU_REG_FAULTQ_TAIL, SVMGPU_REG_FAULTQ_CONTROL,
    SG_FAULTQ_ADDR, SG_FAULTQ_SIZE, SVMGPU_FAULT_RECORD_SIZE,
};

/* ENABLE with @base/@size must be refused with ERROR.RING_CONFIG. */
static void rb_bad_enable(SgDev *g, const RbQueueRegs *q, uint64_t base,
                          uint32_t size)
{
    g_autofree char *w = g_strdup_printf("%s base 0x%" PRIx64 " size %u",
                                         q->name, base, size);
    g_autofree char *we = g_strconcat(w, ": ERROR", NULL);
    g_autofree char *wi = g_strconcat(w, ": INT_STATUS", NULL);
    g_autofree char *wc = g_strconcat(w, ": CONTROL", NULL);

    sg_wr(g, q->control, 0);
    sg_wr64(g, q->base, base);
    sg_wr(g, q->size, size);
    rb_clear_errors(g);
    sg_wr(g, q->control, 1);
    rb_check(we, sg_rd(g, SVMGPU_REG_ERROR) & SVMGPU_ERROR_RING_CONFIG,
             SVMGPU_ERROR_RING_CONFIG);
    rb_check(wi, sg_rd(g, SVMGPU_REG_INT_STATUS) & SVMGPU_INT_ERROR,
             SVMGPU_INT_ERROR);
    rb_check(wc, sg_rd(g, q->control), 0);
}

static void rb_queue_config(SgDev *g, const RbQueueRegs *q)
{
    static const uint32_t bad_sizes[] = { 0, 1, 3, 6, 131072, 0x80000000 };
    g_autofree char *wb = g_strdup_printf("%s base while enabled", q->name);
    g_autofree char *wbh = g_strdup_printf("%s base hi while enabled",
                                           q->name);
    g_autofree char *ws = g_strdup_printf("%s size while enabled", q->name);
    g_autofree char *wok = g_strdup_printf("%s good enable", q->name);

    rb_bad_enable(g, q, 0, q->good_size);
    rb_bad_enable(g, q, q->good_base + q->align / 2, q->good_size);
    rb_bad_enable(g, q, q->good_base + 0x10, q->good_size);
    for (int i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
        rb_bad_enable(g, q, q->good_base, bad_sizes[i]);
    }

    /* The extremes of the size range are accepted. */
    for (uint32_t size = 2; size <= SVMGPU_RING_SIZE_MAX; size *= 32768) {
        g_autofree char *w = g_strdup_printf("%s size %u", q->name, size);

        sg_wr(g, q->control, 0);
        sg_wr64(g, q->base, q->good_base);
        sg_wr(g, q->size, size);
        rb_clear_errors(g);
        sg_wr(g, q->control, 1);
        rb_check(w, sg_rd(g, q->control), 1);
        rb_check(w, sg_rd(g, SVMGPU_REG_ERROR), 0);
    }

    /* A good configuration; then base and size are read-only. */
    sg_wr(g, q->control, 0);
    sg_wr64(g, q->base, q->good_base);
    sg_wr(g, q->size, q->good_size);
    rb_clear_errors(g);
    sg_wr(g, q->control, 1);
    rb_check(wok, sg_rd(g, q->control), 1);
    rb_check(wok, sg_rd(g, SVMGPU_REG_ERROR), 0);
    rb_check(wok, sg_rd(g, q->head), 0);
    rb_check(wok, sg_rd(g, q->tail), 0);
    sg_wr64(g, q->base, 0x300000);
    sg_wr(g, q->base + 4, 1);
    sg_wr(g, q->size, 8);
    rb_check(wb, sg_rd(g, q->base), q->good_base);
    rb_check(wbh, sg_rd(g, q->base + 4), 0);
    rb_check(ws, sg_rd(g, q->size), q->good_size);
    rb_check(wok, sg_rd(g, q->control), 1);
}

static void test_ring_config_errors(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    rb_queue_config(&g, &rb_ring_regs);
    g.tail = 0;

    /* TAIL >= RING_SIZE is ignored and flagged. */
    rb_clear_errors(&g);
    sg_wr(&g, SVMGPU_REG_RING_TAIL(0), SG_RING_SIZE);
    rb_check("TAIL = size: ERROR", sg_rd(&g, SVMGPU_REG_ERROR),
             SVMGPU_ERROR_RING_CONFIG);
    rb_check("TAIL = size: TAIL", sg_rd(&g, SVMGPU_REG_RING_TAIL(0)), 0);
    rb_check("TAIL = size: HEAD", sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), 0);
    rb_clear_errors(&g);
    sg_wr(&g, SVMGPU_REG_RING_TAIL(0), 0xffffffff);
    rb_check("TAIL = ~0: ERROR", sg_rd(&g, SVMGPU_REG_ERROR),
             SVMGPU_ERROR_RING_CONFIG);
    rb_check("TAIL = ~0: TAIL", sg_rd(&g, SVMGPU_REG_RING_TAIL(0)), 0);
    rb_check("TAIL = ~0: STATUS", sg_rd(&g, SVMGPU_REG_STATUS) &
             SVMGPU_STATUS_ENGINE_BUSY, 0);
    rb_clear_errors(&g);

    /* The ring still works at its original place. */
    rb_check_alive(&g, "ring after config errors");
    rb_check("ring HEAD", sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), 1);

    /* The fault queue: same rules. */
    rb_queue_config(&g, &rb_faultq_regs);
    g.fq_head = 0;
    rb_clear_errors(&g);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VIRT, 0x1000, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    g_assert_cmpuint(ldl_le_p(rec + SVMGPU_FREC_RING_INDEX), ==, slot);
    sg_respond(&g, ldl_le_p(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_CANCEL);
    rb_check("fault after faultq config errors", sg_wait(&g, slot),
             SVMGPU_DESC_STATUS_FAULT);
    rb_check("ERROR at end", sg_rd(&g, SVMGPU_REG_ERROR), 0);
    sg_stop(&g);
}

/* === 5. ring fetch error === */

static void test_ring_fetch_error(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    SgDev g;

    sg_start(&g, "");
    rb_check_alive(&g, "before the fetch error");
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), 0);
    sg_wr64(&g, SVMGPU_REG_RING_BASE_LO(0), 0x10000000000ull);
    sg_wr(&g, SVMGPU_REG_RING_SIZE(0), SG_RING_SIZE);
    rb_clear_errors(&g);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), SVMGPU_RING_CONTROL_ENABLE);
    rb_check("enable at 1 TiB", sg_rd(&g, SVMGPU_REG_RING_CONTROL(0)), 1);
    rb_check("enable at 1 TiB: ERROR", sg_rd(&g, SVMGPU_REG_ERROR), 0);

    sg_wr(&g, SVMGPU_REG_RING_TAIL(0), 1);
    sg_wait_reg(&g, SVMGPU_REG_ERROR, SVMGPU_ERROR_RING_FETCH,
                SVMGPU_ERROR_RING_FETCH);
    sg_wait_reg(&g, SVMGPU_REG_STATUS, SVMGPU_STATUS_RING_STOPPED,
                SVMGPU_STATUS_RING_STOPPED);
    rb_check("fetch error: RING_CONTROL",
             sg_rd(&g, SVMGPU_REG_RING_CONTROL(0)),
             SVMGPU_RING_CONTROL_STOPPED);
    rb_check("fetch error: INT_STATUS.ERROR",
             sg_rd(&g, SVMGPU_REG_INT_STATUS) & SVMGPU_INT_ERROR,
             SVMGPU_INT_ERROR);
    rb_check("fetch error: HEAD", sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), 0);
    /* More doorbells do nothing harmful. */
    sg_wr(&g, SVMGPU_REG_RING_TAIL(0), 2);
    g_usleep(20000);
    rb_check("fetch error: still disabled",
             sg_rd(&g, SVMGPU_REG_RING_CONTROL(0)),
             SVMGPU_RING_CONTROL_STOPPED);

    /* A good base: the engine works again. */
    rb_clear_errors(&g);
    sg_wr64(&g, SVMGPU_REG_RING_BASE_LO(0), SG_RING_ADDR);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), SVMGPU_RING_CONTROL_ENABLE);
    rb_check("re-enable", sg_rd(&g, SVMGPU_REG_RING_CONTROL(0)), 1);
    rb_check("re-enable: ERROR", sg_rd(&g, SVMGPU_REG_ERROR), 0);
    g.tail = 0;
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    rb_expect(&g, "NOP after re-enable", d, SVMGPU_DESC_STATUS_OK);
    rb_check_alive(&g, "after re-enable");
    rb_check("re-enabled: RING_STOPPED", sg_rd(&g, SVMGPU_REG_STATUS) &
             SVMGPU_STATUS_RING_STOPPED, 0);
    sg_stop(&g);
}

/* === 6. random descriptors === */

#define RB_RANDOM_COUNT     300
#define RB_RANDOM_BATCH     16
#define RB_RANDOM_VA        0x10000000ull   /* 4 MiB mapped, ctx 0 */

static uint64_t rb_rand64(GRand *r)
{
    return (uint64_t)g_rand_int(r) << 32 | g_rand_int(r);
}

static uint64_t rb_rand_addr(GRand *r, unsigned space)
{
    uint64_t a = rb_rand64(r);

    if (g_rand_boolean(r)) {
        switch (space) {
        case SVMGPU_SPACE_SYS:
            a = SG_DATA + (a & (8 * MiB - 1));
            break;
        case SVMGPU_SPACE_VIRT:
            a = RB_RANDOM_VA + (a & (4 * MiB - 1));
            break;
        default:
            a &= 2 * SG_VRAM_SIZE - 1;
            break;
        }
    }
    if (g_rand_boolean(r)) {
        a &= ~7ull;
    }
    return a;
}

/* Mostly in range, now and then out of it. */
static unsigned rb_rand_pick(GRand *r, unsigned good, unsigned bad)
{
    if (g_rand_int_range(r, 0, 16) == 0) {
        return g_rand_int_range(r, 0, bad);
    }
    return g_rand_int_range(r, 0, good);
}

/*
 * Half of the descriptors are random bytes; the other half have a valid
 * opcode and fields that are mostly (not always) valid.
 */
static void rb_random_desc(GRand *r, uint8_t *d)
{
    static const uint8_t widths[] = { 4, 8, 0, 2, 16 };
    unsigned dsp, ssp;

    for (int i = 0; i < SVMGPU_DESC_SIZE; i += 4) {
        stl_le_p(d + i, g_rand_int(r));
    }
    if (g_rand_boolean(r)) {
        dsp = rb_rand_pick(r, 3, 4);
        ssp = rb_rand_pick(r, 3, 4);
        d[SVMGPU_DESC_OPCODE] = g_rand_int_range(r, 0, 7);
        d[SVMGPU_DESC_FLAGS] = dsp << SVMGPU_DESC_DST_SPACE_SHIFT |
                               ssp << SVMGPU_DESC_SRC_SPACE_SHIFT |
                               (g_rand_int(r) & SVMGPU_DESC_NO_IRQ);
        stw_le_p(d + SVMGPU_DESC_CTX, rb_rand_pick(r, 2, 20));
        d[SVMGPU_DESC_ATOMIC_OP] = rb_rand_pick(r, SVMGPU_ATOMIC_NUM_OPS,
                                                256);
        d[SVMGPU_DESC_WIDTH] = widths[rb_rand_pick(r, 2,
                                                   ARRAY_SIZE(widths))];
        stw_le_p(d + SVMGPU_DESC_RESERVED0, 0);
        stq_le_p(d + SVMGPU_DESC_DST, rb_rand_addr(r, dsp));
        stq_le_p(d + SVMGPU_DESC_SRC, rb_rand_addr(r, ssp));
        if (g_rand_int_range(r, 0, 16) == 0) {
            stq_le_p(d + SVMGPU_DESC_LEN, rb_rand64(r) & (2 * GiB - 1));
        } else {
            stq_le_p(d + SVMGPU_DESC_LEN, g_rand_int_range(r, 0, 16384));
        }
        stl_le_p(d + SVMGPU_DESC_RESERVED1, 0);
    }
    stl_le_p(d + SVMGPU_DESC_STATUS, SVMGPU_DESC_STATUS_PENDING);
}

static void test_random_descriptors(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0x5347);
    uint8_t d[SVMGPU_DESC_SIZE], in[4096], out[4096];
    uint32_t slots[RB_RANDOM_BATCH];
    unsigned hist[9] = { 0 };
    SgDev g;

    sg_start(&g, "");
    sg_map(&g, 0, RB_RANDOM_VA, (SG_DATA + 2 * MiB) | SVMGPU_PTE_VALID |
           SVMGPU_PTE_WRITE | SVMGPU_PTE_ATOMIC | SVMGPU_PTE_HUGE);
    sg_map(&g, 0, RB_RANDOM_VA + 2 * MiB, (2 * MiB) | SVMGPU_PTE_VALID |
           SVMGPU_PTE_WRITE | SVMGPU_PTE_VRAM | SVMGPU_PTE_HUGE);

    for (int done = 0; done < RB_RANDOM_COUNT; ) {
        int n = MIN(RB_RANDOM_BATCH, RB_RANDOM_COUNT - done);

        for (int i = 0; i < n; i++) {
            rb_random_desc(r, d);
            slots[i] = g.tail;
            qtest_memwrite(g.qts, sg_slot_addr(g.tail), d, sizeof(d));
            g.tail = (g.tail + 1) % SG_RING_SIZE;
        }
        sg_wr(&g, SVMGPU_REG_RING_TAIL(0), g.tail);
        for (int i = 0; i < n; i++) {
            uint32_t st = rb_wait_cancel(&g, slots[i]);
            g_autofree char *w = g_strdup_printf("random descriptor %d",
                                                 done + i);

            if (st < SVMGPU_DESC_STATUS_OK ||
                st > SVMGPU_DESC_STATUS_ATOMIC_DENIED) {
                rb_check(w, st, SVMGPU_DESC_STATUS_OK);
            }
            hist[st]++;
        }
        rb_check("HEAD after a batch", sg_rd(&g, SVMGPU_REG_RING_HEAD(0)),
                 g.tail);
        done += n;
    }
    for (int i = 1; i < ARRAY_SIZE(hist); i++) {
        g_test_message("status %d: %u", i, hist[i]);
    }
    g_assert_cmpuint(hist[SVMGPU_DESC_STATUS_OK], >, 0);
    g_assert_cmpuint(hist[SVMGPU_DESC_STATUS_INVALID], >, 0);

    /* A good COPY still works. */
    rb_clear_errors(&g);
    for (int i = 0; i < sizeof(in); i++) {
        in[i] = i * 13 + 1;
    }
    qtest_memwrite(g.qts, SG_DATA + 0x900000, in, sizeof(in));
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0xa00000, SVMGPU_SPACE_SYS,
           SG_DATA + 0x900000, sizeof(in));
    rb_expect(&g, "good COPY after random descriptors", d,
              SVMGPU_DESC_STATUS_OK);
    qtest_memread(g.qts, SG_DATA + 0xa00000, out, sizeof(out));
    g_assert_cmpmem(out, sizeof(out), in, sizeof(in));
    rb_check("STATUS at end", sg_rd(&g, SVMGPU_REG_STATUS), 0);
    sg_stop(&g);
}

/* === 7. reset and FLR in the middle of work === */

/* Every register at its reset value (docs/device.md, Reset). */
static void rb_check_reset_values(SgDev *g, const char *when)
{
    static const struct {
        const char *name;
        uint32_t reg;
    } zero[] = {
        { "STATUS", SVMGPU_REG_STATUS },
        { "INT_STATUS", SVMGPU_REG_INT_STATUS },
        { "ERROR", SVMGPU_REG_ERROR },
        { "SCRATCH", SVMGPU_REG_SCRATCH },
        { "FENCE_SEQNO_LO", SVMGPU_REG_FENCE_SEQNO_LO },
        { "FENCE_SEQNO_HI", SVMGPU_REG_FENCE_SEQNO_HI },
        { "RING_BASE_LO", SVMGPU_REG_RING_BASE_LO(0) },
        { "RING_BASE_HI", SVMGPU_REG_RING_BASE_HI(0) },
        { "RING_SIZE", SVMGPU_REG_RING_SIZE(0) },
        { "RING_HEAD", SVMGPU_REG_RING_HEAD(0) },
        { "RING_TAIL", SVMGPU_REG_RING_TAIL(0) },
        { "RING_CONTROL", SVMGPU_REG_RING_CONTROL(0) },
        { "FAULTQ_BASE_LO", SVMGPU_REG_FAULTQ_BASE_LO },
        { "FAULTQ_BASE_HI", SVMGPU_REG_FAULTQ_BASE_HI },
        { "FAULTQ_SIZE", SVMGPU_REG_FAULTQ_SIZE },
        { "FAULTQ_HEAD", SVMGPU_REG_FAULTQ_HEAD },
        { "FAULTQ_TAIL", SVMGPU_REG_FAULTQ_TAIL },
        { "FAULTQ_CONTROL", SVMGPU_REG_FAULTQ_CONTROL },
    };
    uint32_t n;

    g_assert_cmphex(sg_rd(g, SVMGPU_REG_ID), ==, SVMGPU_ID_MAGIC);
    for (int i = 0; i < ARRAY_SIZE(zero); i++) {
        g_autofree char *w = g_strdup_printf("%s: %s", when, zero[i].name);

        rb_check(w, sg_rd(g, zero[i].reg), 0);
    }
    n = sg_rd(g, SVMGPU_REG_NUM_CONTEXTS);
    g_assert_cmpuint(n, ==, 16);
    for (uint32_t c = 0; c < n; c++) {
        g_autofree char *w = g_strdup_printf("%s: CTX_ROOT(%u)", when, c);

        rb_check(w, sg_rd(g, SVMGPU_REG_CTX_ROOT_LO(c)) |
                 (uint64_t)sg_rd(g, SVMGPU_REG_CTX_ROOT_HI(c)) << 32, 0);
    }
}

/* Dirty every register that reset must clear. */
static void rb_dirty_registers(SgDev *g)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    sg_wr(g, SVMGPU_REG_SCRATCH, 0x5a5a1234);
    for (int c = 0; c < 16; c++) {
        sg_wr64(g, SVMGPU_REG_CTX_ROOT_LO(c), SG_PT_POOL_END - 0x1000 * c);
    }
    sg_map(g, 1, 0x200000, SG_DATA | SVMGPU_PTE_VALID);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0x100, SVMGPU_SPACE_VIRT,
           0x200000, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 1);
    rb_expect(g, "read to fill the TLB", d, SVMGPU_DESC_STATUS_OK);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA + 0x200, 0x123456789ull);
    rb_expect(g, "FENCE before reset", d, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_FENCE_SEQNO_HI), ==, 1);
    sg_respond(g, 0x3ffffff0, SVMGPU_FAULT_RESPONSE_CANCEL);
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_ERROR), ==,
                    SVMGPU_ERROR_BAD_RESPONSE);
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_INT_STATUS), ==,
                    SVMGPU_INT_COMPLETION | SVMGPU_INT_ERROR);
}

/* Map BAR 0 again after a reset, check, set up, run a command. */
static void rb_after_reset(SgDev *g, const char *when)
{
    g_autofree char *w = g_strdup_printf("%s: command", when);
    g_autofree char *wl = g_strdup_printf("%s, later", when);
    uint8_t d[SVMGPU_DESC_SIZE];

    qpci_device_enable(g->dev);
    g->regs = qpci_iomap(g->dev, SVMGPU_BAR_REGS, NULL);
    rb_check_reset_values(g, when);
    /* The engine has stopped: nothing moves afterwards. */
    g_usleep(100 * 1000);
    rb_check_reset_values(g, wl);

    sg_setup_queues(g);
    rb_check_alive(g, w);
    /* The TLB was emptied: context 1 has no table, so this faults. */
    sg_wr64(g, SVMGPU_REG_FAULTQ_BASE_LO, 0);
    sg_wr(g, SVMGPU_REG_FAULTQ_CONTROL, 0);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0x100, SVMGPU_SPACE_VIRT,
           0x200000, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 1);
    sg_wr64(g, SVMGPU_REG_CTX_ROOT_LO(1), 0);
    rb_expect(g, "stale TLB entry after reset", d, SVMGPU_DESC_STATUS_FAULT);
}

static void rb_flr(SgDev *g)
{
    uint8_t exp = qpci_find_capability(g->dev, PCI_CAP_ID_EXP, 0);
    uint16_t devctl;

    g_assert_cmpuint(exp, !=, 0);
    g_assert_true(qpci_config_readl(g->dev, exp + PCI_EXP_DEVCAP) &
                  PCI_EXP_DEVCAP_FLR);
    devctl = qpci_config_readw(g->dev, exp + PCI_EXP_DEVCTL);
    qpci_config_writew(g->dev, exp + PCI_EXP_DEVCTL,
                       devctl | PCI_EXP_DEVCTL_BCR_FLR);
}

/* Park a VIRT read on a NOT_PRESENT fault in context 2. */
static void rb_park(SgDev *g)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint32_t slot;

    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VIRT, 0x7000, 8);
    stw_le_p(d + SVMGPU_DESC_CTX, 2);
    sg_wr64(g, SVMGPU_REG_CTX_ROOT_LO(2), 0);
    slot = sg_submit(g, d);
    sg_next_fault(g, rec);
    g_assert_cmpuint(ldl_le_p(rec + SVMGPU_FREC_RING_INDEX), ==, slot);
    sg_wait_reg(g, SVMGPU_REG_STATUS, SVMGPU_STATUS_FAULT_PENDING,
                SVMGPU_STATUS_FAULT_PENDING);
    /* Queue more work behind it. */
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    sg_submit(g, d);
    g_assert_cmpuint(sg_status(g, slot), ==, SVMGPU_DESC_STATUS_PENDING);
}

#define RB_BIG_LEN          (64 * MiB)
#define RB_BIG_SRC          SG_DATA
#define RB_BIG_DST          (SG_DATA + 0x8000000)

/* Queue @n copies of RB_BIG_LEN in system memory: work to stop midway. */
static void rb_queue_big_copies(SgDev *g, int n)
{
    uint8_t d[SVMGPU_DESC_SIZE];

    for (int i = 0; i < n; i++) {
        d_copy(d, SVMGPU_SPACE_SYS, RB_BIG_DST, SVMGPU_SPACE_SYS,
               RB_BIG_SRC, RB_BIG_LEN);
        sg_submit(g, d);
    }
}

static void test_reset_mid_work(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint32_t head, last = 0;
    SgDev g;

    /* The copies stay in RAM: 16 MiB + 128 MiB + 64 MiB < 512 MiB. */
    QEMU_BUILD_BUG_ON(RB_BIG_DST + RB_BIG_LEN > 512 * MiB);

    sg_start(&g, "");
    rb_dirty_registers(&g);
    rb_queue_big_copies(&g, 8);
    for (int i = 0; i < 8; i++) {
        d_fence(d, SVMGPU_SPACE_SYS, SG_DATA + 0x300, i + 1);
        last = sg_submit(&g, d);
    }
    head = sg_rd(&g, SVMGPU_REG_RING_HEAD(0));
    g_test_message("HEAD %u of %u at reset", head, last + 1);
    qtest_system_reset(g.qts);
    rb_after_reset(&g, "reset mid-copy");
    sg_stop(&g);

    /* A command parked on a fault. */
    sg_start(&g, "");
    rb_dirty_registers(&g);
    rb_park(&g);
    qtest_system_reset(g.qts);
    rb_after_reset(&g, "reset while parked");
    sg_stop(&g);

    /* The same with FLR. */
    sg_start(&g, "");
    rb_dirty_registers(&g);
    rb_park(&g);
    rb_flr(&g);
    rb_after_reset(&g, "FLR while parked");
    sg_stop(&g);

    /* FLR in the middle of big copies. */
    sg_start(&g, "");
    rb_dirty_registers(&g);
    rb_queue_big_copies(&g, 8);
    rb_flr(&g);
    rb_after_reset(&g, "FLR mid-copy");
    sg_stop(&g);
}

/* === 8. fault-injection knobs === */

static void test_inject_dma_error_nth(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t injected;
    SgDev g;

    sg_start(&g, "");
    injected = sg_qom_get(&g, "x-stat-injected");
    sg_qom_set(&g, "x-inject-dma-error-nth", 3);
    g_assert_cmpuint(sg_qom_get(&g, "x-inject-dma-error-nth"), ==, 3);

    /* NOP and TLB_INVALIDATE do not count. */
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    rb_expect(&g, "NOP", d, SVMGPU_DESC_STATUS_OK);
    d_imm(d, SVMGPU_SPACE_SYS, SG_DATA, 0x11, 8);
    rb_expect(&g, "1st: WRITE_IMM", d, SVMGPU_DESC_STATUS_OK);
    d_tlb_inv(d, SVMGPU_TLB_INV_ALL, 0);
    rb_expect(&g, "TLB_INVALIDATE", d, SVMGPU_DESC_STATUS_OK);
    d_fill(d, SVMGPU_SPACE_SYS, SG_DATA + 0x1000, 0x22, 64);
    rb_expect(&g, "2nd: FILL", d, SVMGPU_DESC_STATUS_OK);
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    rb_expect(&g, "NOP", d, SVMGPU_DESC_STATUS_OK);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0x2000, SVMGPU_SPACE_SYS,
           SG_DATA, 64);
    rb_expect(&g, "3rd: COPY", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    rb_check("knob after firing", sg_qom_get(&g, "x-inject-dma-error-nth"),
             0);
    rb_check("x-stat-injected", sg_qom_get(&g, "x-stat-injected"),
             injected + 1);

    d_imm(d, SVMGPU_SPACE_SYS, SG_DATA, 0x33, 8);
    rb_expect(&g, "4th: WRITE_IMM", d, SVMGPU_DESC_STATUS_OK);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA + 8, 1);
    rb_expect(&g, "5th: FENCE", d, SVMGPU_DESC_STATUS_OK);
    d_atomic(d, SVMGPU_SPACE_VRAM, 0, SVMGPU_ATOMIC_ADD, 1, 8);
    rb_expect(&g, "6th: ATOMIC", d, SVMGPU_DESC_STATUS_OK);
    rb_check("x-stat-injected at end", sg_qom_get(&g, "x-stat-injected"),
             injected + 1);

    /* Counting starts when the knob is set: 1 is the next one. */
    sg_qom_set(&g, "x-inject-dma-error-nth", 1);
    d_atomic(d, SVMGPU_SPACE_VRAM, 0, SVMGPU_ATOMIC_ADD, 1, 8);
    rb_expect(&g, "nth=1: ATOMIC", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA + 8, 2);
    rb_expect(&g, "nth=1: next FENCE", d, SVMGPU_DESC_STATUS_OK);
    rb_check("x-stat-injected, second", sg_qom_get(&g, "x-stat-injected"),
             injected + 2);
    sg_stop(&g);
}

static void test_inject_dma_error_ppm(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t injected;
    SgDev g;

    sg_start(&g, "");
    injected = sg_qom_get(&g, "x-stat-injected");
    sg_qom_set(&g, "x-inject-dma-error-ppm", 1000000);
    for (int i = 0; i < 2; i++) {
        uint32_t want = i ? SVMGPU_DESC_STATUS_OK :
                            SVMGPU_DESC_STATUS_DMA_ERROR;

        d_imm(d, SVMGPU_SPACE_SYS, SG_DATA, 0x11, 8);
        rb_expect(&g, "WRITE_IMM", d, want);
        d_fill(d, SVMGPU_SPACE_SYS, SG_DATA + 0x1000, 0x22, 64);
        rb_expect(&g, "FILL", d, want);
        d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0x2000, SVMGPU_SPACE_SYS,
               SG_DATA, 64);
        rb_expect(&g, "COPY", d, want);
        d_fence(d, SVMGPU_SPACE_SYS, SG_DATA + 8, 1);
        rb_expect(&g, "FENCE", d, want);
        d_atomic(d, SVMGPU_SPACE_VRAM, 0, SVMGPU_ATOMIC_ADD, 1, 8);
        rb_expect(&g, "ATOMIC", d, want);
        sg_desc(d, SVMGPU_OP_NOP, 0, 0);
        rb_expect(&g, "NOP", d, SVMGPU_DESC_STATUS_OK);
        if (!i) {
            rb_check("x-stat-injected", sg_qom_get(&g, "x-stat-injected"),
                     injected + 5);
            rb_check("ppm knob", sg_qom_get(&g, "x-inject-dma-error-ppm"),
                     1000000);
            sg_qom_set(&g, "x-inject-dma-error-ppm", 0);
        }
    }
    rb_check("x-stat-injected at end", sg_qom_get(&g, "x-stat-injected"),
             injected + 5);
    sg_stop(&g);
}

static void test_inject_latency(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    gint64 t0, dt;
    SgDev g;

    sg_start(&g, "");
    sg_qom_set(&g, "x-inject-latency-us", 200000);
    g_assert_cmpuint(sg_qom_get(&g, "x-inject-latency-us"), ==, 200000);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA, 7);
    t0 = g_get_monotonic_time();
    rb_expect(&g, "FENCE with latency", d, SVMGPU_DESC_STATUS_OK);
    dt = g_get_monotonic_time() - t0;
    g_test_message("FENCE took %" PRId64 " us", dt);
    g_assert_cmpint(dt, >=, 200000);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA), ==, 7);

    /* Lifted: the FENCE completes (no upper time bound: CI may be slow). */
    sg_qom_set(&g, "x-inject-latency-us", 0);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA, 8);
    rb_expect(&g, "FENCE without latency", d, SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA), ==, 8);
    sg_stop(&g);
}

static void test_inject_latency_limit(void)
{
    static const uint64_t bad[] = { 1000001, 0xffffffffull,
                                    0x100000000ull };
    SgDev g;

    sg_start(&g, "");
    sg_qom_set(&g, "x-inject-latency-us", 1000000);
    g_assert_cmpuint(sg_qom_get(&g, "x-inject-latency-us"), ==, 1000000);
    sg_qom_set(&g, "x-inject-latency-us", 1234);
    for (int i = 0; i < ARRAY_SIZE(bad); i++) {
        QDict *rsp = qtest_qmp(g.qts, "{'execute': 'qom-set', 'arguments': "
                               "{'path': '/machine/peripheral/gpu0', "
                               "'property': 'x-inject-latency-us', "
                               "'value': %" PRIu64 "}}", bad[i]);
        g_autofree char *w = g_strdup_printf("latency %" PRIu64 " refused",
                                             bad[i]);

        rb_check(w, qdict_haskey(rsp, "error"), true);
        qobject_unref(rsp);
        rb_check(w, sg_qom_get(&g, "x-inject-latency-us"), 1234);
    }
    sg_qom_set(&g, "x-inject-latency-us", 0);
    rb_check_alive(&g, "after refused latency");
    sg_stop(&g);
}

/* MSI-X on (BAR 0 moves: use the new mapping), vector 0 masked. */
static void rb_msix_masked(SgDev *g)
{
    qpci_msix_enable(g->dev);
    g->regs = g->dev->msix_table_bar;
    qpci_io_writel(g->dev, g->dev->msix_table_bar,
                   g->dev->msix_table_off + SVMGPU_VEC_COMPLETION *
                   PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL,
                   PCI_MSIX_ENTRY_CTRL_MASKBIT);
    g_assert_true(qpci_msix_masked(g->dev, SVMGPU_VEC_COMPLETION));
    g_assert_false(qpci_msix_pending(g->dev, SVMGPU_VEC_COMPLETION));
    g_assert_cmphex(sg_rd(g, SVMGPU_REG_ID), ==, SVMGPU_ID_MAGIC);
}

static void test_inject_irq_drop(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t injected;
    SgDev g;

    sg_start(&g, "");
    rb_msix_masked(&g);
    injected = sg_qom_get(&g, "x-stat-injected");
    sg_qom_set(&g, "x-inject-irq-drop-nth", 1);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA, 1);
    rb_expect(&g, "FENCE, irq dropped", d, SVMGPU_DESC_STATUS_OK);
    rb_check("dropped: INT_STATUS", sg_rd(&g, SVMGPU_REG_INT_STATUS),
             SVMGPU_INT_COMPLETION);
    g_usleep(20000);    /* give a wrongly sent interrupt time to show */
    rb_check("dropped: PBA", qpci_msix_pending(g.dev, SVMGPU_VEC_COMPLETION),
             false);
    rb_check("dropped: x-stat-injected", sg_qom_get(&g, "x-stat-injected"),
             injected + 1);
    rb_check("dropped: knob", sg_qom_get(&g, "x-inject-irq-drop-nth"), 0);

    /* The next one is delivered (pending, as the vector is masked). */
    sg_wr(&g, SVMGPU_REG_INT_STATUS, SVMGPU_INT_COMPLETION);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA, 2);
    rb_expect(&g, "FENCE, irq kept", d, SVMGPU_DESC_STATUS_OK);
    rb_check("kept: INT_STATUS", sg_rd(&g, SVMGPU_REG_INT_STATUS),
             SVMGPU_INT_COMPLETION);
    rb_check("kept: PBA",
             sg_msix_pending_eventually(&g, SVMGPU_VEC_COMPLETION),
             true);
    rb_check("kept: x-stat-injected", sg_qom_get(&g, "x-stat-injected"),
             injected + 1);
    sg_stop(&g);
}

static void test_inject_irq_dup(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint64_t injected;
    SgDev g;

    sg_start(&g, "");
    rb_msix_masked(&g);
    injected = sg_qom_get(&g, "x-stat-injected");
    sg_qom_set(&g, "x-inject-irq-dup-nth", 1);
    d_fence(d, SVMGPU_SPACE_SYS, SG_DATA, 1);
    rb_expect(&g, "FENCE, irq doubled", d, SVMGPU_DESC_STATUS_OK);
    rb_check("dup: INT_STATUS", sg_rd(&g, SVMGPU_REG_INT_STATUS),
             SVMGPU_INT_COMPLETION);
    rb_check("dup: PBA",
             sg_msix_pending_eventually(&g, SVMGPU_VEC_COMPLETION),
             true);
    rb_check("dup: x-stat-injected", sg_qom_get(&g, "x-stat-injected"),
             injected + 1);
    rb_check("dup: knob", sg_qom_get(&g, "x-inject-irq-dup-nth"), 0);
    sg_stop(&g);
}

static void test_inject_hang(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    uint32_t slots[3];
    SgDev g;

    sg_start(&g, "");
    rb_check_alive(&g, "before hang");
    sg_qom_set_bool(&g, "x-inject-hang", true);
    g_assert_true(sg_qom_get_bool(&g, "x-inject-hang"));
    rb_check("hung: STATUS", sg_rd(&g, SVMGPU_REG_STATUS),
             SVMGPU_STATUS_HUNG);
    for (int i = 0; i < 3; i++) {
        d_imm(d, SVMGPU_SPACE_SYS, SG_DATA + 8 * i, 0x100 + i, 8);
        slots[i] = sg_submit(&g, d);
    }
    g_usleep(200 * 1000);
    for (int i = 0; i < 3; i++) {
        rb_check("hung: descriptor", sg_status(&g, slots[i]),
                 SVMGPU_DESC_STATUS_PENDING);
    }
    rb_check("hung: HEAD", sg_rd(&g, SVMGPU_REG_RING_HEAD(0)), slots[0]);
    rb_check("hung, busy: STATUS", sg_rd(&g, SVMGPU_REG_STATUS),
             SVMGPU_STATUS_HUNG | SVMGPU_STATUS_ENGINE_BUSY);

    sg_qom_set_bool(&g, "x-inject-hang", false);
    for (int i = 0; i < 3; i++) {
        rb_check("unhung: descriptor", sg_wait(&g, slots[i]),
                 SVMGPU_DESC_STATUS_OK);
        g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 8 * i), ==, 0x100 + i);
    }
    rb_check("unhung: STATUS", sg_rd(&g, SVMGPU_REG_STATUS), 0);

    /* A system reset drops the hang. */
    sg_qom_set_bool(&g, "x-inject-hang", true);
    d_imm(d, SVMGPU_SPACE_SYS, SG_DATA, 0x200, 8);
    slots[0] = sg_submit(&g, d);
    g_usleep(50 * 1000);
    rb_check("hung again", sg_status(&g, slots[0]),
             SVMGPU_DESC_STATUS_PENDING);
    qtest_system_reset(g.qts);
    qpci_device_enable(g.dev);
    g.regs = qpci_iomap(g.dev, SVMGPU_BAR_REGS, NULL);
    rb_check("after reset: STATUS", sg_rd(&g, SVMGPU_REG_STATUS), 0);
    rb_check("after reset: x-inject-hang", sg_qom_get_bool(&g, "x-inject-hang"),
             false);
    sg_setup_queues(&g);
    rb_check_alive(&g, "after reset of a hang");
    sg_stop(&g);
}

static void test_inject_poison(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], buf[0x100];
    SgDev g;

    sg_start(&g, "");
    d_fill(d, SVMGPU_SPACE_VRAM, 0, 0x3c3c3c3c3c3c3c3cull, 0x10000);
    rb_expect(&g, "FILL VRAM", d, SVMGPU_DESC_STATUS_OK);
    sg_qom_set(&g, "x-inject-poison-addr", 0x4000);
    sg_qom_set(&g, "x-inject-poison-len", 0x1000);

    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, 0x4000, 0x100);
    rb_expect(&g, "COPY from poison", d, SVMGPU_DESC_STATUS_POISONED);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, 0x3f00, 0x200);
    rb_expect(&g, "COPY into poison", d, SVMGPU_DESC_STATUS_POISONED);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, 0x4ff8, 8);
    rb_expect(&g, "COPY last poisoned word", d,
              SVMGPU_DESC_STATUS_POISONED);
    d_copy(d, SVMGPU_SPACE_VRAM, 0x4800, SVMGPU_SPACE_SYS, SG_DATA, 8);
    rb_expect(&g, "COPY to poison", d, SVMGPU_DESC_STATUS_POISONED);
    d_imm(d, SVMGPU_SPACE_VRAM, 0x4100, 1, 8);
    rb_expect(&g, "WRITE_IMM to poison", d, SVMGPU_DESC_STATUS_POISONED);
    d_atomic(d, SVMGPU_SPACE_VRAM, 0x4100, SVMGPU_ATOMIC_ADD, 1, 8);
    rb_expect(&g, "ATOMIC on poison", d, SVMGPU_DESC_STATUS_POISONED);
    sg_map(&g, 0, 0x80000000, 0x4000 | SVMGPU_PTE_VALID | SVMGPU_PTE_VRAM);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VIRT, 0x80000010, 8);
    rb_expect(&g, "COPY from poison via PTE", d,
              SVMGPU_DESC_STATUS_POISONED);

    /* Outside the range. */
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, 0x3f00, 0x100);
    rb_expect(&g, "COPY just below", d, SVMGPU_DESC_STATUS_OK);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, 0x5000, 0x100);
    rb_expect(&g, "COPY just above", d, SVMGPU_DESC_STATUS_OK);
    qtest_memread(g.qts, SG_DATA, buf, sizeof(buf));
    rb_check_bytes("data above the poison", buf, sizeof(buf), 0x3c);
    d_imm(d, SVMGPU_SPACE_VRAM, 0x5000, 1, 8);
    rb_expect(&g, "WRITE_IMM above", d, SVMGPU_DESC_STATUS_OK);

    /* Length 0: no poison. */
    sg_qom_set(&g, "x-inject-poison-len", 0);
    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA, SVMGPU_SPACE_VRAM, 0x4000, 0x100);
    rb_expect(&g, "COPY after unpoison", d, SVMGPU_DESC_STATUS_OK);
    sg_stop(&g);
}

static void test_inject_spurious(void)
{
    uint8_t d[SVMGPU_DESC_SIZE], rec[SVMGPU_FAULT_RECORD_SIZE];
    uint64_t va = 0x600000001000ull, injected;
    uint32_t slot;
    SgDev g;

    sg_start(&g, "");
    qtest_writeq(g.qts, SG_DATA, 0xabcdef0123456789ull);
    sg_map(&g, 0, va, SG_DATA | SVMGPU_PTE_VALID);
    injected = sg_qom_get(&g, "x-stat-injected");
    sg_qom_set(&g, "x-inject-spurious-ppm", 1000000);

    d_copy(d, SVMGPU_SPACE_SYS, SG_DATA + 0x800, SVMGPU_SPACE_VIRT, va, 8);
    slot = sg_submit(&g, d);
    sg_next_fault(&g, rec);
    rb_check("spurious: FLAGS", ldl_le_p(rec + SVMGPU_FREC_FLAGS) &
             SVMGPU_FAULT_FLAG_SPURIOUS, SVMGPU_FAULT_FLAG_SPURIOUS);
    rb_check("spurious: ADDR", ldq_le_p(rec + SVMGPU_FREC_ADDR), va);
    rb_check("spurious: ACCESS", rec[SVMGPU_FREC_ACCESS],
             SVMGPU_ACCESS_READ);
    rb_check("spurious: RING_INDEX", ldl_le_p(rec + SVMGPU_FREC_RING_INDEX),
             slot);
    rb_check("spurious: descriptor", sg_status(&g, slot),
             SVMGPU_DESC_STATUS_PENDING);
    g_assert_cmpuint(sg_qom_get(&g, "x-stat-injected"), >, injected);

    sg_qom_set(&g, "x-inject-spurious-ppm", 0);
    sg_respond(&g, ldl_le_p(rec + SVMGPU_FREC_ID),
               SVMGPU_FAULT_RESPONSE_REPLAY);
    rb_check("spurious: replay", sg_wait(&g, slot), SVMGPU_DESC_STATUS_OK);
    g_assert_cmphex(qtest_readq(g.qts, SG_DATA + 0x800), ==,
                    0xabcdef0123456789ull);
    rb_check("spurious: ERROR", sg_rd(&g, SVMGPU_REG_ERROR), 0);
    sg_stop(&g);
}

#define RB_SEED_RUN         32

static void rb_seed_run(uint32_t *st)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    SgDev g;

    sg_start(&g, "x-seed=42");
    sg_qom_set(&g, "x-inject-dma-error-ppm", 500000);
    for (int i = 0; i < RB_SEED_RUN; i++) {
        d_imm(d, SVMGPU_SPACE_SYS, SG_DATA + 8 * i, i, 8);
        st[i] = rb_run(&g, d);
    }
    sg_stop(&g);
}

static void test_inject_seed(void)
{
    uint32_t a[RB_SEED_RUN], b[RB_SEED_RUN];
    int ok = 0, err = 0;

    rb_seed_run(a);
    rb_seed_run(b);
    for (int i = 0; i < RB_SEED_RUN; i++) {
        g_autofree char *w = g_strdup_printf("x-seed=42, command %d", i);

        rb_check(w, b[i], a[i]);
        ok += a[i] == SVMGPU_DESC_STATUS_OK;
        err += a[i] == SVMGPU_DESC_STATUS_DMA_ERROR;
    }
    g_assert_cmpint(ok + err, ==, RB_SEED_RUN);
    g_assert_cmpint(ok, >, 0);
    g_assert_cmpint(err, >, 0);
}

/* === 9. the debug window === */

static void test_debug_window(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    SgDev g;

    sg_start(&g, "x-debug-window=on");
    rb_check("on: CAPS.DEBUG_WINDOW", sg_rd(&g, SVMGPU_REG_CAPS) &
             SVMGPU_CAP_DEBUG_WINDOW, SVMGPU_CAP_DEBUG_WINDOW);
    rb_check("on: DBG_INJECTED", sg_rd(&g, SVMGPU_REG_DBG_INJECTED), 0);
    sg_wr(&g, SVMGPU_REG_DBG_DMA_ERROR_NTH, 1);
    rb_check("on: DBG_DMA_ERROR_NTH", sg_rd(&g, SVMGPU_REG_DBG_DMA_ERROR_NTH),
             1);
    rb_check("on: QOM x-inject-dma-error-nth",
             sg_qom_get(&g, "x-inject-dma-error-nth"), 1);
    d_imm(d, SVMGPU_SPACE_SYS, SG_DATA, 1, 8);
    rb_expect(&g, "on: injected failure", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    rb_check("on: DBG_INJECTED after", sg_rd(&g, SVMGPU_REG_DBG_INJECTED), 1);
    rb_check("on: DBG_DMA_ERROR_NTH after",
             sg_rd(&g, SVMGPU_REG_DBG_DMA_ERROR_NTH), 0);
    rb_expect(&g, "on: next command", d, SVMGPU_DESC_STATUS_OK);
    rb_check("on: DBG_INJECTED read-only", (sg_wr(&g,
             SVMGPU_REG_DBG_INJECTED, 0), sg_rd(&g, SVMGPU_REG_DBG_INJECTED)),
             1);
    /* The window mirrors the QOM knobs both ways. */
    sg_qom_set(&g, "x-inject-latency-us", 1234);
    rb_check("on: DBG_LATENCY_US", sg_rd(&g, SVMGPU_REG_DBG_LATENCY_US),
             1234);
    sg_wr(&g, SVMGPU_REG_DBG_LATENCY_US, 0);
    rb_check("on: QOM latency", sg_qom_get(&g, "x-inject-latency-us"), 0);
    sg_wr(&g, SVMGPU_REG_DBG_POISON_ADDR_LO, 0x4000);
    sg_wr(&g, SVMGPU_REG_DBG_POISON_ADDR_HI, 0);
    sg_wr(&g, SVMGPU_REG_DBG_POISON_LEN_LO, 0x1000);
    sg_wr(&g, SVMGPU_REG_DBG_POISON_LEN_HI, 0);
    rb_check("on: QOM poison-addr", sg_qom_get(&g, "x-inject-poison-addr"),
             0x4000);
    rb_check("on: QOM poison-len", sg_qom_get(&g, "x-inject-poison-len"),
             0x1000);
    d_imm(d, SVMGPU_SPACE_VRAM, 0x4000, 1, 8);
    rb_expect(&g, "on: poison via window", d, SVMGPU_DESC_STATUS_POISONED);
    sg_wr(&g, SVMGPU_REG_DBG_HANG, 1);
    rb_check("on: hang via window", sg_rd(&g, SVMGPU_REG_STATUS) &
             SVMGPU_STATUS_HUNG, SVMGPU_STATUS_HUNG);
    sg_wr(&g, SVMGPU_REG_DBG_HANG, 0);
    rb_check("on: unhang via window", sg_rd(&g, SVMGPU_REG_STATUS) &
             SVMGPU_STATUS_HUNG, 0);
    sg_stop(&g);

    sg_start(&g, "");
    rb_check("off: CAPS.DEBUG_WINDOW", sg_rd(&g, SVMGPU_REG_CAPS) &
             SVMGPU_CAP_DEBUG_WINDOW, 0);
    sg_wr(&g, SVMGPU_REG_DBG_DMA_ERROR_NTH, 1);
    rb_check("off: DBG_DMA_ERROR_NTH",
             sg_rd(&g, SVMGPU_REG_DBG_DMA_ERROR_NTH), 0);
    rb_check("off: QOM x-inject-dma-error-nth",
             sg_qom_get(&g, "x-inject-dma-error-nth"), 0);
    d_imm(d, SVMGPU_SPACE_SYS, SG_DATA, 1, 8);
    rb_expect(&g, "off: command after window write", d,
              SVMGPU_DESC_STATUS_OK);
    /* Knobs set through QOM do not show through a disabled window. */
    sg_qom_set(&g, "x-inject-latency-us", 77);
    rb_check("off: DBG_LATENCY_US", sg_rd(&g, SVMGPU_REG_DBG_LATENCY_US), 0);
    sg_qom_set(&g, "x-inject-dma-error-nth", 1);
    rb_expect(&g, "off: QOM injection", d, SVMGPU_DESC_STATUS_DMA_ERROR);
    rb_check("off: x-stat-injected", sg_qom_get(&g, "x-stat-injected"), 1);
    rb_check("off: DBG_INJECTED", sg_rd(&g, SVMGPU_REG_DBG_INJECTED), 0);
    sg_wr(&g, SVMGPU_REG_DBG_HANG, 1);
    rb_check("off: hang write ignored", sg_rd(&g, SVMGPU_REG_STATUS), 0);
    rb_check_alive(&g, "off: alive");
    sg_stop(&g);
}

/* === 9. behind an IOMMU (intel-iommu) === */

/* intel-iommu's registers on q35 (VT-d specification, chapter 11) */
#define RB_VTD_BASE         0xfed90000ull
#define RB_VTD_GCMD         0x18
#define RB_VTD_GSTS         0x1c
#define RB_VTD_RTADDR       0x20
#define RB_VTD_FSTS         0x34
#define RB_VTD_FECTL        0x38
#define RB_VTD_FEDATA       0x3c
#define RB_VTD_FEADDR       0x40
#define RB_VTD_TE           (1u << 31)  /* GCMD, GSTS: translation enable */
#define RB_VTD_SRTP         (1u << 30)  /* GCMD, GSTS: root table pointer */
#define RB_VTD_FSTS_PPF     (1u << 1)   /* a primary fault is recorded */
#define RB_VTD_ROOT         0x900000ull /* between page tables and data */

static void rb_vtd_wait(SgDev *g, uint32_t bit, bool set)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;

    while (!!(qtest_readl(g->qts, RB_VTD_BASE + RB_VTD_GSTS) & bit) != set) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
}

/*
 * DMA remapping on with an empty root table: every DMA of the device faults
 * in the IOMMU, whose fault event (unmasked) is an MSI to the local APIC.
 */
static void rb_vtd_block_all(SgDev *g)
{
    qtest_memset(g->qts, RB_VTD_ROOT, 0, 4096);
    qtest_writel(g->qts, RB_VTD_BASE + RB_VTD_FEADDR, 0xfee00000);
    qtest_writel(g->qts, RB_VTD_BASE + RB_VTD_FEDATA, 0x40);
    qtest_writel(g->qts, RB_VTD_BASE + RB_VTD_FECTL, 0);
    qtest_writeq(g->qts, RB_VTD_BASE + RB_VTD_RTADDR, RB_VTD_ROOT);
    qtest_writel(g->qts, RB_VTD_BASE + RB_VTD_GCMD, RB_VTD_SRTP);
    rb_vtd_wait(g, RB_VTD_SRTP, true);
    qtest_writel(g->qts, RB_VTD_BASE + RB_VTD_GCMD, RB_VTD_TE);
    rb_vtd_wait(g, RB_VTD_TE, true);
}

/*
 * Behind an IOMMU, translation may take the BQL (intel-iommu's fault event
 * is an MSI, delivered under it), so the engine runs its commands under the
 * BQL and lets go of it only where it is idle. Before, the engine thread
 * delivered the IOMMU's fault event without the BQL (QEMU aborted on
 * cpu_interrupt()'s assertion), and a vCPU waiting for the engine under the
 * BQL could wait forever.
 */
static void test_iommu(void)
{
    uint8_t d[SVMGPU_DESC_SIZE];
    SgDev g;

    sg_start_with(&g, "-device intel-iommu", "");
    rb_check_alive(&g, "behind the IOMMU, remapping off");

    /* Long copies, a ring disable and an FLR in the middle of them. */
    rb_queue_big_copies(&g, 4);
    g_usleep(20000);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), 0);
    rb_check("ring disabled mid-copy", sg_rd(&g, SVMGPU_REG_RING_CONTROL(0)),
             0);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), SVMGPU_RING_CONTROL_ENABLE);
    g.tail = 0;
    rb_check_alive(&g, "after a ring disable mid-copy");
    rb_queue_big_copies(&g, 4);
    g_usleep(20000);
    rb_flr(&g);
    rb_after_reset(&g, "FLR mid-copy behind the IOMMU");

    /* Remapping on, nothing mapped: the descriptor fetch faults. */
    rb_vtd_block_all(&g);
    rb_clear_errors(&g);
    sg_desc(d, SVMGPU_OP_NOP, 0, 0);
    sg_submit(&g, d);
    sg_wait_reg(&g, SVMGPU_REG_ERROR, SVMGPU_ERROR_RING_FETCH,
                SVMGPU_ERROR_RING_FETCH);
    rb_check("the IOMMU recorded the fault",
             qtest_readl(g.qts, RB_VTD_BASE + RB_VTD_FSTS) & RB_VTD_FSTS_PPF,
             RB_VTD_FSTS_PPF);

    /* Remapping off: the device works again. */
    qtest_writel(g.qts, RB_VTD_BASE + RB_VTD_GCMD, 0);
    rb_vtd_wait(&g, RB_VTD_TE, false);
    rb_clear_errors(&g);
    sg_wr(&g, SVMGPU_REG_RING_CONTROL(0), SVMGPU_RING_CONTROL_ENABLE);
    g.tail = 0;
    rb_check_alive(&g, "after the IOMMU fault");
    sg_stop(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/svmgpu/robust/invalid-descriptors",
                   test_invalid_descriptors);
    qtest_add_func("/svmgpu/robust/out-of-range", test_out_of_range);
    qtest_add_func("/svmgpu/robust/mmu-errors", test_mmu_errors);
    qtest_add_func("/svmgpu/robust/ring-config-errors",
                   test_ring_config_errors);
    qtest_add_func("/svmgpu/robust/ring-fetch-error", test_ring_fetch_error);
    qtest_add_func("/svmgpu/robust/random-descriptors",
                   test_random_descriptors);
    qtest_add_func("/svmgpu/robust/reset-mid-work", test_reset_mid_work);
    qtest_add_func("/svmgpu/robust/inject-dma-error-nth",
                   test_inject_dma_error_nth);
    qtest_add_func("/svmgpu/robust/inject-dma-error-ppm",
                   test_inject_dma_error_ppm);
    qtest_add_func("/svmgpu/robust/inject-latency", test_inject_latency);
    qtest_add_func("/svmgpu/robust/inject-latency-limit",
                   test_inject_latency_limit);
    qtest_add_func("/svmgpu/robust/inject-irq-drop", test_inject_irq_drop);
    qtest_add_func("/svmgpu/robust/inject-irq-dup", test_inject_irq_dup);
    qtest_add_func("/svmgpu/robust/inject-hang", test_inject_hang);
    qtest_add_func("/svmgpu/robust/inject-poison", test_inject_poison);
    qtest_add_func("/svmgpu/robust/inject-spurious", test_inject_spurious);
    qtest_add_func("/svmgpu/robust/inject-seed", test_inject_seed);
    qtest_add_func("/svmgpu/robust/debug-window", test_debug_window);
    if (qtest_has_device("intel-iommu")) {
        qtest_add_func("/svmgpu/robust/iommu", test_iommu);
    }
    return g_test_run();
}
