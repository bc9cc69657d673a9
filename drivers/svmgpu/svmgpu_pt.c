// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu device MMU contexts and their page tables
 *
 * DOC: Device MMU contexts
 *
 * The device translates the virtual operands of a command through one of
 * its MMU contexts: a four-level page table whose root the driver writes to
 * SVMGPU_REG_CTX_ROOT_LO(id). A &struct svmgpu_mmu is one such context and
 * the CPU's view of its tables. Both SVM front ends build on it, each with
 * its own mirroring protocol: the driver's own core (svmgpu_svm.c, one
 * context per open /dev/svmgpuN) and the drm_gpusvm one (svmgpu_gpusvm.c,
 * one context per VM of the render node). The fault worker finds the
 * context of a fault record here and calls its front end through
 * &svmgpu_mmu_ops; nothing in this file knows how a front end mirrors.
 *
 * DOC: Page-table locking
 *
 * svmgpu_mmu.pt_lock protects the root, every table below it and the spare
 * tables. It is the innermost lock of both mirroring protocols: PTEs are
 * written under it once the front end has checked, under its own notifier
 * lock, that no invalidation intervened; invalidations clear PTEs under it.
 * Since reclaim may invalidate, nothing is allocated under pt_lock: a walk
 * that needs a table takes a spare, and svmgpu_mmu_refill() replaces the
 * spares before the next attempt, outside the lock. lockdep is taught at
 * creation that reclaim may take pt_lock.
 *
 * A leaf that maps system memory holds a DMA mapping. Whether the leaf owns
 * it is the front end's choice (&svmgpu_mmu.owns_dma): the own core maps a
 * page per PTE and the page tables unmap it when the leaf goes; drm_gpusvm
 * maps the pages of a range itself and unmaps them in the invalidate op, so
 * its leaves only point at them.
 */

#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "svmgpu_drv.h"

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

/* Does entry @e of a level-@level table translate (rather than point on)? */
static bool svmgpu_pte_is_leaf(u64 e, int level)
{
	return (e & SVMGPU_PTE_VALID) &&
	       (!level || (level == 1 && (e & SVMGPU_PTE_HUGE)));
}

/*
 * Release the DMA mapping of the system memory a leaf entry of @level
 * points at (a page at level 0, a 2 MiB block at level 1), if the
 * context's leaves own their mappings. Only for a leaf the device can no
 * longer reach: in a table it never walks again.
 */
static void svmgpu_pte_release(struct svmgpu_mmu *mmu, u64 pte, int level)
{
	if (mmu->owns_dma && !(pte & SVMGPU_PTE_VRAM))
		dma_unmap_page(&mmu->gdev->pdev->dev,
			       pte & SVMGPU_PTE_ADDR_MASK,
			       level ? SVMGPU_HUGE_SIZE : PAGE_SIZE,
			       svmgpu_pte_dma_dir(pte));
}

/**
 * svmgpu_pt_reap() - release the mappings of leaves cleared or replaced
 * @mmu: the context, pt_lock held
 *
 * A leaf taken out of a live table may still be in the device TLB, so its
 * DMA mapping must outlive the synchronous TLB invalidation that follows
 * (xe's order; with an IOMMU the other order lets the device hit an
 * unmapped IOVA). Clearing and replacing leaves therefore only queue the
 * release; the caller calls this after its TLB invalidation, before it
 * drops pt_lock.
 */
void svmgpu_pt_reap(struct svmgpu_mmu *mmu)
{
	unsigned int i;

	lockdep_assert_held(&mmu->pt_lock);
	for (i = 0; i < mmu->nreap; i++)
		svmgpu_pte_release(mmu, mmu->reap[i].pte, mmu->reap[i].level);
	mmu->nreap = 0;
}

/*
 * A leaf of @level left a live table: queue its release for
 * svmgpu_pt_reap(). A full queue is emptied behind an invalidation of the
 * whole context's TLB.
 */
static void svmgpu_pte_retire(struct svmgpu_mmu *mmu, u64 pte, int level)
{
	if (!mmu->owns_dma || (pte & SVMGPU_PTE_VRAM))
		return;
	if (mmu->nreap == ARRAY_SIZE(mmu->reap)) {
		svmgpu_tlb_invalidate(mmu->gdev, SVMGPU_TLB_INV_CONTEXT,
				      mmu->id, 0, 0);
		svmgpu_pt_reap(mmu);
	}
	mmu->reap[mmu->nreap].pte = pte;
	mmu->reap[mmu->nreap].level = level;
	mmu->nreap++;
}

