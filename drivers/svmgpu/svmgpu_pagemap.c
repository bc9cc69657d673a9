// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu render node: VRAM as drm_pagemap device memory
 *
 * DOC: Render-node device memory
 *
 * In private mode the render node's VMs can move data into VRAM through
 * drm_pagemap, the framework's device-memory half. VRAM gets a second set
 * of device-private struct pages (&svmgpu_device.devmem_pgmap, whose
 * dev_pagemap_ops are drm_pagemap_pagemap_ops_get()'s, migrate_to_ram()
 * wrapped to keep the hardware while it copies): page i stands for
 * VRAM offset i * PAGE_SIZE, as the own core's page i does. The two sets
 * never name the same VRAM at once, as both allocate from the one VRAM
 * allocator (svmgpu_vram.c): a render-node allocation
 * (&struct svmgpu_devmem, a &struct drm_pagemap_devmem) is a naturally
 * aligned run of 1, 16 or 512 pages, the size of its drm_gpusvm range, in
 * a block that holds render-node allocations only.
 *
 * Each set has its own owner for hmm_range_fault(): the own core's pages
 * are foreign to the render node and the other way round, so either path
 * sees the other's VRAM pages migrated back to system memory when its
 * device touches them.
 *
 * drm_pagemap_ops: device_map() gives the VRAM offset of a page with the
 * protocol DRM_INTERCONNECT_DRIVER, which the fault path writes as a
 * SVMGPU_PTE_VRAM leaf; populate_mm() allocates VRAM (evicting the least
 * recently used blocks when it is full), then
 * drm_pagemap_migrate_to_devmem(). The devmem copies run on the engine's
 * kernel ring, like the own core's migrations.
 *
 * DOC: The drm_pagemap's lifetime
 *
 * drm_pagemap_init() takes a reference on the module (and the DRM device)
 * until the drm_pagemap is released. A drm_pagemap that lived as long as
 * the device would keep the module from ever being unloaded, so it is
 * created when a VM first needs device memory and released when the last
 * reference goes: each page in VRAM holds one (through its zone-device
 * data), each drm_gpusvm range mapping such pages one, each VM none. While
 * render-node data is in VRAM, rmmod therefore fails with -EBUSY; an
 * unbind evicts it (svmgpu_vram_evict_all()), after which the module can
 * go.
 *
 * DOC: Render-node eviction
 *
 * Physical only, as the GPU SVM design asks: when the LRU picks a block of
 * render-node allocations, each is handed to drm_pagemap_evict_to_ram(),
 * which collects its pfns (populate_devmem_pfn()), migrate_device_pfns(),
 * copy_to_ram() and finalizes: no mm lookup beyond a reference, no VMA, no
 * mmap lock. The allocation is freed when its last page is
 * (devmem_release()), which may be in atomic context: it only takes the
 * VRAM spinlock.
 */

#include <linux/dma-mapping.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_pagemap.h>

#include "svmgpu_gpusvm.h"

/**
 * struct svmgpu_pagemap - the render node's drm_pagemap
 * @dpagemap: the framework's
 * @gdev: the device
 */
struct svmgpu_pagemap {
	struct drm_pagemap dpagemap;
	struct svmgpu_device *gdev;
};

/**
 * struct svmgpu_devmem - one render-node VRAM allocation
 * @base: the framework's
 * @gdev: the device
 * @kref: devmem_release() holds one, each evictor at work one
 * @link: on its block's devmems list while allocated (vram_lock)
 * @idx: VRAM page index of its first page
 * @npages: its pages
 */
struct svmgpu_devmem {
	struct drm_pagemap_devmem base;
	struct svmgpu_device *gdev;
	struct kref kref;
	struct list_head link;
	unsigned long idx;
	unsigned long npages;
};

static struct svmgpu_devmem *to_svmgpu_devmem(struct drm_pagemap_devmem *d)
{
	return container_of(d, struct svmgpu_devmem, base);
}

/* VRAM index of one of the render node's device pages. */
static unsigned long svmgpu_devmem_index(struct svmgpu_device *gdev,
					 struct page *page)
{
	return page_to_pfn(page) - gdev->devmem_pfn;
}

static void svmgpu_devmem_free(struct kref *kref)
{
	struct svmgpu_devmem *dm = container_of(kref, struct svmgpu_devmem,
						kref);

	/* not PREEMPT_RT: mmdrop() is fine in atomic context */
	mmdrop(dm->base.mm);
	kfree(dm);
}

static void svmgpu_devmem_release(struct drm_pagemap_devmem *d)
{
	struct svmgpu_devmem *dm = to_svmgpu_devmem(d);

	svmgpu_vram_free_devmem(dm->gdev, dm->idx, dm->npages, &dm->link);
	kref_put(&dm->kref, svmgpu_devmem_free);
}

