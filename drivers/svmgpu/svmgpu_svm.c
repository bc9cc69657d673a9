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
 *
 * DOC: 2 MiB device mappings
 *
 * A fault mirrors the 64 KiB window around it, unless hmm_range_fault()
 * reports the faulting page mapped by a CPU PMD (hmm_pfn_to_map_order() 9:
 * a THP in system memory, the huge zero page, or a 2 MiB device folio in
 * our VRAM). Then the whole naturally aligned block is one folio with one
 * set of permissions, and the driver writes one level-1 leaf with
 * SVMGPU_PTE_HUGE for it, as drm_gpusvm does with its 2 MiB chunks: one
 * fault, one DMA mapping and one TLB entry instead of 32, 512 and 512. The
 * notifier sequence already covers the whole address space, so the retry
 * check protects the block as it protects the window.
 *
 * A 2 MiB leaf is all or nothing. An invalidation of any part of the block
 * clears it whole (the CPU splitting its PMD invalidates too), and the
 * pages fault back, as 4 KiB leaves if the CPU now maps them so. A 4 KiB
 * leaf written inside a mapped block (an exclusive grant, which needs a
 * split PMD anyway) replaces the 2 MiB leaf with a table; a 2 MiB leaf
 * written over a table frees the table once the synchronous TLB
 * invalidation guarantees the device no longer reads it. An atomic fault
 * maps its page alone, as before. The module parameter huge_ptes=0 turns
 * 2 MiB leaves off.
 *
 * DOC: Device atomics
 *
 * The device does atomics on its VRAM, and on system memory only when it
 * has sysmem atomics (SVMGPU_CAP_SYSMEM_ATOMICS, the device property
 * sysmem-atomics=on), as on a PCIe link without AtomicOps. Otherwise an
 * atomic on a system page needs a leaf with SVMGPU_PTE_ATOMIC, which the
 * driver writes only while the page is device-exclusive: an atomic fault
 * on system memory calls make_device_exclusive() under the mmap read lock
 * inside a notifier critical section, maps the page with the atomic
 * permission, then unlocks and drops the folio. The CPU's PTE is then a
 * device-exclusive entry, so no CPU can touch the page while the device
 * does its read-modify-write. A CPU access restores the PTE and raises an
 * MMU_NOTIFY_CLEAR invalidation, which unmaps the page from the device;
 * its next atomic faults again. The notifier ignores only the
 * MMU_NOTIFY_EXCLUSIVE event that our own make_device_exclusive() raises.
 *
 * Exclusive access exists for private anonymous memory only;
 * make_device_exclusive() refuses file-backed, shmem and hugetlb pages, and
 * so does migration to VRAM, so a device atomic there is cancelled with
 * -EOPNOTSUPP (the command's status EOPNOTSUPP).
 *
 * The range policy SVMGPU_POLICY_ATOMIC_VRAM instead moves the faulting
 * window to VRAM and keeps it there for a timeslice against CPU faults
 * (xe's approach; see svmgpu_migrate_to_ram()); pages that cannot move
 * fall back to exclusive access.
 */

#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "svmgpu_drv.h"

#define CREATE_TRACE_POINTS
#include "svmgpu_trace.h"

/* Module parameter huge_ptes, see svmgpu_pfn_to_huge_pte(). */
static bool huge_ptes = true;
module_param(huge_ptes, bool, 0644);
MODULE_PARM_DESC(huge_ptes,
		 "map a 2 MiB block the CPU maps with one PMD with one 2 MiB device PTE (default Y)");

/* === contexts === */

static bool svmgpu_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct svmgpu_ctx *ctx = container_of(mni, struct svmgpu_ctx, notifier);
	u64 start = range->start, end = range->end;
	unsigned long cleared;

	/*
	 * Our own make_device_exclusive(): the page stays where it is and the
	 * fault path maps it next, inside its notifier critical section.
	 */
	if (range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == ctx->mmu.gdev)
		return true;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&ctx->mmu.pt_lock);
	else if (!mutex_trylock(&ctx->mmu.pt_lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	/*
	 * This context's own migration to VRAM: of the range, only the pages
	 * migrate_vma_setup() selects move, and svmgpu_unmap_migrating() unmaps
	 * just those. The rest, pages already in VRAM above all, stay mapped.
	 * The sequence still moves, for a fault being serviced to retry.
	 */
	if (range->event == MMU_NOTIFY_MIGRATE && range->owner == ctx) {
		mutex_unlock(&ctx->mmu.pt_lock);
		return true;
	}
	/* No root: the device is gone, nothing it could still use. */
	cleared = svmgpu_pt_clear(&ctx->mmu, start, end);
	trace_svmgpu_invalidate(ctx->mmu.gdev->id, ctx->mmu.id, start, end,
				range->event, cleared);
	if (cleared) {
		svmgpu_tlb_invalidate(ctx->mmu.gdev, SVMGPU_TLB_INV_RANGE,
				      ctx->mmu.id, start, end - start);
		atomic64_inc(&ctx->mmu.stats.invalidations);
		atomic64_inc(&ctx->mmu.gdev->stats.invalidations);
	}
	svmgpu_pt_reap(&ctx->mmu);	/* the DMA mappings, after the TLB */
	mutex_unlock(&ctx->mmu.pt_lock);
	return true;
}

static const struct mmu_interval_notifier_ops svmgpu_notifier_ops = {
	.invalidate = svmgpu_invalidate,
};

/**
 * svmgpu_unmap_migrating() - unmap the pages a migration to VRAM selected
 * @ctx: the context migrating (the owner of the MMU_NOTIFY_MIGRATE event)
 * @start: address of @src[0]
 * @src: migrate_vma_setup()'s source array
 * @npages: its entries
 *
 * Completes the invalidation svmgpu_invalidate() left out: the device
 * must not touch a page while the engine copies it, nor after it is freed.
 * The pages are locked and unmapped from the CPU, so no fault can map them
 * again before the migration ends.
 */
void svmgpu_unmap_migrating(struct svmgpu_ctx *ctx, unsigned long start,
			    const unsigned long *src, unsigned long npages)
{
	unsigned long i = 0, run, cleared = 0;

	mutex_lock(&ctx->mmu.pt_lock);
	while (ctx->mmu.root && i < npages) {
		if (!(src[i] & MIGRATE_PFN_MIGRATE)) {
			i++;
			continue;
		}
		/* a 2 MiB entry is followed by 511 empty ones it covers */
		for (run = i; run < npages && (src[run] & MIGRATE_PFN_MIGRATE);)
			run += src[run] & MIGRATE_PFN_COMPOUND ?
			       SVMGPU_BLOCK_PAGES : 1;
		run = min(run, npages);
		cleared += svmgpu_pt_clear(&ctx->mmu, start + i * PAGE_SIZE,
					   start + run * PAGE_SIZE);
		i = run;
	}
	if (cleared)
		svmgpu_tlb_invalidate(ctx->mmu.gdev, SVMGPU_TLB_INV_RANGE,
				      ctx->mmu.id, start, npages * PAGE_SIZE);
	svmgpu_pt_reap(&ctx->mmu);
	mutex_unlock(&ctx->mmu.pt_lock);
}

static int svmgpu_ctx_service_fault(struct svmgpu_mmu *mmu, u64 addr,
				    u8 access);

static void svmgpu_ctx_release(struct svmgpu_mmu *mmu)
{
	struct svmgpu_ctx *ctx = container_of(mmu, struct svmgpu_ctx, mmu);

	/* The last reference: the file is closed and no fault is serviced. */
	mmu_interval_notifier_remove(&ctx->notifier);
	mmdrop(ctx->mm);
	svmgpu_mmu_destroy(&ctx->mmu, true);
	kfree(ctx);
}

static const struct svmgpu_mmu_ops svmgpu_ctx_mmu_ops = {
	.service_fault = svmgpu_ctx_service_fault,
	.detach = svmgpu_mmu_detach,
	.release = svmgpu_ctx_release,
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
	mutex_init(&ctx->policy_lock);
	ret = svmgpu_mmu_init(gdev, &ctx->mmu, &svmgpu_ctx_mmu_ops, true);
	if (ret)
		goto err_free;

	ctx->mm = current->mm;
	mmgrab(ctx->mm);
	ret = mmu_interval_notifier_insert(&ctx->notifier, ctx->mm, 0,
					   ULONG_MAX & PAGE_MASK,
					   &svmgpu_notifier_ops);
	if (ret)
		goto err_mm;
	/* Published last: a reset from now on programs the root again. */
	svmgpu_mmu_publish(&ctx->mmu);
	return ctx;

err_mm:
	mmdrop(ctx->mm);
	svmgpu_mmu_destroy(&ctx->mmu, false);
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
	svmgpu_mmu_detach(&ctx->mmu);
}

/**
 * svmgpu_ctx_put() - drop a reference to a context
 * @ctx: the context
 */
void svmgpu_ctx_put(struct svmgpu_ctx *ctx)
{
	svmgpu_mmu_put(&ctx->mmu);
}

/**
 * svmgpu_ctx_unpublish() - make a context unreachable for fault service
 * @ctx: the context
 */
void svmgpu_ctx_unpublish(struct svmgpu_ctx *ctx)
{
	svmgpu_mmu_unpublish(&ctx->mmu);
}

/* === fault service === */

/**
 * svmgpu_set_policy() - set the fault policy of a range
 * @ctx: the context
 * @start: page-aligned start
 * @end: page-aligned end
 * @placement: SVMGPU_POLICY_MIRROR or SVMGPU_POLICY_MIGRATE_ON_FAULT
 * @atomic: SVMGPU_POLICY_ATOMIC_*
 *
 * Return: 0, or -ENOSPC when SVMGPU_POLICY_MAX_RANGES were set already.
 */
int svmgpu_set_policy(struct svmgpu_ctx *ctx, u64 start, u64 end,
		      u32 placement, u32 atomic)
{
	int ret = 0;

	mutex_lock(&ctx->policy_lock);
	if (ctx->npolicies == SVMGPU_POLICY_MAX_RANGES) {
		ret = -ENOSPC;
	} else {
		ctx->policies[ctx->npolicies].start = start;
		ctx->policies[ctx->npolicies].end = end;
		ctx->policies[ctx->npolicies].placement = placement;
		ctx->policies[ctx->npolicies].atomic = atomic;
		ctx->npolicies++;
	}
	mutex_unlock(&ctx->policy_lock);
	return ret;
}

/*
 * The policy of @addr: that of the latest range that covers it, else
 * MIRROR and ATOMIC_EXCLUSIVE; [*start, *end) is narrowed to that range.
 */
static struct svmgpu_policy_range svmgpu_policy_of(struct svmgpu_ctx *ctx,
						   u64 addr, u64 *start,
						   u64 *end)
{
	struct svmgpu_policy_range policy = {
		.placement = SVMGPU_POLICY_MIRROR,
		.atomic = SVMGPU_POLICY_ATOMIC_EXCLUSIVE,
	};
	int i;

	mutex_lock(&ctx->policy_lock);
	for (i = ctx->npolicies - 1; i >= 0; i--) {
		struct svmgpu_policy_range *r = &ctx->policies[i];

		if (addr >= r->start && addr < r->end) {
			policy = *r;
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
 * pt_lock held. Each entry written takes over its DMA mapping. An entry
 * the table already holds is not written again (a fault on a page that was
 * mapped, such as a spurious one, costs no PTE write and no TLB
 * invalidation): its new DMA mapping stays in @dma, for the caller to undo.
 */
static int svmgpu_commit_range(struct svmgpu_ctx *ctx, struct hmm_range *range,
			       u64 *pte, dma_addr_t *dma)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;
	bool replaced = false;
	int ret = 0;

	lockdep_assert_held(&ctx->mmu.pt_lock);
	if (!ctx->mmu.root)
		return -ENODEV;
	for (i = 0; i < npages; i++) {
		u64 va = range->start + (i << PAGE_SHIFT);

		if (!pte[i] || svmgpu_pt_lookup(&ctx->mmu, va) == pte[i])
			continue;
		ret = svmgpu_pt_map(&ctx->mmu, va, pte[i], &replaced);
		if (ret)
			break;
		pte[i] = 0;
		dma[i] = 0;	/* the PTE owns the mapping now */
		atomic64_inc(&ctx->mmu.stats.pages_mapped);
		atomic64_inc(&ctx->mmu.gdev->stats.pages_mapped);
	}
	/* A leaf we replaced may be cached, with its old permissions. */
	if (replaced)
		svmgpu_tlb_invalidate(ctx->mmu.gdev, SVMGPU_TLB_INV_RANGE, ctx->mmu.id,
				      range->start, range->end - range->start);
	svmgpu_pt_reap(&ctx->mmu);
	return ret;
}

/* Unmap what no leaf took over: @dma[i] was mapped for leaf @pte[i]. */
static void svmgpu_unmap_dma(struct svmgpu_device *gdev, const u64 *pte,
			     dma_addr_t *dma, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (dma[i])
			dma_unmap_page(&gdev->pdev->dev, dma[i], PAGE_SIZE,
				       svmgpu_pte_dma_dir(pte[i]));
		dma[i] = 0;
	}
}

/*
 * The device PTE for the page hmm_range_fault() returned as @pfn, 0 if it
 * returned none; a system page is DMA-mapped into *@dma (0 otherwise).
 * Returns -ENOMEM if the mapping failed.
 */
static int svmgpu_pfn_to_pte(struct svmgpu_device *gdev, unsigned long pfn,
			     u64 *pte, dma_addr_t *dma)
{
	u64 flags = SVMGPU_PTE_VALID |
		    (pfn & HMM_PFN_WRITE ? SVMGPU_PTE_WRITE : 0);
	struct page *page;

	*pte = 0;
	*dma = 0;
	if (!(pfn & HMM_PFN_VALID) || (pfn & HMM_PFN_ERROR))
		return 0;
	page = hmm_pfn_to_page(pfn);
	if (svmgpu_is_own_vram_page(gdev, page)) {
		*pte = svmgpu_page_vram_offset(gdev, page) | SVMGPU_PTE_VRAM |
		       flags;
		svmgpu_vram_touch(gdev, page);
		return 0;
	}
	*dma = dma_map_page(&gdev->pdev->dev, page, 0, PAGE_SIZE,
			    svmgpu_pte_dma_dir(flags));
	if (dma_mapping_error(&gdev->pdev->dev, *dma)) {
		*dma = 0;
		return -ENOMEM;
	}
	*pte = *dma | flags;
	return 0;
}

/*
 * The 2 MiB device PTE for the block hmm_range_fault() returned @pfn in
 * (any of its pages), if the CPU maps that block with one PMD: then it is
 * one naturally aligned folio, in system memory or in our VRAM, with one
 * set of permissions, and the notifier sequence covers all of it, not just
 * the pages asked for. 0 otherwise, or when its bus address or VRAM offset
 * is not 2 MiB aligned, and the caller maps 4 KiB pages; a system block is
 * DMA-mapped into *@dma. Returns -ENOMEM if the mapping failed.
 */
static int svmgpu_pfn_to_huge_pte(struct svmgpu_device *gdev,
				  unsigned long pfn, u64 *pte, dma_addr_t *dma)
{
	u64 flags = SVMGPU_PTE_VALID | SVMGPU_PTE_HUGE |
		    (pfn & HMM_PFN_WRITE ? SVMGPU_PTE_WRITE : 0);
	struct page *head;

	*pte = 0;
	*dma = 0;
	if (!READ_ONCE(huge_ptes) || !(pfn & HMM_PFN_VALID) ||
	    (pfn & HMM_PFN_ERROR) ||
	    hmm_pfn_to_map_order(pfn) != SVMGPU_HUGE_SHIFT - PAGE_SHIFT)
		return 0;
	head = pfn_to_page(ALIGN_DOWN(page_to_pfn(hmm_pfn_to_page(pfn)),
				      SVMGPU_BLOCK_PAGES));
	if (svmgpu_is_own_vram_page(gdev, head)) {
		u64 off = svmgpu_page_vram_offset(gdev, head);

		if (!IS_ALIGNED(off, SVMGPU_HUGE_SIZE))
			return 0;
		*pte = off | SVMGPU_PTE_VRAM | flags;
		svmgpu_vram_touch(gdev, head);
		return 0;
	}
	if (is_zone_device_page(head))
		return 0;
	*dma = dma_map_page(&gdev->pdev->dev, head, 0, SVMGPU_HUGE_SIZE,
			    svmgpu_pte_dma_dir(flags));
	if (dma_mapping_error(&gdev->pdev->dev, *dma)) {
		*dma = 0;
		return -ENOMEM;
	}
	if (!IS_ALIGNED(*dma, SVMGPU_HUGE_SIZE)) {
		dma_unmap_page(&gdev->pdev->dev, *dma, SVMGPU_HUGE_SIZE,
			       svmgpu_pte_dma_dir(flags));
		*dma = 0;
		return 0;
	}
	*pte = *dma | flags;
	return 0;
}

/*
 * Install the 2 MiB leaf @pte for the block at @va; pt_lock held. The leaf
 * takes over the DMA mapping *@dma (then zeroed), unless the table holds
 * that very leaf already: then nothing is written.
 */
static int svmgpu_commit_huge(struct svmgpu_ctx *ctx, u64 va, u64 pte,
			      dma_addr_t *dma, struct svmgpu_pt **table)
{
	bool replaced = false;
	int ret;

	lockdep_assert_held(&ctx->mmu.pt_lock);
	if (!ctx->mmu.root)
		return -ENODEV;
	va = ALIGN_DOWN(va, SVMGPU_HUGE_SIZE);
	if (svmgpu_pt_lookup(&ctx->mmu, va) == pte)
		return 0;
	ret = svmgpu_pt_map_huge(&ctx->mmu, va, pte, &replaced, table);
	if (ret)
		return ret;
	*dma = 0;
	atomic64_inc(&ctx->mmu.stats.pages_mapped);
	atomic64_inc(&ctx->mmu.gdev->stats.pages_mapped);
	atomic64_inc(&ctx->mmu.gdev->stats.huge_mapped);
	/* Synchronous: afterwards the device uses no entry of *@table. */
	if (replaced)
		svmgpu_tlb_invalidate(ctx->mmu.gdev, SVMGPU_TLB_INV_RANGE, ctx->mmu.id,
				      va, SVMGPU_HUGE_SIZE);
	svmgpu_pt_reap(&ctx->mmu);
	return 0;
}

/*
 * The second half of the canonical loop, after hmm_range_fault() filled
 * @range (which lies in one 2 MiB block): make the device PTEs, then
 * commit them under pt_lock unless an invalidation intervened. One 2 MiB
 * leaf for the whole block when @huge allows it and the CPU maps the block
 * with one PMD, else 4 KiB leaves for the pages of @range; @pte and @dma
 * have room for those. Returns 0, -EAGAIN when the caller must go round
 * the loop again (invalidated meanwhile, or out of spare tables), or an
 * error.
 */
static int svmgpu_mirror_commit(struct svmgpu_ctx *ctx,
				struct hmm_range *range, bool huge, u64 *pte,
				dma_addr_t *dma)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	struct svmgpu_pt *table = NULL;
	dma_addr_t huge_dma = 0;
	u64 huge_pte = 0;
	int ret = 0;

	/*
	 * The pages are DMA-mapped only after the retry check, under
	 * pt_lock: until then an invalidation may have freed them.
	 */
	mutex_lock(&ctx->mmu.pt_lock);
	if (mmu_interval_read_retry(range->notifier, range->notifier_seq))
		ret = -EAGAIN;
	else if (huge)
		ret = svmgpu_pfn_to_huge_pte(gdev, range->hmm_pfns[0],
					     &huge_pte, &huge_dma);
	for (i = 0; i < npages && !ret && !huge_pte; i++)
		ret = svmgpu_pfn_to_pte(gdev, range->hmm_pfns[i], &pte[i],
					&dma[i]);
	if (!ret && huge_pte)
		ret = svmgpu_commit_huge(ctx, range->start, huge_pte, &huge_dma,
					 &table);
	else if (!ret)
		ret = svmgpu_commit_range(ctx, range, pte, dma);
	mutex_unlock(&ctx->mmu.pt_lock);
	if (table)
		svmgpu_pt_free(&ctx->mmu, table, 0);
	if (huge_dma)
		dma_unmap_page(&gdev->pdev->dev, huge_dma, SVMGPU_HUGE_SIZE,
			       svmgpu_pte_dma_dir(huge_pte));
	svmgpu_unmap_dma(gdev, pte, dma, npages);
	return ret;
}

/* Does @range hold one of our VRAM pages that the CPU maps read-only? */
static bool svmgpu_range_has_readonly_vram(struct svmgpu_device *gdev,
					   const struct hmm_range *range)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;

	for (i = 0; i < npages; i++) {
		unsigned long pfn = range->hmm_pfns[i];

		if ((pfn & HMM_PFN_VALID) && !(pfn & HMM_PFN_WRITE) &&
		    svmgpu_is_own_vram_page(gdev, hmm_pfn_to_page(pfn)))
			return true;
	}
	return false;
}

/*
 * The canonical mirroring loop for the fault at @addr (see the Mirroring
 * DOC section): mirror the aligned SVMGPU_FAULT_WINDOW around it within its
 * VMA, or its whole 2 MiB block (2 MiB device mappings). Returns
 * -EOPNOTSUPP, mapping nothing, for an atomic on a system page the device
 * cannot do atomics on.
 */
static int svmgpu_mirror(struct svmgpu_ctx *ctx, u64 addr, u8 access)
{
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	bool write = access != SVMGPU_ACCESS_READ;
	unsigned long pfns[SVMGPU_FAULT_WINDOW], timeout;
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

	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		if (time_after(jiffies, timeout)) {
			ret = -EBUSY;
			break;
		}
		ret = svmgpu_mmu_refill(&ctx->mmu);
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
		/*
		 * Only the faulting page: for hmm to say -EPERM, and for an
		 * atomic, as faulting the window in would take neighbours the
		 * device holds exclusive back from it.
		 */
		if ((write && !(vma->vm_flags & VM_WRITE)) ||
		    access == SVMGPU_ACCESS_ATOMIC) {
			range.start = addr & PAGE_MASK;
			range.end = range.start + PAGE_SIZE;
		}
		if (write)
			range.default_flags |= HMM_PFN_REQ_WRITE;
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;

		i = (addr - range.start) >> PAGE_SHIFT;
		/*
		 * hmm_range_fault() reports our own VRAM pages as they are,
		 * read-only too when a write was asked for: shared
		 * copy-on-write after fork(). Mapped read-only, the write
		 * would fault again forever; so once more without claiming
		 * them, which brings them to system memory, where the write
		 * fault breaks COW.
		 */
		if (write && range.dev_private_owner &&
		    svmgpu_range_has_readonly_vram(gdev, &range)) {
			range.dev_private_owner = NULL;
			continue;
		}
		if (access == SVMGPU_ACCESS_ATOMIC &&
		    !svmgpu_is_own_vram_page(gdev, hmm_pfn_to_page(pfns[i])) &&
		    !svmgpu_sysmem_atomics(gdev)) {
			ret = -EOPNOTSUPP;
			break;
		}
		/* an atomic maps its page alone, as above */
		ret = svmgpu_mirror_commit(ctx, &range,
					   access != SVMGPU_ACCESS_ATOMIC, pte,
					   dma);
		if (ret != -EAGAIN)
			break;
	}
	return ret;
}

