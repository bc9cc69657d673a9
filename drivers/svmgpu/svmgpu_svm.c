// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu shared virtual memory: contexts, device page tables, mirroring
 *
 * DOC: SVM contexts
 *
 * Opening /dev/svmgpuN creates a context: it binds current->mm, takes one of
 * the device's MMU contexts and gives it an empty root page table. Device
 * work of that file runs on user virtual addresses of that mm, translated
 * by the context's page tables, which mirror the CPU's: nothing is mapped
 * up front; the device faults, and the driver mirrors the faulting page.
 *
 * DOC: Mirroring
 *
 * A device fault is serviced with the canonical loop of
 * Documentation/mm/hmm.rst: mmu_interval_read_begin(), hmm_range_fault()
 * under the mmap read lock, then under pt_lock mmu_interval_read_retry()
 * and, only if no invalidation intervened, the device PTE is written. One
 * interval notifier covers the whole address space; its invalidate callback
 * takes pt_lock, bumps the sequence, clears the device PTEs of the range and
 * invalidates the device TLB synchronously, so that when it returns the
 * device no longer uses the range. Read-only CPU mappings are mirrored
 * read-only: a device write to them faults again and, if the VMA forbids
 * writing, hmm_range_fault() answers -EPERM and the command is cancelled.
 */

#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "svmgpu_drv.h"

/* === device page tables === */

static struct svmgpu_pt *svmgpu_pt_alloc(struct svmgpu_device *gdev,
					 int level)
{
	struct svmgpu_pt *pt = kzalloc_obj(*pt);

	if (!pt)
		return NULL;
	pt->entries = dma_alloc_coherent(&gdev->pdev->dev, PAGE_SIZE, &pt->dma,
					 GFP_KERNEL);
	if (!pt->entries)
		goto err;
	if (level > 0) {
		pt->children = kcalloc(SVMGPU_PT_ENTRIES, sizeof(*pt->children),
				       GFP_KERNEL);
		if (!pt->children)
			goto err;
	}
	return pt;
err:
	if (pt->entries)
		dma_free_coherent(&gdev->pdev->dev, PAGE_SIZE, pt->entries,
				  pt->dma);
	kfree(pt);
	return NULL;
}

static unsigned int svmgpu_pt_index(u64 va, int level)
{
	return (va >> (SVMGPU_PAGE_SHIFT + 9 * level)) &
	       (SVMGPU_PT_ENTRIES - 1);
}

/* Release the DMA mapping of the system page a leaf entry points at. */
static void svmgpu_pte_release(struct svmgpu_device *gdev, u64 pte)
{
	if (!(pte & SVMGPU_PTE_VRAM))
		dma_unmap_page(&gdev->pdev->dev, pte & SVMGPU_PTE_ADDR_MASK,
			       PAGE_SIZE, DMA_BIDIRECTIONAL);
}

static void svmgpu_pt_free(struct svmgpu_device *gdev, struct svmgpu_pt *pt,
			   int level)
{
	unsigned int i;

	for (i = 0; i < SVMGPU_PT_ENTRIES; i++) {
		u64 e = le64_to_cpu(pt->entries[i]);

		if (level > 0 && pt->children[i])
			svmgpu_pt_free(gdev, pt->children[i], level - 1);
		else if (level == 0 && (e & SVMGPU_PTE_VALID))
			svmgpu_pte_release(gdev, e);
	}
	dma_free_coherent(&gdev->pdev->dev, PAGE_SIZE, pt->entries, pt->dma);
	kfree(pt->children);
	kfree(pt);
}

/**
 * svmgpu_pt_refill() - make sure a spare table exists at every level
 * @ctx: the context
 *
 * Context: process, pt_lock NOT held: allocating may enter reclaim, which
 * may call our invalidate callback, which takes pt_lock.
 * Return: 0 or -ENOMEM.
 */