static int svmgpu_devmem_populate_pfn(struct drm_pagemap_devmem *d,
				      unsigned long npages, unsigned long *pfn)
{
	struct svmgpu_devmem *dm = to_svmgpu_devmem(d);
	unsigned long i;

	if (WARN_ON(npages != dm->npages))
		return -EINVAL;
	for (i = 0; i < npages; i++)
		pfn[i] = dm->gdev->devmem_pfn + dm->idx + i;
	return 0;
}

/*
 * The copies of a migration, either way: entry i moves PAGE_SIZE << order
 * bytes between the device page @pages[i] and system memory at
 * @addr[i].addr; an entry without a device page is not part of it, one
 * without a system address towards VRAM is a hole and is zero-filled.
 */
static int svmgpu_devmem_copy(struct svmgpu_device *gdev, struct page **pages,
			      struct drm_pagemap_addr *addr,
			      unsigned long npages, bool to_vram)
{
	struct svmgpu_cmd *cmds;
	unsigned long i, copied = 0;
	unsigned int n = 0;
	int ret;

	cmds = kvmalloc_array(npages, sizeof(*cmds), GFP_KERNEL);
	if (!cmds)
		return -ENOMEM;
	for (i = 0; i < npages;) {
		unsigned int order = 0;

		if (pages[i])
			order = addr[i].addr ? addr[i].order :
				folio_order(page_folio(pages[i]));
		if (pages[i] && (addr[i].addr || to_vram)) {
			size_t len = PAGE_SIZE << order;

			svmgpu_copy_cmd(&cmds[n], to_vram, addr[i].addr,
					(u64)svmgpu_devmem_index(gdev, pages[i])
					<< PAGE_SHIFT, len);
			n = svmgpu_copy_merge(cmds, n);
			copied += 1UL << order;
		}
		i += 1UL << order;
	}
	ret = n ? svmgpu_copy_run(gdev, cmds, n) : 0;
	kvfree(cmds);
	if (!ret) {
		atomic64_add(copied << PAGE_SHIFT, &gdev->stats.bytes_copied);
		if (!to_vram)
			atomic64_add(copied, &gdev->stats.migrated_to_ram);
	}
	return ret;
}

/* The copy ops: the device is that of the first device page of the run. */
static int svmgpu_devmem_copy_run(struct page **pages,
				  struct drm_pagemap_addr *addr,
				  unsigned long npages, bool to_vram)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (pages[i])
			return svmgpu_devmem_copy(container_of(page_pgmap(pages[i]),
							       struct svmgpu_device,
							       devmem_pgmap),
						  pages, addr, npages, to_vram);
	return 0;
}

static int svmgpu_devmem_copy_to_devmem(struct page **pages,
					struct drm_pagemap_addr *addr,
					unsigned long npages,
					struct dma_fence *pre_migrate_fence)
{
	return svmgpu_devmem_copy_run(pages, addr, npages, true);
}

static int svmgpu_devmem_copy_to_ram(struct page **pages,
				     struct drm_pagemap_addr *addr,
				     unsigned long npages,
				     struct dma_fence *pre_migrate_fence)
{
	return svmgpu_devmem_copy_run(pages, addr, npages, false);
}

static const struct drm_pagemap_devmem_ops svmgpu_devmem_ops = {
	.devmem_release = svmgpu_devmem_release,
	.populate_devmem_pfn = svmgpu_devmem_populate_pfn,
	.copy_to_devmem = svmgpu_devmem_copy_to_devmem,
	.copy_to_ram = svmgpu_devmem_copy_to_ram,
};

/**
 * svmgpu_devmem_evict_block() - evict the render-node allocations of a block
 * @gdev: the device; the caller holds its evict_lock
 * @b: the block, one with render-node allocations
 *
 * Each allocation goes through drm_pagemap_evict_to_ram() (see the
 * Render-node eviction DOC section).
 *
 * Return: pages copied back to system memory.
 */
