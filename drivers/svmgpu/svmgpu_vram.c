// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu VRAM: device-private pages, migration and eviction
 *
 * DOC: Device-private VRAM
 *
 * In private mode the CPU cannot address VRAM. The driver takes a free range
 * of physical address space as large as VRAM (devm_request_free_mem_region)
 * and gives it struct pages (MEMORY_DEVICE_PRIVATE): page i stands for the
 * 4 KiB of VRAM at offset i * PAGE_SIZE. A bitmap allocates them. The data
 * only ever moves through the engine, on the kernel ring, so a copy never
 * waits behind user work parked on a fault.
 *
 * DOC: Device-coherent VRAM
 *
 * In coherent mode VRAM is the device's BAR 2, RAM-backed and coherent: the
 * driver gives that range MEMORY_DEVICE_COHERENT struct pages, which the
 * CPU reads and writes in place through the kernel's linear map, without
 * faulting. Migration and eviction work as for private pages (the copies
 * still go through the engine); there is no migrate_to_ram(), and the mm
 * migrates such pages out by itself before pinning them long-term.
 *
 * DOC: Migration
 *
 * To VRAM (SVMGPU_IOCTL_MIGRATE): per VMA window, migrate_vma_setup()
 * selects system pages, each gets a locked device page, the engine copies
 * (or zero-fills a hole), then migrate_vma_pages() and
 * migrate_vma_finalize(). The MMU_NOTIFY_MIGRATE invalidation that
 * migrate_vma_setup() raises carries the migrating context as its owner:
 * that context's notifier leaves its device mappings alone and
 * svmgpu_unmap_migrating() unmaps only the pages that really move, before
 * the copy. Pages of the window already in VRAM stay mapped (otherwise two
 * pages migrated on fault in turn would unmap each other forever); the
 * next device access to a moved page faults and maps its VRAM page.
 * Back to system memory: the same with device-private pages selected, on
 * request, or from migrate_to_ram() when the CPU touches a page.
 *
 * DOC: VRAM allocation and the LRU
 *
 * VRAM is cut into 2 MiB blocks. Small allocations fill one block before
 * starting the next, so that a block's pages tend to share an age. Blocks
 * that hold pages sit on an LRU list: a block moves to its tail when a page
 * in it is allocated, or mapped by a device fault. The block, not the page,
 * is the unit of eviction, as it is for real VRAM managers (TTM evicts
 * buffer objects): it frees contiguous VRAM and costs one list operation
 * per allocation.
 *
 * DOC: Eviction
 *
 * Eviction is physical only, as the GPU SVM design requires
 * (Documentation/gpu/rfc/gpusvm.rst): it collects the allocated device pfns
 * of a block, hands them to migrate_device_pfns(), allocates system pages,
 * copies with the engine and ends with migrate_device_pages() and
 * migrate_device_finalize(). It looks up no mm, no VMA and no virtual
 * address, and takes no mmap lock; the CPU page tables are rewritten by the
 * core, and the device's PTEs go through our notifier like any other
 * invalidation. A page that cannot be taken now (locked by a migration or
 * a CPU fault, pinned) keeps MIGRATE clear and simply stays: the caller
 * tries the next block, or again later.
 *
 * Three callers:
 *
 * - svmgpu_migrate_range() makes room before each migration window when
 *   VRAM is full, evicting least-recently-used blocks. A working set larger
 *   than VRAM keeps moving (slower, never wrong).
 * - svmgpu_vram_evict_all() empties VRAM: on SVMGPU_IOCTL_EVICT, on a write
 *   to debugfs svmgpuN/evict, after a device reset, and on unbind or module
 *   unload, where it must finish before memunmap_pages(), which waits for
 *   every device page to be freed.
 */

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "svmgpu_drv.h"

#define SVMGPU_MIGRATE_WINDOW	64	/* pages per migrate_vma round */
#define SVMGPU_COPY_TIMEOUT	(10 * HZ)

static struct svmgpu_device *svmgpu_page_device(struct page *page)
{
	return container_of(page_pgmap(page), struct svmgpu_device, pgmap);
}

/**
 * svmgpu_page_vram_offset() - where in VRAM a device page's data lives
 * @gdev: the device
 * @page: one of its device-private pages
 *
 * Return: byte offset into VRAM.
 */
