/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu device model: state shared by svmgpu.c (PCI function, registers,
 * properties, lifecycle) and svmgpu-engine.c (command engine, device MMU).
 *
 * Locking: everything below "guarded by lock" is protected by @lock. The
 * lock order is BQL -> @lock. Reset, ring disable and a synchronous TLB
 * invalidation wait for the engine with the BQL held, so the engine must
 * never wait for the BQL while they may be waiting for it:
 *
 * - With the device's DMA going straight to system memory, the engine never
 *   takes the BQL: all its accesses go to RAM or VRAM, which need none
 *   (svmgpu_map_sys() refuses anything else), and interrupts are delivered
 *   by a bottom half.
 * - Behind an IOMMU (@dma_needs_bql), translating a bus address may take
 *   the BQL: intel-iommu takes it to switch a device to pass-through, and
 *   its fault event is an MSI, delivered under the BQL. There the engine
 *   runs each command under the BQL, like a device model without a thread,
 *   and lets go of it only where it is idle (between steps of a long
 *   command, with no mapping held and @engine_active false).
 */

#ifndef HW_SVMGPU_SVMGPU_H
#define HW_SVMGPU_SVMGPU_H

#include "qemu/thread.h"
#include "hw/pci/pci_device.h"
#include "svmgpu/svmgpu_hw.h"

#define TYPE_SVMGPU "svmgpu"

/* Where VRAM offset 0 is in SvmgpuState.vram_as */
#define SVMGPU_VRAM_ENGINE_BASE(s)  ((s)->vram_size)
OBJECT_DECLARE_SIMPLE_TYPE(SvmgpuState, SVMGPU)

#define SVMGPU_TLB_ENTRIES      4096
#define SVMGPU_MAX_CMD_LEN      (1ull << 30)

typedef struct SvmgpuTlbEntry {
    bool valid;
    bool huge;
    uint16_t ctx;
    uint64_t vpn;           /* va >> 12, or va >> 21 when huge */
    uint64_t pte;
} SvmgpuTlbEntry;

/* Fault-injection knobs: QOM properties and the debug window. */
typedef struct SvmgpuInject {
    uint32_t dma_error_nth;     /* countdown; fires once at 1 -> 0 */
    uint32_t dma_error_ppm;
    uint32_t latency_us;
    uint32_t irq_drop_nth;      /* countdown */
    uint32_t irq_dup_nth;       /* countdown */
    uint32_t spurious_ppm;
    bool hang;
    uint64_t poison_addr;
    uint64_t poison_len;
} SvmgpuInject;

/* One command ring and the fault its head command may be parked on. */
typedef struct SvmgpuRing {
    uint64_t base;
    uint32_t size;
    uint32_t head;
    uint32_t tail;
    bool enabled;
    bool stopped;                   /* a descriptor could not be fetched */
    uint32_t gen;                   /* bumped by disable: abandon its work */

    bool parked;                    /* the command at head waits on a fault */
    bool fault_recorded;            /* its record is in the fault queue */
    uint32_t fault_response;        /* SVMGPU_FAULT_RESPONSE_* or 0 */
    uint32_t fault_id;
    uint64_t fault_addr;
    uint16_t fault_ctx;
    uint8_t fault_access;
    uint8_t fault_reason;
    bool fault_spurious;
    uint64_t fault_resume;          /* bytes done before the fault: resumed */
} SvmgpuRing;

typedef struct SvmgpuStats {
    uint64_t commands;
    uint64_t faults;
    uint64_t bytes;
    uint64_t injected;
} SvmgpuStats;

struct SvmgpuState {
    PCIDevice parent_obj;

    /* properties */
    uint64_t vram_size;
    bool sysmem_atomics;
    uint32_t num_contexts;
    uint64_t seed;
    bool debug_window;
    int mem_mode;                   /* SVMGPU_MEM_MODE_*, an enum property */

    /* set at realize, constant after */
    MemoryRegion mmio;
    MemoryRegion vram;
    /*
     * The engine reaches VRAM through an address space of its own, so
     * that its writes are seen by TCG (dirty pages, translated code): an
     * alias of @vram at SVMGPU_VRAM_ENGINE_BASE(s) in a container. Not at
     * 0: QEMU would then render @vram itself as the root, at its own
     * address, which is its BAR address in coherent mode.
     */
    MemoryRegion vram_engine_root;
    MemoryRegion vram_engine_alias;
    AddressSpace vram_as;
    QemuThread engine_thread;
    QEMUBH *irq_bh;
    bool dma_needs_bql;             /* DMA is translated by an IOMMU */

    QemuMutex lock;
    QemuCond work_cond;             /* engine: something may be runnable */
    QemuCond idle_cond;             /* the engine left a command or step */

    /* guarded by lock */
    bool stopping;                  /* unrealize: the thread must exit */
    bool engine_active;             /* the thread is inside a command */
    unsigned active_ring;           /* ... of this ring */
    uint32_t epoch;                 /* bumped by reset: abandon work */
    uint32_t scratch;
    uint32_t int_status;
    uint32_t error;
    uint64_t fence_seqno;
    uint32_t irq_pending[SVMGPU_NUM_VECTORS];   /* for the bottom half */

    SvmgpuRing rings[SVMGPU_NUM_RINGS];
    unsigned next_ring;             /* round-robin position */

    uint64_t faultq_base;
    uint32_t faultq_size;
    uint32_t faultq_head;
    uint32_t faultq_tail;
    bool faultq_enabled;
    uint32_t next_fault_id;

    /*
     * Mappings obtained through a translation and still in use by the
     * engine, and a count of the times that number fell to 0: a
     * synchronous TLB invalidation waits for the next such fall.
     */
    uint32_t xlat_users;
    uint64_t xlat_idle_seq;

    /* TLB_INV_* registers */
    uint32_t tlb_inv_ctx;
    uint64_t tlb_inv_start;
    uint64_t tlb_inv_len;

    uint64_t ctx_root[SVMGPU_CONTEXTS_MAX];
    SvmgpuTlbEntry tlb[SVMGPU_TLB_ENTRIES];

    SvmgpuInject inject;
    SvmgpuStats stats;
    uint64_t prng;
};

/* svmgpu.c */
void svmgpu_raise_locked(SvmgpuState *s, unsigned vector);
void svmgpu_error_locked(SvmgpuState *s, uint32_t error_bits);

/* svmgpu-engine.c */
void *svmgpu_engine_thread(void *opaque);
void svmgpu_tlb_flush_locked(SvmgpuState *s);
void svmgpu_tlb_invalidate_locked(SvmgpuState *s, unsigned scope,
                                  uint16_t ctx, uint64_t start, uint64_t len);
bool svmgpu_inject_roll_locked(SvmgpuState *s, uint32_t ppm);

#endif /* HW_SVMGPU_SVMGPU_H */
