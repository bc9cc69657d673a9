/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu: an emulated PCIe GPU for shared-virtual-memory driver development
 *
 * This file is the device's PCI face: registers, MSI-X, reset, properties,
 * fault-injection knobs and lifecycle. The command engine and device MMU
 * are in svmgpu-engine.c. The register map is include/svmgpu/svmgpu_hw.h,
 * shared with the guest driver; docs/device.md is the specification.
 *
 * VRAM is always RAM-backed. In coherent mode it is also BAR 2, so the guest
 * CPU maps the very bytes the engine sees (memory_region_init_ram, not an
 * I/O region: every CPU access must be a plain RAM access, not a trap). In
 * private mode BAR 2 does not exist and only the engine reaches VRAM.
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "hw/pci/pcie_aer.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/address-spaces.h"
#include "svmgpu.h"
#include "trace.h"

/* === Interrupts and errors === */

/*
 * Latch the cause and queue the vector for the bottom half, which delivers
 * it under the BQL. The engine thread calls this, so it must not take the
 * BQL itself. Injected drops and duplicates are decided here.
 */
void svmgpu_raise_locked(SvmgpuState *s, unsigned vector)
{
    static const uint32_t cause[SVMGPU_NUM_VECTORS] = {
        [SVMGPU_VEC_COMPLETION] = SVMGPU_INT_COMPLETION,
        [SVMGPU_VEC_FAULT] = SVMGPU_INT_FAULT,
        [SVMGPU_VEC_ERROR] = SVMGPU_INT_ERROR,
    };
    unsigned count = 1;

    s->int_status |= cause[vector];
    if (s->inject.irq_drop_nth && --s->inject.irq_drop_nth == 0) {
        count = 0;
        s->stats.injected++;
        trace_svmgpu_inject("irq-drop");
    } else if (s->inject.irq_dup_nth && --s->inject.irq_dup_nth == 0) {
        count = 2;
        s->stats.injected++;
        trace_svmgpu_inject("irq-duplicate");
    }
    s->irq_pending[vector] += count;
    if (count) {
        qemu_bh_schedule(s->irq_bh);
    }
}

void svmgpu_error_locked(SvmgpuState *s, uint32_t error_bits)
{
    trace_svmgpu_error(error_bits);
    s->error |= error_bits;
    svmgpu_raise_locked(s, SVMGPU_VEC_ERROR);
}

static void svmgpu_irq_bh(void *opaque)
{
    SvmgpuState *s = opaque;
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t pending[SVMGPU_NUM_VECTORS];

    WITH_QEMU_LOCK_GUARD(&s->lock) {
        memcpy(pending, s->irq_pending, sizeof(pending));
        memset(s->irq_pending, 0, sizeof(s->irq_pending));
    }
    for (unsigned vec = 0; vec < SVMGPU_NUM_VECTORS; vec++) {
        for (unsigned i = 0; i < pending[vec]; i++) {
            trace_svmgpu_irq(vec);
            if (msix_enabled(pdev)) {
                msix_notify(pdev, vec);
            }
        }
    }
}

/* === Registers === */

/* The ring whose register block holds @addr. */
static unsigned svmgpu_ring_of(hwaddr addr)
{
    return (addr - SVMGPU_REG_RING_BASE_LO(0)) / SVMGPU_RING_REG_STRIDE;
}

/* The low or high 32 bits of a 64-bit register pair. */
static uint32_t svmgpu_half(uint64_t v, bool high)
{
    return high ? v >> 32 : (uint32_t)v;
}

static uint32_t svmgpu_status_locked(SvmgpuState *s)
{
    uint32_t st = 0;

    for (unsigned n = 0; n < SVMGPU_NUM_RINGS; n++) {
        SvmgpuRing *r = &s->rings[n];

        if (r->enabled && r->head != r->tail) {
            st |= SVMGPU_STATUS_ENGINE_BUSY;
        }
        if (r->parked) {
            st |= SVMGPU_STATUS_FAULT_PENDING;
        }
        if (r->stopped) {
            st |= SVMGPU_STATUS_RING_STOPPED;
        }
    }
    if (s->inject.hang) {
        st |= SVMGPU_STATUS_HUNG;
    }
    return st;
}

static uint32_t svmgpu_caps(SvmgpuState *s)
{
    return (s->mem_mode == SVMGPU_MEM_MODE_COHERENT ? SVMGPU_CAP_VRAM_BAR : 0) |
           (s->sysmem_atomics ? SVMGPU_CAP_SYSMEM_ATOMICS : 0) |
           (s->debug_window ? SVMGPU_CAP_DEBUG_WINDOW : 0);
}