u64 svmgpu_page_vram_offset(struct svmgpu_device *gdev, struct page *page)
{
	return (u64)(page_to_pfn(page) - gdev->vram_pfn) << PAGE_SHIFT;
}

/**
 * svmgpu_is_own_vram_page() - is @page one of @gdev's VRAM pages
 * @gdev: the device
 * @page: any page
 *
 * Return: true for a device-private or device-coherent page of @gdev.
 */
bool svmgpu_is_own_vram_page(struct svmgpu_device *gdev, struct page *page)
{
	return gdev->vram_pages &&
	       (is_device_private_page(page) || is_device_coherent_page(page)) &&
	       page_pgmap(page) == &gdev->pgmap;
}

/* migrate_vma selection of this device's VRAM pages. */
static unsigned long svmgpu_select_vram(struct svmgpu_device *gdev)
{
	return gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ?
	       MIGRATE_VMA_SELECT_DEVICE_COHERENT :
	       MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
}

static struct svmgpu_vram_block *
svmgpu_block_of(struct svmgpu_device *gdev, unsigned long idx)
{
	return &gdev->vram_blocks[idx / SVMGPU_BLOCK_PAGES];
}

/* A page of @block was allocated or used by the device: it is young. */
static void svmgpu_block_touch(struct svmgpu_device *gdev,
			       struct svmgpu_vram_block *block)
{
	lockdep_assert_held(&gdev->vram_lock);
	if (block->used)
		list_move_tail(&block->lru, &gdev->vram_lru);
}

/* A free VRAM page, initialised and locked as migration wants it. */
static struct page *svmgpu_vram_alloc(struct svmgpu_device *gdev)
{
	unsigned long idx, fill;
	struct svmgpu_vram_block *block;
	struct page *page;

	spin_lock(&gdev->vram_lock);
	fill = gdev->vram_fill * SVMGPU_BLOCK_PAGES;
	idx = find_next_zero_bit(gdev->vram_bitmap, fill + SVMGPU_BLOCK_PAGES,
				 fill);
	if (idx >= fill + SVMGPU_BLOCK_PAGES)
		idx = find_first_zero_bit(gdev->vram_bitmap, gdev->vram_pages);
	if (idx >= gdev->vram_pages) {
		spin_unlock(&gdev->vram_lock);
		return NULL;
	}
	__set_bit(idx, gdev->vram_bitmap);
	gdev->vram_used++;
	gdev->vram_fill = idx / SVMGPU_BLOCK_PAGES;
	block = svmgpu_block_of(gdev, idx);
	if (!block->used++)
		list_add_tail(&block->lru, &gdev->vram_lru);
	else
		svmgpu_block_touch(gdev, block);
	gdev->vram_hold_until[idx] = jiffies;
	spin_unlock(&gdev->vram_lock);

	page = pfn_to_page(gdev->vram_pfn + idx);
	zone_device_page_init(page, &gdev->pgmap, 0);
	return page;
}

/**
 * svmgpu_vram_touch() - the device mapped one of its VRAM pages
 * @gdev: the device
 * @page: one of its VRAM pages
 *
 * Moves the page's block to the young end of the LRU.
 */
void svmgpu_vram_touch(struct svmgpu_device *gdev, struct page *page)
{
	unsigned long idx = page_to_pfn(page) - gdev->vram_pfn;

	spin_lock(&gdev->vram_lock);
	svmgpu_block_touch(gdev, svmgpu_block_of(gdev, idx));
	spin_unlock(&gdev->vram_lock);
}

static void svmgpu_folio_free(struct folio *folio)
{
	struct svmgpu_device *gdev = svmgpu_page_device(&folio->page);
	unsigned long idx = folio_pfn(folio) - gdev->vram_pfn;
	struct svmgpu_vram_block *block = svmgpu_block_of(gdev, idx);

	spin_lock(&gdev->vram_lock);
	if (!WARN_ON(!test_bit(idx, gdev->vram_bitmap))) {
		__clear_bit(idx, gdev->vram_bitmap);
		gdev->vram_used--;
		if (!--block->used)
			list_del_init(&block->lru);
	}
	spin_unlock(&gdev->vram_lock);
}

static unsigned long svmgpu_vram_free_pages(struct svmgpu_device *gdev)
{
	unsigned long free;

	spin_lock(&gdev->vram_lock);
	free = gdev->vram_pages - gdev->vram_used;
	spin_unlock(&gdev->vram_lock);
	return free;
}