/**
 * struct svmgpu_page_notifier - an interval notifier over one page, for the
 *	duration of one exclusive grant
 * @mni: the notifier
 * @ctx: the context granting
 */
struct svmgpu_page_notifier {
	struct mmu_interval_notifier mni;
	struct svmgpu_ctx *ctx;
};

/*
 * Only the sequence: the context's own notifier unmaps. Being narrow is the
 * point: the context's notifier covers the whole address space, and a CPU
 * thread taking back another exclusive page would otherwise make every
 * grant retry, as long as the thread runs.
 */
static bool svmgpu_page_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct svmgpu_page_notifier *pn =
		container_of(mni, struct svmgpu_page_notifier, mni);
	struct svmgpu_ctx *ctx = pn->ctx;

	if (range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == ctx->mmu.gdev)
		return true;
	if (mmu_notifier_range_blockable(range))
		mutex_lock(&ctx->mmu.pt_lock);
	else if (!mutex_trylock(&ctx->mmu.pt_lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&ctx->mmu.pt_lock);
	return true;
}

static const struct mmu_interval_notifier_ops svmgpu_page_notifier_ops = {
	.invalidate = svmgpu_page_invalidate,
};

/*
 * make_device_exclusive() of the page at @addr and its device PTE with the
 * atomic permission, in a critical section of @mni.
 */