static int svmgpu_pt_refill(struct svmgpu_ctx *ctx)
{
	int level;

	lockdep_assert_not_held(&ctx->pt_lock);
	for (level = 0; level < SVMGPU_PT_LEVELS - 1; level++) {
		struct svmgpu_pt *pt;

		if (READ_ONCE(ctx->spare[level]))
			continue;
		pt = svmgpu_pt_alloc(ctx->gdev, level);
		if (!pt)
			return -ENOMEM;
		mutex_lock(&ctx->pt_lock);
		if (ctx->root && !ctx->spare[level]) {
			ctx->spare[level] = pt;
			pt = NULL;
		}
		mutex_unlock(&ctx->pt_lock);
		if (pt)
			svmgpu_pt_free(ctx->gdev, pt, level);
		if (!READ_ONCE(ctx->root))
			return -ENODEV;		/* detached meanwhile */
	}
	return 0;
}

/*
 * Install the 4 KiB leaf @pte for @va, taking missing tables from the
 * spares (never allocating: we hold pt_lock). A leaf already there is
 * released first. Returns -EAGAIN if a spare ran out: refill and retry.
 */
static int svmgpu_pt_map(struct svmgpu_ctx *ctx, u64 va, u64 pte)
{
	struct svmgpu_pt *pt = ctx->root;
	unsigned int idx;
	int level;
	u64 old;

	lockdep_assert_held(&ctx->pt_lock);
	for (level = SVMGPU_PT_LEVELS - 1; level > 0; level--) {
		idx = svmgpu_pt_index(va, level);
		if (!pt->children[idx]) {
			struct svmgpu_pt *child = ctx->spare[level - 1];

			if (!child)
				return -EAGAIN;
			ctx->spare[level - 1] = NULL;
			pt->children[idx] = child;
			pt->entries[idx] = cpu_to_le64(child->dma |
						       SVMGPU_PTE_VALID);
		}
		pt = pt->children[idx];
	}
	idx = svmgpu_pt_index(va, 0);
	old = le64_to_cpu(pt->entries[idx]);
	if (old & SVMGPU_PTE_VALID)
		svmgpu_pte_release(ctx->gdev, old);
	WRITE_ONCE(pt->entries[idx], cpu_to_le64(pte));
	return 0;
}

/* Clear the leaves of [start, end) below @pt; returns how many were set. */
static unsigned long svmgpu_pt_clear(struct svmgpu_device *gdev,
				     struct svmgpu_pt *pt, int level, u64 base,
				     u64 start, u64 end)
{
	u64 span = 1ull << (SVMGPU_PAGE_SHIFT + 9 * level);
	unsigned long cleared = 0;
	unsigned int i;

	for (i = 0; i < SVMGPU_PT_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;
		u64 e;

		if (hi <= start || lo >= end)
			continue;
		if (level > 0) {
			if (pt->children[i])
				cleared += svmgpu_pt_clear(gdev, pt->children[i],
							   level - 1, lo, start,
							   end);
			continue;
		}
		e = le64_to_cpu(pt->entries[i]);
		if (e & SVMGPU_PTE_VALID) {
			WRITE_ONCE(pt->entries[i], 0);
			svmgpu_pte_release(gdev, e);
			cleared++;
		}
	}
	return cleared;
}

/* === contexts === */

