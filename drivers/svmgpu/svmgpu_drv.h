/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmgpu driver: state shared by its files.
 *
 * Lock order (outermost first):
 *   svmgpu_vm.lock              a render-node VM: the drm_gpusvm driver
 *                               lock (range tree, garbage collector)
 *   the mm's mmap_lock          hmm_range_fault, migrations
 *   svmgpu_device.evict_lock    one evictor (see below)
 *   svmgpu_ring.lock            submission on one ring (the user ring's
 *                               before the kernel ring's, for a reset)
 *   drm_gpusvm.notifier_lock    a render-node VM: its notifier lock
 *   svmgpu_mmu.pt_lock          a device MMU context's page tables; the
 *                               "driver lock" of the own core's
 *                               interval-notifier protocol
 *                               (mmu_interval_read_retry)
 *   svmgpu_device.tlb_lock      the TLB_INV_* register sequence (spinlock)
 *   svmgpu_device.ctx_lock      the context table (spinlock)
 *
 * VRAM eviction (svmgpu_device.evict_lock) is taken with at most an mmap
 * read lock held, before any folio lock of the pages it evicts and before
 * the kernel ring's lock; svmgpu_device.vram_lock is a leaf spinlock.
 */
#ifndef _SVMGPU_DRV_H
#define _SVMGPU_DRV_H

#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/memremap.h>
#include <linux/miscdevice.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "svmgpu/svmgpu_hw.h"
#include "uapi/svmgpu.h"

#define SVMGPU_NAME             "svmgpu"
#define SVMGPU_RING_ENTRIES     256
#define SVMGPU_FAULTQ_ENTRIES   64
/* Ring 0 runs user work (it may fault); ring 1 is the kernel's own. */
#define SVMGPU_RING_USER        0
#define SVMGPU_RING_KERNEL      1

struct drm_device;
struct svmgpu_device;
struct svmgpu_pagemap;
struct seq_file;

/* VRAM blocks: 2 MiB, the size of a device THP and the unit of eviction. */
#define SVMGPU_BLOCK_PAGES	(1UL << (SVMGPU_HUGE_SHIFT - PAGE_SHIFT))
#define SVMGPU_HUGE_SIZE	(1UL << SVMGPU_HUGE_SHIFT)

/**
 * struct svmgpu_vram_block - one 2 MiB block of VRAM
 * @lru: on svmgpu_device.vram_lru while @used
 * @used: allocated pages in the block
 * @devmem: while @used, the block holds render-node device memory
 *	(drm_pagemap), not the own core's pages
 * @devmems: with @devmem, the render-node allocations in the block
 */
struct svmgpu_vram_block {
	struct list_head lru;
	unsigned int used;
	bool devmem;
	struct list_head devmems;
};

/**
 * struct svmgpu_ring - one command ring of the device
 * @gdev: the device
 * @id: ring number
 * @lock: serialises submissions, and holds the ring until they complete
 * @desc: DMA-coherent descriptors
 * @desc_dma: their bus address
 * @tail: next free slot; protected by @lock
 * @fence: DMA-coherent word the ring's FENCEs write
 * @fence_dma: its bus address
 * @seqno: last seqno submitted; protected by @lock
 * @slot_errno: why the fault worker cancelled the command in each slot
 *	(negative errno, 0 if none); written by the worker, read by the
 *	submitter after its fence passed
 * @dirty: the last submission ended unfinished without a reset (a fatal
 *	signal, a slow submission aborted, a failed reset): the engine may
 *	still be stuck on it, so a hang seen next is not the next
 *	submitter's fault; protected by @lock
 */
struct svmgpu_ring {
	struct svmgpu_device *gdev;
	unsigned int id;
	struct mutex lock;
	u8 *desc;
	dma_addr_t desc_dma;
	u32 tail;
	__le64 *fence;
	dma_addr_t fence_dma;
	u64 seqno;
	int slot_errno[SVMGPU_RING_ENTRIES];
	bool dirty;
};

/**
 * struct svmgpu_cmd - one engine command, as the driver builds it
 * @opcode: SVMGPU_OP_*
 * @flags: SVMGPU_DESC_* (spaces, NO_IRQ)
 * @ctx: device MMU context of virtual operands
 * @atomic_op: SVMGPU_ATOMIC_* or TLB scope
 * @width: 4 or 8 for WRITE_IMM and ATOMIC
 * @dst: destination address
 * @src: source address (COPY)
 * @len: bytes (COPY, FILL, TLB range)
 * @operand: pattern, value or seqno
 * @compare: CMPXCHG expected value
 * @status: out: SVMGPU_DESC_STATUS_*
 * @result: out: ATOMIC old value
 * @fault_errno: out: with status FAULT, why the fault was cancelled
 *	(negative errno, or 0)
 */
struct svmgpu_cmd {
	u8 opcode;
	u8 flags;
	u16 ctx;
	u8 atomic_op;
	u8 width;
	u64 dst;
	u64 src;
	u64 len;
	u64 operand;
	u64 compare;
	u32 status;
	u64 result;
	int fault_errno;
};

/**
 * struct svmgpu_pt - one device page table and the CPU's view of it
 * @entries: the DMA-coherent table the device walks
 * @dma: its bus address
 * @children: next-level tables (levels 3 to 1), NULL at level 0
 */
struct svmgpu_pt {
	__le64 *entries;
	dma_addr_t dma;
	struct svmgpu_pt **children;
};

/**
 * struct svmgpu_counters - what the device did for a context or the device
 * @faults: device faults serviced
 * @replays: faults answered with REPLAY
 * @cancels: faults answered with CANCEL
 * @invalidations: notifier invalidations that touched device mappings
 * @commands: user commands submitted
 * @pages_mapped: device PTEs written
 * @huge_mapped: of those, 2 MiB ones
 * @migrated_to_vram: pages moved into VRAM
 * @migrated_to_ram: pages moved back to system memory (evicted ones too)
 * @evicted: pages evicted from VRAM (under pressure or on request)
 * @bytes_copied: bytes the engine copied for migrations and evictions
 * @exclusive: device-exclusive grants for atomics on system memory
 * @resets: device resets after a hang
 * @spurious: of @faults, those the device flagged SPURIOUS (injected)
 * @copy_retries: kernel-ring copies run again after a DMA error
 * @aer_correctable: correctable PCIe errors reported
 * @aer_recovered: uncorrectable PCIe errors recovered from by a reset
 */
struct svmgpu_counters {
	atomic64_t faults;
	atomic64_t replays;
	atomic64_t cancels;
	atomic64_t invalidations;
	atomic64_t commands;
	atomic64_t pages_mapped;
	atomic64_t huge_mapped;
	atomic64_t migrated_to_vram;
	atomic64_t migrated_to_ram;
	atomic64_t evicted;
	atomic64_t bytes_copied;
	atomic64_t exclusive;
	atomic64_t resets;
	atomic64_t spurious;
	atomic64_t copy_retries;
	atomic64_t aer_correctable;
	atomic64_t aer_recovered;
};

struct svmgpu_mmu;

/**
 * struct svmgpu_mmu_ops - what the fault worker needs of an SVM front end
 * @service_fault: service a device fault of the context: 0 to REPLAY, a
 *	negative errno to CANCEL (the submitter sees it); process context,
 *	called with a reference held
 * @detach: the device is going away: drop every hardware resource of the
 *	context now (svmgpu_mmu_detach() and whatever the front end maps)
 * @release: free the front end's object; the last reference is gone
 */
struct svmgpu_mmu_ops {
	int (*service_fault)(struct svmgpu_mmu *mmu, u64 addr, u8 access);
	void (*detach)(struct svmgpu_mmu *mmu);
	void (*release)(struct svmgpu_mmu *mmu);
};

/**
 * struct svmgpu_mmu - one device MMU context and its page tables
 * @gdev: the device
 * @ops: the SVM front end the context belongs to
 * @kref: the front end and each fault being serviced hold one
 * @id: device MMU context number
 * @owns_dma: leaves own the DMA mappings of the system memory they map
 *	(the own core); else the front end maps and unmaps (drm_gpusvm)
 * @pt_lock: protects @root, every table below it and @spare
 * @root: the root page table; NULL once detached
 * @spare: a preallocated table per level below the root, so that mapping
 *	never allocates under @pt_lock (reclaim may call a notifier, which
 *	takes it); refilled outside it (svmgpu_mmu_refill())
 * @stats: per-context counters
 * @reap: leaves taken out of live tables whose DMA mappings are released
 *	after the next TLB invalidation (svmgpu_pt_reap()); under @pt_lock
 * @nreap: entries of @reap used
 * @banned: a submission of this context hung the engine, and the device
 *	was reset; its later submissions fail with -ECANCELED (DOC: Hang
 *	recovery)
 */
struct svmgpu_mmu {
	struct svmgpu_device *gdev;
	const struct svmgpu_mmu_ops *ops;
	struct kref kref;
	unsigned int id;
	bool owns_dma;
	struct mutex pt_lock;
	struct svmgpu_pt *root;
	struct svmgpu_pt *spare[SVMGPU_PT_LEVELS - 1];
	struct svmgpu_counters stats;
	struct {
		u64 pte;
		int level;
	} reap[64];
	unsigned int nreap;
	bool banned;
};

/**
 * struct svmgpu_ctx - an SVM context of the own core: one open file, one
 *	mm, one device MMU context
 * @mmu: the device MMU context; its pt_lock is the driver lock of the
 *	notifier protocol
 * @mm: the mm bound at open (mmgrab'ed)
 * @notifier: interval notifier over the whole user address space
 * @policy_lock: protects @policies and @npolicies
 * @policies: policy ranges, later entries override earlier ones
 * @npolicies: entries used
 * @fail_alloc: 1 when the next 2 MiB destination allocation of a
 *	migration of this context (either way) must fail, once, so that the
 *	folio moves as 4 KiB pages: the dmirror interface's
 *	HMM_DMIRROR_FLAG_FAIL_ALLOC; whoever fails an allocation for it
 *	clears it (atomic_xchg)
 */
struct svmgpu_ctx {
	struct svmgpu_mmu mmu;
	struct mm_struct *mm;
	struct mmu_interval_notifier notifier;
	struct mutex policy_lock;
	struct svmgpu_policy_range {
		u64 start;
		u64 end;
		u32 placement;
		u32 atomic;
	} policies[SVMGPU_POLICY_MAX_RANGES];
	unsigned int npolicies;
	atomic_t fail_alloc;
};

/**
 * struct svmgpu_device - one svmgpu PCI function
 * @kref: one reference for the PCI binding, one per open file
 * @pdev: the PCI device; valid while !@removed
 * @regs: BAR 0 register mapping; valid while !@removed
 * @vram_size: bytes of VRAM
 * @mem_mode: SVMGPU_MEM_MODE_* read from the device
 * @hw_version: version register of the device
 * @num_contexts: device MMU contexts
 * @id: N of /dev/svmgpuN
 * @misc: the character device
 * @drm: the render node's DRM device, NULL if it could not register
 * @remove_lock: held for reading while the hardware is used, for writing
 *	while it is torn down
 * @removed: the PCI function is unbound; protected by @remove_lock
 * @pci_segment: PCI domain, kept for GET_INFO after unbind
 * @pci_bus: PCI bus number, kept likewise
 * @pci_devfn: PCI devfn, kept likewise
 * @rings: the user and kernel rings
 * @fence_wq: woken by the completion interrupt
 * @faultq: DMA-coherent fault records
 * @faultq_dma: their bus address
 * @faultq_head: next record to consume; only the fault worker touches it
 * @fault_work: drains the fault queue
 * @wq: ordered workqueue running @fault_work
 * @tlb_lock: serialises the TLB_INV_* register sequence; a spinlock, as
 *	non-blockable notifier invalidations use it
 * @ctx_lock: protects @mmus
 * @mmus: published MMU contexts by number, of either front end
 * @ctx_ida: allocates context numbers
 * @stats: device-wide counters
 * @pgmap: the struct pages of VRAM: device-private ones standing for it
 *	(private mode) or device-coherent ones over the VRAM BAR (coherent)
 * @vram_pfn: pfn of the device page for VRAM offset 0
 * @vram_pages: number of device pages, 0 when VRAM is not migratable
 * @vram_lock: protects @vram_bitmap, @vram_used, @vram_blocks, @vram_lru,
 *	@vram_fill, @vram_free_blocks, @vram_devmem_blocks, @vram_devmem_used
 * @vram_bitmap: allocated VRAM pages
 * @vram_used: number of allocated VRAM pages
 * @vram_blocks: VRAM in 2 MiB blocks, the unit of the LRU
 * @vram_lru: blocks with allocated pages, least recently used first
 * @vram_fill: the block small allocations fill next
 * @vram_free_blocks: blocks with no page allocated
 * @vram_devmem_blocks: blocks holding render-node allocations
 * @vram_devmem_used: pages allocated in them
 * @vram_hold_until: per VRAM page, the jiffies before which the CPU may not
 *	take it back (migrated for a device atomic; see svmgpu_migrate_to_ram)
 * @devmem_pgmap: render-node device memory: device-private struct pages of
 *	their own over the same VRAM, for drm_pagemap (private mode only)
 * @devmem_ops: @devmem_pgmap's ops: drm_pagemap's, migrate_to_ram() wrapped
 *	(svmgpu_pagemap.c)
 * @devmem_pfn: pfn of the @devmem_pgmap page for VRAM offset 0; 0 when the
 *	render node has no device memory
 * @dpagemap_lock: protects @dpagemap
 * @dpagemap: the render node's drm_pagemap while anything references it
 *	(svmgpu_pagemap.c), else NULL
 * @evict_lock: one evictor at a time
 * @evict_work: evicts everything after a device reset
 * @reset_work: resets the device after a kernel-ring copy timed out
 * @kring_hung: a kernel-ring copy timed out and no reset has followed yet
 * @engine_offline: an error recovery has the hardware (DOC: PCIe errors),
 *	or a reset failed and it is gone for good
 * @hw_srcu: CPU faults on VRAM pages copy inside it (svmgpu_hw_enter())
 * @hw_gone: set by remove() once VRAM is evicted; a CPU fault that sees it
 *	has no hardware to copy with
 * @evict_delay_ms: debugfs test hook: how long each eviction holds its pages
 *	unmapped before copying them (svmgpu_evict_pfns()); 0 is off
 * @debugfs: the device's debugfs directory
 */
struct svmgpu_device {
	struct kref kref;
	struct pci_dev *pdev;
	void __iomem *regs;
	u64 vram_size;
	u32 mem_mode;
	u32 hw_version;
	u32 num_contexts;
	int id;
	struct miscdevice misc;
	struct drm_device *drm;
	struct rw_semaphore remove_lock;
	bool removed;
	u32 pci_segment;
	u16 pci_bus;
	u16 pci_devfn;

	struct svmgpu_ring rings[2];
	wait_queue_head_t fence_wq;
	u8 *faultq;
	dma_addr_t faultq_dma;
	u32 faultq_head;
	struct work_struct fault_work;
	struct workqueue_struct *wq;
	spinlock_t tlb_lock;
	spinlock_t ctx_lock;
	struct svmgpu_mmu *mmus[SVMGPU_CONTEXTS_MAX];
	struct ida ctx_ida;
	struct svmgpu_counters stats;

	struct dev_pagemap pgmap;
	unsigned long vram_pfn;
	unsigned long vram_pages;
	spinlock_t vram_lock;
	unsigned long *vram_bitmap;
	unsigned long vram_used;
	struct svmgpu_vram_block *vram_blocks;
	struct list_head vram_lru;
	unsigned long vram_fill;
	unsigned long vram_free_blocks;
	unsigned long vram_devmem_blocks;
	unsigned long vram_devmem_used;
	unsigned long *vram_hold_until;
	struct dev_pagemap devmem_pgmap;
	struct dev_pagemap_ops devmem_ops;
	unsigned long devmem_pfn;
	spinlock_t dpagemap_lock;
	struct svmgpu_pagemap *dpagemap;
	struct mutex evict_lock;
	struct work_struct evict_work;
	struct delayed_work reset_work;
	bool kring_hung;
	bool engine_offline;
	struct srcu_struct hw_srcu;
	bool hw_gone;
	u32 evict_delay_ms;
	struct dentry *debugfs;
};

/* The most debugfs evict_delay_ms can hold an eviction for */
#define SVMGPU_EVICT_DELAY_MAX_MS	1000
/* how long svmgpu_vram_evict_all() retries pages that will not leave */
#define SVMGPU_EVICT_ALL_MS		10000

static inline u32 svmgpu_rd(struct svmgpu_device *gdev, u32 reg)
{
	return ioread32(gdev->regs + reg);
}

static inline void svmgpu_wr(struct svmgpu_device *gdev, u32 reg, u32 val)
{
	iowrite32(val, gdev->regs + reg);
}

static inline u64 svmgpu_rd64(struct svmgpu_device *gdev, u32 lo)
{
	return svmgpu_rd(gdev, lo) | (u64)svmgpu_rd(gdev, lo + 4) << 32;
}

static inline void svmgpu_wr64(struct svmgpu_device *gdev, u32 lo, u64 val)
{
	iowrite32(lower_32_bits(val), gdev->regs + lo);
	iowrite32(upper_32_bits(val), gdev->regs + lo + 4);
}

static inline bool svmgpu_sysmem_atomics(struct svmgpu_device *gdev)
{
	return svmgpu_rd(gdev, SVMGPU_REG_CAPS) & SVMGPU_CAP_SYSMEM_ATOMICS;
}

/* Where svmgpu_probe() can be made to fail (module parameter) */
enum svmgpu_probe_stage {
	SVMGPU_PROBE_FAIL_ENGINE = 1,	/* interrupts and rings set up */
	SVMGPU_PROBE_FAIL_VRAM,		/* VRAM has struct pages */
};

/* svmgpu_drv.c */
void svmgpu_device_put(struct svmgpu_device *gdev);
int svmgpu_hw_enter(struct svmgpu_device *gdev);
void svmgpu_hw_leave(struct svmgpu_device *gdev, int idx);
int svmgpu_probe_fault(struct svmgpu_device *gdev,
		       enum svmgpu_probe_stage stage);
bool svmgpu_user_range_ok(u64 addr, u64 len);
int svmgpu_user_cmds_run(struct svmgpu_mmu *mmu, struct svmgpu_user_cmd *u,
			 unsigned int count, u64 timeout_ms);
int svmgpu_file_open(struct svmgpu_device *gdev, struct file *file);
int svmgpu_file_release(struct file *file);

/**
 * svmgpu_pte_dma_dir() - the DMA direction of a leaf's system memory
 * @pte: the leaf entry
 *
 * The device only reads through a read-only leaf: its page is mapped
 * %DMA_TO_DEVICE, which an IOMMU maps read-only too, and which the DMA-API
 * lets any number of mappings share (the zero page under every read fault
 * of untouched memory). A writable leaf's is %DMA_BIDIRECTIONAL. A leaf is
 * only ever replaced whole, never changes permissions in place, so the
 * entry tells the direction it was mapped with when it is unmapped.
 *
 * Return: the direction to map and unmap @pte's page with.
 */
static inline enum dma_data_direction svmgpu_pte_dma_dir(u64 pte)
{
	return pte & SVMGPU_PTE_WRITE ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

/* svmgpu_engine.c */
int svmgpu_engine_init(struct svmgpu_device *gdev);
void svmgpu_engine_stop_faults(struct svmgpu_device *gdev);
void svmgpu_engine_stop(struct svmgpu_device *gdev);
void svmgpu_engine_fini(struct svmgpu_device *gdev);
int __svmgpu_ring_run(struct svmgpu_ring *ring, struct svmgpu_cmd *cmds,
		      unsigned int count, unsigned long timeout, bool *banned);

/* svmgpu_ring_run() - __svmgpu_ring_run() for a caller nobody blames */
static inline int svmgpu_ring_run(struct svmgpu_ring *ring,
				  struct svmgpu_cmd *cmds, unsigned int count,
				  unsigned long timeout)
{
	return __svmgpu_ring_run(ring, cmds, count, timeout, NULL);
}
int svmgpu_device_reset(struct svmgpu_device *gdev, bool dev_locked);
void svmgpu_engine_offline(struct svmgpu_device *gdev);
void svmgpu_engine_online(struct svmgpu_device *gdev);
void svmgpu_tlb_invalidate(struct svmgpu_device *gdev, u32 scope, u16 ctx,
			   u64 start, u64 len);

/* svmgpu_pt.c */
int svmgpu_mmu_init(struct svmgpu_device *gdev, struct svmgpu_mmu *mmu,
		    const struct svmgpu_mmu_ops *ops, bool owns_dma);
void svmgpu_mmu_publish(struct svmgpu_mmu *mmu);
void svmgpu_mmu_unpublish(struct svmgpu_mmu *mmu);
void svmgpu_mmu_detach(struct svmgpu_mmu *mmu);
void svmgpu_mmu_destroy(struct svmgpu_mmu *mmu, bool published);
void svmgpu_mmu_reprogram(struct svmgpu_device *gdev);
struct svmgpu_mmu *svmgpu_mmu_lookup(struct svmgpu_device *gdev,
				     unsigned int id);
void svmgpu_mmu_put(struct svmgpu_mmu *mmu);
int svmgpu_mmu_refill(struct svmgpu_mmu *mmu);
void svmgpu_pt_free(struct svmgpu_mmu *mmu, struct svmgpu_pt *pt, int level);
int svmgpu_pt_map(struct svmgpu_mmu *mmu, u64 va, u64 pte, bool *replaced);
int svmgpu_pt_map_huge(struct svmgpu_mmu *mmu, u64 va, u64 pte,
		       bool *replaced, struct svmgpu_pt **table);
u64 svmgpu_pt_lookup(struct svmgpu_mmu *mmu, u64 va);
unsigned long svmgpu_pt_clear(struct svmgpu_mmu *mmu, u64 start, u64 end);
void svmgpu_pt_reap(struct svmgpu_mmu *mmu);
bool svmgpu_mmu_maps(struct svmgpu_mmu *mmu, u64 addr, u8 access);
int svmgpu_residency_mm(struct svmgpu_mmu *mmu, struct mm_struct *mm,
			struct mmu_interval_notifier *mni, void *owner,
			unsigned long start, unsigned long npages, u8 *bytes);

/* svmgpu_svm.c */
struct svmgpu_ctx *svmgpu_ctx_create(struct svmgpu_device *gdev);
void svmgpu_ctx_detach(struct svmgpu_ctx *ctx);
void svmgpu_ctx_unpublish(struct svmgpu_ctx *ctx);
void svmgpu_ctx_put(struct svmgpu_ctx *ctx);
void svmgpu_unmap_migrating(struct svmgpu_ctx *ctx, unsigned long start,
			    const unsigned long *src, unsigned long npages);
int svmgpu_residency(struct svmgpu_ctx *ctx, unsigned long start,
		     unsigned long npages, u8 *bytes);
int svmgpu_set_policy(struct svmgpu_ctx *ctx, u64 start, u64 end,
		      u32 placement, u32 atomic);

/* svmgpu_vram.c */
int svmgpu_vram_init(struct svmgpu_device *gdev);
int svmgpu_vram_evict_all(struct svmgpu_device *gdev, u64 *evicted);
int svmgpu_vram_blocks_show(struct seq_file *m, void *unused);
void svmgpu_vram_touch(struct svmgpu_device *gdev, struct page *page);
void svmgpu_vram_make_room(struct svmgpu_device *gdev, unsigned long npages,
			   bool devmem);
int svmgpu_migrate_range(struct svmgpu_ctx *ctx, unsigned long start,
			 unsigned long end, bool to_vram, bool hold,
			 u64 *moved);
u64 svmgpu_page_vram_offset(struct svmgpu_device *gdev, struct page *page);
long svmgpu_vram_alloc_devmem(struct svmgpu_device *gdev, unsigned long npages);
void svmgpu_vram_publish_devmem(struct svmgpu_device *gdev, unsigned long idx,
				struct list_head *devmem);
void svmgpu_vram_free_devmem(struct svmgpu_device *gdev, unsigned long idx,
			     unsigned long npages, struct list_head *devmem);
void svmgpu_vram_touch_index(struct svmgpu_device *gdev, unsigned long idx);
void svmgpu_copy_cmd(struct svmgpu_cmd *cmd, bool to_vram, dma_addr_t sys,
		     u64 off, size_t len);
int svmgpu_copy_run(struct svmgpu_device *gdev, struct svmgpu_cmd *cmds,
		    unsigned int n);
unsigned int svmgpu_copy_merge(struct svmgpu_cmd *cmds, unsigned int n);
unsigned int svmgpu_atomic_timeslice_ms(void);
bool svmgpu_is_own_vram_page(struct svmgpu_device *gdev, struct page *page);
bool svmgpu_is_devmem_page(struct svmgpu_device *gdev, struct page *page);
bool svmgpu_is_vram_page(struct svmgpu_device *gdev, struct page *page);

/* === the render node on drm_gpusvm (svmgpu_gpusvm.c) === */
#if IS_ENABLED(CONFIG_DRM_GPUSVM)
int svmgpu_drm_register(struct svmgpu_device *gdev);
void svmgpu_drm_unplug(struct svmgpu_device *gdev);
/* svmgpu_pagemap.c */
unsigned long svmgpu_devmem_evict_block(struct svmgpu_device *gdev,
					unsigned long b);
#else
static inline unsigned long svmgpu_devmem_evict_block(struct svmgpu_device *gdev,
						      unsigned long b)
{
	return 0;
}

static inline int svmgpu_drm_register(struct svmgpu_device *gdev)
{
	return -EOPNOTSUPP;
}

static inline void svmgpu_drm_unplug(struct svmgpu_device *gdev) { }
#endif

/* === the hmm_dmirror compatibility interface (svmgpu_dmirror.c) === */
void svmgpu_dmirror_add(struct svmgpu_device *gdev);
void svmgpu_dmirror_remove(struct svmgpu_device *gdev);
/* svmgpu_svm.c, for it */
int svmgpu_mirror_range(struct svmgpu_ctx *ctx, unsigned long start,
			unsigned long end, bool write, u64 *faults);
bool svmgpu_range_has_atomic(struct svmgpu_ctx *ctx, unsigned long start,
			     unsigned long end);
int svmgpu_map_exclusive(struct svmgpu_ctx *ctx, u64 addr);

#endif /* _SVMGPU_DRV_H */
