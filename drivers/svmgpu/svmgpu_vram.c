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
 * migrate_vma_finalize(). The device's own mappings are not special-cased:
 * the MMU_NOTIFY_MIGRATE invalidation clears them, and the next device
 * access faults and maps the VRAM page with the VRAM aperture.
 * Back to system memory: the same with device-private pages selected, on
 * request, or from migrate_to_ram() when the CPU touches a page.
 *
 * DOC: Eviction
 *
 * Unbinding must not leave pages in VRAM (memunmap_pages() would wait for
 * them forever). svmgpu_vram_evict_all() is physical: it hands every
 * allocated device pfn to migrate_device_range(), copies with the engine
 * and finishes with migrate_device_pages() and migrate_device_finalize(),
 * looking up no mm and no VMA; pages locked elsewhere are retried.
 */

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
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

/* A free VRAM page, initialised and locked as migration wants it. */
static struct page *svmgpu_vram_alloc(struct svmgpu_device *gdev)
{
	unsigned long idx;
	struct page *page;

	spin_lock(&gdev->vram_lock);
	idx = find_first_zero_bit(gdev->vram_bitmap, gdev->vram_pages);
	if (idx >= gdev->vram_pages) {
		spin_unlock(&gdev->vram_lock);
		return NULL;
	}
	__set_bit(idx, gdev->vram_bitmap);
	gdev->vram_used++;
	spin_unlock(&gdev->vram_lock);

	page = pfn_to_page(gdev->vram_pfn + idx);
	zone_device_page_init(page, &gdev->pgmap, 0);
	return page;
}

static void svmgpu_folio_free(struct folio *folio)
{
	struct svmgpu_device *gdev = svmgpu_page_device(&folio->page);
	unsigned long idx = folio_pfn(folio) - gdev->vram_pfn;

	spin_lock(&gdev->vram_lock);
	if (!WARN_ON(!test_bit(idx, gdev->vram_bitmap))) {
		__clear_bit(idx, gdev->vram_bitmap);
		gdev->vram_used--;
	}
	spin_unlock(&gdev->vram_lock);
}

/* Give back a device page we allocated but will not migrate to. */
static void svmgpu_vram_drop(struct page *page)
{
	unlock_page(page);
	put_page(page);
}

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
					 bool to_vram)
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
 * @moved: out: pages moved
 *
 * Return: 0, -EINVAL for a hole or a VMA migration cannot handle, -ESRCH
 * when the mm is gone, -EOPNOTSUPP without device-private VRAM.
 * Context: process; takes the mmap read lock.
 */
int svmgpu_migrate_range(struct svmgpu_ctx *ctx, unsigned long start,
			 unsigned long end, bool to_vram, u64 *moved)
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
		struct migrate_vma args = {
			.src = src,
			.dst = dst,
			.pgmap_owner = gdev,
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
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
		svmgpu_migrate_copy(gdev, vma, addr, src, dst, args.npages,
				    to_vram);
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

/* The CPU touched a VRAM page: bring it back, with the engine. */
static vm_fault_t svmgpu_migrate_to_ram(struct vm_fault *vmf)
{
	struct svmgpu_device *gdev = svmgpu_page_device(vmf->page);
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

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	if ((src & MIGRATE_PFN_MIGRATE) &&
	    !svmgpu_migrate_copy(gdev, args.vma, args.start, &src, &dst, 1,
				 false))
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

/**
 * svmgpu_vram_evict_all() - move every VRAM page back to system memory
 * @gdev: the device, its engine running
 *
 * Physical only: no mm, no VMA, no mmap lock. Pages that cannot be taken
 * right now (locked elsewhere, being faulted back) are retried.
 * Return: 0, or -EBUSY if pages were still in VRAM after many tries.
 */
int svmgpu_vram_evict_all(struct svmgpu_device *gdev)
{
	unsigned long src[SVMGPU_MIGRATE_WINDOW], dst[SVMGPU_MIGRATE_WINDOW];
	unsigned long first;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		unsigned long used;

		spin_lock(&gdev->vram_lock);
		used = gdev->vram_used;
		spin_unlock(&gdev->vram_lock);
		if (!used)
			return 0;
		for (first = 0; first < gdev->vram_pages;
		     first += SVMGPU_MIGRATE_WINDOW) {
			unsigned long n = min_t(unsigned long,
						SVMGPU_MIGRATE_WINDOW,
						gdev->vram_pages - first);

			if (find_next_bit(gdev->vram_bitmap, first + n, first) >=
			    first + n)
				continue;
			memset(src, 0, sizeof(src));
			migrate_device_range(src, gdev->vram_pfn + first, n);
			svmgpu_migrate_copy(gdev, NULL, 0, src, dst, n, false);
			migrate_device_pages(src, dst, n);
			svmgpu_migrate_account(gdev, src, dst, n, false);
			migrate_device_finalize(src, dst, n);
		}
		if (tries)
			msleep(20);
	}
	pci_err(gdev->pdev, "%lu VRAM pages could not be evicted\n",
		gdev->vram_used);
	return -EBUSY;
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
	if (!gdev->vram_bitmap)
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