static bool svmgpu_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct svmgpu_ctx *ctx = container_of(mni, struct svmgpu_ctx, notifier);
	u64 start = range->start, end = range->end;
	unsigned long cleared;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&ctx->pt_lock);
	else if (!mutex_trylock(&ctx->pt_lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	/* No root: the device is gone, nothing it could still use. */
	if (ctx->root) {
		end = min_t(u64, end, 1ull << SVMGPU_VA_BITS);
		cleared = start < end ?
			  svmgpu_pt_clear(ctx->gdev, ctx->root,
					  SVMGPU_PT_LEVELS - 1, 0, start, end) :
			  0;
		if (cleared) {
			svmgpu_tlb_invalidate(ctx->gdev, SVMGPU_TLB_INV_RANGE,
					      ctx->id, start, end - start);
			atomic64_inc(&ctx->stats.invalidations);
			atomic64_inc(&ctx->gdev->stats.invalidations);
		}
	}
	mutex_unlock(&ctx->pt_lock);
	return true;
}

static const struct mmu_interval_notifier_ops svmgpu_notifier_ops = {
	.invalidate = svmgpu_invalidate,
};

/**
 * svmgpu_ctx_create() - an SVM context for current->mm on @gdev
 * @gdev: the device; the caller holds remove_lock for reading
 *
 * Return: the context (one reference) or an ERR_PTR: -EBUSY when every
 * device MMU context is taken, -ENOMEM.
 */
struct svmgpu_ctx *svmgpu_ctx_create(struct svmgpu_device *gdev)
{
	struct svmgpu_ctx *ctx;
	int ret;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	ctx = kzalloc_obj(*ctx);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	kref_init(&ctx->kref);
	mutex_init(&ctx->pt_lock);
	mutex_init(&ctx->policy_lock);
	ctx->gdev = gdev;
	/*
	 * Teach lockdep now that reclaim may take pt_lock (through our
	 * notifier), so that an allocation under it is reported on every run,
	 * not only when reclaim happens to hit.
	 */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&ctx->pt_lock);
	fs_reclaim_release(GFP_KERNEL);

	ret = ida_alloc_max(&gdev->ctx_ida, gdev->num_contexts - 1, GFP_KERNEL);
	if (ret < 0) {
		ret = ret == -ENOSPC ? -EBUSY : ret;
		goto err_free;
	}
	ctx->id = ret;

	ctx->root = svmgpu_pt_alloc(gdev, SVMGPU_PT_LEVELS - 1);
	if (!ctx->root) {
		ret = -ENOMEM;
		goto err_ida;
	}
	ctx->mm = current->mm;
	mmgrab(ctx->mm);
	ret = mmu_interval_notifier_insert(&ctx->notifier, ctx->mm, 0,
					   ULONG_MAX & PAGE_MASK,
					   &svmgpu_notifier_ops);
	if (ret)
		goto err_mm;

	kref_get(&gdev->kref);
	spin_lock(&gdev->ctx_lock);
	gdev->ctxs[ctx->id] = ctx;
	spin_unlock(&gdev->ctx_lock);
	/* Published first: a reset from now on programs the root again. */
	mutex_lock(&ctx->pt_lock);
	svmgpu_wr64(gdev, SVMGPU_REG_CTX_ROOT_LO(ctx->id), ctx->root->dma);
	svmgpu_tlb_invalidate(gdev, SVMGPU_TLB_INV_CONTEXT, ctx->id, 0, 0);
	mutex_unlock(&ctx->pt_lock);
	return ctx;

err_mm:
	mmdrop(ctx->mm);
	svmgpu_pt_free(gdev, ctx->root, SVMGPU_PT_LEVELS - 1);
err_ida:
	ida_free(&gdev->ctx_ida, ctx->id);
err_free:
	kfree(ctx);
	return ERR_PTR(ret);
}

/**
 * svmgpu_ctx_detach() - tear down a context's hardware state
 * @ctx: the context
 *
 * Called when the file closes, or for every context when the device goes
 * away. Afterwards the device holds no translation of the context and its
 * notifier has nothing left to invalidate. Idempotent.
 * Context: process; the caller keeps the hardware alive.
 */
