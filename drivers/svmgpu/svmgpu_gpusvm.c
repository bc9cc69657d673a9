// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu render node: VMs whose shared virtual memory is drm_gpusvm
 *
 * DOC: VMs
 *
 * DRM_IOCTL_SVMGPU_VM_CREATE makes a &struct svmgpu_vm: one device MMU
 * context and one &struct drm_gpusvm over the caller's mm, a CPU-address
 * mirror of [0, min(TASK_SIZE, 2^48)), with the chunk sizes 2 MiB, 64 KiB
 * and 4 KiB, 512 MiB notifiers (as xe) and &svmgpu_vm.lock registered as
 * the driver lock (drm_gpusvm_driver_set_lock()). Nothing is mapped up
 * front: the device faults.
 *
 * DOC: Device faults on drm_gpusvm
 *
 * The fault worker calls svmgpu_vm_service_fault(), which maps the calls of
 * the framework one to one onto the steps of a fault, as xe does:
 *
 * 1. A replay alone if the page table maps the page as the access needs
 *    (stale or spurious faults, svmgpu_mmu_maps()).
 * 2. Under &svmgpu_vm.lock: the garbage collector removes the ranges that
 *    were unmapped, so that the range tree matches the CPU's VMAs.
 * 3. drm_gpusvm_range_find_or_insert() finds or creates the range of the
 *    largest chunk that fits the VMA around the fault.
 * 4. drm_gpusvm_range_get_pages(): hmm_range_fault() and the DMA mappings,
 *    which the range owns (the device's leaves only point at them).
 * 5. Under the notifier lock, drm_gpusvm_range_pages_valid() and only then
 *    the PTEs, under pt_lock: one 2 MiB leaf for a 2 MiB range the CPU maps
 *    with one PMD, 4 KiB leaves otherwise. An invalidation in between makes
 *    the pages invalid: round again.
 * 6. REPLAY; or CANCEL with the errno the submitter sees in the command's
 *    status: EFAULT (no VMA, no access), EPERM (a write to a read-only
 *    mapping), EOPNOTSUPP (an atomic the device cannot do on system memory).
 *
 * Read-only mappings: a read fault in a VMA without VM_WRITE gets its pages
 * with &drm_gpusvm_ctx.read_only, and read-only leaves; a write fault there
 * is refused by drm_gpusvm_range_find_or_insert() (-EPERM).
 *
 * DOC: Invalidation and the garbage collector
 *
 * drm_gpusvm calls svmgpu_vm_invalidate() under its notifier lock, held for
 * writing, for every CPU page-table change in a notifier. For each range the
 * change touches, the leaves of the whole range are cleared (a range is
 * mapped and unmapped whole), then the device TLB is invalidated
 * synchronously, and only then drm_gpusvm_range_unmap_pages() drops the
 * DMA mappings: the device cannot reach a page after its mapping is gone.
 * On MMU_NOTIFY_UNMAP the range is also marked unmapped
 * (drm_gpusvm_range_set_unmapped()) and queued, once, for the garbage
 * collector, which drm_gpusvm_range_remove()s it under the driver lock: at
 * the next fault, or from a work item.
 *
 * DOC: Render-node locking
 *
 * Outermost first: &svmgpu_vm.lock (the driver lock: range tree, garbage
 * collection, closing), the mmap lock (taken inside the framework), the
 * notifier lock of &svmgpu_vm.gpusvm, &svmgpu_mmu.pt_lock. The
 * invalidation takes the last two and nothing else; &svmgpu_vm.gc_lock is a
 * leaf spinlock. A VM is closed (destroyed, its file closed, or the device
 * unbound) under &svmgpu_vm.lock: its device context is detached first, so
 * that the device uses no page when drm_gpusvm_fini() unmaps them.
 */

#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "svmgpu_gpusvm.h"

#define SVMGPU_GPUSVM_NOTIFIER_SIZE	SZ_512M

/* Range sizes, largest first: drm_gpusvm takes the largest that fits. */
static const unsigned long svmgpu_vm_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

static struct svmgpu_vm *gpusvm_to_vm(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct svmgpu_vm, gpusvm);
}

static struct svmgpu_range *to_svmgpu_range(struct drm_gpusvm_range *r)
{
	return container_of(r, struct svmgpu_range, base);
}

