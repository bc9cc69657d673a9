/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu hardware contract: the one definition of every register offset,
 * bit and in-memory format the device model (hw/svmgpu) and the guest driver
 * (drivers/svmgpu) share. Nothing here may be defined a second time on
 * either side. docs/device.md is the prose specification.
 *
 * All registers are little-endian and 32 bits wide; 64-bit quantities are
 * split into _LO/_HI halves. Reads of undefined offsets return 0, writes to
 * them are ignored (and logged by the device as a guest error). In-memory
 * structures (ring descriptors, fault records, page table entries) are
 * little-endian.
 *
 * This header must stay includable from the Linux kernel, from QEMU and
 * from user space, and pass both projects' checkpatch: macros only. The
 * in-memory formats are given as byte offsets and widths; each side reads
 * and writes them with explicit little-endian accessors.
 */
#ifndef SVMGPU_HW_H
#define SVMGPU_HW_H

/* Neither side's BIT() exists on the other, nor in user space. */
#define SVMGPU_BIT(n)                   (1u << (n))
#define SVMGPU_BIT64(n)                 (1ull << (n))

/* PCI identity: Red Hat / Qumranet vendor, experimental device range. */
#define SVMGPU_PCI_VENDOR_ID            0x1af4
#define SVMGPU_PCI_DEVICE_ID            0x10f0
#define SVMGPU_PCI_REVISION             0x01
/* PCI class code: display controller, 3D (no VGA). */
#define SVMGPU_PCI_CLASS_DISPLAY_3D     0x0302

/*
 * Contract version. The driver refuses a device whose major differs from
 * the one it was built with; a newer minor only adds registers.
 */
#define SVMGPU_HW_MAJOR                 2
#define SVMGPU_HW_MINOR                 0
#define SVMGPU_VERSION_MAJOR_SHIFT      16
#define SVMGPU_VERSION_MINOR_MASK       0xffffu
#define SVMGPU_VERSION(maj, min) (((maj) << SVMGPU_VERSION_MAJOR_SHIFT) | (min))
#define SVMGPU_HW_VERSION       SVMGPU_VERSION(SVMGPU_HW_MAJOR, SVMGPU_HW_MINOR)

/* BAR 0: 64-bit MMIO, registers. BAR 2: 64-bit prefetchable VRAM (coherent). */
#define SVMGPU_BAR_REGS                 0
#define SVMGPU_BAR_VRAM                 2
#define SVMGPU_REGS_SIZE                0x4000
#define SVMGPU_MSIX_TABLE_OFFSET        0x2000  /* in BAR 0 */
#define SVMGPU_MSIX_PBA_OFFSET          0x3000  /* in BAR 0 */

/* MSI-X vectors */
#define SVMGPU_VEC_COMPLETION           0   /* a FENCE completed */
#define SVMGPU_VEC_FAULT                1   /* a fault record was written */
#define SVMGPU_VEC_ERROR                2   /* an error: see SVMGPU_REG_ERROR */
#define SVMGPU_NUM_VECTORS              3

/* VRAM size limits (bytes); the size is always a power of two. */
#define SVMGPU_VRAM_SIZE_MIN            (2ull << 20)    /* one 2 MiB folio */
#define SVMGPU_VRAM_SIZE_MAX            (16ull << 30)

/* Device MMU contexts (address spaces) */
#define SVMGPU_CONTEXTS_MAX             64

/* === Registers === */

/* Identification block (read-only unless said otherwise) */
#define SVMGPU_REG_ID                   0x0000  /* SVMGPU_ID_MAGIC */
#define SVMGPU_REG_VERSION              0x0004  /* SVMGPU_HW_VERSION */
#define SVMGPU_REG_MEM_MODE             0x0008  /* SVMGPU_MEM_MODE_* */
#define SVMGPU_REG_CAPS                 0x000c  /* SVMGPU_CAP_* */
#define SVMGPU_REG_VRAM_SIZE_LO         0x0010
#define SVMGPU_REG_VRAM_SIZE_HI         0x0014
#define SVMGPU_REG_SCRATCH              0x0018  /* RW, cleared on reset */
#define SVMGPU_REG_NUM_CONTEXTS         0x001c  /* device MMU contexts */

/* "SVMG" read as a little-endian 32-bit word */
#define SVMGPU_ID_MAGIC                 0x474d5653u

/* private: only the engine reaches VRAM; coherent: also the CPU, via BAR 2 */
#define SVMGPU_MEM_MODE_PRIVATE         0
#define SVMGPU_MEM_MODE_COHERENT        1