static int svmgpu_grant_exclusive(struct svmgpu_ctx *ctx, u64 addr,
				  struct mmu_interval_notifier *mni)
{
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	struct mm_struct *mm = ctx->mm;
	unsigned long timeout, seq;
	struct vm_area_struct *vma;
	struct folio *folio;
	struct page *page;
	bool replaced = false;
	dma_addr_t dma;
	int ret;

	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		if (time_after(jiffies, timeout))
			return -EBUSY;
		ret = svmgpu_mmu_refill(&ctx->mmu);
		if (ret)
			return ret;

		/*
		 * Fault the page in writable and its PMD split first, outside
		 * the critical section. make_device_exclusive() would do both,
		 * but inside it: the split of a THP, or the restore of the
		 * exclusive entry a failed round left, invalidates the page
		 * and fails the retry check of every round. Errors are left
		 * for make_device_exclusive() to report.
		 */
		mmap_read_lock(mm);
		if (get_user_pages_remote(mm, addr, 1,
					  FOLL_WRITE | FOLL_SPLIT_PMD, &page,
					  NULL) == 1)
			put_page(page);
		mmap_read_unlock(mm);

		seq = mmu_interval_read_begin(mni);
		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		if (!vma)
			page = ERR_PTR(-EFAULT);
		else if (!(vma->vm_flags & VM_WRITE))
			page = ERR_PTR(-EPERM);
		else
			page = make_device_exclusive(mm, addr, gdev, &folio);
		mmap_read_unlock(mm);
		if (IS_ERR(page))
			return PTR_ERR(page);