/**
 * svmgpu_pt_free() - free a page table, the tables below it and the DMA
 *	mappings its leaves own
 * @mmu: the context the table belongs to
 * @pt: the table
 * @level: its level
 *
 * Call only once the device can no longer walk @pt: it was never linked,
 * or a synchronous TLB invalidation followed its unlinking.
 */
void svmgpu_pt_free(struct svmgpu_mmu *mmu, struct svmgpu_pt *pt, int level)
{
	struct svmgpu_device *gdev = mmu->gdev;
	unsigned int i;

	for (i = 0; i < SVMGPU_PT_ENTRIES; i++) {
		u64 e = le64_to_cpu(pt->entries[i]);

		if (level > 0 && pt->children[i])
			svmgpu_pt_free(mmu, pt->children[i], level - 1);
		else if (svmgpu_pte_is_leaf(e, level))
			svmgpu_pte_release(mmu, e, level);
	}
	dma_free_coherent(&gdev->pdev->dev, PAGE_SIZE, pt->entries, pt->dma);
	kfree(pt->children);
	kfree(pt);
}

/**
 * svmgpu_mmu_refill() - make sure a spare table exists at every level
 * @mmu: the context
 *
 * Context: process, pt_lock NOT held: allocating may enter reclaim, which
 * may call a notifier, which takes pt_lock.
 * Return: 0, -ENOMEM, or -ENODEV once the context is detached.
 */
int svmgpu_mmu_refill(struct svmgpu_mmu *mmu)
{
	int level;

	lockdep_assert_not_held(&mmu->pt_lock);
	for (level = 0; level < SVMGPU_PT_LEVELS - 1; level++) {
		struct svmgpu_pt *pt;

		if (READ_ONCE(mmu->spare[level]))
			continue;
		pt = svmgpu_pt_alloc(mmu->gdev, level);
		if (!pt)
			return -ENOMEM;
		mutex_lock(&mmu->pt_lock);
		if (mmu->root && !mmu->spare[level]) {
			mmu->spare[level] = pt;
			pt = NULL;
		}
		mutex_unlock(&mmu->pt_lock);
		if (pt)
			svmgpu_pt_free(mmu, pt, level);
		if (!READ_ONCE(mmu->root))
			return -ENODEV;		/* detached meanwhile */
	}
	return 0;
}

/*
 * Write entry @idx of @pt, a level-@level table, as @e. A leaf it held is
 * released and *@replaced set: the device TLB may hold it.
 */
static void svmgpu_pt_set(struct svmgpu_mmu *mmu, struct svmgpu_pt *pt,
			  int level, unsigned int idx, u64 e, bool *replaced)
{
	u64 old = le64_to_cpu(pt->entries[idx]);

	if (svmgpu_pte_is_leaf(old, level)) {
		svmgpu_pte_retire(mmu, old, level);
		*replaced = true;
	}
	WRITE_ONCE(pt->entries[idx], cpu_to_le64(e));
}

/*
 * The level-@leaf_level table on the way to @va, with missing tables
 * installed from the spares (never allocating: we hold pt_lock). A 2 MiB
 * leaf in the way gives way to a table (svmgpu_pt_set()): its other pages
 * fault again. This happens when a single page must differ, e.g. an
 * exclusive grant, which the CPU cannot have in a PMD either. NULL if a
 * spare ran out: refill and retry.
 */
static struct svmgpu_pt *svmgpu_pt_walk(struct svmgpu_mmu *mmu, u64 va,
					int leaf_level, bool *replaced)
{
	struct svmgpu_pt *pt = mmu->root;
	int level;

	lockdep_assert_held(&mmu->pt_lock);
	for (level = SVMGPU_PT_LEVELS - 1; level > leaf_level; level--) {
		unsigned int idx = svmgpu_pt_index(va, level);

		if (!pt->children[idx]) {
			struct svmgpu_pt *child = mmu->spare[level - 1];

			if (!child)
				return NULL;
			mmu->spare[level - 1] = NULL;
			pt->children[idx] = child;
			svmgpu_pt_set(mmu, pt, level, idx,
				      child->dma | SVMGPU_PTE_VALID, replaced);
		}
		pt = pt->children[idx];
	}
	return pt;
}