static uint64_t svmgpu_dbg_read_locked(SvmgpuState *s, hwaddr addr)
{
    SvmgpuInject *in = &s->inject;

    switch (addr) {
    case SVMGPU_REG_DBG_DMA_ERROR_NTH:
        return in->dma_error_nth;
    case SVMGPU_REG_DBG_DMA_ERROR_PPM:
        return in->dma_error_ppm;
    case SVMGPU_REG_DBG_LATENCY_US:
        return in->latency_us;
    case SVMGPU_REG_DBG_IRQ_DROP_NTH:
        return in->irq_drop_nth;
    case SVMGPU_REG_DBG_IRQ_DUP_NTH:
        return in->irq_dup_nth;
    case SVMGPU_REG_DBG_HANG:
        return in->hang;
    case SVMGPU_REG_DBG_SPURIOUS_PPM:
        return in->spurious_ppm;
    case SVMGPU_REG_DBG_POISON_ADDR_LO:
    case SVMGPU_REG_DBG_POISON_ADDR_HI:
        return svmgpu_half(in->poison_addr,
                           addr == SVMGPU_REG_DBG_POISON_ADDR_HI);
    case SVMGPU_REG_DBG_POISON_LEN_LO:
    case SVMGPU_REG_DBG_POISON_LEN_HI:
        return svmgpu_half(in->poison_len,
                           addr == SVMGPU_REG_DBG_POISON_LEN_HI);
    case SVMGPU_REG_DBG_INJECTED:
        return (uint32_t)s->stats.injected;
    }
    return 0;
}

static bool svmgpu_dbg_write_locked(SvmgpuState *s, hwaddr addr, uint32_t v)
{
    SvmgpuInject *in = &s->inject;

    switch (addr) {
    case SVMGPU_REG_DBG_DMA_ERROR_NTH:
        in->dma_error_nth = v;
        return true;
    case SVMGPU_REG_DBG_DMA_ERROR_PPM:
        in->dma_error_ppm = MIN(v, 1000000);
        return true;
    case SVMGPU_REG_DBG_LATENCY_US:
        in->latency_us = MIN(v, 1000000);
        return true;
    case SVMGPU_REG_DBG_IRQ_DROP_NTH:
        in->irq_drop_nth = v;
        return true;
    case SVMGPU_REG_DBG_IRQ_DUP_NTH:
        in->irq_dup_nth = v;
        return true;
    case SVMGPU_REG_DBG_HANG:
        in->hang = v & 1;
        return true;
    case SVMGPU_REG_DBG_SPURIOUS_PPM:
        in->spurious_ppm = MIN(v, 1000000);
        return true;
    case SVMGPU_REG_DBG_POISON_ADDR_LO:
        in->poison_addr = deposit64(in->poison_addr, 0, 32, v);
        return true;
    case SVMGPU_REG_DBG_POISON_ADDR_HI:
        in->poison_addr = deposit64(in->poison_addr, 32, 32, v);
        return true;
    case SVMGPU_REG_DBG_POISON_LEN_LO:
        in->poison_len = deposit64(in->poison_len, 0, 32, v);
        return true;
    case SVMGPU_REG_DBG_POISON_LEN_HI:
        in->poison_len = deposit64(in->poison_len, 32, 32, v);
        return true;
    }
    return false;
}