/* SVMGPU_REG_CAPS bits */
#define SVMGPU_CAP_VRAM_BAR             SVMGPU_BIT(0)   /* BAR 2 maps VRAM */
#define SVMGPU_CAP_SYSMEM_ATOMICS       SVMGPU_BIT(1)   /* atomics on sysmem */
#define SVMGPU_CAP_DEBUG_WINDOW         SVMGPU_BIT(2)   /* 0x1000 debug regs */

/* Status and interrupts */
#define SVMGPU_REG_STATUS               0x0040  /* RO, SVMGPU_STATUS_* */
#define SVMGPU_REG_INT_STATUS           0x0044  /* RW1C, SVMGPU_INT_* */
#define SVMGPU_REG_ERROR                0x0048  /* RW1C, SVMGPU_ERROR_* */
#define SVMGPU_REG_FENCE_SEQNO_LO       0x0050  /* RO, last FENCE seqno */
#define SVMGPU_REG_FENCE_SEQNO_HI       0x0054

#define SVMGPU_STATUS_ENGINE_BUSY       SVMGPU_BIT(0)   /* descriptors left */
#define SVMGPU_STATUS_FAULT_PENDING     SVMGPU_BIT(1)   /* a command parked */
#define SVMGPU_STATUS_RING_STOPPED      SVMGPU_BIT(2)   /* ring error */
#define SVMGPU_STATUS_HUNG              SVMGPU_BIT(3)   /* injected hang */

#define SVMGPU_INT_COMPLETION           SVMGPU_BIT(0)
#define SVMGPU_INT_FAULT                SVMGPU_BIT(1)
#define SVMGPU_INT_ERROR                SVMGPU_BIT(2)

/* SVMGPU_REG_ERROR: sticky causes of SVMGPU_VEC_ERROR */
#define SVMGPU_ERROR_RING_FETCH         SVMGPU_BIT(0)   /* ring read failed */
#define SVMGPU_ERROR_RING_CONFIG        SVMGPU_BIT(1)   /* bad base/size */
#define SVMGPU_ERROR_FAULTQ_OVERFLOW    SVMGPU_BIT(2)   /* fault queue full */
#define SVMGPU_ERROR_FAULTQ_WRITE       SVMGPU_BIT(3)   /* record unwritable */
#define SVMGPU_ERROR_STATUS_WRITE       SVMGPU_BIT(4)   /* writeback failed */
#define SVMGPU_ERROR_BAD_RESPONSE       SVMGPU_BIT(5)   /* stale fault reply */
#define SVMGPU_ERROR_TLB_INV            SVMGPU_BIT(6)   /* bad TLB_INV_* */

/*
 * Command rings: SVMGPU_NUM_RINGS independent rings. Ring n has
 * SVMGPU_REG_RING_SIZE(n) descriptors of SVMGPU_DESC_SIZE bytes at
 * RING_BASE(n) (system memory, aligned to the descriptor size). The driver
 * fills descriptors and moves TAIL (the doorbell); the device executes each
 * ring's descriptors in order, writes back each descriptor's status, and
 * moves HEAD. Both are indices in [0, RING_SIZE). The engine serves the
 * runnable rings in turn, one command at a time; a fault parks only the
 * ring it happened on. Base and size may only change while the ring is
 * disabled. RING_CONTROL reads back ENABLE and the ring's PARKED and
 * STOPPED state. Disabling is synchronous: when the write completes, the
 * engine has abandoned the ring's command in flight (at its next step) and
 * writes nothing more for it.
 */
#define SVMGPU_NUM_RINGS                4
#define SVMGPU_RING_REG_STRIDE          0x20    /* ring n's block: + n * 0x20 */
#define SVMGPU_REG_RING_BASE_LO(n)      (0x0080 + SVMGPU_RING_REG_STRIDE * (n))
#define SVMGPU_REG_RING_BASE_HI(n)      (0x0084 + SVMGPU_RING_REG_STRIDE * (n))
#define SVMGPU_REG_RING_SIZE(n)         (0x0088 + SVMGPU_RING_REG_STRIDE * (n))
#define SVMGPU_REG_RING_HEAD(n)         (0x008c + SVMGPU_RING_REG_STRIDE * (n))
#define SVMGPU_REG_RING_TAIL(n)         (0x0090 + SVMGPU_RING_REG_STRIDE * (n))
#define SVMGPU_REG_RING_CONTROL(n)      (0x0094 + SVMGPU_RING_REG_STRIDE * (n))
#define SVMGPU_RING_SIZE_MAX            65536
#define SVMGPU_RING_CONTROL_ENABLE      SVMGPU_BIT(0)
#define SVMGPU_RING_CONTROL_PARKED      SVMGPU_BIT(1)   /* RO: on a fault */
#define SVMGPU_RING_CONTROL_STOPPED     SVMGPU_BIT(2)   /* RO: fetch error */