/**
 * svmgpu_pt_map() - install a 4 KiB leaf
 * @mmu: the context, pt_lock held, attached
 * @va: the page's device-virtual address
 * @pte: the leaf
 * @replaced: set if a leaf was replaced: the caller invalidates the TLB,
 *	then svmgpu_pt_reap()s
 *
 * Return: 0, or -EAGAIN if a spare table ran out (refill and retry).
 */
int svmgpu_pt_map(struct svmgpu_mmu *mmu, u64 va, u64 pte, bool *replaced)
{
	struct svmgpu_pt *pt = svmgpu_pt_walk(mmu, va, 0, replaced);

	if (!pt)
		return -EAGAIN;
	svmgpu_pt_set(mmu, pt, 0, svmgpu_pt_index(va, 0), pte, replaced);
	return 0;
}

/**
 * svmgpu_pt_map_huge() - install a 2 MiB leaf
 * @mmu: the context, pt_lock held, attached
 * @va: the block's device-virtual address, 2 MiB aligned
 * @pte: the leaf, with SVMGPU_PTE_HUGE
 * @replaced: set if something was replaced: the caller invalidates the TLB
 * @table: out: the level-0 table the entry held, or NULL; the caller frees
 *	it with svmgpu_pt_free() after the synchronous TLB invalidation
 *
 * Return: 0, or -EAGAIN if a spare table ran out (refill and retry).
 */
int svmgpu_pt_map_huge(struct svmgpu_mmu *mmu, u64 va, u64 pte,
		       bool *replaced, struct svmgpu_pt **table)
{
	struct svmgpu_pt *pt = svmgpu_pt_walk(mmu, va, 1, replaced);
	unsigned int idx = svmgpu_pt_index(va, 1);

	*table = NULL;
	if (!pt)
		return -EAGAIN;
	*table = pt->children[idx];
	pt->children[idx] = NULL;
	if (*table)
		*replaced = true;
	svmgpu_pt_set(mmu, pt, 1, idx, pte, replaced);
	return 0;
}

/**
 * svmgpu_pt_lookup() - the leaf entry that translates an address
 * @mmu: the context, pt_lock held
 * @va: the address
 *
 * Return: a 4 KiB leaf or a 2 MiB one; 0 if there is none or the context
 * is detached.
 */
u64 svmgpu_pt_lookup(struct svmgpu_mmu *mmu, u64 va)
{
	struct svmgpu_pt *pt = mmu->root;
	int level;

	lockdep_assert_held(&mmu->pt_lock);
	for (level = SVMGPU_PT_LEVELS - 1; pt; level--) {
		unsigned int idx = svmgpu_pt_index(va, level);
		u64 e = le64_to_cpu(READ_ONCE(pt->entries[idx]));

		if (!(e & SVMGPU_PTE_VALID))
			return 0;
		if (svmgpu_pte_is_leaf(e, level))
			return e;
		pt = pt->children[idx];
	}
	return 0;
}

static unsigned long svmgpu_pt_clear_level(struct svmgpu_mmu *mmu,
					   struct svmgpu_pt *pt, int level,
					   u64 base, u64 start, u64 end)
{
	u64 span = 1ull << (SVMGPU_PAGE_SHIFT + 9 * level);
	unsigned long cleared = 0;
	unsigned int i;

	for (i = 0; i < SVMGPU_PT_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;
		u64 e;

		if (hi <= start || lo >= end)
			continue;
		if (level > 0 && pt->children[i]) {
			cleared += svmgpu_pt_clear_level(mmu, pt->children[i],
							 level - 1, lo, start,
							 end);
			continue;
		}
		e = le64_to_cpu(pt->entries[i]);
		if (svmgpu_pte_is_leaf(e, level)) {
			WRITE_ONCE(pt->entries[i], 0);
			svmgpu_pte_retire(mmu, e, level);
			cleared += span >> PAGE_SHIFT;
		}
	}
	return cleared;
}

