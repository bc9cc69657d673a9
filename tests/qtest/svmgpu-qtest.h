/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the svmgpu qtests: one device with its command ring,
 * fault queue and page tables in guest RAM at fixed addresses, and
 * descriptor building, submission and completion polling.
 *
 * The engine is a thread that runs on real time, not on the virtual clock:
 * completions are polled with a deadline, never waited for forever.
 */

#ifndef SVMGPU_QTEST_H
#define SVMGPU_QTEST_H

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "svmgpu/svmgpu_hw.h"

#define SG_SLOT             4
#define SG_VRAM_SIZE        (16 * MiB)
#define SG_RING_ADDR        0x100000ull     /* 64 descriptors */
#define SG_RING_SIZE        64
#define SG_FAULTQ_ADDR      0x200000ull     /* 16 records */
#define SG_FAULTQ_SIZE      16
#define SG_PT_POOL          0x400000ull     /* page tables, 4 KiB each */
#define SG_PT_POOL_END      0x800000ull
#define SG_DATA             0x1000000ull    /* free for test data, 16 MiB+ */
#define SG_TIMEOUT_US       (10 * G_USEC_PER_SEC)

typedef struct SgDev {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar regs;
    uint32_t tail;          /* next free ring slot */
    uint32_t fq_head;       /* next fault record to consume */
    uint64_t pt_next;       /* page-table pool allocator */
} SgDev;

static inline uint32_t sg_rd(SgDev *g, uint32_t reg)
{
    return qpci_io_readl(g->dev, g->regs, reg);
}

static inline void sg_wr(SgDev *g, uint32_t reg, uint32_t val)
{
    qpci_io_writel(g->dev, g->regs, reg, val);
}

static inline void sg_wr64(SgDev *g, uint32_t lo, uint64_t val)
{
    sg_wr(g, lo, (uint32_t)val);
    sg_wr(g, lo + 4, val >> 32);
}

/* Set up ring and fault queue on an enabled device (after reset too). */
static inline void sg_setup_queues(SgDev *g)
{
    sg_wr64(g, SVMGPU_REG_RING_BASE_LO(0), SG_RING_ADDR);
    sg_wr(g, SVMGPU_REG_RING_SIZE(0), SG_RING_SIZE);
    sg_wr(g, SVMGPU_REG_RING_CONTROL(0), SVMGPU_RING_CONTROL_ENABLE);
    sg_wr64(g, SVMGPU_REG_FAULTQ_BASE_LO, SG_FAULTQ_ADDR);
    sg_wr(g, SVMGPU_REG_FAULTQ_SIZE, SG_FAULTQ_SIZE);
    sg_wr(g, SVMGPU_REG_FAULTQ_CONTROL, SVMGPU_FAULTQ_CONTROL_ENABLE);
    g->tail = 0;
    g->fq_head = 0;
    g->pt_next = SG_PT_POOL;
}

/*
 * Start QEMU with @machine (more QEMU arguments, before the device: an
 * IOMMU must come first; may be "") and one svmgpu (id gpu0, VRAM 16 MiB)
 * plus @props (a comma-separated list, may be ""), map BAR 0, and set up
 * the queues.
 */
static inline void sg_start_with(SgDev *g, const char *machine,
                                 const char *props)
{
    const char *extra = g_getenv("SVMGPU_QTEST_ARGS");

    memset(g, 0, sizeof(*g));
    g->qts = qtest_initf("-M q35 -m 512M -nodefaults %s %s "
                         "-device svmgpu,id=gpu0,addr=%02x.0,vram-size=%u%s%s",
                         extra ? extra : "", machine, SG_SLOT,
                         (unsigned)SG_VRAM_SIZE, *props ? "," : "", props);
    g->bus = qpci_new_pc(g->qts, NULL);
    g->dev = qpci_device_find(g->bus, QPCI_DEVFN(SG_SLOT, 0));
    g_assert_nonnull(g->dev);
    qpci_device_enable(g->dev);
    g->regs = qpci_iomap(g->dev, SVMGPU_BAR_REGS, NULL);
    sg_setup_queues(g);
}