static uint64_t svmgpu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    SvmgpuState *s = opaque;
    uint64_t val = 0;

    QEMU_LOCK_GUARD(&s->lock);
    if (addr >= SVMGPU_REG_CTX_ROOT_LO(0) &&
        addr < SVMGPU_REG_CTX_ROOT_LO(s->num_contexts)) {
        val = svmgpu_half(s->ctx_root[(addr - SVMGPU_REG_CTX_ROOT_LO(0)) / 8],
                          addr & 4);
        goto out;
    }
    if (addr >= SVMGPU_REG_DBG_BASE && addr < SVMGPU_REG_DBG_END) {
        val = s->debug_window ? svmgpu_dbg_read_locked(s, addr) : 0;
        goto out;
    }
    if (addr >= SVMGPU_REG_RING_BASE_LO(0) &&
        addr < SVMGPU_REG_RING_BASE_LO(SVMGPU_NUM_RINGS)) {
        unsigned n = svmgpu_ring_of(addr);
        SvmgpuRing *r = &s->rings[n];

        if (addr == SVMGPU_REG_RING_BASE_LO(n) ||
            addr == SVMGPU_REG_RING_BASE_HI(n)) {
            val = svmgpu_half(r->base, addr == SVMGPU_REG_RING_BASE_HI(n));
        } else if (addr == SVMGPU_REG_RING_SIZE(n)) {
            val = r->size;
        } else if (addr == SVMGPU_REG_RING_HEAD(n)) {
            val = r->head;
        } else if (addr == SVMGPU_REG_RING_TAIL(n)) {
            val = r->tail;
        } else if (addr == SVMGPU_REG_RING_CONTROL(n)) {
            val = (r->enabled ? SVMGPU_RING_CONTROL_ENABLE : 0) |
                  (r->parked ? SVMGPU_RING_CONTROL_PARKED : 0) |
                  (r->stopped ? SVMGPU_RING_CONTROL_STOPPED : 0);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: read of undefined register 0x%"
                          HWADDR_PRIx "\n", __func__, addr);
        }
        goto out;
    }

    switch (addr) {
    case SVMGPU_REG_ID:
        val = SVMGPU_ID_MAGIC;
        break;
    case SVMGPU_REG_VERSION:
        val = SVMGPU_HW_VERSION;
        break;
    case SVMGPU_REG_MEM_MODE:
        val = s->mem_mode;
        break;
    case SVMGPU_REG_CAPS:
        val = svmgpu_caps(s);
        break;
    case SVMGPU_REG_VRAM_SIZE_LO:
    case SVMGPU_REG_VRAM_SIZE_HI:
        val = svmgpu_half(s->vram_size, addr == SVMGPU_REG_VRAM_SIZE_HI);
        break;
    case SVMGPU_REG_SCRATCH:
        val = s->scratch;
        break;
    case SVMGPU_REG_NUM_CONTEXTS:
        val = s->num_contexts;
        break;
    case SVMGPU_REG_STATUS:
        val = svmgpu_status_locked(s);
        break;
    case SVMGPU_REG_INT_STATUS:
        val = s->int_status;
        break;
    case SVMGPU_REG_ERROR:
        val = s->error;
        break;
    case SVMGPU_REG_FENCE_SEQNO_LO:
    case SVMGPU_REG_FENCE_SEQNO_HI:
        val = svmgpu_half(s->fence_seqno, addr == SVMGPU_REG_FENCE_SEQNO_HI);
        break;
    case SVMGPU_REG_FAULTQ_BASE_LO:
    case SVMGPU_REG_FAULTQ_BASE_HI:
        val = svmgpu_half(s->faultq_base, addr == SVMGPU_REG_FAULTQ_BASE_HI);
        break;
    case SVMGPU_REG_FAULTQ_SIZE:
        val = s->faultq_size;
        break;
    case SVMGPU_REG_FAULTQ_HEAD:
        val = s->faultq_head;
        break;
    case SVMGPU_REG_FAULTQ_TAIL:
        val = s->faultq_tail;
        break;
    case SVMGPU_REG_FAULTQ_CONTROL:
        val = s->faultq_enabled ? SVMGPU_FAULTQ_CONTROL_ENABLE : 0;
        break;
    case SVMGPU_REG_TLB_INV_CTX:
        val = s->tlb_inv_ctx;
        break;
    case SVMGPU_REG_TLB_INV_START_LO:
    case SVMGPU_REG_TLB_INV_START_HI:
        val = svmgpu_half(s->tlb_inv_start,
                          addr == SVMGPU_REG_TLB_INV_START_HI);
        break;
    case SVMGPU_REG_TLB_INV_LEN_LO:
    case SVMGPU_REG_TLB_INV_LEN_HI:
        val = svmgpu_half(s->tlb_inv_len, addr == SVMGPU_REG_TLB_INV_LEN_HI);
        break;
    case SVMGPU_REG_TLB_INV_CONTROL:
        val = 0;    /* an invalidation is complete when its write returns */
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: read of undefined register 0x%" HWADDR_PRIx "\n",
                      __func__, addr);
        break;
    }
out:
    trace_svmgpu_mmio_read(addr, val, size);
    return val;
}

static bool svmgpu_queue_config_ok(uint64_t base, uint32_t size,
                                   unsigned entry_size)
{
    return base && !(base % entry_size) && size >= 2 &&
           size <= SVMGPU_RING_SIZE_MAX && is_power_of_2(size);
}

static void svmgpu_ring_control_locked(SvmgpuState *s, unsigned n,
                                       uint32_t val)
{
    SvmgpuRing *r = &s->rings[n];
    bool enable = val & SVMGPU_RING_CONTROL_ENABLE;

    if (enable == r->enabled) {
        return;
    }
    if (enable && !svmgpu_queue_config_ok(r->base, r->size,
                                          SVMGPU_DESC_SIZE)) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ring %u enabled with base 0x%"
                      PRIx64 " size %u\n", n, r->base, r->size);
        svmgpu_error_locked(s, SVMGPU_ERROR_RING_CONFIG);
        return;
    }
    if (!enable) {
        /*
         * Synchronous: abandon the ring's command in flight and wait until
         * the engine has left it (its next step boundary); it writes back
         * nothing. The engine never waits for the BQL we hold while it is
         * active (svmgpu.h).
         */
        qatomic_inc(&r->gen);
        r->enabled = false;     /* before waiting: start nothing more */
        while (s->engine_active && s->active_ring == n) {
            qemu_cond_wait(&s->idle_cond, &s->lock);
        }
    }
    r->enabled = enable;
    r->stopped = false;
    r->head = r->tail = 0;
    r->parked = false;
}