/* Give back a device page we allocated but will not migrate to. */
static void svmgpu_vram_drop(struct page *page)
{
	unlock_page(page);
	put_page(page);
}

/* Module parameter atomic_timeslice_ms, see svmgpu_migrate_to_ram(). */
static unsigned int atomic_timeslice_ms = 5;
module_param(atomic_timeslice_ms, uint, 0644);
MODULE_PARM_DESC(atomic_timeslice_ms,
		 "how long a page moved to VRAM for a device atomic stays there before a CPU fault may take it back (default 5)");

/*
 * Copy one page between system memory (bus address @sys) and VRAM (@off),
 * or zero the VRAM page when @sys is 0 and @to_vram: append the command.
 */
static void svmgpu_copy_cmd(struct svmgpu_cmd *cmd, bool to_vram,
			    dma_addr_t sys, u64 off)
{
	u8 vram = SVMGPU_SPACE_VRAM, sysm = SVMGPU_SPACE_SYS;

	*cmd = (struct svmgpu_cmd) {
		.opcode = SVMGPU_OP_COPY,
		.len = PAGE_SIZE,
	};
	if (to_vram && !sys) {
		cmd->opcode = SVMGPU_OP_FILL;
		cmd->flags = vram << SVMGPU_DESC_DST_SPACE_SHIFT;
		cmd->dst = off;
	} else if (to_vram) {
		cmd->flags = vram << SVMGPU_DESC_DST_SPACE_SHIFT |
			     sysm << SVMGPU_DESC_SRC_SPACE_SHIFT;
		cmd->dst = off;
		cmd->src = sys;
	} else {
		cmd->flags = sysm << SVMGPU_DESC_DST_SPACE_SHIFT |
			     vram << SVMGPU_DESC_SRC_SPACE_SHIFT;
		cmd->dst = sys;
		cmd->src = off;
	}
}

/* Run @n copies on the kernel ring; 0 only if every one succeeded. */
static int svmgpu_copy_run(struct svmgpu_device *gdev, struct svmgpu_cmd *cmds,
			   unsigned int n)
{
	unsigned int i;
	int ret;

	if (!n)
		return 0;
	ret = svmgpu_ring_run(&gdev->rings[SVMGPU_RING_KERNEL], cmds, n,
			      SVMGPU_COPY_TIMEOUT);
	for (i = 0; !ret && i < n; i++)
		if (cmds[i].status != SVMGPU_DESC_STATUS_OK)
			ret = -EIO;
	return ret;
}

/*
 * Allocate destinations and copy for one migrate_vma window or eviction
 * batch. @src/@dst as migrate_vma_setup() or migrate_device_range() left
 * them; @vma is NULL for eviction. Entries whose destination could not be
 * made get dst 0 and stay where they are. Returns how many were copied;
 * migrate_*_pages() may still refuse some (svmgpu_migrate_account()).
 */