static struct drm_gpusvm_range *svmgpu_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct svmgpu_range *range = kzalloc_obj(*range);

	if (!range)
		return NULL;
	INIT_LIST_HEAD(&range->gc_link);
	return &range->base;
}

static void svmgpu_range_free(struct drm_gpusvm_range *range)
{
	kfree(to_svmgpu_range(range));
}

/* === invalidation and garbage collection === */

static void svmgpu_vm_gc_add(struct svmgpu_vm *vm, struct drm_gpusvm_range *r,
			     const struct mmu_notifier_range *mmu_range)
{
	struct svmgpu_range *range = to_svmgpu_range(r);
	bool first = !r->pages.flags.unmapped;

	drm_gpusvm_range_set_unmapped(r, mmu_range);
	/*
	 * Queued once, by the first unmap: the collector takes it off the list
	 * before removing it, and a second unmap must not queue it again.
	 */
	spin_lock(&vm->gc_lock);
	if (first && !vm->closed) {
		list_add_tail(&range->gc_link, &vm->gc_list);
		queue_work(system_dfl_wq, &vm->gc_work);
	}
	spin_unlock(&vm->gc_lock);
}

/*
 * The invalidate op (see the DOC section): called by drm_gpusvm with the
 * notifier lock held for writing.
 */
static void svmgpu_vm_invalidate(struct drm_gpusvm *gpusvm,
				 struct drm_gpusvm_notifier *notifier,
				 const struct mmu_notifier_range *mmu_range)
{
	struct svmgpu_vm *vm = gpusvm_to_vm(gpusvm);
	struct svmgpu_mmu *mmu = &vm->mmu;
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	unsigned long start, end, lo = ULONG_MAX, hi = 0, cleared = 0;
	struct drm_gpusvm_range *r, *first;

	lockdep_assert_held_write(&gpusvm->notifier_lock);
	start = max(drm_gpusvm_notifier_start(notifier), mmu_range->start);
	end = min(drm_gpusvm_notifier_end(notifier), mmu_range->end);
	first = drm_gpusvm_range_find(notifier, start, end);
	if (!first)
		return;

	mutex_lock(&mmu->pt_lock);
	r = first;
	drm_gpusvm_for_each_range(r, notifier, start, end) {
		lo = min(lo, drm_gpusvm_range_start(r));
		hi = max(hi, drm_gpusvm_range_end(r));
		cleared += svmgpu_pt_clear(mmu, drm_gpusvm_range_start(r),
					   drm_gpusvm_range_end(r));
	}
	/* Synchronous: the device uses no page of the ranges after this. */
	if (cleared) {
		svmgpu_tlb_invalidate(mmu->gdev, SVMGPU_TLB_INV_RANGE, mmu->id,
				      lo, hi - lo);
		atomic64_inc(&mmu->stats.invalidations);
		atomic64_inc(&mmu->gdev->stats.invalidations);
	}
	mutex_unlock(&mmu->pt_lock);

	r = first;
	drm_gpusvm_for_each_range(r, notifier, start, end) {
		drm_gpusvm_range_unmap_pages(gpusvm, r, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP)
			svmgpu_vm_gc_add(vm, r, mmu_range);
	}
}

static const struct drm_gpusvm_ops svmgpu_gpusvm_ops = {
	.range_alloc = svmgpu_range_alloc,
	.range_free = svmgpu_range_free,
	.invalidate = svmgpu_vm_invalidate,
};

/* Remove the unmapped ranges; the driver lock held. */
static void svmgpu_vm_garbage_collect(struct svmgpu_vm *vm)
{
	struct svmgpu_range *range;

	lockdep_assert_held(&vm->lock);
	spin_lock(&vm->gc_lock);
	while ((range = list_first_entry_or_null(&vm->gc_list,
						 struct svmgpu_range,
						 gc_link))) {
		list_del_init(&range->gc_link);
		spin_unlock(&vm->gc_lock);
		/* its leaves were cleared when it was unmapped */
		drm_gpusvm_range_remove(&vm->gpusvm, &range->base);
		spin_lock(&vm->gc_lock);
	}
	spin_unlock(&vm->gc_lock);
}

static void svmgpu_vm_gc_work(struct work_struct *work)
{
	struct svmgpu_vm *vm = container_of(work, struct svmgpu_vm, gc_work);

	mutex_lock(&vm->lock);
	if (!vm->closed)
		svmgpu_vm_garbage_collect(vm);
	mutex_unlock(&vm->lock);
}

/* === device faults === */