		/* Locked and referenced: the entry stays ours until unlock. */
		dma = dma_map_page(&gdev->pdev->dev, page, 0, PAGE_SIZE,
				   DMA_BIDIRECTIONAL);
		if (dma_mapping_error(&gdev->pdev->dev, dma)) {
			ret = -ENOMEM;
			dma = 0;
		} else {
			/* exclusive entries read clean; the device will write */
			folio_mark_dirty(folio);
			mutex_lock(&ctx->mmu.pt_lock);
			if (!ctx->mmu.root)
				ret = -ENODEV;
			else if (mmu_interval_read_retry(mni, seq))
				ret = -EAGAIN;
			else
				ret = svmgpu_pt_map(&ctx->mmu, addr,
						    dma | SVMGPU_PTE_VALID |
						    SVMGPU_PTE_WRITE |
						    SVMGPU_PTE_ATOMIC,
						    &replaced);
			if (replaced)
				svmgpu_tlb_invalidate(gdev, SVMGPU_TLB_INV_RANGE,
						      ctx->mmu.id, addr, PAGE_SIZE);
			svmgpu_pt_reap(&ctx->mmu);
			mutex_unlock(&ctx->mmu.pt_lock);
		}
		folio_unlock(folio);
		folio_put(folio);
		if (!ret) {
			atomic64_inc(&ctx->mmu.stats.pages_mapped);
			atomic64_inc(&gdev->stats.pages_mapped);
			atomic64_inc(&gdev->stats.exclusive);
			return 0;
		}
		if (dma)
			dma_unmap_page(&gdev->pdev->dev, dma, PAGE_SIZE,
				       DMA_BIDIRECTIONAL);
		if (ret != -EAGAIN)
			return ret;
	}
}