/*
 * Fault queue: FAULTQ_SIZE records of SVMGPU_FAULT_RECORD_SIZE bytes at
 * FAULTQ_BASE. The device writes at TAIL and moves it; the driver consumes
 * at HEAD and moves it. Full (TAIL + 1 == HEAD) means a new fault cannot be
 * recorded: SVMGPU_ERROR_FAULTQ_OVERFLOW is raised and the command stays
 * parked; the device records it once the driver makes room.
 */
#define SVMGPU_REG_FAULTQ_BASE_LO       0x0100
#define SVMGPU_REG_FAULTQ_BASE_HI       0x0104
#define SVMGPU_REG_FAULTQ_SIZE          0x0108  /* power of two, 2..65536 */
#define SVMGPU_REG_FAULTQ_HEAD          0x010c  /* driver: consumed */
#define SVMGPU_REG_FAULTQ_TAIL          0x0110  /* RO: produced */
#define SVMGPU_REG_FAULTQ_CONTROL       0x0114
#define SVMGPU_FAULTQ_CONTROL_ENABLE    SVMGPU_BIT(0)

/*
 * Fault response: the driver answers the parked command's fault, naming its
 * id (SVMGPU_FAULT_RECORD.id, low 30 bits). REPLAY retries the translation
 * and resumes the command there, not from its start (and faults again if the
 * translation still fails); CANCEL completes the command with
 * SVMGPU_DESC_STATUS_FAULT. A response naming another id is ignored and
 * flagged with SVMGPU_ERROR_BAD_RESPONSE.
 */
#define SVMGPU_REG_FAULT_RESPONSE       0x0118
#define SVMGPU_FAULT_RESPONSE_ID_MASK   0x3fffffffu
#define SVMGPU_FAULT_RESPONSE_REPLAY    SVMGPU_BIT(30)
#define SVMGPU_FAULT_RESPONSE_CANCEL    SVMGPU_BIT(31)

/*
 * Synchronous TLB invalidation: set CTX, START and LEN (for the scopes that
 * use them), then write the scope (SVMGPU_TLB_INV_*) to TLB_INV_CONTROL.
 * When that write completes, the entries are gone and no engine access
 * still uses one of them: an access in flight has finished. This is what an
 * MMU-notifier callback needs, and it does not queue behind a parked ring.
 * A bad scope or context is ignored and flagged with ERROR.TLB_INV.
 */
#define SVMGPU_REG_TLB_INV_CTX          0x0120
#define SVMGPU_REG_TLB_INV_START_LO     0x0124
#define SVMGPU_REG_TLB_INV_START_HI     0x0128
#define SVMGPU_REG_TLB_INV_LEN_LO       0x012c
#define SVMGPU_REG_TLB_INV_LEN_HI       0x0130
#define SVMGPU_REG_TLB_INV_CONTROL      0x0134  /* WO: scope */

/*
 * Device MMU: the root table of context n is at CTX_ROOT_LO/HI + 8 * n.
 * Zero means "no page table": every translation of the context faults.
 */
#define SVMGPU_REG_CTX_ROOT_LO(n)       (0x0400 + 8 * (n))
#define SVMGPU_REG_CTX_ROOT_HI(n)       (0x0404 + 8 * (n))

/*
 * Debug window (only with the x-debug-window=on property, else reads 0):
 * the fault-injection knobs of docs/fault-injection.md, for guest tests.
 */
