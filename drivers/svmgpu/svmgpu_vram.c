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
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "svmgpu_drv.h"
#include "svmgpu_trace.h"

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

/**
 * svmgpu_is_devmem_page() - is a page render-node device memory of a device
 * @gdev: the device
 * @page: any page
 *
 * Return: true for one of @gdev's drm_pagemap pages (svmgpu_pagemap.c).
 */
bool svmgpu_is_devmem_page(struct svmgpu_device *gdev, struct page *page)
{
	return gdev->devmem_pfn && is_device_private_page(page) &&
	       page_pgmap(page) == &gdev->devmem_pgmap;
}

/**
 * svmgpu_is_vram_page() - is @page in @gdev's VRAM, for either SVM path
 * @gdev: the device
 * @page: any page
 *
 * Return: true for a page of the own core's pagemap or of the render
 * node's device memory (svmgpu_pagemap.c).
 */
bool svmgpu_is_vram_page(struct svmgpu_device *gdev, struct page *page)
{
	return svmgpu_is_own_vram_page(gdev, page) ||
	       svmgpu_is_devmem_page(gdev, page);
}

/*
 * 2 MiB device folios in private mode only: the core cannot migrate a
 * device-coherent THP back, since the CPU maps it with a present huge PMD,
 * which migrate_vma_collect_huge_pmd() selects for SELECT_SYSTEM only. In
 * coherent mode VRAM holds 4 KiB pages.
 */