/**
 * svmgpu_map_exclusive() - make a system page device-exclusive and map it
 *	with the atomic permission
 * @ctx: the context
 * @addr: a user virtual address in the page
 *
 * Grant the device exclusive access to the system page at @addr and map it
 * with the atomic permission (see the Device atomics DOC section), inside
 * the critical section of a notifier over just that page.
 *
 * Return: 0, -EFAULT without a VMA, -EPERM for a read-only one, -ENODEV,
 * -ENOMEM, -EBUSY, or the error of make_device_exclusive().
 * Context: process, no lock of the driver held; takes the mmap read lock.
 */
int svmgpu_map_exclusive(struct svmgpu_ctx *ctx, u64 addr)
{
	struct svmgpu_page_notifier pn = { .ctx = ctx };
	int ret;

	addr &= PAGE_MASK;
	ret = mmu_interval_notifier_insert(&pn.mni, ctx->mm, addr, PAGE_SIZE,
					   &svmgpu_page_notifier_ops);
	if (ret)
		return ret;
	ret = svmgpu_grant_exclusive(ctx, addr, &pn.mni);
	mmu_interval_notifier_remove(&pn.mni);
	trace_svmgpu_exclusive(ctx->mmu.gdev->id, ctx->mmu.id, addr, ret);
	return ret;
}