/**
 * svmgpu_pt_clear() - clear the leaves of a range
 * @mmu: the context, pt_lock held
 * @start: start of the range
 * @end: its end; clamped to the device's virtual address space
 *
 * A 2 MiB leaf that overlaps the range is cleared whole. The caller
 * invalidates the TLB if anything was cleared, then svmgpu_pt_reap()s.
 *
 * Return: how many pages the cleared leaves mapped; 0 when detached.
 */
unsigned long svmgpu_pt_clear(struct svmgpu_mmu *mmu, u64 start, u64 end)
{
	lockdep_assert_held(&mmu->pt_lock);
	end = min_t(u64, end, 1ull << SVMGPU_VA_BITS);
	if (!mmu->root || start >= end)
		return 0;
	return svmgpu_pt_clear_level(mmu, mmu->root, SVMGPU_PT_LEVELS - 1, 0,
				     start, end);
}

/**
 * svmgpu_mmu_init() - take a device MMU context with an empty root table
 * @gdev: the device; the caller holds remove_lock for reading
 * @mmu: the context to initialise (embedded in a front end's object)
 * @ops: the front end
 * @owns_dma: whether leaves own the DMA mappings they point at
 *
 * The context is not reachable by the fault worker yet: see
 * svmgpu_mmu_publish(). Undo with svmgpu_mmu_destroy().
 *
 * Return: 0, -EBUSY when every device MMU context is taken, -ENOMEM.
 */
int svmgpu_mmu_init(struct svmgpu_device *gdev, struct svmgpu_mmu *mmu,
		    const struct svmgpu_mmu_ops *ops, bool owns_dma)
{
	int ret;

	kref_init(&mmu->kref);
	mutex_init(&mmu->pt_lock);
	mmu->gdev = gdev;
	mmu->ops = ops;
	mmu->owns_dma = owns_dma;
	/*
	 * Teach lockdep now that reclaim may take pt_lock (through a
	 * notifier), so that an allocation under it is reported on every
	 * run, not only when reclaim happens to hit.
	 */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&mmu->pt_lock);
	fs_reclaim_release(GFP_KERNEL);

	ret = ida_alloc_max(&gdev->ctx_ida, gdev->num_contexts - 1, GFP_KERNEL);
	if (ret < 0)
		return ret == -ENOSPC ? -EBUSY : ret;
	mmu->id = ret;
	mmu->root = svmgpu_pt_alloc(gdev, SVMGPU_PT_LEVELS - 1);
	if (!mmu->root) {
		ida_free(&gdev->ctx_ida, mmu->id);
		return -ENOMEM;
	}
	return 0;
}

/**
 * svmgpu_mmu_publish() - program the root and make the context reachable
 * @mmu: an initialised context
 *
 * From now on the fault worker finds it and a reset programs its root
 * again. Takes a device reference, which svmgpu_mmu_destroy() drops.
 */
void svmgpu_mmu_publish(struct svmgpu_mmu *mmu)
{
	struct svmgpu_device *gdev = mmu->gdev;

	kref_get(&gdev->kref);
	spin_lock(&gdev->ctx_lock);
	gdev->mmus[mmu->id] = mmu;
	spin_unlock(&gdev->ctx_lock);
	mutex_lock(&mmu->pt_lock);
	svmgpu_wr64(gdev, SVMGPU_REG_CTX_ROOT_LO(mmu->id), mmu->root->dma);
	svmgpu_tlb_invalidate(gdev, SVMGPU_TLB_INV_CONTEXT, mmu->id, 0, 0);
	mutex_unlock(&mmu->pt_lock);
}

/**
 * svmgpu_mmu_unpublish() - make a context unreachable for fault service
 * @mmu: the context
 */
void svmgpu_mmu_unpublish(struct svmgpu_mmu *mmu)
{
	struct svmgpu_device *gdev = mmu->gdev;

	spin_lock(&gdev->ctx_lock);
	if (gdev->mmus[mmu->id] == mmu)
		gdev->mmus[mmu->id] = NULL;
	spin_unlock(&gdev->ctx_lock);
}

/**
 * svmgpu_mmu_detach() - tear down a context's hardware state
 * @mmu: the context
 *
 * Afterwards the device holds no translation of the context: its root is
 * cleared, the TLB invalidated and every table freed. Idempotent.
 * Context: process; the caller keeps the hardware alive.
 */