static void svmgpu_ring_write_locked(SvmgpuState *s, hwaddr addr,
                                     uint32_t val)
{
    unsigned n = svmgpu_ring_of(addr);
    SvmgpuRing *r = &s->rings[n];

    if (addr == SVMGPU_REG_RING_BASE_LO(n) ||
        addr == SVMGPU_REG_RING_BASE_HI(n) ||
        addr == SVMGPU_REG_RING_SIZE(n)) {
        if (r->enabled) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ring %u register 0x%"
                          HWADDR_PRIx " written while enabled\n", n, addr);
        } else if (addr == SVMGPU_REG_RING_SIZE(n)) {
            r->size = val;
        } else {
            r->base = deposit64(r->base,
                                addr == SVMGPU_REG_RING_BASE_HI(n) ? 32 : 0,
                                32, val);
        }
    } else if (addr == SVMGPU_REG_RING_TAIL(n)) {
        if (!r->enabled || val >= r->size) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ring %u TAIL %u with the "
                          "ring %s, size %u\n", n, val,
                          r->enabled ? "enabled" : "disabled", r->size);
            svmgpu_error_locked(s, SVMGPU_ERROR_RING_CONFIG);
            return;
        }
        r->tail = val;
    } else if (addr == SVMGPU_REG_RING_CONTROL(n)) {
        svmgpu_ring_control_locked(s, n, val);
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: write 0x%x to %s register 0x%"
                      HWADDR_PRIx "\n", val,
                      addr == SVMGPU_REG_RING_HEAD(n) ? "read-only" :
                      "undefined", addr);
        return;
    }
    qemu_cond_signal(&s->work_cond);
}

/*
 * Invalidate as TLB_INV_* say, then wait until no engine access still uses
 * a translation taken before: the step in flight ends within a bounded
 * time, and the engine never waits for the BQL we hold while it holds a
 * translation (svmgpu.h).
 */
static void svmgpu_tlb_inv_sync_locked(SvmgpuState *s, uint32_t scope)
{
    uint64_t seq = s->xlat_idle_seq;

    if (scope > SVMGPU_TLB_INV_RANGE ||
        (scope != SVMGPU_TLB_INV_ALL && s->tlb_inv_ctx >= s->num_contexts)) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: TLB_INV scope %u ctx %u\n",
                      scope, s->tlb_inv_ctx);
        svmgpu_error_locked(s, SVMGPU_ERROR_TLB_INV);
        return;
    }
    svmgpu_tlb_invalidate_locked(s, scope, s->tlb_inv_ctx, s->tlb_inv_start,
                                 s->tlb_inv_len);
    while (s->xlat_users && s->xlat_idle_seq == seq) {
        qemu_cond_wait(&s->idle_cond, &s->lock);
    }
}

static void svmgpu_faultq_control_locked(SvmgpuState *s, uint32_t val)
{
    bool enable = val & SVMGPU_FAULTQ_CONTROL_ENABLE;

    if (enable == s->faultq_enabled) {
        return;
    }
    if (enable && !svmgpu_queue_config_ok(s->faultq_base, s->faultq_size,
                                          SVMGPU_FAULT_RECORD_SIZE)) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: fault queue enabled with "
                      "base 0x%" PRIx64 " size %u\n", s->faultq_base,
                      s->faultq_size);
        svmgpu_error_locked(s, SVMGPU_ERROR_RING_CONFIG);
        return;
    }
    s->faultq_enabled = enable;
    s->faultq_head = s->faultq_tail = 0;
    /* A parked fault that can no longer be reported completes as FAULT. */
    for (unsigned n = 0; !enable && n < SVMGPU_NUM_RINGS; n++) {
        SvmgpuRing *r = &s->rings[n];

        if (r->parked && !r->fault_recorded) {
            r->fault_response = SVMGPU_FAULT_RESPONSE_CANCEL;
        }
    }
}

static void svmgpu_fault_response_locked(SvmgpuState *s, uint32_t val)
{
    uint32_t id = val & SVMGPU_FAULT_RESPONSE_ID_MASK;
    uint32_t action = val & (SVMGPU_FAULT_RESPONSE_REPLAY |
                             SVMGPU_FAULT_RESPONSE_CANCEL);

    trace_svmgpu_fault_response(id, action);
    for (unsigned n = 0; n < SVMGPU_NUM_RINGS; n++) {
        SvmgpuRing *r = &s->rings[n];

        if (r->parked && r->fault_recorded && !r->fault_response &&
            id == r->fault_id && (action == SVMGPU_FAULT_RESPONSE_REPLAY ||
                                  action == SVMGPU_FAULT_RESPONSE_CANCEL)) {
            r->fault_response = action;
            return;
        }
    }
    qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: fault response 0x%x does not "
                  "answer a pending fault\n", val);
    svmgpu_error_locked(s, SVMGPU_ERROR_BAD_RESPONSE);
}

/* Set a base register half; refused while its queue is enabled. */
static void svmgpu_set_base_locked(uint64_t *base, bool enabled, bool high,
                                   uint32_t val, hwaddr addr)
{
    if (enabled) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: register 0x%" HWADDR_PRIx
                      " written while its queue is enabled\n", addr);
        return;
    }
    *base = deposit64(*base, high ? 32 : 0, 32, val);
}