/**
 * svmgpu_ctx_service_fault() - service a device fault of the own core
 * @mmu: the faulting context's device MMU context
 * @addr: faulting device-virtual (= user virtual) address
 * @access: SVMGPU_ACCESS_*
 *
 * Mirrors the faulting page and, in the same hmm_range_fault(), its
 * neighbours in an aligned SVMGPU_FAULT_WINDOW within the same VMA
 * (writable if the access writes and the VMA allows it), after moving them
 * to VRAM if the range's policy says so. An atomic on system memory the
 * device cannot do atomics on gets the page device-exclusive instead.
 *
 * Return: 0 when the faulting page is mapped as @access needs (REPLAY),
 * else a negative errno (CANCEL): -EFAULT no VMA or no access, -EPERM write
 * to a read-only mapping, -EOPNOTSUPP atomic on memory that can be neither
 * exclusive nor in VRAM (file-backed, shared, hugetlb), -ESRCH the mm is
 * gone, -ENODEV the device is gone, -EBUSY invalidations kept racing for
 * HMM_RANGE_DEFAULT_TIMEOUT.
 * Context: process (the fault worker); sleeps.
 */
static int svmgpu_ctx_service_fault(struct svmgpu_mmu *mmu, u64 addr,
				    u8 access)
{
	struct svmgpu_ctx *ctx = container_of(mmu, struct svmgpu_ctx, mmu);
	struct svmgpu_device *gdev = mmu->gdev;
	unsigned long window = SVMGPU_FAULT_WINDOW * PAGE_SIZE;
	u64 start = ALIGN_DOWN(addr, window), end = start + window;
	struct svmgpu_policy_range policy;
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;
	bool atomic_vram;
	int ret;

	if (addr >> SVMGPU_VA_BITS || addr >= TASK_SIZE)
		return -EFAULT;
	if (!mmget_not_zero(mm))
		return -ESRCH;

	atomic64_inc(&ctx->mmu.stats.faults);
	if (svmgpu_mmu_maps(&ctx->mmu, addr, access)) {
		mmput(mm);
		trace_svmgpu_fault(gdev->id, ctx->mmu.id, addr, access, 0);
		return 0;
	}

	/*
	 * Migrate on fault, or for an atomic: move the window (within its VMA
	 * and the policy's range) to VRAM first, on the kernel ring while the
	 * faulting command waits on the user ring. What cannot move is
	 * mirrored in place.
	 */
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma) {
		start = max_t(u64, start, vma->vm_start);
		end = min_t(u64, end, vma->vm_end);
	}
	mmap_read_unlock(mm);
	policy = svmgpu_policy_of(ctx, addr, &start, &end);
	atomic_vram = access == SVMGPU_ACCESS_ATOMIC &&
		      policy.atomic == SVMGPU_POLICY_ATOMIC_VRAM &&
		      !svmgpu_sysmem_atomics(gdev);
	if (vma && gdev->vram_pages &&
	    (policy.placement == SVMGPU_POLICY_MIGRATE_ON_FAULT || atomic_vram)) {
		u64 moved;

		svmgpu_migrate_range(ctx, start, end, true, atomic_vram,
				     &moved);
	}

	ret = svmgpu_mirror(ctx, addr, access);
	if (ret == -EOPNOTSUPP)
		ret = svmgpu_map_exclusive(ctx, addr);
	mmput(mm);
	trace_svmgpu_fault(gdev->id, ctx->mmu.id, addr, access, ret);
	return ret;
}