void svmgpu_mmu_detach(struct svmgpu_mmu *mmu)
{
	struct svmgpu_device *gdev = mmu->gdev;
	int level;

	mutex_lock(&mmu->pt_lock);
	WARN_ON(mmu->nreap);
	if (mmu->root) {
		svmgpu_wr64(gdev, SVMGPU_REG_CTX_ROOT_LO(mmu->id), 0);
		svmgpu_tlb_invalidate(gdev, SVMGPU_TLB_INV_CONTEXT, mmu->id, 0,
				      0);
		svmgpu_pt_free(mmu, mmu->root, SVMGPU_PT_LEVELS - 1);
		mmu->root = NULL;
	}
	for (level = 0; level < SVMGPU_PT_LEVELS - 1; level++) {
		if (mmu->spare[level])
			svmgpu_pt_free(mmu, mmu->spare[level], level);
		mmu->spare[level] = NULL;
	}
	mutex_unlock(&mmu->pt_lock);
}

/**
 * svmgpu_mmu_reprogram() - write every published root again
 * @gdev: the device, after a function-level reset
 */
void svmgpu_mmu_reprogram(struct svmgpu_device *gdev)
{
	unsigned int i;

	for (i = 0; i < SVMGPU_CONTEXTS_MAX; i++) {
		struct svmgpu_mmu *mmu = svmgpu_mmu_lookup(gdev, i);

		if (!mmu)
			continue;
		mutex_lock(&mmu->pt_lock);
		if (mmu->root)
			svmgpu_wr64(gdev, SVMGPU_REG_CTX_ROOT_LO(i),
				    mmu->root->dma);
		mutex_unlock(&mmu->pt_lock);
		svmgpu_mmu_put(mmu);
	}
}

/**
 * svmgpu_mmu_destroy() - give back a detached context's number
 * @mmu: the context: detached, or never published
 * @published: whether svmgpu_mmu_publish() ran (its device reference)
 *
 * Called from the front end's release, when the last reference is gone.
 */
void svmgpu_mmu_destroy(struct svmgpu_mmu *mmu, bool published)
{
	struct svmgpu_device *gdev = mmu->gdev;
	int level;

	/*
	 * A published context was detached before its last reference went:
	 * the hardware may be gone by now, so nothing is written to it here.
	 */
	if (mmu->root) {
		WARN_ON(published);
		svmgpu_pt_free(mmu, mmu->root, SVMGPU_PT_LEVELS - 1);
		mmu->root = NULL;
	}
	for (level = 0; level < SVMGPU_PT_LEVELS - 1; level++)
		if (mmu->spare[level])
			svmgpu_pt_free(mmu, mmu->spare[level], level);
	ida_free(&gdev->ctx_ida, mmu->id);
	if (published)
		svmgpu_device_put(gdev);
}

static void svmgpu_mmu_release(struct kref *kref)
{
	struct svmgpu_mmu *mmu = container_of(kref, struct svmgpu_mmu, kref);

	mmu->ops->release(mmu);
}

/**
 * svmgpu_mmu_put() - drop a reference to a context
 * @mmu: the context
 *
 * The last one calls the front end's release.
 */
void svmgpu_mmu_put(struct svmgpu_mmu *mmu)
{
	kref_put(&mmu->kref, svmgpu_mmu_release);
}

/**
 * svmgpu_mmu_lookup() - the context of a device MMU context number
 * @gdev: the device
 * @id: device MMU context number, from a fault record
 *
 * Return: the published context with a reference, or NULL.
 */
struct svmgpu_mmu *svmgpu_mmu_lookup(struct svmgpu_device *gdev,
				     unsigned int id)
{
	struct svmgpu_mmu *mmu = NULL;

	if (id >= SVMGPU_CONTEXTS_MAX)
		return NULL;
	spin_lock(&gdev->ctx_lock);
	if (gdev->mmus[id] && kref_get_unless_zero(&gdev->mmus[id]->kref))
		mmu = gdev->mmus[id];
	spin_unlock(&gdev->ctx_lock);
	return mmu;
}

/**
 * svmgpu_mmu_maps() - does the device page table map an address as an
 *	access needs
 * @mmu: the context
 * @addr: the faulting address
 * @access: SVMGPU_ACCESS_*
 *
 * If it does, the fault is stale (it raced the commit of another fault's
 * window) or spurious, and a replay is all it needs: servicing it again would fault
 * in its window, with side effects on pages the device never asked for
 * (another device's VRAM pages pulled back to system memory, copy on write
 * broken). A leaf in the table is valid by construction: the notifier
 * clears it, under pt_lock, before the CPU side changes.
 *
 * Return: true if a replay is all the fault needs.
 */