static inline void sg_start(SgDev *g, const char *props)
{
    sg_start_with(g, "", props);
}

static inline void sg_stop(SgDev *g)
{
    g_free(g->dev);
    qpci_free_pc(g->bus);
    qtest_quit(g->qts);
}

/* A zeroed descriptor with its opcode and the spaces of dst and src. */
static inline void sg_desc(uint8_t *d, uint8_t opcode, uint8_t dst_space,
                           uint8_t src_space)
{
    memset(d, 0, SVMGPU_DESC_SIZE);
    d[SVMGPU_DESC_OPCODE] = opcode;
    d[SVMGPU_DESC_FLAGS] = (dst_space << SVMGPU_DESC_DST_SPACE_SHIFT) |
                           (src_space << SVMGPU_DESC_SRC_SPACE_SHIFT);
}

static inline uint64_t sg_slot_addr(uint32_t slot)
{
    return SG_RING_ADDR + (uint64_t)slot * SVMGPU_DESC_SIZE;
}

/* Write @d at the next slot (status forced to PENDING), ring the doorbell. */
static inline uint32_t sg_submit(SgDev *g, const uint8_t *d)
{
    uint8_t copy[SVMGPU_DESC_SIZE];
    uint32_t slot = g->tail;

    memcpy(copy, d, sizeof(copy));
    stl_le_p(copy + SVMGPU_DESC_STATUS, SVMGPU_DESC_STATUS_PENDING);
    qtest_memwrite(g->qts, sg_slot_addr(slot), copy, sizeof(copy));
    g->tail = (g->tail + 1) % SG_RING_SIZE;
    sg_wr(g, SVMGPU_REG_RING_TAIL(0), g->tail);
    return slot;
}

static inline uint32_t sg_status(SgDev *g, uint32_t slot)
{
    return qtest_readl(g->qts, sg_slot_addr(slot) + SVMGPU_DESC_STATUS);
}

static inline uint64_t sg_result(SgDev *g, uint32_t slot)
{
    return qtest_readq(g->qts, sg_slot_addr(slot) + SVMGPU_DESC_RESULT);
}

/* Poll until @slot has a status; fail the test after SG_TIMEOUT_US. */
static inline uint32_t sg_wait(SgDev *g, uint32_t slot)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;
    uint32_t st;

    while ((st = sg_status(g, slot)) == SVMGPU_DESC_STATUS_PENDING) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
    return st;
}

/* Submit and wait: the descriptor's status. */
static inline uint32_t sg_run(SgDev *g, const uint8_t *d)
{
    return sg_wait(g, sg_submit(g, d));
}

/* Poll until a register satisfies (value & mask) == want. */
static inline void sg_wait_reg(SgDev *g, uint32_t reg, uint32_t mask,
                               uint32_t want)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;

    while ((sg_rd(g, reg) & mask) != want) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
}

/*
 * An MSI-X vector left masked sets its PBA bit. The bottom half that sends
 * it runs in the main loop, unordered with the engine's status writeback:
 * poll for the bit rather than reading it once.
 */
static inline bool sg_msix_pending_eventually(SgDev *g, uint16_t vec)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;

    while (!qpci_msix_pending(g->dev, vec)) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(100);
    }
    return true;
}

/* Wait for the next fault record and consume it (moves FAULTQ_HEAD). */
static inline void sg_next_fault(SgDev *g, uint8_t *rec)
{
    gint64 deadline = g_get_monotonic_time() + SG_TIMEOUT_US;

    while (sg_rd(g, SVMGPU_REG_FAULTQ_TAIL) == g->fq_head) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
    qtest_memread(g->qts, SG_FAULTQ_ADDR +
                  (uint64_t)g->fq_head * SVMGPU_FAULT_RECORD_SIZE,
                  rec, SVMGPU_FAULT_RECORD_SIZE);
    g->fq_head = (g->fq_head + 1) % SG_FAULTQ_SIZE;
    sg_wr(g, SVMGPU_REG_FAULTQ_HEAD, g->fq_head);
}