void svmgpu_ctx_detach(struct svmgpu_ctx *ctx)
{
	struct svmgpu_device *gdev = ctx->gdev;

	int level;

	mutex_lock(&ctx->pt_lock);
	if (ctx->root) {
		svmgpu_wr64(gdev, SVMGPU_REG_CTX_ROOT_LO(ctx->id), 0);
		svmgpu_tlb_invalidate(gdev, SVMGPU_TLB_INV_CONTEXT, ctx->id, 0,
				      0);
		svmgpu_pt_free(gdev, ctx->root, SVMGPU_PT_LEVELS - 1);
		ctx->root = NULL;
	}
	for (level = 0; level < SVMGPU_PT_LEVELS - 1; level++) {
		if (ctx->spare[level])
			svmgpu_pt_free(gdev, ctx->spare[level], level);
		ctx->spare[level] = NULL;
	}
	mutex_unlock(&ctx->pt_lock);
}

static void svmgpu_ctx_release(struct kref *kref)
{
	struct svmgpu_ctx *ctx = container_of(kref, struct svmgpu_ctx, kref);
	struct svmgpu_device *gdev = ctx->gdev;

	/* The last reference: the file is closed and no fault is serviced. */
	mmu_interval_notifier_remove(&ctx->notifier);
	WARN_ON(ctx->root);
	mmdrop(ctx->mm);
	ida_free(&gdev->ctx_ida, ctx->id);
	kfree(ctx);
	svmgpu_device_put(gdev);
}

/**
 * svmgpu_ctx_put() - drop a reference to a context
 * @ctx: the context
 */
void svmgpu_ctx_put(struct svmgpu_ctx *ctx)
{
	kref_put(&ctx->kref, svmgpu_ctx_release);
}

/**
 * svmgpu_ctx_unpublish() - make a context unreachable for fault service
 * @ctx: the context
 */
void svmgpu_ctx_unpublish(struct svmgpu_ctx *ctx)
{
	struct svmgpu_device *gdev = ctx->gdev;

	spin_lock(&gdev->ctx_lock);
	if (gdev->ctxs[ctx->id] == ctx)
		gdev->ctxs[ctx->id] = NULL;
	spin_unlock(&gdev->ctx_lock);
}

/**
 * svmgpu_ctx_lookup() - the context of a device MMU context number
 * @gdev: the device
 * @id: device MMU context number, from a fault record
 *
 * Return: the context with a reference, or NULL.
 */
struct svmgpu_ctx *svmgpu_ctx_lookup(struct svmgpu_device *gdev,
				     unsigned int id)
{
	struct svmgpu_ctx *ctx = NULL;

	if (id >= SVMGPU_CONTEXTS_MAX)
		return NULL;
	spin_lock(&gdev->ctx_lock);
	if (gdev->ctxs[id] && kref_get_unless_zero(&gdev->ctxs[id]->kref))
		ctx = gdev->ctxs[id];
	spin_unlock(&gdev->ctx_lock);
	return ctx;
}

/* === fault service === */

/**
 * svmgpu_set_policy() - set the fault policy of a range
 * @ctx: the context
 * @start: page-aligned start
 * @end: page-aligned end
 * @policy: SVMGPU_POLICY_*
 *
 * Return: 0, or -ENOSPC when SVMGPU_POLICY_MAX_RANGES were set already.
 */
int svmgpu_set_policy(struct svmgpu_ctx *ctx, u64 start, u64 end, u32 policy)
{
	int ret = 0;

	mutex_lock(&ctx->policy_lock);
	if (ctx->npolicies == SVMGPU_POLICY_MAX_RANGES) {
		ret = -ENOSPC;
	} else {
		ctx->policies[ctx->npolicies].start = start;
		ctx->policies[ctx->npolicies].end = end;
		ctx->policies[ctx->npolicies].policy = policy;
		ctx->npolicies++;
	}
	mutex_unlock(&ctx->policy_lock);
	return ret;
}

/*
 * The policy of @addr: the latest range that covers it, else MIRROR. For
 * MIGRATE_ON_FAULT, [*start, *end) is narrowed to that range.
 */