static void svmgpu_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    SvmgpuState *s = opaque;

    trace_svmgpu_mmio_write(addr, val, size);
    QEMU_LOCK_GUARD(&s->lock);
    if (addr >= SVMGPU_REG_CTX_ROOT_LO(0) &&
        addr < SVMGPU_REG_CTX_ROOT_LO(s->num_contexts)) {
        uint64_t *root = &s->ctx_root[(addr - SVMGPU_REG_CTX_ROOT_LO(0)) / 8];

        *root = deposit64(*root, addr & 4 ? 32 : 0, 32, val);
        return;
    }
    if (addr >= SVMGPU_REG_DBG_BASE && addr < SVMGPU_REG_DBG_END) {
        if (!s->debug_window || !svmgpu_dbg_write_locked(s, addr, val)) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: debug register 0x%"
                          HWADDR_PRIx " written (x-debug-window=%s)\n", addr,
                          s->debug_window ? "on" : "off");
        }
        qemu_cond_signal(&s->work_cond);   /* e.g. a hang was lifted */
        return;
    }
    if (addr >= SVMGPU_REG_RING_BASE_LO(0) &&
        addr < SVMGPU_REG_RING_BASE_LO(SVMGPU_NUM_RINGS)) {
        svmgpu_ring_write_locked(s, addr, val);
        return;
    }

    switch (addr) {
    case SVMGPU_REG_SCRATCH:
        s->scratch = val;
        break;
    case SVMGPU_REG_INT_STATUS:
        s->int_status &= ~val;
        break;
    case SVMGPU_REG_ERROR:
        s->error &= ~val;
        break;
    case SVMGPU_REG_FAULTQ_BASE_LO:
    case SVMGPU_REG_FAULTQ_BASE_HI:
        svmgpu_set_base_locked(&s->faultq_base, s->faultq_enabled,
                               addr == SVMGPU_REG_FAULTQ_BASE_HI, val, addr);
        break;
    case SVMGPU_REG_FAULTQ_SIZE:
        if (s->faultq_enabled) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: FAULTQ_SIZE written while "
                          "the fault queue is enabled\n");
            break;
        }
        s->faultq_size = val;
        break;
    case SVMGPU_REG_FAULTQ_HEAD:
        if (!s->faultq_enabled || val >= s->faultq_size) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: FAULTQ_HEAD %" PRIu64
                          " out of range\n", val);
            break;
        }
        s->faultq_head = val;
        qemu_cond_signal(&s->work_cond);   /* room for a pending record */
        break;
    case SVMGPU_REG_FAULTQ_CONTROL:
        svmgpu_faultq_control_locked(s, val);
        qemu_cond_signal(&s->work_cond);
        break;
    case SVMGPU_REG_FAULT_RESPONSE:
        svmgpu_fault_response_locked(s, val);
        qemu_cond_signal(&s->work_cond);
        break;
    case SVMGPU_REG_TLB_INV_CTX:
        s->tlb_inv_ctx = val;
        break;
    case SVMGPU_REG_TLB_INV_START_LO:
    case SVMGPU_REG_TLB_INV_START_HI:
        s->tlb_inv_start = deposit64(s->tlb_inv_start,
                                     addr == SVMGPU_REG_TLB_INV_START_HI ?
                                     32 : 0, 32, val);
        break;
    case SVMGPU_REG_TLB_INV_LEN_LO:
    case SVMGPU_REG_TLB_INV_LEN_HI:
        s->tlb_inv_len = deposit64(s->tlb_inv_len,
                                   addr == SVMGPU_REG_TLB_INV_LEN_HI ? 32 : 0,
                                   32, val);
        break;
    case SVMGPU_REG_TLB_INV_CONTROL:
        svmgpu_tlb_inv_sync_locked(s, val);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: write 0x%" PRIx64 " to %s register 0x%"
                      HWADDR_PRIx "\n", __func__, val,
                      addr < SVMGPU_REG_STATUS ? "read-only" : "undefined",
                      addr);
        break;
    }
}