static inline void sg_respond(SgDev *g, uint32_t id, uint32_t action)
{
    sg_wr(g, SVMGPU_REG_FAULT_RESPONSE,
          (id & SVMGPU_FAULT_RESPONSE_ID_MASK) | action);
}

/* === page tables, built in guest RAM === */

static inline uint64_t sg_pt_alloc(SgDev *g)
{
    uint64_t t = g->pt_next;

    g_assert_cmphex(t, <, SG_PT_POOL_END);
    g->pt_next += 4096;
    qtest_memset(g->qts, t, 0, 4096);
    return t;
}

/*
 * Install leaf @pte (with its address and permission bits) for @va in
 * context @ctx: at level 0, or at level 1 when @pte has SVMGPU_PTE_HUGE.
 * Returns the guest address of the leaf entry, to change it later.
 */
static inline uint64_t sg_map(SgDev *g, uint16_t ctx, uint64_t va,
                              uint64_t pte)
{
    int leaf_level = pte & SVMGPU_PTE_HUGE ? 1 : 0;
    uint64_t table = sg_rd(g, SVMGPU_REG_CTX_ROOT_LO(ctx)) |
                     (uint64_t)sg_rd(g, SVMGPU_REG_CTX_ROOT_HI(ctx)) << 32;

    if (!table) {
        table = sg_pt_alloc(g);
        sg_wr64(g, SVMGPU_REG_CTX_ROOT_LO(ctx), table);
    }
    for (int level = SVMGPU_PT_LEVELS - 1; ; level--) {
        unsigned shift = SVMGPU_PAGE_SHIFT + 9 * level;
        uint64_t at = table + ((va >> shift) & (SVMGPU_PT_ENTRIES - 1)) * 8;
        uint64_t e;

        if (level == leaf_level) {
            qtest_writeq(g->qts, at, pte);
            return at;
        }
        e = qtest_readq(g->qts, at);
        if (!(e & SVMGPU_PTE_VALID)) {
            e = sg_pt_alloc(g) | SVMGPU_PTE_VALID;
            qtest_writeq(g->qts, at, e);
        }
        table = e & SVMGPU_PTE_ADDR_MASK;
    }
}

/* === fault-injection knobs and counters (QOM, /machine/peripheral/gpu0) */

static inline void sg_qom_set(SgDev *g, const char *prop, uint64_t val)
{
    qtest_qmp_assert_success(g->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral/gpu0', "
                             "'property': %s, 'value': %" PRIu64 "}}",
                             prop, val);
}

static inline void sg_qom_set_bool(SgDev *g, const char *prop, bool val)
{
    qtest_qmp_assert_success(g->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral/gpu0', "
                             "'property': %s, 'value': %i}}", prop, val);
}

/* The qom-get reply for @prop (it must have a return value); unref it. */
static inline QDict *sg_qom_get_reply(SgDev *g, const char *prop)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': '/machine/peripheral/gpu0', "
                           "'property': %s}}", prop);

    g_assert(qdict_haskey(rsp, "return"));
    return rsp;
}

static inline uint64_t sg_qom_get(SgDev *g, const char *prop)
{
    QDict *rsp = sg_qom_get_reply(g, prop);
    uint64_t val = qdict_get_uint(rsp, "return");

    qobject_unref(rsp);
    return val;
}

static inline bool sg_qom_get_bool(SgDev *g, const char *prop)
{
    QDict *rsp = sg_qom_get_reply(g, prop);
    bool val = qdict_get_bool(rsp, "return");

    qobject_unref(rsp);
    return val;
}

#endif /* SVMGPU_QTEST_H */