/*
 * Write the leaves of @range from its DMA addresses, if its pages are still
 * valid: the notifier lock orders this against invalidations.
 * Return: 0, -EAGAIN (invalidated meanwhile, or out of spare tables: round
 * again), -ENODEV, -ENOMEM.
 */
static int svmgpu_vm_bind(struct svmgpu_vm *vm, struct drm_gpusvm_range *range,
			  bool read_only)
{
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long npages = (drm_gpusvm_range_end(range) - start) >>
			       PAGE_SHIFT;
	u64 perm_sys = SVMGPU_PTE_VALID | (read_only ? 0 : SVMGPU_PTE_WRITE);
	struct svmgpu_mmu *mmu = &vm->mmu;
	struct svmgpu_pt *table = NULL;
	unsigned long i, j, k, mapped = 0, huge = 0;
	bool replaced = false;
	int ret;

	ret = svmgpu_mmu_refill(mmu);
	if (ret)
		return ret;
	drm_gpusvm_notifier_lock(&vm->gpusvm);
	if (!drm_gpusvm_range_pages_valid(&vm->gpusvm, range)) {
		drm_gpusvm_notifier_unlock(&vm->gpusvm);
		return -EAGAIN;
	}
	mutex_lock(&mmu->pt_lock);
	ret = mmu->root ? 0 : -ENODEV;
	for (i = 0, j = 0; !ret && i < npages; j++) {
		const struct drm_pagemap_addr *a = &range->pages.dma_addr[j];
		unsigned long n = 1UL << a->order;
		u64 va = start + (i << PAGE_SHIFT);
		u64 perm = perm_sys, pte;

		/* device_map() gave a VRAM offset for our device pages */
		if (a->proto == DRM_INTERCONNECT_DRIVER)
			perm |= SVMGPU_PTE_VRAM;

		/* a block the CPU maps with one PMD: one 2 MiB leaf */
		if (n == SVMGPU_BLOCK_PAGES && IS_ALIGNED(va, SZ_2M) &&
		    IS_ALIGNED(a->addr, SZ_2M)) {
			pte = a->addr | perm | SVMGPU_PTE_HUGE;
			if (svmgpu_pt_lookup(mmu, va) != pte) {
				ret = svmgpu_pt_map_huge(mmu, va, pte,
							 &replaced, &table);
				mapped += !ret;
				huge += !ret;
			}
			i += n;
			continue;
		}
		for (k = 0; k < n && !ret; k++) {
			pte = (a->addr + (k << PAGE_SHIFT)) | perm;
			if (svmgpu_pt_lookup(mmu, va + (k << PAGE_SHIFT)) == pte)
				continue;
			ret = svmgpu_pt_map(mmu, va + (k << PAGE_SHIFT), pte,
					    &replaced);
			mapped += !ret;
		}
		i += n;
	}
	/* A replaced leaf may be cached; a replaced table may be walked. */
	if (replaced)
		svmgpu_tlb_invalidate(mmu->gdev, SVMGPU_TLB_INV_RANGE, mmu->id,
				      start, npages << PAGE_SHIFT);
	mutex_unlock(&mmu->pt_lock);
	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	if (table)
		svmgpu_pt_free(mmu, table, 0);
	atomic64_add(mapped, &mmu->stats.pages_mapped);
	atomic64_add(mapped, &mmu->gdev->stats.pages_mapped);
	atomic64_add(huge, &mmu->stats.huge_mapped);
	atomic64_add(huge, &mmu->gdev->stats.huge_mapped);
	return ret;
}

/*
 * What the VMA at @addr allows @access: 0 with *@read_only set for a read
 * of a mapping without VM_WRITE; -EFAULT without a VMA or without access,
 * -EPERM for a write to a read-only mapping.
 */
static int svmgpu_vm_vma_access(struct svmgpu_vm *vm, u64 addr, u8 access,
				bool *read_only)
{
	struct vm_area_struct *vma;
	int ret = 0;

	mmap_read_lock(vm->mm);
	vma = vma_lookup(vm->mm, addr);
	if (!vma || !(vma->vm_flags & (VM_READ | VM_WRITE)) ||
	    (vma->vm_flags & (VM_IO | VM_PFNMAP)))
		ret = -EFAULT;
	else if (access != SVMGPU_ACCESS_READ && !(vma->vm_flags & VM_WRITE))
		ret = -EPERM;
	else
		*read_only = !(vma->vm_flags & VM_WRITE);
	mmap_read_unlock(vm->mm);
	return ret;
}