unsigned long svmgpu_devmem_evict_block(struct svmgpu_device *gdev,
					unsigned long b)
{
	struct svmgpu_vram_block *block = &gdev->vram_blocks[b];
	unsigned long moved = 0, tries = SVMGPU_BLOCK_PAGES;

	lockdep_assert_held(&gdev->evict_lock);
	while (tries--) {
		struct svmgpu_devmem *dm;
		u64 before;

		spin_lock(&gdev->vram_lock);
		dm = block->devmem ?
		     list_first_entry_or_null(&block->devmems,
					      struct svmgpu_devmem, link) :
		     NULL;
		/* one being released is on its way out anyway */
		if (dm && !kref_get_unless_zero(&dm->kref))
			dm = NULL;
		if (dm)	/* one that cannot go now is not retried at once */
			list_move_tail(&dm->link, &block->devmems);
		spin_unlock(&gdev->vram_lock);
		if (!dm)
			break;
		before = atomic64_read(&gdev->stats.migrated_to_ram);
		drm_pagemap_evict_to_ram(&dm->base);
		/* the counter is device-wide: a bound, good enough for stats */
		moved += min_t(u64, atomic64_read(&gdev->stats.migrated_to_ram) -
			       before, dm->npages);
		kref_put(&dm->kref, svmgpu_devmem_free);
		if (list_empty_careful(&block->devmems))
			break;
	}
	atomic64_add(moved, &gdev->stats.evicted);
	return moved;
}

static struct drm_pagemap_addr
svmgpu_pagemap_device_map(struct drm_pagemap *dpagemap, struct device *dev,
			  struct page *page, unsigned int order,
			  enum dma_data_direction dir)
{
	struct svmgpu_pagemap *pm = container_of(dpagemap,
						 struct svmgpu_pagemap,
						 dpagemap);
	struct svmgpu_device *gdev = pm->gdev;

	/* no peer access: only the device itself reaches its VRAM */
	if (dev != &gdev->pdev->dev || !svmgpu_is_devmem_page(gdev, page))
		return drm_pagemap_addr_encode(DMA_MAPPING_ERROR,
					       DRM_INTERCONNECT_DRIVER, order,
					       dir);
	svmgpu_vram_touch_index(gdev, svmgpu_devmem_index(gdev, page));
	return drm_pagemap_addr_encode((u64)svmgpu_devmem_index(gdev, page) <<
				       PAGE_SHIFT, DRM_INTERCONNECT_DRIVER,
				       order, dir);
}

static void svmgpu_pagemap_device_unmap(struct drm_pagemap *dpagemap,
					struct device *dev,
					const struct drm_pagemap_addr *addr)
{
	/* a VRAM offset holds nothing to undo */
}

static int svmgpu_pagemap_populate_mm(struct drm_pagemap *dpagemap,
				      unsigned long start, unsigned long end,
				      struct mm_struct *mm,
				      unsigned long timeslice_ms)
{
	struct svmgpu_pagemap *pm = container_of(dpagemap,
						 struct svmgpu_pagemap,
						 dpagemap);
	struct drm_pagemap_migrate_details mdetails = {
		.timeslice_ms = timeslice_ms,
	};
	struct svmgpu_device *gdev = pm->gdev;
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	struct svmgpu_devmem *dm;
	long idx;
	int ret;

	mmap_assert_locked(mm);
	dm = kzalloc_obj(*dm);
	if (!dm)
		return -ENOMEM;
	INIT_LIST_HEAD(&dm->link);
	idx = svmgpu_vram_alloc_devmem(gdev, npages);
	if (idx == -ENOSPC) {
		/* the LRU goes; with the mmap read lock, as the core allows */
		svmgpu_vram_make_room(gdev, npages, true);
		idx = svmgpu_vram_alloc_devmem(gdev, npages);
	}
	if (idx < 0) {
		kfree(dm);
		return idx;
	}
	dm->gdev = gdev;
	dm->idx = idx;
	dm->npages = npages;
	kref_init(&dm->kref);
	mmgrab(mm);
	drm_pagemap_devmem_init(&dm->base, &gdev->pdev->dev, mm,
				&svmgpu_devmem_ops, dpagemap,
				npages << PAGE_SHIFT, NULL);
	/* whole now: the evictor may take it from here on */
	svmgpu_vram_publish_devmem(gdev, idx, &dm->link);
	/* consumes the allocation, on error too (devmem_release()) */
	ret = drm_pagemap_migrate_to_devmem(&dm->base, mm, start, end,
					    &mdetails);
	if (!ret)
		atomic64_add(npages, &gdev->stats.migrated_to_vram);
	return ret;
}

/*
 * The last reference is gone (see the lifetime DOC section), maybe in
 * atomic context: forget the pagemap, free it.
 */
static void svmgpu_pagemap_destroy(struct drm_pagemap *dpagemap,
				   bool is_atomic_or_reclaim)
{
	struct svmgpu_pagemap *pm = container_of(dpagemap,
						 struct svmgpu_pagemap,
						 dpagemap);
	struct svmgpu_device *gdev = pm->gdev;
	unsigned long flags;

	spin_lock_irqsave(&gdev->dpagemap_lock, flags);
	if (gdev->dpagemap == pm)
		gdev->dpagemap = NULL;
	spin_unlock_irqrestore(&gdev->dpagemap_lock, flags);
	kfree(pm);
}