static unsigned long svmgpu_select_compound(struct svmgpu_device *gdev)
{
	return gdev->mem_mode == SVMGPU_MEM_MODE_PRIVATE ?
	       MIGRATE_VMA_SELECT_COMPOUND : 0;
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

/*
 * The first free run of @npages (a power of two up to a block, aligned to
 * itself) in a block of the right kind that has room, or in a free block;
 * gdev->vram_pages if there is none. Blocks of render-node device memory
 * (@devmem) and blocks of the own core's pages are never mixed: each kind
 * is evicted its own way. vram_lock held.
 */
static unsigned long svmgpu_vram_find_free(struct svmgpu_device *gdev,
					   unsigned long npages, bool devmem)
{
	unsigned long b, nblocks = gdev->vram_pages / SVMGPU_BLOCK_PAGES;
	unsigned long start, idx, free_block = ULONG_MAX;

	lockdep_assert_held(&gdev->vram_lock);
	for (b = 0; b < nblocks; b++) {
		struct svmgpu_vram_block *block = &gdev->vram_blocks[b];

		if (!block->used) {
			free_block = min(free_block, b);
			continue;
		}
		if (block->devmem != devmem ||
		    SVMGPU_BLOCK_PAGES - block->used < npages)
			continue;
		start = b * SVMGPU_BLOCK_PAGES;
		idx = bitmap_find_next_zero_area(gdev->vram_bitmap,
						 start + SVMGPU_BLOCK_PAGES,
						 start, npages, npages - 1);
		if (idx + npages <= start + SVMGPU_BLOCK_PAGES)
			return idx;
	}
	return free_block == ULONG_MAX ? gdev->vram_pages :
	       free_block * SVMGPU_BLOCK_PAGES;
}

/*
 * Account @npages from @idx as allocated, in a block of @devmem kind;
 * vram_lock held.
 */
static void svmgpu_vram_take(struct svmgpu_device *gdev, unsigned long idx,
			     unsigned long npages, bool devmem)
{
	struct svmgpu_vram_block *block = svmgpu_block_of(gdev, idx);
	unsigned long i;

	lockdep_assert_held(&gdev->vram_lock);
	bitmap_set(gdev->vram_bitmap, idx, npages);
	gdev->vram_used += npages;
	if (devmem)
		gdev->vram_devmem_used += npages;
	if (!block->used) {
		block->devmem = devmem;
		gdev->vram_devmem_blocks += devmem;
		list_add_tail(&block->lru, &gdev->vram_lru);
		gdev->vram_free_blocks--;
	} else {
		svmgpu_block_touch(gdev, block);
	}
	block->used += npages;
	for (i = 0; i < npages; i++)
		gdev->vram_hold_until[idx + i] = jiffies;
}

/*
 * Give back @npages from @idx; vram_lock held. A block left empty leaves
 * the LRU and may be of either kind next.
 */
static void svmgpu_vram_give(struct svmgpu_device *gdev, unsigned long idx,
			     unsigned long npages)
{
	struct svmgpu_vram_block *block = svmgpu_block_of(gdev, idx);

	lockdep_assert_held(&gdev->vram_lock);
	if (WARN_ON(!test_bit(idx, gdev->vram_bitmap) || block->used < npages))
		return;
	bitmap_clear(gdev->vram_bitmap, idx, npages);
	gdev->vram_used -= npages;
	if (block->devmem)
		gdev->vram_devmem_used -= npages;
	block->used -= npages;
	if (!block->used) {
		list_del_init(&block->lru);
		gdev->vram_devmem_blocks -= block->devmem;
		block->devmem = false;
		gdev->vram_free_blocks++;
	}
}

/**
 * svmgpu_vram_alloc_devmem() - allocate VRAM for render-node device memory
 * @gdev: the device
 * @npages: 1, 16 or 512 pages (a drm_gpusvm chunk), naturally aligned
 *
 * Render-node allocations share the allocator, the LRU and eviction with
 * the own core's pages, in blocks of their own (svmgpu_vram_find_free()).
 * The evictor finds an allocation only once svmgpu_vram_publish_devmem()
 * put it on its block's list, fully initialised.
 *
 * Return: the VRAM page index of the run, or -ENOSPC.
 */
long svmgpu_vram_alloc_devmem(struct svmgpu_device *gdev, unsigned long npages)
{
	unsigned long idx;

	if (WARN_ON(!is_power_of_2(npages) || npages > SVMGPU_BLOCK_PAGES))
		return -EINVAL;
	spin_lock(&gdev->vram_lock);
	idx = svmgpu_vram_find_free(gdev, npages, true);
	if (idx >= gdev->vram_pages) {
		spin_unlock(&gdev->vram_lock);
		return -ENOSPC;
	}
	svmgpu_vram_take(gdev, idx, npages, true);
	spin_unlock(&gdev->vram_lock);
	return idx;
}

/**
 * svmgpu_vram_publish_devmem() - make an allocation visible to the evictor
 * @gdev: the device
 * @idx: what svmgpu_vram_alloc_devmem() returned
 * @devmem: the allocation's list entry, put on its block's list
 */
void svmgpu_vram_publish_devmem(struct svmgpu_device *gdev, unsigned long idx,
				struct list_head *devmem)
{
	spin_lock(&gdev->vram_lock);
	list_add_tail(devmem, &svmgpu_block_of(gdev, idx)->devmems);
	spin_unlock(&gdev->vram_lock);
}

/**
 * svmgpu_vram_free_devmem() - free VRAM of render-node device memory
 * @gdev: the device
 * @idx: what svmgpu_vram_alloc_devmem() returned
 * @npages: its size
 * @devmem: its list entry, taken off the block's list if it is on it
 *
 * Context: any; takes the vram_lock spinlock.
 */
void svmgpu_vram_free_devmem(struct svmgpu_device *gdev, unsigned long idx,
			     unsigned long npages, struct list_head *devmem)
{
	spin_lock(&gdev->vram_lock);
	list_del_init(devmem);
	svmgpu_vram_give(gdev, idx, npages);
	spin_unlock(&gdev->vram_lock);
}

/**
 * svmgpu_vram_touch_index() - the device mapped a VRAM page
 * @gdev: the device
 * @idx: the page's VRAM index
 *
 * Moves the page's block to the young end of the LRU.
 */
void svmgpu_vram_touch_index(struct svmgpu_device *gdev, unsigned long idx)
{
	spin_lock(&gdev->vram_lock);
	svmgpu_block_touch(gdev, svmgpu_block_of(gdev, idx));
	spin_unlock(&gdev->vram_lock);
}

/* A free VRAM page, initialised and locked as migration wants it. */
static struct page *svmgpu_vram_alloc(struct svmgpu_device *gdev)
{
	unsigned long idx, fill;
	struct page *page;

	spin_lock(&gdev->vram_lock);
	fill = gdev->vram_fill * SVMGPU_BLOCK_PAGES;
	idx = svmgpu_block_of(gdev, fill)->devmem ? fill + SVMGPU_BLOCK_PAGES :
	      find_next_zero_bit(gdev->vram_bitmap, fill + SVMGPU_BLOCK_PAGES,
				 fill);
	if (idx >= fill + SVMGPU_BLOCK_PAGES)
		idx = svmgpu_vram_find_free(gdev, 1, false);
	if (idx >= gdev->vram_pages) {
		spin_unlock(&gdev->vram_lock);
		return NULL;
	}
	gdev->vram_fill = idx / SVMGPU_BLOCK_PAGES;
	svmgpu_vram_take(gdev, idx, 1, false);
	spin_unlock(&gdev->vram_lock);

	page = pfn_to_page(gdev->vram_pfn + idx);
	zone_device_page_init(page, &gdev->pgmap, 0);
	return page;
}

/* A free 2 MiB VRAM folio (a whole block), initialised and locked. */
static struct page *svmgpu_vram_alloc_huge(struct svmgpu_device *gdev)
{
	unsigned long b, nblocks = gdev->vram_pages / SVMGPU_BLOCK_PAGES;
	struct svmgpu_vram_block *block = NULL;
	unsigned long idx;
	struct page *page;

	spin_lock(&gdev->vram_lock);
	for (b = 0; gdev->vram_free_blocks && b < nblocks; b++) {
		if (!gdev->vram_blocks[b].used) {
			block = &gdev->vram_blocks[b];
			break;
		}
	}
	if (!block) {
		spin_unlock(&gdev->vram_lock);
		return NULL;
	}
	idx = b * SVMGPU_BLOCK_PAGES;
	svmgpu_vram_take(gdev, idx, SVMGPU_BLOCK_PAGES, false);
	spin_unlock(&gdev->vram_lock);

	page = pfn_to_page(gdev->vram_pfn + idx);
	zone_device_folio_init(page_folio(page), &gdev->pgmap,
			       SVMGPU_HUGE_SHIFT - PAGE_SHIFT);
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

	spin_lock(&gdev->vram_lock);
	svmgpu_vram_give(gdev, idx, folio_nr_pages(folio));
	spin_unlock(&gdev->vram_lock);
}

/*
 * A 2 MiB device folio is split (a CPU fault on part of it, a partial
 * munmap): each piece is freed on its own later, and svmgpu_folio_free()
 * frees what it covers. The driver's per-page state is indexed by pfn (the
 * allocation bitmap, the atomic timeslice), so a piece needs only what the
 * core expects of every device page: its pagemap.
 */
static void svmgpu_folio_split(struct folio *head, struct folio *tail)
{
	if (!tail)
		return;
	tail->pgmap = head->pgmap;
	tail->page.mapping = head->page.mapping;
}

/*
 * Is there room for @npages of @devmem kind? Render-node allocations need
 * one aligned run (svmgpu_vram_find_free()); the own core's pages may
 * scatter over its blocks and the free ones, in a free block if @block.
 */
static bool svmgpu_vram_has_room(struct svmgpu_device *gdev,
				 unsigned long npages, bool block, bool devmem)
{
	unsigned long devmem_free;
	bool room;

	spin_lock(&gdev->vram_lock);
	if (devmem) {
		room = svmgpu_vram_find_free(gdev, npages, true) <
		       gdev->vram_pages;
	} else {
		/* the free pages of render-node blocks are not ours */
		devmem_free = gdev->vram_devmem_blocks * SVMGPU_BLOCK_PAGES -
			      gdev->vram_devmem_used;
		room = gdev->vram_pages - gdev->vram_used - devmem_free >=
		       npages && (!block || gdev->vram_free_blocks);
	}
	spin_unlock(&gdev->vram_lock);
	return room;
}

/**
 * svmgpu_vram_blocks_show() - debugfs svmgpuN/blocks: the VRAM blocks in
 *	use, least recently used first
 * @m: the seq_file; its private is the device
 * @unused: unused
 *
 * One line per block: LRU rank (0 is evicted first), block index, VRAM
 * offset, pages allocated in it, and 2M if they are one 2 MiB folio, else
 * 4K. The folio test reads page flags without a reference: a block freed
 * meanwhile may show either way.
 *
 * Return: 0.
 */
int svmgpu_vram_blocks_show(struct seq_file *m, void *unused)
{
	struct svmgpu_device *gdev = m->private;
	struct svmgpu_vram_block *block;
	unsigned int rank = 0;

	seq_puts(m, "# rank block offset pages size\n");
	spin_lock(&gdev->vram_lock);
	list_for_each_entry(block, &gdev->vram_lru, lru) {
		unsigned long b = block - gdev->vram_blocks;
		struct page *first = pfn_to_page(gdev->vram_pfn +
						 b * SVMGPU_BLOCK_PAGES);
		bool huge = block->used == SVMGPU_BLOCK_PAGES &&
			    PageHead(first);

		seq_printf(m, "%u %lu %#llx %u %s\n", rank++, b,
			   (u64)b * SVMGPU_BLOCK_PAGES * PAGE_SIZE, block->used,
			   huge ? "2M" : "4K");
	}
	spin_unlock(&gdev->vram_lock);
	return 0;
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

/**
 * svmgpu_atomic_timeslice_ms() - module parameter atomic_timeslice_ms
 *
 * Both SVM paths hold pages moved to VRAM for a device atomic this long.
 *
 * Return: milliseconds.
 */
unsigned int svmgpu_atomic_timeslice_ms(void)
{
	return READ_ONCE(atomic_timeslice_ms);
}

/**
 * svmgpu_copy_cmd() - an engine command that moves data for a migration
 * @cmd: out: the command
 * @to_vram: from system memory to VRAM, else the other way
 * @sys: bus address in system memory; 0 with @to_vram: zero-fill instead
 * @off: VRAM offset
 * @len: bytes
 */
void svmgpu_copy_cmd(struct svmgpu_cmd *cmd, bool to_vram, dma_addr_t sys,
		     u64 off, size_t len)
{
	u8 vram = SVMGPU_SPACE_VRAM, sysm = SVMGPU_SPACE_SYS;

	*cmd = (struct svmgpu_cmd) {
		.opcode = SVMGPU_OP_COPY,
		.len = len,
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

/* Commands per ring submission: well within SVMGPU_RING_ENTRIES. */
#define SVMGPU_COPY_BATCH	128

/* Runs of a copy whose DMA failed, in all: such a failure may pass. */
#define SVMGPU_COPY_TRIES	3

/**
 * svmgpu_copy_run() - run migration copies on the kernel ring
 * @gdev: the device
 * @cmds: the commands (svmgpu_copy_cmd())
 * @n: how many
 *
 * A command that ends in DMA_ERROR runs again, alone, up to
 * SVMGPU_COPY_TRIES times in all: a DMA error may be transient (a link
 * error on real hardware, the device's x-inject-dma-error knobs here), and
 * running a copy again is harmless, as its source and destination never
 * overlap. Poisoned VRAM is not retried.
 *
 * Return: 0 only if every one succeeded; else -EHWPOISON if one touched
 * poisoned VRAM, -EIO for another failed status, or svmgpu_ring_run()'s
 * error (-ETIMEDOUT: the engine hung, see DOC: Hang recovery; then at once
 * until it is reset).
 */
int svmgpu_copy_run(struct svmgpu_device *gdev, struct svmgpu_cmd *cmds,
		    unsigned int n)
{
	struct svmgpu_ring *kring = &gdev->rings[SVMGPU_RING_KERNEL];
	unsigned int i, done, batch, try;
	int ret = 0;

	/* a hung engine passes no copy until it is reset */
	if (READ_ONCE(gdev->kring_hung))
		return -ETIMEDOUT;
	for (done = 0; !ret && done < n; done += batch) {
		batch = min_t(unsigned int, n - done, SVMGPU_COPY_BATCH);
		ret = svmgpu_ring_run(kring, cmds + done, batch,
				      SVMGPU_COPY_TIMEOUT);
		for (i = done; !ret && i < done + batch; i++) {
			for (try = 1; !ret && try < SVMGPU_COPY_TRIES &&
			     cmds[i].status == SVMGPU_DESC_STATUS_DMA_ERROR;
			     try++) {
				atomic64_inc(&gdev->stats.copy_retries);
				ret = svmgpu_ring_run(kring, &cmds[i], 1,
						      SVMGPU_COPY_TIMEOUT);
			}
			if (!ret && cmds[i].status != SVMGPU_DESC_STATUS_OK)
				ret = cmds[i].status ==
				      SVMGPU_DESC_STATUS_POISONED ?
				      -EHWPOISON : -EIO;
		}
	}
	return ret;
}

/* The DMA mapping of one copy, undone after the copies ran. */
struct svmgpu_copy_map {
	dma_addr_t dma;
	size_t len;
};

/*
 * Destination and copy command for one entry of @order (0, or a 2 MiB
 * folio) whose source is @spage (NULL: a hole, towards VRAM only). Towards
 * system memory, @sys_page (order 0 only, may be NULL) is the destination
 * to use instead of allocating one; it is ours either way. Returns the dst
 * entry, or 0 when no destination could be made.
 */
static unsigned long svmgpu_migrate_one(struct svmgpu_device *gdev,
					struct vm_area_struct *vma,
					unsigned long addr, struct page *spage,
					unsigned int order, bool to_vram,
					bool hold, struct page *sys_page,
					struct svmgpu_cmd *cmd,
					struct svmgpu_copy_map *map)
{
	size_t len = PAGE_SIZE << order;
	struct page *dpage, *sys;
	struct folio *folio;
	u64 off;

	if (to_vram) {
		dpage = order ? svmgpu_vram_alloc_huge(gdev) :
				svmgpu_vram_alloc(gdev);
		if (!dpage)
			return 0;	/* VRAM full: stays in RAM */
		sys = spage;
		off = svmgpu_page_vram_offset(gdev, dpage);
		if (hold) {
			unsigned long i, idx = off >> PAGE_SHIFT;

			for (i = 0; i < 1UL << order; i++)
				WRITE_ONCE(gdev->vram_hold_until[idx + i],
					   jiffies +
					   msecs_to_jiffies(atomic_timeslice_ms));
		}
	} else {
		if (WARN_ON(!spage || !svmgpu_is_own_vram_page(gdev, spage))) {
			if (sys_page)
				__free_page(sys_page);
			return 0;
		}
		if (order)
			folio = vma ? vma_alloc_folio(GFP_TRANSHUGE, order, vma,
						      addr) :
				      folio_alloc(GFP_TRANSHUGE, order);
		else if (sys_page)
			folio = page_folio(sys_page);
		else
			folio = vma ? vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0,
						      vma, addr) :
				      folio_alloc(GFP_HIGHUSER_MOVABLE |
						  __GFP_NOFAIL, 0);
		if (!folio)
			return 0;
		folio_lock(folio);
		dpage = &folio->page;
		sys = dpage;
		off = svmgpu_page_vram_offset(gdev, spage);
	}
	map->len = len;
	map->dma = 0;
	if (sys) {
		map->dma = dma_map_page(&gdev->pdev->dev, sys, 0, len,
					DMA_BIDIRECTIONAL);
		if (dma_mapping_error(&gdev->pdev->dev, map->dma)) {
			map->dma = 0;
			svmgpu_vram_drop(dpage);
			return 0;
		}
	}
	svmgpu_copy_cmd(cmd, to_vram, map->dma, off, len);
	return migrate_pfn(page_to_pfn(dpage)) |
	       (order ? MIGRATE_PFN_COMPOUND : 0);
}

/**
 * svmgpu_copy_merge() - merge a copy into the one before it if contiguous
 * @cmds: the commands; cmds[@n] was just written
 * @n: its index
 *
 * Merges cmds[@n] into cmds[@n - 1] if it continues that one on both sides
 * (the next VRAM page and the next bus address), so that a physically
 * contiguous run is one engine command.
 *
 * Return: the new number of commands.
 */
unsigned int svmgpu_copy_merge(struct svmgpu_cmd *cmds, unsigned int n)
{
	struct svmgpu_cmd *prev, *cmd = &cmds[n];

	if (!n)
		return 1;
	prev = &cmds[n - 1];
	if (prev->opcode != cmd->opcode || prev->flags != cmd->flags ||
	    prev->operand != cmd->operand || prev->dst + prev->len != cmd->dst ||
	    (cmd->opcode == SVMGPU_OP_COPY &&
	     prev->src + prev->len != cmd->src))
		return n + 1;
	prev->len += cmd->len;
	return n;
}

/*
 * System pages for the 4 KiB entries of a window moving out of VRAM: one
 * physically contiguous allocation split into order-0 pages, page i for
 * entry i, so that runs of VRAM pages in order (the allocator hands them
 * out in order) copy as one command each. NULL, and each entry allocates
 * its own page, when there are fewer than two such entries or no such
 * allocation is free at once.
 */
static struct page *svmgpu_sys_pool(const unsigned long *src,
				    unsigned long npages, unsigned int *order)
{
	unsigned long i, small = 0;
	struct page *pool;

	for (i = 0; i < npages; i++)
		if ((src[i] & MIGRATE_PFN_MIGRATE) &&
		    !(src[i] & MIGRATE_PFN_COMPOUND))
			small++;
	if (small < 2)
		return NULL;
	*order = order_base_2(npages);
	/* only what is free now: no reclaim or compaction for an option */
	pool = alloc_pages((GFP_HIGHUSER_MOVABLE & ~__GFP_RECLAIM) |
			   __GFP_NOWARN, *order);
	if (pool)
		split_page(pool, *order);
	return pool;
}

/*
 * Allocate destinations and copy for one migrate_vma window or eviction
 * batch. @src/@dst as migrate_vma_setup() or migrate_device_pfns() left
 * them; @vma is NULL for eviction. A 2 MiB entry (MIGRATE_PFN_COMPOUND)
 * moves as one folio; if none is free on the other side it moves as 512
 * pages in a migration (the core splits the source), and not at all in an
 * eviction (migrate_device_pages() cannot split without a VMA: it is
 * retried). Entries whose destination could not be made get dst 0 and stay
 * where they are. Returns how many pages were copied; migrate_*_pages()
 * may still refuse some (svmgpu_migrate_account()). If the copy fails,
 * nothing moves and the error of svmgpu_copy_run() is returned.
 *
 * @fail_alloc (may be NULL) injects an allocation failure: when set, the
 * next 2 MiB destination allocation fails and clears it, and that entry
 * moves page by page (test_hmm's HMM_DMIRROR_FLAG_FAIL_ALLOC, which its
 * tests use to force the THP fallback). A 4 KiB allocation never fails for
 * it: the page would not move, and no caller asks for that.
 */
static long svmgpu_migrate_copy(struct svmgpu_device *gdev,
				struct vm_area_struct *vma,
				unsigned long start, unsigned long *src,
				unsigned long *dst, unsigned long npages,
				bool to_vram, bool hold, atomic_t *fail_alloc)
{
	DECLARE_BITMAP(taken, SVMGPU_BLOCK_PAGES) = { 0 };
	unsigned long i, j, nr;
	long moved = 0;
	unsigned int nc = 0, nm = 0, pool_order = 0;
	struct page *pool = NULL;
	struct svmgpu_copy_map *map;
	struct svmgpu_cmd *cmds;
	u64 bytes = 0;
	int ret;

	for (i = 0; i < npages; i++)
		dst[i] = 0;
	if (WARN_ON(npages > SVMGPU_BLOCK_PAGES))
		return 0;
	cmds = kvcalloc(npages, sizeof(*cmds), GFP_KERNEL);
	map = kvcalloc(npages, sizeof(*map), GFP_KERNEL);
	if (!cmds || !map)
		goto out;	/* nothing moves; the caller retries or fails */
	if (!to_vram)
		pool = svmgpu_sys_pool(src, npages, &pool_order);

	for (i = 0; i < npages; i += nr) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		unsigned long wflag = 0, addr = start + i * PAGE_SIZE;

		nr = 1;
		if (!(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if ((src[i] & MIGRATE_PFN_WRITE) ||
		    (!spage && vma && (vma->vm_flags & VM_WRITE)))
			wflag = MIGRATE_PFN_WRITE;
		if (src[i] & MIGRATE_PFN_COMPOUND) {
			nr = min(npages - i, SVMGPU_BLOCK_PAGES);
			if (!fail_alloc || !atomic_xchg(fail_alloc, 0))
				dst[i] = svmgpu_migrate_one(gdev, vma, addr,
							    spage,
							    SVMGPU_HUGE_SHIFT -
							    PAGE_SHIFT,
							    to_vram, hold, NULL,
							    &cmds[nc], &map[nm]);
			if (dst[i]) {
				dst[i] |= wflag;
				bytes += map[nm++].len;
				nc = svmgpu_copy_merge(cmds, nc);
				moved += nr;
				continue;
			}
			if (!vma)
				continue;
			/* page by page: the core splits the source folio */
			for (j = 0; j < nr; j++) {
				struct page *sub = spage ? spage + j : NULL;
				unsigned long d;

				d = svmgpu_migrate_one(gdev, vma,
						       addr + j * PAGE_SIZE,
						       sub, 0, to_vram, hold,
						       NULL, &cmds[nc],
						       &map[nm]);
				dst[i + j] = d;
				if (!d)
					continue;
				dst[i + j] |= wflag;
				bytes += map[nm++].len;
				nc = svmgpu_copy_merge(cmds, nc);
				moved++;
			}
			continue;
		}
		if (pool)
			__set_bit(i, taken);
		dst[i] = svmgpu_migrate_one(gdev, vma, addr, spage, 0, to_vram,
					    hold, pool ? pool + i : NULL,
					    &cmds[nc], &map[nm]);
		if (dst[i]) {
			dst[i] |= wflag;
			bytes += map[nm++].len;
			nc = svmgpu_copy_merge(cmds, nc);
			moved++;
		}
	}

	ret = svmgpu_copy_run(gdev, cmds, nc);
	/* Unmap before any page is given back (swiotlb copies back). */
	for (i = 0; i < nm; i++)
		if (map[i].dma)
			dma_unmap_page(&gdev->pdev->dev, map[i].dma, map[i].len,
				       DMA_BIDIRECTIONAL);
	/* the pool pages no entry took */
	for (i = 0; pool && i < 1UL << pool_order; i++)
		if (i >= npages || !test_bit(i, taken))
			__free_page(pool + i);
	if (ret) {
		/* Nothing moves: every source keeps its data. */
		dev_err_ratelimited(&gdev->pdev->dev,
				    "migration copy failed (%d), %ld pages stay put\n",
				    ret, moved);
		for (i = 0; i < npages; i++) {
			if (dst[i])
				svmgpu_vram_drop(migrate_pfn_to_page(dst[i]));
			dst[i] = 0;
		}
		moved = ret;
	} else {
		atomic64_add(bytes, &gdev->stats.bytes_copied);
	}
out:
	kvfree(cmds);
	kvfree(map);
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
		if (dst[i] && (src[i] & MIGRATE_PFN_MIGRATE))
			moved += dst[i] & MIGRATE_PFN_COMPOUND ?
				 SVMGPU_BLOCK_PAGES : 1;
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
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	struct mm_struct *mm = ctx->mm;
	unsigned long addr, *src, *dst;
	int ret = 0;

	*moved = 0;
	if (!gdev->vram_pages)
		return -EOPNOTSUPP;
	src = kvmalloc_array(2 * SVMGPU_BLOCK_PAGES, sizeof(*src), GFP_KERNEL);
	if (!src)
		return -ENOMEM;
	dst = src + SVMGPU_BLOCK_PAGES;
	if (!mmget_not_zero(mm)) {
		kvfree(src);
		return -ESRCH;
	}
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
			.flags = (to_vram ? MIGRATE_VMA_SELECT_SYSTEM :
					    svmgpu_select_vram(gdev)) |
				 svmgpu_select_compound(gdev),
		};
		unsigned long next;

		if (!vma || !(vma->vm_flags & VM_READ)) {
			ret = -EINVAL;
			break;
		}
		/* up to the next 2 MiB boundary: a THP moves as one folio */
		next = min3(end, vma->vm_end,
			    ALIGN_DOWN(addr, SVMGPU_BLOCK_PAGES * PAGE_SIZE) +
			    SVMGPU_BLOCK_PAGES * PAGE_SIZE);
		args.vma = vma;
		args.start = addr;
		args.end = next;
		if (to_vram)
			svmgpu_vram_make_room(gdev, (next - addr) >> PAGE_SHIFT,
					      false);
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
		if (to_vram)
			svmgpu_unmap_migrating(ctx, addr, src, args.npages);
		svmgpu_migrate_copy(gdev, vma, addr, src, dst, args.npages,
				    to_vram, hold, &ctx->fail_alloc);
		migrate_vma_pages(&args);
		*moved += svmgpu_migrate_account(gdev, src, dst, args.npages,
						 to_vram);
		migrate_vma_finalize(&args);
		addr = next;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	kvfree(src);
	trace_svmgpu_migrate(gdev->id, start, end, to_vram, *moved);
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
	/* a 2 MiB folio the CPU maps whole (no PTE table) moves whole */
	bool huge = folio_test_large(page_folio(vmf->page)) && !vmf->pte;
	unsigned long size = huge ? SVMGPU_BLOCK_PAGES * PAGE_SIZE : PAGE_SIZE;
	unsigned long one[2] = { 0, 0 }, *src = one;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = ALIGN_DOWN(vmf->address, size),
		.end = ALIGN_DOWN(vmf->address, size) + size,
		.pgmap_owner = gdev,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 (huge ? MIGRATE_VMA_SELECT_COMPOUND : 0),
		.fault_page = vmf->page,
	};
	vm_fault_t ret = 0;
	long copied = -EIO;
	int hw, try;

	if (time_before(jiffies, hold_until)) {
		cond_resched();
		return 0;
	}
	hw = svmgpu_hw_enter(gdev);
	if (hw < 0) {
		/* private VRAM has no CPU path: the data went with the device */
		pr_err_ratelimited("svmgpu%d: CPU access to VRAM left behind after unbind\n",
				   gdev->id);
		return VM_FAULT_SIGBUS;
	}
	if (huge) {
		src = kvmalloc_array(2 * SVMGPU_BLOCK_PAGES, sizeof(*src),
				     GFP_KERNEL);
		if (!src) {
			ret = VM_FAULT_OOM;
			goto out;
		}
	}
	args.src = src;
	args.dst = src + (size >> PAGE_SHIFT);
	if (migrate_vma_setup(&args)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	/* a DMA error may pass: a few more copies, each of up to three runs */
	for (try = 0; try < SVMGPU_COPY_TRIES && copied == -EIO; try++)
		copied = args.cpages ?
			 svmgpu_migrate_copy(gdev, args.vma, args.start,
					     args.src, args.dst, args.npages,
					     false, false, NULL) : 1;
	/*
	 * The page stays in VRAM if the copy failed. A hung engine is being
	 * reset (DOC: Hang recovery), and a fatal signal ends the task: fault
	 * again. Anything else, poisoned VRAM above all, loses the data.
	 */
	if (!copied)
		ret = VM_FAULT_OOM;
	else if (copied < 0 && copied != -ETIMEDOUT && copied != -EINTR)
		ret = VM_FAULT_SIGBUS;
	migrate_vma_pages(&args);
	trace_svmgpu_migrate(gdev->id, args.start, args.end, false,
			     svmgpu_migrate_account(gdev, args.src, args.dst,
						    args.npages, false));
	migrate_vma_finalize(&args);
out:
	svmgpu_hw_leave(gdev, hw);
	if (src != one)
		kvfree(src);
	return ret;
}

static const struct dev_pagemap_ops svmgpu_private_ops = {
	.folio_free = svmgpu_folio_free,
	.migrate_to_ram = svmgpu_migrate_to_ram,
	.folio_split = svmgpu_folio_split,
};

static const struct dev_pagemap_ops svmgpu_coherent_ops = {
	.folio_free = svmgpu_folio_free,
};

/*
 * Evict the pages in @pfns (device pfns of one block, in order): the
 * physical migration of the Eviction DOC section. @pfns is overwritten.
 * The VRAM index of each page that moved is cleared in @left, if given.
 * Returns how many pages moved to system memory.
 */
static unsigned long svmgpu_evict_pfns(struct svmgpu_device *gdev,
				       unsigned long *pfns, unsigned long n,
				       unsigned long *left)
{
	unsigned long *dst, moved, j;
	u32 delay;

	lockdep_assert_held(&gdev->evict_lock);
	/* one block at most: a 2 MiB folio must be whole in one call */
	if (WARN_ON(n > SVMGPU_BLOCK_PAGES))
		return 0;
	dst = kvmalloc_array(n, sizeof(*dst), GFP_KERNEL);
	if (!dst)
		return 0;
	migrate_device_pfns(pfns, n);
	/*
	 * The pages are now unmapped (migration entries) and stay so until
	 * migrate_device_finalize(). debugfs evict_delay_ms holds them here
	 * so that tests can race munmap() and exit against this window.
	 */
	delay = READ_ONCE(gdev->evict_delay_ms);
	if (delay)
		msleep(min(delay, SVMGPU_EVICT_DELAY_MAX_MS));
	svmgpu_migrate_copy(gdev, NULL, 0, pfns, dst, n, false, false, NULL);
	migrate_device_pages(pfns, dst, n);
	moved = svmgpu_migrate_account(gdev, pfns, dst, n, false);
	for (j = 0; left && j < n; j++)
		if (dst[j] && (pfns[j] & MIGRATE_PFN_MIGRATE))
			bitmap_clear(left, page_to_pfn(migrate_pfn_to_page(pfns[j])) -
				     gdev->vram_pfn,
				     dst[j] & MIGRATE_PFN_COMPOUND ?
				     SVMGPU_BLOCK_PAGES : 1);
	migrate_device_finalize(pfns, dst, n);
	atomic64_add(moved, &gdev->stats.evicted);
	trace_svmgpu_evict(gdev->id, n, moved);
	kvfree(dst);
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
 * @npages: pages wanted; from SVMGPU_BLOCK_PAGES on, a whole free block is
 *	wanted too (for a 2 MiB folio)
 * @devmem: for a render-node allocation: one aligned run of @npages
 *
 * Best effort: each block on the LRU is tried at most once per call, and
 * pages that cannot be taken now stay. The caller allocates what is free
 * afterwards and leaves the rest of its range in system memory.
 * Context: process; may hold an mmap read lock, no folio lock.
 */
void svmgpu_vram_make_room(struct svmgpu_device *gdev, unsigned long npages,
			   bool devmem)
{
	unsigned long *pfns, tries, b, n;

	bool block = npages >= SVMGPU_BLOCK_PAGES;

	npages = min(npages, gdev->vram_pages);
	if (svmgpu_vram_has_room(gdev, npages, block, devmem))
		return;
	pfns = kmalloc_array(SVMGPU_BLOCK_PAGES, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return;
	mutex_lock(&gdev->evict_lock);
	for (tries = 0; tries < gdev->vram_pages / SVMGPU_BLOCK_PAGES &&
	     !svmgpu_vram_has_room(gdev, npages, block, devmem); tries++) {
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
		if (victim->devmem) {
			spin_unlock(&gdev->vram_lock);
			svmgpu_devmem_evict_block(gdev, b);
			continue;
		}
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
 * faulted back) are retried, for SVMGPU_EVICT_ALL_MS: a bound in time, not
 * in tries, because one try over pages that cannot leave (poisoned VRAM)
 * costs a failed engine copy each, several times longer on a debug kernel
 * or a loaded host, and an unbind waits for this.
 * Return: 0, -ENOMEM, -EIO if the engine hung (a kernel-ring copy timed
 * out: no copy passes until the device is reset), or -EBUSY if pages were
 * still in VRAM when the time was up (pinned ones, or poisoned VRAM).
 * Context: process, no mmap lock held.
 */
int svmgpu_vram_evict_all(struct svmgpu_device *gdev, u64 *evicted)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(SVMGPU_EVICT_ALL_MS);
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
	for (tries = 0; tries < 2 || time_before(jiffies, deadline); tries++) {
		/* a page freed since, even if reused, has left VRAM once */
		spin_lock(&gdev->vram_lock);
		bitmap_and(left, left, gdev->vram_bitmap, gdev->vram_pages);
		empty = bitmap_empty(left, gdev->vram_pages);
		spin_unlock(&gdev->vram_lock);
		if (empty) {
			ret = 0;
			break;
		}
		/* no copy can pass until a reset (DOC: Hang recovery) */
		if (READ_ONCE(gdev->kring_hung)) {
			ret = -EIO;
			break;
		}
		if (tries)
			msleep(20);
		for (b = 0; b * SVMGPU_BLOCK_PAGES < gdev->vram_pages; b++) {
			bool devmem;

			spin_lock(&gdev->vram_lock);
			devmem = gdev->vram_blocks[b].devmem;
			n = devmem ? 0 : svmgpu_block_pfns(gdev, b, left, pfns);
			spin_unlock(&gdev->vram_lock);
			if (devmem)
				moved += svmgpu_devmem_evict_block(gdev, b);
			else if (n)
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

static void svmgpu_kvfree_action(void *p)
{
	kvfree(p);
}

/*
 * A zeroed device-managed array that may exceed what kmalloc can give: one
 * entry per VRAM page is 32 MiB at the 16 GiB maximum.
 */
static void *svmgpu_devm_kvcalloc(struct device *dev, size_t n, size_t size)
{
	void *p = kvcalloc(n, size, GFP_KERNEL);

	if (!p || devm_add_action_or_reset(dev, svmgpu_kvfree_action, p))
		return NULL;
	return p;
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
	unsigned long i;
	void *addr;
	int ret;

	spin_lock_init(&gdev->vram_lock);
	mutex_init(&gdev->evict_lock);
	INIT_LIST_HEAD(&gdev->vram_lru);
	gdev->vram_free_blocks = gdev->vram_size >> SVMGPU_HUGE_SHIFT;
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
	gdev->vram_hold_until = svmgpu_devm_kvcalloc(dev,
						     gdev->vram_size >> PAGE_SHIFT,
						     sizeof(*gdev->vram_hold_until));
	gdev->vram_blocks = devm_kcalloc(dev, gdev->vram_size >> SVMGPU_HUGE_SHIFT,
					 sizeof(*gdev->vram_blocks), GFP_KERNEL);
	if (!gdev->vram_bitmap || !gdev->vram_hold_until || !gdev->vram_blocks)
		return -ENOMEM;
	for (i = 0; i < gdev->vram_size >> SVMGPU_HUGE_SHIFT; i++) {
		INIT_LIST_HEAD(&gdev->vram_blocks[i].lru);
		INIT_LIST_HEAD(&gdev->vram_blocks[i].devmems);
	}
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