static u32 svmgpu_policy_of(struct svmgpu_ctx *ctx, u64 addr, u64 *start,
			    u64 *end)
{
	u32 policy = SVMGPU_POLICY_MIRROR;
	int i;

	mutex_lock(&ctx->policy_lock);
	for (i = ctx->npolicies - 1; i >= 0; i--) {
		struct svmgpu_policy_range *r = &ctx->policies[i];

		if (addr >= r->start && addr < r->end) {
			policy = r->policy;
			*start = max(*start, r->start);
			*end = min(*end, r->end);
			break;
		}
	}
	mutex_unlock(&ctx->policy_lock);
	return policy;
}

/*
 * Pages mirrored per fault: an aligned 64 KiB window around the faulting
 * page, clamped to its VMA. It lies within one level-0 table, so one spare
 * table per level always suffices.
 */
#define SVMGPU_FAULT_WINDOW	16

/*
 * Write the PTEs of @range: @pte[i] is the entry for page i (0: none);
 * pt_lock held. Each entry written takes over its DMA mapping.
 */
static int svmgpu_commit_range(struct svmgpu_ctx *ctx, struct hmm_range *range,
			       u64 *pte, dma_addr_t *dma)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;
	int ret;

	lockdep_assert_held(&ctx->pt_lock);
	if (!ctx->root)
		return -ENODEV;
	for (i = 0; i < npages; i++) {
		if (!pte[i])
			continue;
		ret = svmgpu_pt_map(ctx, range->start + (i << PAGE_SHIFT),
				    pte[i]);
		if (ret)
			return ret;
		pte[i] = 0;
		dma[i] = 0;	/* the PTE owns the mapping now */
		atomic64_inc(&ctx->stats.pages_mapped);
		atomic64_inc(&ctx->gdev->stats.pages_mapped);
	}
	return 0;
}

static void svmgpu_unmap_dma(struct svmgpu_device *gdev, dma_addr_t *dma,
			     unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (dma[i])
			dma_unmap_page(&gdev->pdev->dev, dma[i], PAGE_SIZE,
				       DMA_BIDIRECTIONAL);
		dma[i] = 0;
	}
}

/**
 * svmgpu_service_fault() - mirror the pages around a device fault
 * @ctx: the faulting context
 * @addr: faulting device-virtual (= user virtual) address
 * @access: SVMGPU_ACCESS_*
 *
 * Mirrors the faulting page and, in the same hmm_range_fault(), its
 * neighbours in an aligned SVMGPU_FAULT_WINDOW within the same VMA
 * (writable if the access writes and the VMA allows it).
 *
 * Return: 0 when the faulting page is mapped as @access needs (REPLAY),
 * else a negative errno (CANCEL): -EFAULT no VMA or no access, -EPERM write
 * to a read-only mapping, -EOPNOTSUPP atomic on system memory without the
 * device's sysmem atomics, -ESRCH the mm is gone, -ENODEV the device is
 * gone, -EBUSY invalidations kept racing for HMM_RANGE_DEFAULT_TIMEOUT.
 * Context: process (the fault worker); sleeps.
 */