/*
 * Module parameter check_pages_threshold: xe's workaround of the XXX in
 * drm_gpusvm_range_chunk_size() (a range of at most this many bytes is
 * created only over pages the CPU has faulted in). A knob so that the
 * failure it hides can be reproduced: docs/render-node.md.
 */
static unsigned long check_pages_threshold = SZ_64K;
module_param(check_pages_threshold, ulong, 0644);
MODULE_PARM_DESC(check_pages_threshold,
		 "render node: ranges up to this size only over CPU-faulted pages (default 65536, xe's; 0 disables)");

/*
 * An atomic that needs VRAM moves its range there and gets the pages while
 * a timeslice keeps CPU faults off them. xe gives up after three moves (5,
 * 10 and 20 ms). Here the timeslice keeps doubling, up to this cap, until
 * the fault's deadline: under TCG on a debug kernel behind an IOMMU a move
 * and its get_pages can outlast 20 ms, and a CPU thread on the same page
 * then took it back every round (the atomic failed with EBUSY).
 */
#define SVMGPU_ATOMIC_TIMESLICE_MAX_MS	(HMM_RANGE_DEFAULT_TIMEOUT / 4)
/* Rounds a range's pages may fail to be got before the fault fails */
#define SVMGPU_GET_PAGES_TRIES	4

/*
 * The value of madvise attribute @attr at @addr: that of the latest range
 * that covers it, else 0 (the default of every attribute).
 */
static u32 svmgpu_vm_attr(struct svmgpu_vm *vm, u64 addr, u32 attr)
{
	u32 value = 0;
	int i;

	mutex_lock(&vm->attr_lock);
	for (i = vm->nattrs - 1; i >= 0; i--) {
		if (vm->attrs[i].attr == attr && addr >= vm->attrs[i].start &&
		    addr < vm->attrs[i].end) {
			value = vm->attrs[i].value;
			break;
		}
	}
	mutex_unlock(&vm->attr_lock);
	return value;
}

/*
 * Move @range to VRAM through drm_pagemap: drm_pagemap_populate_mm() takes
 * the mmap read lock and calls our populate_mm. Best effort: the caller
 * looks at the pages afterwards.
 */
static int svmgpu_vm_populate(struct svmgpu_vm *vm,
			      struct drm_gpusvm_range *range,
			      unsigned long timeslice_ms)
{
	struct svmgpu_device *gdev = vm->mmu.gdev;
	struct drm_pagemap *dp;
	int ret;

	dp = svmgpu_pagemap_get(gdev, vm->gpusvm.drm);
	if (IS_ERR(dp))
		return PTR_ERR(dp);
	ret = drm_pagemap_populate_mm(dp, drm_gpusvm_range_start(range),
				      drm_gpusvm_range_end(range), vm->mm,
				      timeslice_ms);
	drm_pagemap_put(dp);
	if (!ret)
		atomic64_add((drm_gpusvm_range_end(range) -
			      drm_gpusvm_range_start(range)) >> PAGE_SHIFT,
			     &vm->mmu.stats.migrated_to_vram);
	return ret;
}

/*
 * Steps 2 to 5 of a fault (see the DOC section) for the page at @addr, with
 * the data where @place says (SVMGPU_PLACE_*); the driver lock held, the mm
 * referenced. Rounds again while the CPU side changes under it, for at most
 * HMM_RANGE_DEFAULT_TIMEOUT.
 */
static int svmgpu_vm_fault_locked(struct svmgpu_vm *vm, u64 addr, u8 access,
				  enum svmgpu_place place)
{
	struct svmgpu_device *gdev = vm->mmu.gdev;
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	bool devmem = gdev->devmem_pfn, atomic_vram, want_vram;
	int migrate_tries = 1;
	struct drm_gpusvm_ctx ctx = {
		.devmem_possible = devmem,
		.check_pages_threshold = devmem ?
					 READ_ONCE(check_pages_threshold) : 0,
		.device_private_page_owner = devmem ? vm->gpusvm.drm : NULL,
	};
	struct drm_gpusvm_range *range;
	int ret, failed_rounds = 0;
	bool read_only = false;