#define SVMGPU_REG_DBG_BASE             0x1000
#define SVMGPU_REG_DBG_DMA_ERROR_NTH    0x1000  /* fail the Nth DMA, 0 off */
#define SVMGPU_REG_DBG_DMA_ERROR_PPM    0x1004  /* fail per million DMAs */
#define SVMGPU_REG_DBG_LATENCY_US       0x1008  /* delay per FENCE */
#define SVMGPU_REG_DBG_IRQ_DROP_NTH     0x100c  /* drop the Nth interrupt */
#define SVMGPU_REG_DBG_IRQ_DUP_NTH      0x1010  /* send the Nth twice */
#define SVMGPU_REG_DBG_HANG             0x1014  /* 1: engine stops */
#define SVMGPU_REG_DBG_SPURIOUS_PPM     0x1018  /* spurious faults/million */
#define SVMGPU_REG_DBG_POISON_ADDR_LO   0x1020  /* VRAM poison range */
#define SVMGPU_REG_DBG_POISON_ADDR_HI   0x1024
#define SVMGPU_REG_DBG_POISON_LEN_LO    0x1028
#define SVMGPU_REG_DBG_POISON_LEN_HI    0x102c
#define SVMGPU_REG_DBG_INJECTED         0x1040  /* RO: injections done */
#define SVMGPU_REG_DBG_END              0x1100

/* === Ring descriptor (64 bytes) === */
#define SVMGPU_DESC_SIZE                64
#define SVMGPU_DESC_OPCODE              0   /* u8: SVMGPU_OP_* */
#define SVMGPU_DESC_FLAGS               1   /* u8: spaces, SVMGPU_DESC_* */
#define SVMGPU_DESC_CTX                 2   /* u16: MMU context (VIRT) */
#define SVMGPU_DESC_ATOMIC_OP           4   /* u8: SVMGPU_ATOMIC_* / scope */
#define SVMGPU_DESC_WIDTH               5   /* u8: 4 or 8 (ATOMIC, IMM) */
#define SVMGPU_DESC_RESERVED0           6   /* u16: must be zero */
#define SVMGPU_DESC_DST                 8   /* u64: destination address */
#define SVMGPU_DESC_SRC                 16  /* u64: COPY source address */
#define SVMGPU_DESC_LEN                 24  /* u64: bytes (COPY, FILL, INV) */
#define SVMGPU_DESC_OPERAND             32  /* u64: pattern, value, seqno */
#define SVMGPU_DESC_COMPARE             40  /* u64: CMPXCHG expected value */
#define SVMGPU_DESC_RESULT              48  /* u64, device: ATOMIC old value */
#define SVMGPU_DESC_STATUS              56  /* u32, device: DESC_STATUS_* */
#define SVMGPU_DESC_RESERVED1           60  /* u32: must be zero */

/* Opcodes */
#define SVMGPU_OP_NOP                   0
#define SVMGPU_OP_COPY                  1   /* size bytes src -> dst */
#define SVMGPU_OP_FILL                  2   /* dst = operand repeated (LE) */
#define SVMGPU_OP_WRITE_IMM             3   /* width bytes of operand at dst */
#define SVMGPU_OP_ATOMIC                4   /* atomic_op at dst, width bytes */
#define SVMGPU_OP_FENCE                 5   /* 8-byte operand at dst + irq */
#define SVMGPU_OP_TLB_INVALIDATE        6   /* scope in atomic_op */

/*
 * Address spaces of dst and src (2 bits each in flags):
 * VIRT: a device-virtual address, translated by the MMU of context ctx;
 * SYS:  a bus address of system memory (through the IOMMU, if any);
 * VRAM: an offset into VRAM.
 */
#define SVMGPU_SPACE_VIRT               0
#define SVMGPU_SPACE_SYS                1
#define SVMGPU_SPACE_VRAM               2
#define SVMGPU_DESC_DST_SPACE_SHIFT     0
#define SVMGPU_DESC_SRC_SPACE_SHIFT     2
#define SVMGPU_DESC_SPACE_MASK          0x3
#define SVMGPU_DESC_NO_IRQ              SVMGPU_BIT(4)   /* FENCE: no irq */
#define SVMGPU_DESC_FLAGS_VALID         0x1f

/* ATOMIC operations (result: the old value) */
#define SVMGPU_ATOMIC_ADD               0
#define SVMGPU_ATOMIC_XCHG              1
#define SVMGPU_ATOMIC_CMPXCHG           2   /* store operand if == compare */
#define SVMGPU_ATOMIC_AND               3
#define SVMGPU_ATOMIC_OR                4
#define SVMGPU_ATOMIC_XOR               5
#define SVMGPU_ATOMIC_UMIN              6
#define SVMGPU_ATOMIC_UMAX              7
#define SVMGPU_ATOMIC_SMIN              8
#define SVMGPU_ATOMIC_SMAX              9
#define SVMGPU_ATOMIC_NUM_OPS           10

/* TLB_INVALIDATE scopes (in atomic_op) */
#define SVMGPU_TLB_INV_ALL              0   /* every context */
#define SVMGPU_TLB_INV_CONTEXT          1   /* context ctx */
#define SVMGPU_TLB_INV_RANGE            2   /* ctx, [dst, dst + size) */