int svmgpu_service_fault(struct svmgpu_ctx *ctx, u64 addr, u8 access)
{
	struct svmgpu_device *gdev = ctx->gdev;
	bool write = access != SVMGPU_ACCESS_READ;
	unsigned long pfns[SVMGPU_FAULT_WINDOW], timeout, npages = 0;
	dma_addr_t dma[SVMGPU_FAULT_WINDOW] = { 0 };
	u64 pte[SVMGPU_FAULT_WINDOW];
	struct hmm_range range = {
		.notifier = &ctx->notifier,
		.hmm_pfns = pfns,
		.dev_private_owner = gdev,
	};
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;
	unsigned long i, window = SVMGPU_FAULT_WINDOW * PAGE_SIZE;
	int ret;

	if (addr >> SVMGPU_VA_BITS || addr >= TASK_SIZE)
		return -EFAULT;
	if (!mmget_not_zero(mm))
		return -ESRCH;

	atomic64_inc(&ctx->stats.faults);

	/*
	 * Migrate on fault: move the window to VRAM first (on the kernel
	 * ring, while the faulting command waits on the user ring), then
	 * mirror what is there. What cannot move is mirrored in place.
	 */
	if (gdev->vram_pages) {
		u64 start = ALIGN_DOWN(addr, window), end = start + window;

		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		if (vma) {
			start = max_t(u64, start, vma->vm_start);
			end = min_t(u64, end, vma->vm_end);
		}
		mmap_read_unlock(mm);
		/* within the VMA and within the policy's own range */
		if (vma && svmgpu_policy_of(ctx, addr, &start, &end) ==
			   SVMGPU_POLICY_MIGRATE_ON_FAULT) {
			u64 moved;

			svmgpu_migrate_range(ctx, start, end, true, &moved);
		}
	}

	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		if (time_after(jiffies, timeout)) {
			ret = -EBUSY;
			break;
		}
		ret = svmgpu_pt_refill(ctx);
		if (ret)
			break;

		range.notifier_seq = mmu_interval_read_begin(&ctx->notifier);
		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		if (!vma) {
			mmap_read_unlock(mm);
			ret = -EFAULT;
			break;
		}
		range.start = max(ALIGN_DOWN(addr, window), vma->vm_start);
		range.end = min(ALIGN_DOWN(addr, window) + window, vma->vm_end);
		range.default_flags = HMM_PFN_REQ_FAULT;
		if (write && !(vma->vm_flags & VM_WRITE)) {
			/* only the faulting page, for hmm to say -EPERM */
			range.start = addr & PAGE_MASK;
			range.end = range.start + PAGE_SIZE;
		}
		if (write)
			range.default_flags |= HMM_PFN_REQ_WRITE;
		npages = (range.end - range.start) >> PAGE_SHIFT;
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;

		/*
		 * Device atomics are always allowed in VRAM; on system memory
		 * only with the device's sysmem atomics (exclusive access for
		 * the others is not written yet).
		 */
		i = (addr - range.start) >> PAGE_SHIFT;
		if (access == SVMGPU_ACCESS_ATOMIC &&
		    !svmgpu_is_own_vram_page(gdev, hmm_pfn_to_page(pfns[i])) &&
		    !(svmgpu_rd(gdev, SVMGPU_REG_CAPS) &
		      SVMGPU_CAP_SYSMEM_ATOMICS)) {
			ret = -EOPNOTSUPP;
			break;
		}

		for (i = 0; i < npages; i++) {
			struct page *page = hmm_pfn_to_page(pfns[i]);
			u64 flags = SVMGPU_PTE_VALID |
				    (pfns[i] & HMM_PFN_WRITE ? SVMGPU_PTE_WRITE : 0);

			pte[i] = 0;
			if (!(pfns[i] & HMM_PFN_VALID))
				continue;
			if (svmgpu_is_own_vram_page(gdev, page)) {
				/* in our VRAM: the device reaches it directly */
				pte[i] = svmgpu_page_vram_offset(gdev, page) |
					 SVMGPU_PTE_VRAM | flags;
				continue;
			}
			dma[i] = dma_map_page(&gdev->pdev->dev, page, 0,
					      PAGE_SIZE, DMA_BIDIRECTIONAL);
			if (dma_mapping_error(&gdev->pdev->dev, dma[i])) {
				dma[i] = 0;
				ret = -ENOMEM;
				break;
			}
			pte[i] = dma[i] | flags;
		}
		if (ret)
			break;

		mutex_lock(&ctx->pt_lock);
		if (mmu_interval_read_retry(&ctx->notifier,
					    range.notifier_seq)) {
			mutex_unlock(&ctx->pt_lock);
			svmgpu_unmap_dma(gdev, dma, npages);
			continue;
		}
		ret = svmgpu_commit_range(ctx, &range, pte, dma);
		mutex_unlock(&ctx->pt_lock);
		if (ret == -EAGAIN) {
			svmgpu_unmap_dma(gdev, dma, npages);
			continue;	/* spares taken meanwhile */
		}
		break;
	}
	svmgpu_unmap_dma(gdev, dma, npages);
	mmput(mm);
	return ret;
}