static const struct drm_pagemap_ops svmgpu_pagemap_ops = {
	.device_map = svmgpu_pagemap_device_map,
	.device_unmap = svmgpu_pagemap_device_unmap,
	.populate_mm = svmgpu_pagemap_populate_mm,
	.destroy = svmgpu_pagemap_destroy,
};

/**
 * svmgpu_pagemap_get() - the render node's drm_pagemap, created if need be
 * @gdev: the device, with render-node device memory
 * @drm: its DRM device
 *
 * Return: a reference to be dropped with drm_pagemap_put(), or an ERR_PTR:
 * -EOPNOTSUPP without device memory, -ENOMEM.
 * Context: process.
 */
struct drm_pagemap *svmgpu_pagemap_get(struct svmgpu_device *gdev,
				       struct drm_device *drm)
{
	struct svmgpu_pagemap *pm, *old;
	struct drm_pagemap *dp = NULL;
	int ret;

	if (!gdev->devmem_pfn)
		return ERR_PTR(-EOPNOTSUPP);
	spin_lock_irq(&gdev->dpagemap_lock);
	if (gdev->dpagemap)
		dp = drm_pagemap_get_unless_zero(&gdev->dpagemap->dpagemap);
	spin_unlock_irq(&gdev->dpagemap_lock);
	if (dp)
		return dp;

	pm = kzalloc_obj(*pm);
	if (!pm)
		return ERR_PTR(-ENOMEM);
	pm->gdev = gdev;
	ret = drm_pagemap_init(&pm->dpagemap, &gdev->devmem_pgmap, drm,
			       &svmgpu_pagemap_ops);
	if (ret) {
		kfree(pm);
		return ERR_PTR(ret);
	}
	spin_lock_irq(&gdev->dpagemap_lock);
	old = gdev->dpagemap;
	if (old)
		dp = drm_pagemap_get_unless_zero(&old->dpagemap);
	if (!dp) {
		gdev->dpagemap = pm;
		dp = &pm->dpagemap;
		pm = NULL;
	}
	spin_unlock_irq(&gdev->dpagemap_lock);
	if (pm)		/* lost a race: the one installed meanwhile serves */
		drm_pagemap_put(&pm->dpagemap);
	return dp;
}

/*
 * drm_pagemap's dev_pagemap_ops (&svmgpu_device.devmem_ops), but for
 * migrate_to_ram(): its copy runs on the kernel ring, so the hardware must
 * stay meanwhile (svmgpu_hw_enter()); once it is gone, so is the data.
 */
static vm_fault_t svmgpu_devmem_migrate_to_ram(struct vm_fault *vmf)
{
	struct svmgpu_device *gdev = container_of(page_pgmap(vmf->page),
						  struct svmgpu_device,
						  devmem_pgmap);
	int hw = svmgpu_hw_enter(gdev);
	vm_fault_t ret;

	if (hw < 0) {
		pr_err_ratelimited("svmgpu%d: CPU access to VRAM left behind after unbind\n",
				   gdev->id);
		return VM_FAULT_SIGBUS;
	}
	ret = drm_pagemap_pagemap_ops_get()->migrate_to_ram(vmf);
	svmgpu_hw_leave(gdev, hw);
	return ret;
}

/**
 * svmgpu_pagemap_init() - give VRAM the render node's device-private pages
 * @gdev: the device, in private mode, being probed
 * @owner: the hmm owner of the pages (the render node's DRM device)
 *
 * Return: 0, or a negative errno; then the render node has no device
 * memory. Device-managed.
 */
int svmgpu_pagemap_init(struct svmgpu_device *gdev, void *owner)
{
	struct device *dev = &gdev->pdev->dev;
	struct resource *res;
	void *addr;

	res = devm_request_free_mem_region(dev, &iomem_resource,
					   gdev->vram_size);
	if (IS_ERR(res))
		return PTR_ERR(res);
	gdev->devmem_pgmap.type = MEMORY_DEVICE_PRIVATE;
	gdev->devmem_pgmap.range.start = res->start;
	gdev->devmem_pgmap.range.end = res->start + gdev->vram_size - 1;
	gdev->devmem_pgmap.nr_range = 1;
	gdev->devmem_ops = *drm_pagemap_pagemap_ops_get();
	gdev->devmem_ops.migrate_to_ram = svmgpu_devmem_migrate_to_ram;
	gdev->devmem_pgmap.ops = &gdev->devmem_ops;
	gdev->devmem_pgmap.owner = owner;
	addr = devm_memremap_pages(dev, &gdev->devmem_pgmap);
	if (IS_ERR(addr))
		return PTR_ERR(addr);
	gdev->devmem_pfn = res->start >> PAGE_SHIFT;
	return 0;
}