static unsigned long svmgpu_migrate_copy(struct svmgpu_device *gdev,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long *src,
					 unsigned long *dst, unsigned long npages,
					 bool to_vram, bool hold)
{
	unsigned long i, moved = 0;
	struct svmgpu_cmd *cmds;
	unsigned int n = 0;
	dma_addr_t *dma;
	int ret;

	for (i = 0; i < npages; i++)
		dst[i] = 0;
	cmds = kcalloc(npages, sizeof(*cmds), GFP_KERNEL);
	dma = kcalloc(npages, sizeof(*dma), GFP_KERNEL);
	if (!cmds || !dma)
		goto out;	/* nothing moves; the caller retries or fails */

	for (i = 0; i < npages; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct page *dpage, *sys;
		u64 off;

		if (!(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (to_vram) {
			dpage = svmgpu_vram_alloc(gdev);
			if (!dpage)
				continue;	/* VRAM full: stays in RAM */
			sys = spage;
			off = svmgpu_page_vram_offset(gdev, dpage);
			if (hold)
				WRITE_ONCE(gdev->vram_hold_until[off >> PAGE_SHIFT],
					   jiffies +
					   msecs_to_jiffies(atomic_timeslice_ms));
		} else {
			if (WARN_ON(!spage ||
				    !svmgpu_is_own_vram_page(gdev, spage)))
				continue;
			dpage = vma ? alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma,
						     start + i * PAGE_SIZE) :
				      alloc_page(GFP_HIGHUSER_MOVABLE |
						 __GFP_NOFAIL);
			if (!dpage)
				continue;
			lock_page(dpage);
			sys = dpage;
			off = svmgpu_page_vram_offset(gdev, spage);
		}
		if (sys) {
			dma[n] = dma_map_page(&gdev->pdev->dev, sys, 0, PAGE_SIZE,
					      DMA_BIDIRECTIONAL);
			if (dma_mapping_error(&gdev->pdev->dev, dma[n])) {
				dma[n] = 0;
				svmgpu_vram_drop(dpage);
				continue;
			}
		}
		svmgpu_copy_cmd(&cmds[n], to_vram, dma[n], off);
		n++;
		dst[i] = migrate_pfn(page_to_pfn(dpage));
		if ((src[i] & MIGRATE_PFN_WRITE) ||
		    (!spage && vma && (vma->vm_flags & VM_WRITE)))
			dst[i] |= MIGRATE_PFN_WRITE;
		moved++;
	}

	ret = svmgpu_copy_run(gdev, cmds, n);
	/* Unmap before any page is given back (swiotlb copies back). */
	for (i = 0; i < n; i++)
		if (dma[i])
			dma_unmap_page(&gdev->pdev->dev, dma[i], PAGE_SIZE,
				       DMA_BIDIRECTIONAL);
	if (ret) {
		/* Nothing moves: every source keeps its data. */
		pci_err(gdev->pdev, "migration copy failed, %u pages stay put\n",
			n);
		for (i = 0; i < npages; i++) {
			if (dst[i])
				svmgpu_vram_drop(migrate_pfn_to_page(dst[i]));
			dst[i] = 0;
		}
		moved = 0;
	} else {
		atomic64_add((u64)n * PAGE_SIZE, &gdev->stats.bytes_copied);
	}
out:
	kfree(cmds);
	kfree(dma);
	return moved;
}

/*
 * After migrate_*_pages(): count the entries that really moved (the mm
 * clears MIGRATE for pages it refused, such as file-backed ones).
 */
static unsigned long svmgpu_migrate_account(struct svmgpu_device *gdev,
					    unsigned long *src,
					    unsigned long *dst,
					    unsigned long npages, bool to_vram)
{
	unsigned long i, moved = 0;

	for (i = 0; i < npages; i++)
		moved += dst[i] && (src[i] & MIGRATE_PFN_MIGRATE);
	atomic64_add(moved, to_vram ? &gdev->stats.migrated_to_vram :
			    &gdev->stats.migrated_to_ram);
	return moved;
}

/**
 * svmgpu_migrate_range() - move a user range to VRAM or back
 * @ctx: the context (its mm)
 * @start: page-aligned start
 * @end: page-aligned end
 * @to_vram: direction
 * @hold: (to VRAM) the move serves a device atomic: keep the pages in VRAM
 *	for atomic_timeslice_ms against CPU faults
 * @moved: out: pages moved
 *
 * Moving to VRAM evicts least-recently-used VRAM first when it is full.
 *
 * Return: 0, -EINVAL for a hole or a VMA migration cannot handle, -ESRCH
 * when the mm is gone, -EOPNOTSUPP without migratable VRAM.
 * Context: process; takes the mmap read lock.
 */
int svmgpu_migrate_range(struct svmgpu_ctx *ctx, unsigned long start,
			 unsigned long end, bool to_vram, bool hold,
			 u64 *moved)
{
	struct svmgpu_device *gdev = ctx->gdev;
	unsigned long src[SVMGPU_MIGRATE_WINDOW], dst[SVMGPU_MIGRATE_WINDOW];
	struct mm_struct *mm = ctx->mm;
	unsigned long addr;
	int ret = 0;

	*moved = 0;
	if (!gdev->vram_pages)
		return -EOPNOTSUPP;
	if (!mmget_not_zero(mm))
		return -ESRCH;
	mmap_read_lock(mm);
	for (addr = start; addr < end;) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		/*
		 * To VRAM only system pages are selected, so the owner is free
		 * to name the context: its notifier knows the event for its
		 * own (see svmgpu_unmap_migrating()). Back, it must be the
		 * pagemap's owner, which selects our device pages.
		 */
		struct migrate_vma args = {
			.src = src,
			.dst = dst,
			.pgmap_owner = to_vram ? (void *)ctx : gdev,
			.flags = to_vram ? MIGRATE_VMA_SELECT_SYSTEM :
					   svmgpu_select_vram(gdev),
		};
		unsigned long next;

		if (!vma || !(vma->vm_flags & VM_READ)) {
			ret = -EINVAL;
			break;
		}
		next = min3(end, vma->vm_end,
			    addr + SVMGPU_MIGRATE_WINDOW * PAGE_SIZE);
		args.vma = vma;
		args.start = addr;
		args.end = next;
		if (to_vram)
			svmgpu_vram_make_room(gdev, (next - addr) >> PAGE_SHIFT);
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
		if (to_vram)
			svmgpu_unmap_migrating(ctx, addr, src, args.npages);
		svmgpu_migrate_copy(gdev, vma, addr, src, dst, args.npages,
				    to_vram, hold);
		migrate_vma_pages(&args);
		*moved += svmgpu_migrate_account(gdev, src, dst, args.npages,
						 to_vram);
		migrate_vma_finalize(&args);
		addr = next;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/*
 * The CPU touched a VRAM page: bring it back, with the engine.
 *
 * Unless the page came to VRAM for a device atomic less than
 * atomic_timeslice_ms ago: then the fault returns without moving it and
 * the CPU faults again until the timeslice ends. Without that a CPU thread
 * and a device atomic on the same page could take it from each other
 * forever, neither making progress (xe and drm_pagemap do the same).
 */
static vm_fault_t svmgpu_migrate_to_ram(struct vm_fault *vmf)
{
	struct svmgpu_device *gdev = svmgpu_page_device(vmf->page);
	unsigned long hold_until = READ_ONCE(gdev->vram_hold_until
		[svmgpu_page_vram_offset(gdev, vmf->page) >> PAGE_SHIFT]);
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = vmf->address & PAGE_MASK,
		.end = (vmf->address & PAGE_MASK) + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = gdev,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	vm_fault_t ret = 0;

	if (time_before(jiffies, hold_until)) {
		cond_resched();
		return 0;
	}
	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	if ((src & MIGRATE_PFN_MIGRATE) &&
	    !svmgpu_migrate_copy(gdev, args.vma, args.start, &src, &dst, 1,
				 false, false))
		ret = VM_FAULT_SIGBUS;	/* the page stays in VRAM */
	migrate_vma_pages(&args);
	svmgpu_migrate_account(gdev, &src, &dst, 1, false);
	migrate_vma_finalize(&args);
	return ret;
}

static const struct dev_pagemap_ops svmgpu_private_ops = {
	.folio_free = svmgpu_folio_free,
	.migrate_to_ram = svmgpu_migrate_to_ram,
};

static const struct dev_pagemap_ops svmgpu_coherent_ops = {
	.folio_free = svmgpu_folio_free,
};

/*
 * Evict the pages in @pfns (device pfns, any order): the physical
 * migration of the Eviction DOC section, in windows. @pfns is overwritten.
 * The VRAM index of each page that moved is cleared in @left, if given.
 * Returns how many pages moved to system memory.
 */
static unsigned long svmgpu_evict_pfns(struct svmgpu_device *gdev,
				       unsigned long *pfns, unsigned long n,
				       unsigned long *left)
{
	unsigned long dst[SVMGPU_MIGRATE_WINDOW], moved = 0, i, j;

	lockdep_assert_held(&gdev->evict_lock);
	for (i = 0; i < n; i += SVMGPU_MIGRATE_WINDOW) {
		unsigned long *src = pfns + i;
		unsigned long cnt = min_t(unsigned long, n - i,
					  SVMGPU_MIGRATE_WINDOW);
		unsigned long done;

		migrate_device_pfns(src, cnt);
		svmgpu_migrate_copy(gdev, NULL, 0, src, dst, cnt, false, false);
		migrate_device_pages(src, dst, cnt);
		done = svmgpu_migrate_account(gdev, src, dst, cnt, false);
		for (j = 0; left && j < cnt; j++)
			if (dst[j] && (src[j] & MIGRATE_PFN_MIGRATE))
				__clear_bit(page_to_pfn(migrate_pfn_to_page(src[j])) -
					    gdev->vram_pfn, left);
		migrate_device_finalize(src, dst, cnt);
		atomic64_add(done, &gdev->stats.evicted);
		moved += done;
	}
	return moved;
}

/*
 * The pfns of block @b whose bit is set in @map (the allocation bitmap, or
 * a subset) into @pfns (SVMGPU_BLOCK_PAGES entries); returns how many.
 * vram_lock held.
 */
static unsigned long svmgpu_block_pfns(struct svmgpu_device *gdev,
				       unsigned long b, unsigned long *map,
				       unsigned long *pfns)
{
	unsigned long idx = b * SVMGPU_BLOCK_PAGES, n = 0;
	unsigned long end = min(idx + SVMGPU_BLOCK_PAGES, gdev->vram_pages);

	lockdep_assert_held(&gdev->vram_lock);
	for_each_set_bit_from(idx, map, end)
		pfns[n++] = gdev->vram_pfn + idx;
	return n;
}

/**
 * svmgpu_vram_make_room() - evict least-recently-used VRAM until @npages
 *	pages are free
 * @gdev: the device
 * @npages: pages wanted
 *
 * Best effort: each block on the LRU is tried at most once per call, and
 * pages that cannot be taken now stay. The caller allocates what is free
 * afterwards and leaves the rest of its range in system memory.
 * Context: process; may hold an mmap read lock, no folio lock.
 */
void svmgpu_vram_make_room(struct svmgpu_device *gdev, unsigned long npages)
{
	unsigned long *pfns, tries, b, n;

	npages = min(npages, gdev->vram_pages);
	if (svmgpu_vram_free_pages(gdev) >= npages)
		return;
	pfns = kmalloc_array(SVMGPU_BLOCK_PAGES, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return;
	mutex_lock(&gdev->evict_lock);
	for (tries = 0; tries < gdev->vram_pages / SVMGPU_BLOCK_PAGES &&
	     svmgpu_vram_free_pages(gdev) < npages; tries++) {
		struct svmgpu_vram_block *victim;

		spin_lock(&gdev->vram_lock);
		victim = list_first_entry_or_null(&gdev->vram_lru,
						  struct svmgpu_vram_block, lru);
		if (!victim) {
			spin_unlock(&gdev->vram_lock);
			break;
		}
		/* to the young end: a block we cannot empty is not retried */
		list_move_tail(&victim->lru, &gdev->vram_lru);
		b = victim - gdev->vram_blocks;
		n = svmgpu_block_pfns(gdev, b, gdev->vram_bitmap, pfns);
		spin_unlock(&gdev->vram_lock);
		svmgpu_evict_pfns(gdev, pfns, n, NULL);
	}
	mutex_unlock(&gdev->evict_lock);
	kfree(pfns);
}

/**
 * svmgpu_vram_evict_all() - move every VRAM page back to system memory
 * @gdev: the device, its kernel ring running
 * @evicted: out, may be NULL: pages moved
 *
 * Every page in VRAM when the call starts leaves it: it is evicted, or
 * freed by its owner meanwhile. Pages that arrive during the call may stay
 * (nobody stops other processes migrating); where no new ones can arrive,
 * as on unbind, VRAM is empty afterwards. Physical only: no mm, no VMA, no
 * mmap lock. Pages that cannot be taken right now (locked elsewhere, being
 * faulted back) are retried.
 * Return: 0, -ENOMEM, or -EBUSY if pages were still in VRAM after many
 * tries (pinned ones, for instance).
 * Context: process, no mmap lock held.
 */
int svmgpu_vram_evict_all(struct svmgpu_device *gdev, u64 *evicted)
{
	unsigned long *pfns, *left, b, n, moved = 0;
	int tries, ret = -EBUSY;
	bool empty;

	if (evicted)
		*evicted = 0;
	if (!gdev->vram_pages)
		return 0;
	pfns = kmalloc_array(SVMGPU_BLOCK_PAGES, sizeof(*pfns), GFP_KERNEL);
	left = bitmap_alloc(gdev->vram_pages, GFP_KERNEL);
	if (!pfns || !left) {
		ret = -ENOMEM;
		goto out;
	}
	mutex_lock(&gdev->evict_lock);
	spin_lock(&gdev->vram_lock);
	bitmap_copy(left, gdev->vram_bitmap, gdev->vram_pages);
	spin_unlock(&gdev->vram_lock);
	for (tries = 0; tries < 500; tries++) {
		/* a page freed since, even if reused, has left VRAM once */
		spin_lock(&gdev->vram_lock);
		bitmap_and(left, left, gdev->vram_bitmap, gdev->vram_pages);
		empty = bitmap_empty(left, gdev->vram_pages);
		spin_unlock(&gdev->vram_lock);
		if (empty) {
			ret = 0;
			break;
		}
		if (tries)
			msleep(20);
		for (b = 0; b * SVMGPU_BLOCK_PAGES < gdev->vram_pages; b++) {
			spin_lock(&gdev->vram_lock);
			n = svmgpu_block_pfns(gdev, b, left, pfns);
			spin_unlock(&gdev->vram_lock);
			if (n)
				moved += svmgpu_evict_pfns(gdev, pfns, n, left);
		}
	}
	mutex_unlock(&gdev->evict_lock);
	if (ret)
		pci_err(gdev->pdev, "%u VRAM pages could not be evicted\n",
			bitmap_weight(left, gdev->vram_pages));
out:
	bitmap_free(left);
	kfree(pfns);
	if (evicted)
		*evicted = moved;
	return ret;
}

/* After a device reset: everything back to system memory. */
static void svmgpu_evict_work(struct work_struct *work)
{
	struct svmgpu_device *gdev =
		container_of(work, struct svmgpu_device, evict_work);

	down_read(&gdev->remove_lock);
	if (!gdev->removed)
		svmgpu_vram_evict_all(gdev, NULL);
	up_read(&gdev->remove_lock);
}

static void svmgpu_device_put_action(void *gdev)
{
	svmgpu_device_put(gdev);
}

/**
 * svmgpu_vram_init() - give VRAM struct pages: device-private ones over a
 *	free physical range (private mode), device-coherent ones over the
 *	VRAM BAR (coherent mode)
 * @gdev: the device
 *
 * Return: 0 or a negative errno. Device-managed.
 */
int svmgpu_vram_init(struct svmgpu_device *gdev)
{
	struct device *dev = &gdev->pdev->dev;
	struct resource *res;
	void *addr;
	int ret;

	spin_lock_init(&gdev->vram_lock);
	mutex_init(&gdev->evict_lock);
	INIT_LIST_HEAD(&gdev->vram_lru);
	INIT_WORK(&gdev->evict_work, svmgpu_evict_work);

	/*
	 * memunmap_pages() runs after remove(), when the last file may have
	 * dropped the device: keep it alive until then (devres releases in
	 * reverse order, so this reference goes after the pagemap).
	 */
	kref_get(&gdev->kref);
	ret = devm_add_action_or_reset(dev, svmgpu_device_put_action, gdev);
	if (ret)
		return ret;

	if (gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT) {
		res = pci_resource_n(gdev->pdev, SVMGPU_BAR_VRAM);
		gdev->pgmap.type = MEMORY_DEVICE_COHERENT;
		gdev->pgmap.ops = &svmgpu_coherent_ops;
	} else {
		res = devm_request_free_mem_region(dev, &iomem_resource,
						   gdev->vram_size);
		if (IS_ERR(res))
			return PTR_ERR(res);
		gdev->pgmap.type = MEMORY_DEVICE_PRIVATE;
		gdev->pgmap.ops = &svmgpu_private_ops;
	}
	gdev->vram_bitmap = devm_bitmap_zalloc(dev, gdev->vram_size >> PAGE_SHIFT,
					       GFP_KERNEL);
	gdev->vram_hold_until = devm_kcalloc(dev, gdev->vram_size >> PAGE_SHIFT,
					     sizeof(*gdev->vram_hold_until),
					     GFP_KERNEL);
	gdev->vram_blocks = devm_kcalloc(dev, gdev->vram_size >> SVMGPU_HUGE_SHIFT,
					 sizeof(*gdev->vram_blocks), GFP_KERNEL);
	if (!gdev->vram_bitmap || !gdev->vram_hold_until || !gdev->vram_blocks)
		return -ENOMEM;
	gdev->pgmap.range.start = res->start;
	gdev->pgmap.range.end = res->start + gdev->vram_size - 1;
	gdev->pgmap.nr_range = 1;
	gdev->pgmap.owner = gdev;
	addr = devm_memremap_pages(dev, &gdev->pgmap);
	if (IS_ERR(addr))
		return PTR_ERR(addr);
	gdev->vram_pfn = res->start >> PAGE_SHIFT;
	gdev->vram_pages = gdev->vram_size >> PAGE_SHIFT;
	return 0;
}