/* Descriptor status, written back by the device */
#define SVMGPU_DESC_STATUS_PENDING      0   /* the driver writes this */
#define SVMGPU_DESC_STATUS_OK           1
#define SVMGPU_DESC_STATUS_INVALID      2   /* bad opcode/field/alignment */
#define SVMGPU_DESC_STATUS_DMA_ERROR    3   /* system memory access failed */
#define SVMGPU_DESC_STATUS_VRAM_RANGE   4   /* VRAM offset out of range */
#define SVMGPU_DESC_STATUS_FAULT        5   /* fault cancelled by driver */
#define SVMGPU_DESC_STATUS_MMU_ERROR    6   /* page table unreadable/bad */
#define SVMGPU_DESC_STATUS_POISONED     7   /* poisoned VRAM touched */
#define SVMGPU_DESC_STATUS_ATOMIC_DENIED 8  /* physical sysmem atomic, off */

/*
 * === Device MMU page tables ===
 *
 * Four levels of 512 8-byte entries (like x86-64) translate 48-bit
 * device-virtual addresses. Level 3 (root) indexes VA bits 47:39, level 2
 * bits 38:30, level 1 bits 29:21, level 0 bits 20:12. A level-1 entry with
 * HUGE maps 2 MiB. Tables live in system memory; a non-leaf entry holds
 * VALID and the address of the next table.
 */
#define SVMGPU_VA_BITS                  48
#define SVMGPU_PT_LEVELS                4
#define SVMGPU_PT_ENTRIES               512
#define SVMGPU_PAGE_SHIFT               12
#define SVMGPU_HUGE_SHIFT               21

#define SVMGPU_PTE_VALID                SVMGPU_BIT64(0)
#define SVMGPU_PTE_WRITE                SVMGPU_BIT64(1)  /* leaf */
#define SVMGPU_PTE_ATOMIC               SVMGPU_BIT64(2)  /* leaf */
#define SVMGPU_PTE_VRAM                 SVMGPU_BIT64(3)  /* leaf: VRAM */
#define SVMGPU_PTE_HUGE                 SVMGPU_BIT64(4)  /* level 1: 2 MiB */
#define SVMGPU_PTE_ADDR_MASK            0x000ffffffffff000ull
/*
 * A leaf or table entry holds 52 address bits: system memory the device
 * reaches through its page tables must lie below 2^52 (the DMA mask).
 */
#define SVMGPU_DMA_ADDR_BITS            52
/* Any other bit set is an MMU error (SVMGPU_DESC_STATUS_MMU_ERROR). */
#define SVMGPU_PTE_RESERVED_MASK        0xfff00000000001e0ull

/* === Fault record (32 bytes), written by the device to the queue === */
#define SVMGPU_FAULT_RECORD_SIZE        32
#define SVMGPU_FREC_ADDR                0   /* u64: faulting device VA */
#define SVMGPU_FREC_ID                  8   /* u32: id for FAULT_RESPONSE */
#define SVMGPU_FREC_CTX                 12  /* u16: context */
#define SVMGPU_FREC_ACCESS              14  /* u8: SVMGPU_ACCESS_* */
#define SVMGPU_FREC_REASON              15  /* u8: SVMGPU_FAULT_* */
#define SVMGPU_FREC_RING_INDEX          16  /* u32: the parked descriptor */
#define SVMGPU_FREC_FLAGS               20  /* u32: SVMGPU_FAULT_FLAG_* */
#define SVMGPU_FREC_RING                24  /* u8: the parked ring */
#define SVMGPU_FREC_RESERVED            25  /* 7 bytes: zero */

#define SVMGPU_ACCESS_READ              1
#define SVMGPU_ACCESS_WRITE             2
#define SVMGPU_ACCESS_ATOMIC            3

#define SVMGPU_FAULT_NOT_PRESENT        1   /* no valid translation */
#define SVMGPU_FAULT_WRITE_DENIED       2   /* leaf lacks WRITE */
#define SVMGPU_FAULT_ATOMIC_DENIED      3   /* sysmem leaf lacks ATOMIC */
#define SVMGPU_FAULT_ADDRESS            4   /* VA beyond SVMGPU_VA_BITS */

#define SVMGPU_FAULT_FLAG_SPURIOUS      SVMGPU_BIT(0)   /* injected */

#endif /* SVMGPU_HW_H */