static const MemoryRegionOps svmgpu_mmio_ops = {
    .read = svmgpu_mmio_read,
    .write = svmgpu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Registers are 32-bit; narrower or unaligned accesses are refused. */
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
        .unaligned = false,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* === Fault-injection knobs (run-time QOM properties) === */

typedef enum {
    KNOB_U32,
    KNOB_U64,
    KNOB_BOOL,
} SvmgpuKnobType;

typedef struct SvmgpuKnob {
    const char *name;
    SvmgpuKnobType type;
    size_t offset;              /* in SvmgpuState */
    bool read_only;
    const char *desc;
} SvmgpuKnob;

#define KNOB(n, t, field, ro, d) \
    { .name = n, .type = t, .offset = offsetof(SvmgpuState, field), \
      .read_only = ro, .desc = d }

static const SvmgpuKnob svmgpu_knobs[] = {
    KNOB("x-inject-dma-error-nth", KNOB_U32, inject.dma_error_nth, false,
         "the Nth memory-touching command from now fails (0: off)"),
    KNOB("x-inject-dma-error-ppm", KNOB_U32, inject.dma_error_ppm, false,
         "memory-touching commands failing per million"),
    KNOB("x-inject-latency-us", KNOB_U32, inject.latency_us, false,
         "delay before each FENCE completes (at most 1 s)"),
    KNOB("x-inject-irq-drop-nth", KNOB_U32, inject.irq_drop_nth, false,
         "the Nth interrupt from now is dropped (0: off)"),
    KNOB("x-inject-irq-dup-nth", KNOB_U32, inject.irq_dup_nth, false,
         "the Nth interrupt from now is sent twice (0: off)"),
    KNOB("x-inject-spurious-ppm", KNOB_U32, inject.spurious_ppm, false,
         "spurious faults per million translations"),
    KNOB("x-inject-hang", KNOB_BOOL, inject.hang, false,
         "the engine stops until reset or false"),
    KNOB("x-inject-poison-addr", KNOB_U64, inject.poison_addr, false,
         "start of the poisoned VRAM range"),
    KNOB("x-inject-poison-len", KNOB_U64, inject.poison_len, false,
         "length of the poisoned VRAM range (0: none)"),
    KNOB("x-stat-commands", KNOB_U64, stats.commands, true,
         "commands completed"),
    KNOB("x-stat-faults", KNOB_U64, stats.faults, true, "faults raised"),
    KNOB("x-stat-bytes", KNOB_U64, stats.bytes, true,
         "bytes moved by COPY and FILL"),
    KNOB("x-stat-injected", KNOB_U64, stats.injected, true,
         "injections that fired"),
};

static void svmgpu_knob_get(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    SvmgpuState *s = SVMGPU(obj);
    const SvmgpuKnob *k = opaque;
    void *field = (uint8_t *)s + k->offset;
    uint32_t u32;
    uint64_t u64;
    bool b;

    switch (k->type) {
    case KNOB_U32:
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            u32 = *(uint32_t *)field;
        }
        visit_type_uint32(v, name, &u32, errp);
        break;
    case KNOB_U64:
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            u64 = *(uint64_t *)field;
        }
        visit_type_uint64(v, name, &u64, errp);
        break;
    case KNOB_BOOL:
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            b = *(bool *)field;
        }
        visit_type_bool(v, name, &b, errp);
        break;
    }
}

static void svmgpu_knob_set(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    SvmgpuState *s = SVMGPU(obj);
    const SvmgpuKnob *k = opaque;
    void *field = (uint8_t *)s + k->offset;
    uint32_t u32;
    uint64_t u64;
    bool b;

    switch (k->type) {
    case KNOB_U32:
        if (!visit_type_uint32(v, name, &u32, errp)) {
            return;
        }
        if (g_str_has_suffix(name, "-ppm") && u32 > 1000000) {
            error_setg(errp, "%s is per million: at most 1000000, not %u",
                       name, u32);
            return;
        }
        if (g_str_has_suffix(name, "-us") && u32 > 1000000) {
            error_setg(errp, "%s: at most 1000000 (1 s), not %u", name, u32);
            return;
        }
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            *(uint32_t *)field = u32;
        }
        break;
    case KNOB_U64:
        if (!visit_type_uint64(v, name, &u64, errp)) {
            return;
        }
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            *(uint64_t *)field = u64;
        }
        break;
    case KNOB_BOOL:
        if (!visit_type_bool(v, name, &b, errp)) {
            return;
        }
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            *(bool *)field = b;
        }
        break;
    }
    WITH_QEMU_LOCK_GUARD(&s->lock) {
        qemu_cond_signal(&s->work_cond);
    }
}

static void svmgpu_instance_init(Object *obj)
{
    SvmgpuState *s = SVMGPU(obj);

    /* Plain initialisation only: introspection creates and drops us. */
    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->work_cond);
    qemu_cond_init(&s->idle_cond);
    for (unsigned i = 0; i < ARRAY_SIZE(svmgpu_knobs); i++) {
        const SvmgpuKnob *k = &svmgpu_knobs[i];
        static const char *const type[] = {
            [KNOB_U32] = "uint32", [KNOB_U64] = "uint64", [KNOB_BOOL] = "bool",
        };

        object_property_add(obj, k->name, type[k->type], svmgpu_knob_get,
                            k->read_only ? NULL : svmgpu_knob_set, NULL,
                            (void *)k);
        object_property_set_description(obj, k->name, k->desc);
    }
}

static void svmgpu_instance_finalize(Object *obj)
{
    SvmgpuState *s = SVMGPU(obj);

    qemu_cond_destroy(&s->idle_cond);
    qemu_cond_destroy(&s->work_cond);
    qemu_mutex_destroy(&s->lock);
}

/* === Lifecycle === */