	lockdep_assert_held(&vm->lock);
	/*
	 * An atomic in VRAM: when the device cannot do it on system memory,
	 * or the range asks for it (madvise ATOMIC DEVICE).
	 */
	atomic_vram = access == SVMGPU_ACCESS_ATOMIC &&
		      (!svmgpu_sysmem_atomics(gdev) ||
		       svmgpu_vm_attr(vm, addr, DRM_SVMGPU_ATTR_ATOMIC) ==
		       DRM_SVMGPU_ATOMIC_DEVICE);
	if (atomic_vram && !devmem)
		return -EOPNOTSUPP;
	want_vram = place == SVMGPU_PLACE_VRAM ||
		    (place == SVMGPU_PLACE_POLICY &&
		     svmgpu_vm_attr(vm, addr, DRM_SVMGPU_ATTR_PREFERRED_LOC) ==
		     DRM_SVMGPU_REGION_VRAM);
	if (atomic_vram) {
		ctx.devmem_only = 1;
		ctx.timeslice_ms = svmgpu_atomic_timeslice_ms();
	}
	for (;;) {
		if (time_after(jiffies, timeout))
			return -EBUSY;
		svmgpu_vm_garbage_collect(vm);
		ret = svmgpu_vm_vma_access(vm, addr, access, &read_only);
		if (ret)
			return ret;
		ctx.read_only = read_only;
		range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr, 0,
							vm->va_end, &ctx);
		if (IS_ERR(range)) {
			ret = PTR_ERR(range);
			/* the VMA went between our look and the framework's */
			return ret == -EPERM || ret == -ENOMEM ? ret : -EFAULT;
		}
		/* file-backed, shared, hugetlb: cannot be device memory */
		if (atomic_vram && !range->pages.flags.migrate_devmem)
			return -EOPNOTSUPP;
		if ((want_vram || atomic_vram) &&
		    range->pages.flags.migrate_devmem &&
		    !range->pages.flags.has_devmem_pages &&
		    (atomic_vram || migrate_tries > 0)) {
			migrate_tries--;
			/* what cannot move is mirrored where it is */
			svmgpu_vm_populate(vm, range, ctx.timeslice_ms);
			ctx.timeslice_ms = min_t(unsigned long,
						 ctx.timeslice_ms << 1,
						 SVMGPU_ATOMIC_TIMESLICE_MAX_MS);
		}
		if (place == SVMGPU_PLACE_SYSTEM &&
		    range->pages.flags.has_devmem_pages)
			drm_gpusvm_range_evict(&vm->gpusvm, range);
		ret = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
		if (ret == -EOPNOTSUPP) {
			/* mixed, or pages of another device: to RAM first */
			drm_gpusvm_range_evict(&vm->gpusvm, range);
			continue;
		}
		/*
		 * An atomic's pages not all in VRAM (the CPU took some back
		 * after the timeslice): move them again, with a longer
		 * timeslice, until the deadline.
		 */
		if (ret == -EFAULT && ctx.devmem_only)
			continue;
		/*
		 * The CPU mapping changed under us (the VMA check above sees
		 * it next round). A page that stays unreachable (a file
		 * mapping past its end) is reported after a few rounds, not
		 * spun on for the whole timeout.
		 */
		if (ret == -EFAULT || ret == -EPERM) {
			if (++failed_rounds < SVMGPU_GET_PAGES_TRIES)
				continue;
			return ctx.devmem_only ? -EBUSY : ret;
		}
		if (ret == -EBUSY)
			continue;
		if (ret)
			return ret;
		ret = svmgpu_vm_bind(vm, range, read_only);
		if (ret != -EAGAIN)
			return ret;
	}
}

static int svmgpu_vm_service_fault(struct svmgpu_mmu *mmu, u64 addr,
				   u8 access)
{
	struct svmgpu_vm *vm = container_of(mmu, struct svmgpu_vm, mmu);
	int ret;

	if (addr >= vm->va_end)
		return -EFAULT;
	atomic64_inc(&mmu->stats.faults);
	if (svmgpu_mmu_maps(mmu, addr, access))
		return 0;
	if (!mmget_not_zero(vm->mm))
		return -ESRCH;
	mutex_lock(&vm->lock);
	ret = vm->closed ? -ENODEV :
	      svmgpu_vm_fault_locked(vm, addr, access, SVMGPU_PLACE_POLICY);
	mutex_unlock(&vm->lock);
	mmput(vm->mm);
	return ret;
}

/* === VM lifetime === */