/**
 * svmgpu_residency() - where the pages of a user range are
 * @ctx: the context (its mm)
 * @start: page-aligned start
 * @npages: number of pages, at most SVMGPU_RESIDENCY_MAX_PAGES
 * @bytes: out: one SVMGPU_RES_* byte per page
 *
 * See svmgpu_residency_mm(); the context's notifier serves the walk.
 * Return: 0, -ESRCH if the mm is gone, -ENOMEM, -EBUSY.
 */
int svmgpu_residency(struct svmgpu_ctx *ctx, unsigned long start,
		     unsigned long npages, u8 *bytes)
{
	return svmgpu_residency_mm(&ctx->mmu, ctx->mm, &ctx->notifier,
				   ctx->mmu.gdev, start, npages, bytes);
}

/* === whole-range mirroring, for the dmirror interface === */

/*
 * The first page of [@start, @end) whose device PTE lacks one of the bits
 * in @need, or @end.
 */
static unsigned long svmgpu_first_unmapped(struct svmgpu_ctx *ctx,
					   unsigned long start,
					   unsigned long end, u64 need)
{
	unsigned long va;

	mutex_lock(&ctx->mmu.pt_lock);
	for (va = start; va < end; va += PAGE_SIZE)
		if ((svmgpu_pt_lookup(&ctx->mmu, va) & need) != need)
			break;
	mutex_unlock(&ctx->mmu.pt_lock);
	return va;
}

/*
 * Mirror @range (within one level-0 table, at most SVMGPU_BLOCK_PAGES
 * pages, any number of VMAs) with the canonical loop of svmgpu_mirror():
 * one hmm_range_fault() of the whole window, then the PTEs under pt_lock
 * unless an invalidation intervened (one 2 MiB leaf if the CPU maps the
 * block with a PMD). @range has the notifier, the pfns and the fault flags
 * set; @pte and @dma have room for its pages.
 */