static bool svmgpu_check_props(SvmgpuState *s, Error **errp)
{
    if (s->vram_size < SVMGPU_VRAM_SIZE_MIN ||
        s->vram_size > SVMGPU_VRAM_SIZE_MAX ||
        !is_power_of_2(s->vram_size)) {
        error_setg(errp, "vram-size must be a power of two between %llu MiB "
                   "and %llu GiB, not %" PRIu64 " bytes",
                   SVMGPU_VRAM_SIZE_MIN / MiB, SVMGPU_VRAM_SIZE_MAX / GiB,
                   s->vram_size);
        return false;
    }

    if (s->num_contexts < 1 || s->num_contexts > SVMGPU_CONTEXTS_MAX) {
        error_setg(errp, "num-contexts must be between 1 and %d, not %u",
                   SVMGPU_CONTEXTS_MAX, s->num_contexts);
        return false;
    }
    return true;
}

/* Clear the guest-visible state; the engine must be idle. */
static void svmgpu_clear_state_locked(SvmgpuState *s)
{
    s->scratch = 0;
    s->int_status = 0;
    s->error = 0;
    s->fence_seqno = 0;
    memset(s->irq_pending, 0, sizeof(s->irq_pending));
    memset(s->rings, 0, sizeof(s->rings));
    s->next_ring = 0;
    s->faultq_base = 0;
    s->faultq_size = 0;
    s->faultq_head = s->faultq_tail = 0;
    s->faultq_enabled = false;
    s->next_fault_id = 1;
    s->tlb_inv_ctx = 0;
    s->tlb_inv_start = 0;
    s->tlb_inv_len = 0;
    memset(s->ctx_root, 0, sizeof(s->ctx_root));
    svmgpu_tlb_flush_locked(s);
    s->inject.hang = false;
}

static void svmgpu_realize(PCIDevice *pdev, Error **errp)
{
    SvmgpuState *s = SVMGPU(pdev);

    if (!svmgpu_check_props(s, errp)) {
        return;
    }

    if (pcie_endpoint_cap_init(pdev, 0) < 0) {
        error_setg(errp, "svmgpu: cannot add the PCIe capability");
        return;
    }
    pcie_cap_flr_init(pdev);
    pcie_cap_deverr_init(pdev);
    if (pcie_aer_init(pdev, PCI_ERR_VER, 0x100, PCI_ERR_SIZEOF, errp) < 0) {
        goto err_pcie;
    }

    memory_region_init_io(&s->mmio, OBJECT(s), &svmgpu_mmio_ops, s,
                          "svmgpu-regs", SVMGPU_REGS_SIZE);
    pci_register_bar(pdev, SVMGPU_BAR_REGS,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->mmio);
    if (msix_init(pdev, SVMGPU_NUM_VECTORS, &s->mmio, SVMGPU_BAR_REGS,
                  SVMGPU_MSIX_TABLE_OFFSET, &s->mmio, SVMGPU_BAR_REGS,
                  SVMGPU_MSIX_PBA_OFFSET, 0, errp) < 0) {
        goto err_aer;
    }
    for (unsigned vec = 0; vec < SVMGPU_NUM_VECTORS; vec++) {
        msix_vector_use(pdev, vec);
    }

    if (!memory_region_init_ram(&s->vram, OBJECT(s), "svmgpu-vram",
                                s->vram_size, errp)) {
        goto err_msix;
    }
    memory_region_init(&s->vram_engine_root, OBJECT(s), "svmgpu-vram-engine",
                       2 * s->vram_size);
    memory_region_init_alias(&s->vram_engine_alias, OBJECT(s),
                             "svmgpu-vram-engine-alias", &s->vram, 0,
                             s->vram_size);
    memory_region_add_subregion(&s->vram_engine_root,
                                SVMGPU_VRAM_ENGINE_BASE(s),
                                &s->vram_engine_alias);
    address_space_init(&s->vram_as, &s->vram_engine_root, "svmgpu-vram");
    if (s->mem_mode == SVMGPU_MEM_MODE_COHERENT) {
        pci_register_bar(pdev, SVMGPU_BAR_VRAM,
                         PCI_BASE_ADDRESS_SPACE_MEMORY |
                         PCI_BASE_ADDRESS_MEM_TYPE_64 |
                         PCI_BASE_ADDRESS_MEM_PREFETCH, &s->vram);
    }

    s->dma_needs_bql = pci_device_iommu_address_space(pdev) !=
                       &address_space_memory;
    s->prng = s->seed ? s->seed : 0x5356474d5356474dull;
    WITH_QEMU_LOCK_GUARD(&s->lock) {
        svmgpu_clear_state_locked(s);
    }
    s->irq_bh = qemu_bh_new_guarded(svmgpu_irq_bh, s,
                                    &DEVICE(s)->mem_reentrancy_guard);
    qemu_thread_create(&s->engine_thread, "svmgpu-engine",
                       svmgpu_engine_thread, s, QEMU_THREAD_JOINABLE);
    return;

err_msix:
    msix_unuse_all_vectors(pdev);
    msix_uninit(pdev, &s->mmio, &s->mmio);
err_aer:
    pcie_aer_exit(pdev);
err_pcie:
    pcie_cap_exit(pdev);
}