/**
 * svmgpu_vm_close() - close a VM
 * @vm: the VM
 *
 * Detaches its device context, then lets drm_gpusvm drop every range and
 * notifier: the device uses no page when the framework unmaps them.
 * Idempotent.
 * Context: process, the hardware alive (remove_lock held for reading, or
 * the remove path).
 */
void svmgpu_vm_close(struct svmgpu_vm *vm)
{
	struct svmgpu_range *range, *next;

	mutex_lock(&vm->lock);
	if (vm->closed) {
		mutex_unlock(&vm->lock);
		return;
	}
	spin_lock(&vm->gc_lock);
	vm->closed = true;
	list_for_each_entry_safe(range, next, &vm->gc_list, gc_link)
		list_del_init(&range->gc_link);
	spin_unlock(&vm->gc_lock);
	svmgpu_mmu_unpublish(&vm->mmu);
	svmgpu_mmu_detach(&vm->mmu);
	drm_gpusvm_fini(&vm->gpusvm);
	mutex_unlock(&vm->lock);
	/* no invalidation queues it any more: the notifiers are gone */
	cancel_work_sync(&vm->gc_work);
}

static void svmgpu_vm_detach(struct svmgpu_mmu *mmu)
{
	svmgpu_vm_close(container_of(mmu, struct svmgpu_vm, mmu));
}

static void svmgpu_vm_release(struct svmgpu_mmu *mmu)
{
	struct svmgpu_vm *vm = container_of(mmu, struct svmgpu_vm, mmu);

	WARN_ON(!vm->closed);
	mmdrop(vm->mm);
	svmgpu_mmu_destroy(&vm->mmu, true);
	kfree(vm);
}

static const struct svmgpu_mmu_ops svmgpu_vm_mmu_ops = {
	.service_fault = svmgpu_vm_service_fault,
	.detach = svmgpu_vm_detach,
	.release = svmgpu_vm_release,
};

/**
 * svmgpu_vm_create() - a VM mirroring current->mm
 * @drm: the render node's DRM device
 * @gdev: its svmgpu device; the caller holds remove_lock for reading
 *
 * Return: the VM with one reference, or an ERR_PTR: -EBUSY when every
 * device MMU context is taken, -ENOMEM.
 */
struct svmgpu_vm *svmgpu_vm_create(struct drm_device *drm,
				   struct svmgpu_device *gdev)
{
	struct svmgpu_vm *vm;
	int ret;

	vm = kzalloc_obj(*vm);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&vm->lock);
	mutex_init(&vm->attr_lock);
	spin_lock_init(&vm->gc_lock);
	INIT_LIST_HEAD(&vm->gc_list);
	INIT_WORK(&vm->gc_work, svmgpu_vm_gc_work);
	vm->va_end = min_t(u64, TASK_SIZE, 1ull << SVMGPU_VA_BITS);
	ret = svmgpu_mmu_init(gdev, &vm->mmu, &svmgpu_vm_mmu_ops, false);
	if (ret)
		goto err_free;
	ret = drm_gpusvm_init(&vm->gpusvm, "svmgpu", drm, current->mm,
			      0, vm->va_end, SVMGPU_GPUSVM_NOTIFIER_SIZE,
			      &svmgpu_gpusvm_ops, svmgpu_vm_chunk_sizes,
			      ARRAY_SIZE(svmgpu_vm_chunk_sizes));
	if (ret)
		goto err_mmu;
	drm_gpusvm_driver_set_lock(&vm->gpusvm, &vm->lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	svmgpu_mmu_publish(&vm->mmu);
	return vm;

err_mmu:
	svmgpu_mmu_destroy(&vm->mmu, false);
err_free:
	kfree(vm);
	return ERR_PTR(ret);
}

/**
 * svmgpu_vm_prefetch() - fault a range into a VM before the device uses it
 * @vm: the VM; its lock held, its mm referenced
 * @start: page-aligned start
 * @end: page-aligned end
 * @place: SVMGPU_PLACE_SYSTEM or SVMGPU_PLACE_VRAM
 * @pages: incremented by the pages the device maps afterwards
 *
 * Faults [@start, @end) in as device writes would (reads where the mapping
 * is read-only), one range at a time, with the data moved to @place where
 * it can go; holes and mappings without access are skipped.
 *
 * Return: 0, or the error of a fault that could not be serviced.
 */
int svmgpu_vm_prefetch(struct svmgpu_vm *vm, u64 start, u64 end,
		       enum svmgpu_place place, u64 *pages)
{
	u64 addr = start, vma_end;
	int ret = 0;