/* One residency byte from one hmm pfn. */
static u8 svmgpu_residency_byte(struct svmgpu_device *gdev, unsigned long pfn)
{
	struct page *page;
	u8 b;

	if (!(pfn & HMM_PFN_VALID) || (pfn & HMM_PFN_ERROR))
		return SVMGPU_RES_NONE;
	page = hmm_pfn_to_page(pfn);
	if (svmgpu_is_own_vram_page(gdev, page))
		b = SVMGPU_RES_VRAM;
	else if (is_zone_device_page(page))
		b = SVMGPU_RES_OTHER;
	else
		b = SVMGPU_RES_SYSTEM;
	b |= SVMGPU_RES_READ;
	if (pfn & HMM_PFN_WRITE)
		b |= SVMGPU_RES_WRITE;
	if (hmm_pfn_to_map_order(pfn) >= SVMGPU_HUGE_SHIFT - PAGE_SHIFT)
		b |= SVMGPU_RES_HUGE;
	return b;
}

/**
 * svmgpu_residency() - where the pages of a user range are
 * @ctx: the context (its mm)
 * @start: page-aligned start
 * @npages: number of pages, at most SVMGPU_RESIDENCY_MAX_PAGES
 * @bytes: out: one SVMGPU_RES_* byte per page
 *
 * Reads the CPU page tables with hmm_range_fault() without faulting:
 * nothing is populated or moved. Holes and inaccessible pages read as
 * SVMGPU_RES_NONE.
 * Return: 0, -ESRCH if the mm is gone, -ENOMEM, -EBUSY.
 */
int svmgpu_residency(struct svmgpu_ctx *ctx, unsigned long start,
		     unsigned long npages, u8 *bytes)
{
	struct mm_struct *mm = ctx->mm;
	unsigned long *pfns, i, addr, timeout;
	int ret = 0;

	pfns = kvcalloc(npages, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	if (!mmget_not_zero(mm)) {
		kvfree(pfns);
		return -ESRCH;
	}
	memset(bytes, SVMGPU_RES_NONE, npages);
	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	mmap_read_lock(mm);
	/* hmm_range_fault() wants one VMA at a time; holes stay NONE. */
	for (addr = start; addr < start + npages * PAGE_SIZE;) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long end = start + npages * PAGE_SIZE;
		struct hmm_range range = {
			.notifier = &ctx->notifier,
			.dev_private_owner = ctx->gdev,
		};

		if (!vma || vma->vm_start >= end)
			break;
		range.start = max(addr, vma->vm_start);
		range.end = min(end, vma->vm_end);
		range.hmm_pfns = pfns + ((range.start - start) >> PAGE_SHIFT);
		do {
			if (time_after(jiffies, timeout)) {
				ret = -EBUSY;
				goto out;
			}
			range.notifier_seq =
				mmu_interval_read_begin(&ctx->notifier);
			ret = hmm_range_fault(&range);
		} while (ret == -EBUSY);
		if (ret && ret != -EFAULT)
			goto out;
		ret = 0;
		for (i = 0; i < (range.end - range.start) >> PAGE_SHIFT; i++)
			bytes[((range.start - start) >> PAGE_SHIFT) + i] =
				svmgpu_residency_byte(ctx->gdev,
						      range.hmm_pfns[i]);
		addr = range.end;
	}
out:
	mmap_read_unlock(mm);
	mmput(mm);
	kvfree(pfns);
	return ret;
}