static void svmgpu_exit(PCIDevice *pdev)
{
    SvmgpuState *s = SVMGPU(pdev);

    WITH_QEMU_LOCK_GUARD(&s->lock) {
        s->stopping = true;
        qatomic_inc(&s->epoch);     /* abandon the command in flight */
        qemu_cond_signal(&s->work_cond);
    }
    /* Behind an IOMMU the engine may be waiting for the BQL to stop. */
    if (s->dma_needs_bql) {
        bql_unlock();
    }
    qemu_thread_join(&s->engine_thread);
    if (s->dma_needs_bql) {
        bql_lock();
    }
    address_space_destroy(&s->vram_as);
    qemu_bh_delete(s->irq_bh);
    msix_unuse_all_vectors(pdev);
    msix_uninit(pdev, &s->mmio, &s->mmio);
    pcie_aer_exit(pdev);
    pcie_cap_exit(pdev);
}

static void svmgpu_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                int len)
{
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

/*
 * System reset and FLR: stop the engine and clear the state. The engine
 * never waits for the BQL while it is active (svmgpu.h), so waiting for it
 * here (BQL held) cannot deadlock; it leaves a command within one bounded
 * step once it sees the new epoch.
 */
static void svmgpu_reset_hold(Object *obj, ResetType type)
{
    SvmgpuState *s = SVMGPU(obj);

    trace_svmgpu_reset(type);
    QEMU_LOCK_GUARD(&s->lock);
    qatomic_inc(&s->epoch);
    while (s->engine_active) {
        qemu_cond_wait(&s->idle_cond, &s->lock);
    }
    svmgpu_clear_state_locked(s);
}

static const VMStateDescription vmstate_svmgpu = {
    .name = TYPE_SVMGPU,
    .unmigratable = 1,
};

static const Property svmgpu_properties[] = {
    DEFINE_PROP_SIZE("vram-size", SvmgpuState, vram_size, 256 * MiB),
    DEFINE_PROP_BOOL("sysmem-atomics", SvmgpuState, sysmem_atomics, false),
    DEFINE_PROP_UINT32("num-contexts", SvmgpuState, num_contexts, 16),
    DEFINE_PROP_UINT64("x-seed", SvmgpuState, seed, 0),
    DEFINE_PROP_BOOL("x-debug-window", SvmgpuState, debug_window, false),
};

/*
 * mem-mode, an enum: its values show in -device svmgpu,help and in QOM
 * introspection, and a wrong one is refused by name. The values are the
 * MEM_MODE register's (svmgpu_hw.h).
 */
static const QEnumLookup svmgpu_mem_mode_lookup = {
    .array = (const char *const[]) {
        [SVMGPU_MEM_MODE_PRIVATE] = "private",
        [SVMGPU_MEM_MODE_COHERENT] = "coherent",
    },
    .size = 2,
};

static int svmgpu_get_mem_mode(Object *obj, Error **errp)
{
    return SVMGPU(obj)->mem_mode;
}

static void svmgpu_set_mem_mode(Object *obj, int value, Error **errp)
{
    if (DEVICE(obj)->realized) {
        error_setg(errp, "mem-mode cannot change once the device is realized");
        return;
    }
    SVMGPU(obj)->mem_mode = value;
}

static void svmgpu_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    k->realize = svmgpu_realize;
    k->exit = svmgpu_exit;
    k->config_write = svmgpu_write_config;
    k->vendor_id = SVMGPU_PCI_VENDOR_ID;
    k->device_id = SVMGPU_PCI_DEVICE_ID;
    k->revision = SVMGPU_PCI_REVISION;
    k->class_id = SVMGPU_PCI_CLASS_DISPLAY_3D;
    rc->phases.hold = svmgpu_reset_hold;
    dc->desc = "svmgpu shared-virtual-memory GPU";
    dc->vmsd = &vmstate_svmgpu;
    device_class_set_props(dc, svmgpu_properties);
    object_class_property_add_enum(oc, "mem-mode", "SvmgpuMemMode",
                                   &svmgpu_mem_mode_lookup,
                                   svmgpu_get_mem_mode, svmgpu_set_mem_mode);
    object_class_property_set_description(oc, "mem-mode",
        "VRAM as device-private (default) or device-coherent memory");
    /* a compute device: no display, no framebuffer */
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo svmgpu_types[] = {
    {
        .name = TYPE_SVMGPU,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(SvmgpuState),
        .instance_init = svmgpu_instance_init,
        .instance_finalize = svmgpu_instance_finalize,
        .class_init = svmgpu_class_init,
        .interfaces = (const InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { }
        },
    },
};

DEFINE_TYPES(svmgpu_types)