static int svmgpu_mirror_window(struct svmgpu_ctx *ctx,
				struct hmm_range *range, u64 *pte,
				dma_addr_t *dma)
{
	void *owner = range->dev_private_owner;
	struct mm_struct *mm = ctx->mm;
	unsigned long timeout;
	int ret;

	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		if (time_after(jiffies, timeout)) {
			ret = -EBUSY;
			break;
		}
		ret = svmgpu_mmu_refill(&ctx->mmu);
		if (ret)
			break;

		range->notifier_seq = mmu_interval_read_begin(&ctx->notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;
		/* COW-shared VRAM pages to break, as in svmgpu_mirror() */
		if ((range->default_flags & HMM_PFN_REQ_WRITE) &&
		    range->dev_private_owner &&
		    svmgpu_range_has_readonly_vram(ctx->mmu.gdev, range)) {
			range->dev_private_owner = NULL;
			continue;
		}

		ret = svmgpu_mirror_commit(ctx, range, true, pte, dma);
		if (ret != -EAGAIN)
			break;
	}
	range->dev_private_owner = owner;
	return ret;
}

/**
 * svmgpu_mirror_range() - make sure a whole user range is mirrored
 * @ctx: the context
 * @start: page-aligned start
 * @end: page-aligned end, at most TASK_SIZE
 * @write: the device will write: the PTEs must be writable
 * @faults: incremented when the range needed mirroring
 *
 * If every page of the range already has a device PTE (a writable one for
 * @write), nothing happens. Otherwise everything from the first page that
 * lacks one to @end is mirrored, with one hmm_range_fault() round per
 * 2 MiB window (the window lies in one level-0 table, so one spare table
 * per level suffices), and *@faults goes up by one: the dmirror READ and
 * WRITE count device faults this way. The range may span VMAs.
 *
 * Pages may be invalidated again as soon as this returns; a device access
 * to them then faults and is serviced as usual.
 *
 * Return: 0, -EFAULT for a hole or an inaccessible page, -EPERM for @write
 * to a read-only mapping, -ESRCH if the mm is gone, -ENODEV if the device
 * is, -ENOMEM, -EBUSY if invalidations kept racing for
 * HMM_RANGE_DEFAULT_TIMEOUT.
 * Context: process, no lock of the driver held; takes the mmap read lock.
 */
int svmgpu_mirror_range(struct svmgpu_ctx *ctx, unsigned long start,
			unsigned long end, bool write, u64 *faults)
{
	const unsigned long window = SVMGPU_BLOCK_PAGES * PAGE_SIZE;
	u64 need = SVMGPU_PTE_VALID | (write ? SVMGPU_PTE_WRITE : 0);
	struct hmm_range range = {
		.notifier = &ctx->notifier,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (write ? HMM_PFN_REQ_WRITE : 0),
		.dev_private_owner = ctx->mmu.gdev,
	};
	unsigned long addr, *pfns;
	dma_addr_t *dma;
	u64 *pte;
	int ret = 0;

	start = svmgpu_first_unmapped(ctx, start, end, need);
	if (start >= end)
		return 0;
	if (!mmget_not_zero(ctx->mm))
		return -ESRCH;
	pfns = kvmalloc_array(SVMGPU_BLOCK_PAGES, sizeof(*pfns), GFP_KERNEL);
	pte = kvmalloc_array(SVMGPU_BLOCK_PAGES, sizeof(*pte), GFP_KERNEL);
	dma = kvcalloc(SVMGPU_BLOCK_PAGES, sizeof(*dma), GFP_KERNEL);
	if (!pfns || !pte || !dma) {
		ret = -ENOMEM;
		goto out;
	}
	range.hmm_pfns = pfns;
	for (addr = start; addr < end && !ret; addr = range.end) {
		range.start = addr;
		range.end = min(ALIGN_DOWN(addr, window) + window, end);
		ret = svmgpu_mirror_window(ctx, &range, pte, dma);
	}
	if (!ret)
		(*faults)++;
out:
	kvfree(dma);
	kvfree(pte);
	kvfree(pfns);
	mmput(ctx->mm);
	return ret;
}

/**
 * svmgpu_range_has_atomic() - does the device hold a page of a range
 *	exclusive
 * @ctx: the context
 * @start: page-aligned start
 * @end: page-aligned end
 *
 * Return: true if a device PTE of the range still has SVMGPU_PTE_ATOMIC,
 * i.e. its page is device-exclusive (svmgpu_map_exclusive()) and no CPU
 * access has taken it back yet.
 */
bool svmgpu_range_has_atomic(struct svmgpu_ctx *ctx, unsigned long start,
			     unsigned long end)
{
	bool atomic = false;
	unsigned long va;

	mutex_lock(&ctx->mmu.pt_lock);
	for (va = start; va < end && !atomic; va += PAGE_SIZE)
		atomic = svmgpu_pt_lookup(&ctx->mmu, va) & SVMGPU_PTE_ATOMIC;
	mutex_unlock(&ctx->mmu.pt_lock);
	return atomic;
}