	lockdep_assert_held(&vm->lock);
	while (addr < end && !ret) {
		struct vm_area_struct *vma;
		bool found = false, usable = false;
		u8 access = SVMGPU_ACCESS_READ;

		/* everything of the VMA read under the lock: it may go after */
		mmap_read_lock(vm->mm);
		vma = find_vma(vm->mm, addr);
		if (vma && vma->vm_start < end) {
			found = true;
			addr = max_t(u64, addr, vma->vm_start);
			vma_end = min_t(u64, vma->vm_end, end);
			usable = (vma->vm_flags & (VM_READ | VM_WRITE)) &&
				 !(vma->vm_flags & (VM_IO | VM_PFNMAP));
			if (vma->vm_flags & VM_WRITE)
				access = SVMGPU_ACCESS_WRITE;
		}
		mmap_read_unlock(vm->mm);
		if (!found)
			break;
		if (!usable) {
			addr = vma_end;
			continue;
		}
		while (addr < vma_end && !ret) {
			struct drm_gpusvm_notifier *n;
			struct drm_gpusvm_range *range = NULL;
			u64 next = vma_end;

			ret = svmgpu_vm_fault_locked(vm, addr, access, place);
			if (ret == -EFAULT || ret == -EPERM) {
				/* the VMA changed meanwhile: look again */
				ret = 0;
				break;
			}
			if (ret)
				break;
			n = drm_gpusvm_notifier_find(&vm->gpusvm, addr, addr + 1);
			if (n)
				range = drm_gpusvm_range_find(n, addr, addr + 1);
			if (range)
				next = min_t(u64, drm_gpusvm_range_end(range),
					     vma_end);
			*pages += (next - addr) >> PAGE_SHIFT;
			addr = next;
		}
	}
	return ret;
}

/**
 * svmgpu_vm_ranges() - how many drm_gpusvm ranges a VM holds
 * @vm: the VM
 *
 * Return: the number of ranges, 0 once closed.
 */
u64 svmgpu_vm_ranges(struct svmgpu_vm *vm)
{
	struct drm_gpusvm_notifier *notifier;
	u64 ranges = 0;

	mutex_lock(&vm->lock);
	if (!vm->closed) {
		drm_gpusvm_for_each_notifier(notifier, &vm->gpusvm, 0,
					     ULONG_MAX) {
			struct drm_gpusvm_range *r = NULL;

			drm_gpusvm_for_each_range(r, notifier, 0, ULONG_MAX)
				ranges++;
		}
	}
	mutex_unlock(&vm->lock);
	return ranges;
}

/* A notifier of the residency walk only: nothing to unmap, the sequence. */
static bool svmgpu_vm_walk_invalidate(struct mmu_interval_notifier *mni,
				      const struct mmu_notifier_range *range,
				      unsigned long cur_seq)
{
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops svmgpu_vm_walk_ops = {
	.invalidate = svmgpu_vm_walk_invalidate,
};

/**
 * svmgpu_vm_residency() - where the pages of a range of a VM's mm are
 * @vm: the VM
 * @start: page-aligned start
 * @npages: 1 to SVMGPU_RESIDENCY_MAX_PAGES
 * @bytes: out: one SVMGPU_RES_* byte per page (svmgpu_residency_mm())
 *
 * The walk needs an interval notifier over the range; the VM's are
 * drm_gpusvm's, created per fault, so a short-lived one serves.
 *
 * Return: 0, -ESRCH if the mm is gone, -ENOMEM, -EBUSY.
 */
int svmgpu_vm_residency(struct svmgpu_vm *vm, unsigned long start,
			unsigned long npages, u8 *bytes)
{
	struct mmu_interval_notifier mni;
	int ret;

	if (!mmget_not_zero(vm->mm))
		return -ESRCH;
	ret = mmu_interval_notifier_insert(&mni, vm->mm, start,
					   npages << PAGE_SHIFT,
					   &svmgpu_vm_walk_ops);
	if (!ret) {
		ret = svmgpu_residency_mm(&vm->mmu, vm->mm, &mni,
					  vm->mmu.gdev->devmem_pfn ?
					  vm->gpusvm.drm : NULL,
					  start, npages, bytes);
		mmu_interval_notifier_remove(&mni);
	}
	mmput(vm->mm);
	return ret;
}