bool svmgpu_mmu_maps(struct svmgpu_mmu *mmu, u64 addr, u8 access)
{
	u64 pte;

	mutex_lock(&mmu->pt_lock);
	pte = svmgpu_pt_lookup(mmu, addr);
	mutex_unlock(&mmu->pt_lock);
	if (!(pte & SVMGPU_PTE_VALID))
		return false;
	if (access == SVMGPU_ACCESS_READ)
		return true;
	if (!(pte & SVMGPU_PTE_WRITE))
		return false;
	return access == SVMGPU_ACCESS_WRITE || (pte & SVMGPU_PTE_VRAM) ||
	       (pte & SVMGPU_PTE_ATOMIC) || svmgpu_sysmem_atomics(mmu->gdev);
}

/* === residency, for both front ends === */

/* One residency byte from one hmm pfn. */
static u8 svmgpu_residency_byte(struct svmgpu_device *gdev, unsigned long pfn)
{
	struct page *page;
	u8 b;

	if (!(pfn & HMM_PFN_VALID) || (pfn & HMM_PFN_ERROR))
		return SVMGPU_RES_NONE;
	page = hmm_pfn_to_page(pfn);
	if (svmgpu_is_vram_page(gdev, page))
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

/* The SVMGPU_RES_DEV_* bits of @npages residency bytes from @start. */
static void svmgpu_residency_device(struct svmgpu_mmu *mmu,
				    unsigned long start, unsigned long npages,
				    u8 *bytes)
{
	unsigned long i;
	u64 e;

	mutex_lock(&mmu->pt_lock);
	for (i = 0; mmu->root && i < npages; i++) {
		e = svmgpu_pt_lookup(mmu, start + i * PAGE_SIZE);
		if (e & SVMGPU_PTE_VALID)
			bytes[i] |= SVMGPU_RES_DEV_MAPPED;
		if (e & SVMGPU_PTE_HUGE)
			bytes[i] |= SVMGPU_RES_DEV_HUGE;
	}
	mutex_unlock(&mmu->pt_lock);
}

/**
 * svmgpu_residency_mm() - where the pages of a user range are
 * @mmu: the device MMU context that mirrors @mm
 * @mm: the address space
 * @mni: an interval notifier of @mm covering the range, for the walk
 * @owner: the device-private owner whose pages are reported, not faulted
 * @start: page-aligned start
 * @npages: number of pages, at most SVMGPU_RESIDENCY_MAX_PAGES
 * @bytes: out: one SVMGPU_RES_* byte per page
 *
 * Reads the CPU page tables with hmm_range_fault() without faulting:
 * nothing is populated or moved. Holes and inaccessible pages read as
 * SVMGPU_RES_NONE; either SVM path's pages in this device's VRAM as
 * SVMGPU_RES_VRAM. Then the device's page tables, for the SVMGPU_RES_DEV_*
 * bits. Shared by both SVM front ends.
 * Return: 0, -ESRCH if the mm is gone, -ENOMEM, -EBUSY.
 */
int svmgpu_residency_mm(struct svmgpu_mmu *mmu, struct mm_struct *mm,
			struct mmu_interval_notifier *mni, void *owner,
			unsigned long start, unsigned long npages, u8 *bytes)
{
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
			.notifier = mni,
			.dev_private_owner = owner,
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
			range.notifier_seq = mmu_interval_read_begin(mni);
			ret = hmm_range_fault(&range);
		} while (ret == -EBUSY);
		if (ret && ret != -EFAULT)
			goto out;
		ret = 0;
		for (i = 0; i < (range.end - range.start) >> PAGE_SHIFT; i++)
			bytes[((range.start - start) >> PAGE_SHIFT) + i] =
				svmgpu_residency_byte(mmu->gdev,
						      range.hmm_pfns[i]);
		addr = range.end;
	}
	svmgpu_residency_device(mmu, start, npages, bytes);
out:
	mmap_read_unlock(mm);
	mmput(mm);
	kvfree(pfns);
	return ret;
}
