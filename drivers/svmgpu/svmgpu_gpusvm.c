// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu render node: shared virtual memory on drm_gpusvm
 *
 * DOC: Render node
 *
 * Each svmgpu device registers a DRM device with a render node
 * (/dev/dri/renderD*) next to /dev/svmgpuN. The render node's SVM is the
 * kernel's framework, drivers/gpu/drm/drm_gpusvm.c, and nothing of the
 * driver's own SVM core (svmgpu_svm.c): the two front ends share only the
 * hardware layer below them, the rings (svmgpu_engine.c) and the device MMU
 * contexts with their page tables (svmgpu_pt.c). The uAPI is
 * uapi/svmgpu_drm.h; there is no GEM: memory is the process's own.
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
#include <linux/xarray.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_pagemap.h>

#include "svmgpu_drv.h"
#include "uapi/svmgpu_drm.h"

static_assert(DRM_SVMGPU_IOCTL_BASE == DRM_IOCTL_BASE);
static_assert(DRM_SVMGPU_COMMAND_BASE == DRM_COMMAND_BASE);

#define SVMGPU_GPUSVM_NOTIFIER_SIZE	SZ_512M

/* Range sizes, largest first: drm_gpusvm takes the largest that fits. */
static const unsigned long svmgpu_vm_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

/**
 * struct svmgpu_drm - the DRM device of one svmgpu device
 * @drm: the DRM device; its dev is the PCI device
 * @gdev: the svmgpu device (a reference is held)
 */
struct svmgpu_drm {
	struct drm_device drm;
	struct svmgpu_device *gdev;
};

/**
 * struct svmgpu_drm_file - one open render node
 * @vms: the file's VMs by handle, each with a reference
 */
struct svmgpu_drm_file {
	struct xarray vms;
};

/**
 * struct svmgpu_vm_attr - an attribute of a range (DRM_IOCTL_SVMGPU_MADVISE)
 * @start: start of the range
 * @end: its end
 * @attr: DRM_SVMGPU_ATTR_*
 * @value: its value
 */
struct svmgpu_vm_attr {
	u64 start;
	u64 end;
	u32 attr;
	u32 value;
};

/**
 * struct svmgpu_vm - a VM of the render node
 * @mmu: its device MMU context (the leaves own no DMA mapping)
 * @gpusvm: the framework's state
 * @mm: the mm the VM mirrors (mmgrab'ed): only it may use the VM
 * @va_end: end of the mirrored address space
 * @lock: the driver lock of @gpusvm: range tree, garbage collection, @closed
 * @closed: no longer usable: detached, its ranges gone
 * @gc_lock: protects @gc_list and, with @lock, @closed
 * @gc_list: unmapped ranges for the garbage collector
 * @gc_work: runs the garbage collector between faults
 * @attr_lock: protects @attrs and @nattrs
 * @attrs: madvise ranges, later ones override earlier ones
 * @nattrs: entries used
 */
struct svmgpu_vm {
	struct svmgpu_mmu mmu;
	struct drm_gpusvm gpusvm;
	struct mm_struct *mm;
	unsigned long va_end;
	struct mutex lock;		/* the driver lock */
	bool closed;
	spinlock_t gc_lock;		/* @gc_list, @closed */
	struct list_head gc_list;
	struct work_struct gc_work;
	struct mutex attr_lock;		/* @attrs, @nattrs */
	struct svmgpu_vm_attr attrs[DRM_SVMGPU_MADVISE_MAX_RANGES];
	unsigned int nattrs;
};

/**
 * struct svmgpu_range - a drm_gpusvm range of a VM
 * @base: the framework's range
 * @gc_link: on &svmgpu_vm.gc_list once unmapped
 */
struct svmgpu_range {
	struct drm_gpusvm_range base;
	struct list_head gc_link;
};

static struct svmgpu_vm *gpusvm_to_vm(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct svmgpu_vm, gpusvm);
}

static struct svmgpu_range *to_svmgpu_range(struct drm_gpusvm_range *r)
{
	return container_of(r, struct svmgpu_range, base);
}

static struct svmgpu_drm *to_svmgpu_drm(struct drm_device *drm)
{
	return container_of(drm, struct svmgpu_drm, drm);
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
		queue_work(system_wq, &vm->gc_work);
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
	u64 perm = SVMGPU_PTE_VALID | (read_only ? 0 : SVMGPU_PTE_WRITE);
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
		u64 pte;

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
 * Steps 2 to 5 of a fault (see the DOC section) for the page at @addr; the
 * driver lock held, the mm referenced. Rounds again while the CPU side
 * changes under it, for at most HMM_RANGE_DEFAULT_TIMEOUT.
 */
static int svmgpu_vm_fault_locked(struct svmgpu_vm *vm, u64 addr, u8 access)
{
	struct svmgpu_device *gdev = vm->mmu.gdev;
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	bool read_only = false;
	int ret;

	lockdep_assert_held(&vm->lock);
	if (access == SVMGPU_ACCESS_ATOMIC && !svmgpu_sysmem_atomics(gdev))
		return -EOPNOTSUPP;
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
		ret = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
		if (ret == -EOPNOTSUPP) {
			/* pages of another device: back to system memory */
			drm_gpusvm_range_evict(&vm->gpusvm, range);
			continue;
		}
		/* the CPU mapping changed under us: look again */
		if (ret == -EFAULT || ret == -EPERM || ret == -EBUSY)
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
	ret = vm->closed ? -ENODEV : svmgpu_vm_fault_locked(vm, addr, access);
	mutex_unlock(&vm->lock);
	mmput(vm->mm);
	return ret;
}

/* === VM lifetime === */

/*
 * Close @vm: detach its device context, then let drm_gpusvm drop every
 * range and notifier. Idempotent. Context: process, the hardware alive
 * (remove_lock held, or the remove path).
 */
static void svmgpu_vm_close(struct svmgpu_vm *vm)
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

static struct svmgpu_vm *svmgpu_vm_create(struct svmgpu_drm *sdrm)
{
	struct svmgpu_device *gdev = sdrm->gdev;
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
	ret = drm_gpusvm_init(&vm->gpusvm, "svmgpu", &sdrm->drm, current->mm,
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

/* === ioctls === */

/*
 * The VM @id of @file with a reference, if the caller's mm is the VM's:
 * ERR_PTR -ENOENT or -EACCES otherwise.
 */
static struct svmgpu_vm *svmgpu_vm_get(struct drm_file *file, u32 id)
{
	struct svmgpu_drm_file *sfile = file->driver_priv;
	struct svmgpu_vm *vm;

	xa_lock(&sfile->vms);
	vm = xa_load(&sfile->vms, id);
	if (vm && !kref_get_unless_zero(&vm->mmu.kref))
		vm = NULL;
	xa_unlock(&sfile->vms);
	if (!vm)
		return ERR_PTR(-ENOENT);
	if (vm->mm != current->mm) {
		svmgpu_mmu_put(&vm->mmu);
		return ERR_PTR(-EACCES);
	}
	return vm;
}

/*
 * Enter the hardware: remove_lock for reading, unless the device is gone.
 * Return: 0 or -ENODEV.
 */
static int svmgpu_drm_enter(struct svmgpu_device *gdev)
{
	down_read(&gdev->remove_lock);
	if (gdev->removed) {
		up_read(&gdev->remove_lock);
		return -ENODEV;
	}
	return 0;
}

static void svmgpu_drm_exit(struct svmgpu_device *gdev)
{
	up_read(&gdev->remove_lock);
}

static int svmgpu_ioctl_query(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct svmgpu_device *gdev = to_svmgpu_drm(drm)->gdev;
	struct drm_svmgpu_query *q = data;
	int ret;

	ret = svmgpu_drm_enter(gdev);
	if (ret)
		return ret;
	*q = (struct drm_svmgpu_query) {
		.uapi_major = DRM_SVMGPU_UAPI_MAJOR,
		.uapi_minor = DRM_SVMGPU_UAPI_MINOR,
		.hw_version = gdev->hw_version,
		.mem_mode = gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ?
			    SVMGPU_INFO_MEM_COHERENT : SVMGPU_INFO_MEM_PRIVATE,
		.vram_size = gdev->vram_size,
		.flags = svmgpu_sysmem_atomics(gdev) ?
			 DRM_SVMGPU_QUERY_SYSMEM_ATOMICS : 0,
		.minor = gdev->id,
	};
	svmgpu_drm_exit(gdev);
	return 0;
}

static int svmgpu_ioctl_vm_create(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct svmgpu_drm_file *sfile = file->driver_priv;
	struct svmgpu_drm *sdrm = to_svmgpu_drm(drm);
	struct drm_svmgpu_vm_create *args = data;
	struct svmgpu_vm *vm;
	u32 id;
	int ret;

	if (args->flags || args->vm_id)
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	ret = svmgpu_drm_enter(sdrm->gdev);
	if (ret)
		return ret;
	vm = svmgpu_vm_create(sdrm);
	if (IS_ERR(vm)) {
		ret = PTR_ERR(vm);
		goto out;
	}
	ret = xa_alloc(&sfile->vms, &id, vm, xa_limit_32b, GFP_KERNEL);
	if (ret) {
		svmgpu_vm_close(vm);
		svmgpu_mmu_put(&vm->mmu);
		goto out;
	}
	args->vm_id = id;
out:
	svmgpu_drm_exit(sdrm->gdev);
	return ret;
}

/* Close @vm unless the device is gone (then unbind closed it), and put it. */
static void svmgpu_vm_close_put(struct svmgpu_device *gdev,
				struct svmgpu_vm *vm)
{
	down_read(&gdev->remove_lock);
	if (!gdev->removed)
		svmgpu_vm_close(vm);
	up_read(&gdev->remove_lock);
	svmgpu_mmu_put(&vm->mmu);
}

static int svmgpu_ioctl_vm_destroy(struct drm_device *drm, void *data,
				   struct drm_file *file)
{
	struct svmgpu_drm_file *sfile = file->driver_priv;
	struct drm_svmgpu_vm_destroy *args = data;
	struct svmgpu_vm *vm;

	if (args->pad)
		return -EINVAL;
	vm = xa_erase(&sfile->vms, args->vm_id);
	if (!vm)
		return -ENOENT;
	svmgpu_vm_close_put(to_svmgpu_drm(drm)->gdev, vm);
	return 0;
}

static int svmgpu_ioctl_exec(struct drm_device *drm, void *data,
			     struct drm_file *file)
{
	struct svmgpu_device *gdev = to_svmgpu_drm(drm)->gdev;
	struct drm_svmgpu_exec *args = data;
	struct svmgpu_user_cmd __user *ucmds = u64_to_user_ptr(args->cmds);
	struct svmgpu_user_cmd *u;
	struct svmgpu_vm *vm;
	int ret;

	if (args->flags || args->pad || !args->count ||
	    args->count > SVMGPU_SUBMIT_MAX_CMDS)
		return -EINVAL;
	vm = svmgpu_vm_get(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	u = memdup_array_user(ucmds, args->count, sizeof(*u));
	if (IS_ERR(u)) {
		ret = PTR_ERR(u);
		goto out_put;
	}
	ret = svmgpu_drm_enter(gdev);
	if (ret)
		goto out_free;
	ret = svmgpu_user_cmds_run(&vm->mmu, u, args->count, args->timeout_ms);
	svmgpu_drm_exit(gdev);
	if (!ret && copy_to_user(ucmds, u, args->count * sizeof(*u)))
		ret = -EFAULT;
out_free:
	kfree(u);
out_put:
	svmgpu_mmu_put(&vm->mmu);
	return ret;
}

/*
 * Fault [@start, @end) into @vm as device writes would (reads where the
 * mapping is read-only), one range at a time; holes and mappings without
 * access are skipped. *@pages counts the pages the device maps afterwards.
 * The driver lock held, the mm referenced.
 */
static int svmgpu_vm_prefetch(struct svmgpu_vm *vm, u64 start, u64 end,
			      u64 *pages)
{
	u64 addr = start, vma_end;
	int ret = 0;

	lockdep_assert_held(&vm->lock);
	while (addr < end && !ret) {
		struct vm_area_struct *vma;
		bool usable = false;
		u8 access = SVMGPU_ACCESS_READ;

		mmap_read_lock(vm->mm);
		vma = find_vma(vm->mm, addr);
		if (vma && vma->vm_start < end) {
			addr = max_t(u64, addr, vma->vm_start);
			vma_end = min_t(u64, vma->vm_end, end);
			usable = (vma->vm_flags & (VM_READ | VM_WRITE)) &&
				 !(vma->vm_flags & (VM_IO | VM_PFNMAP));
			if (vma->vm_flags & VM_WRITE)
				access = SVMGPU_ACCESS_WRITE;
		}
		mmap_read_unlock(vm->mm);
		if (!vma || vma->vm_start >= end)
			break;
		if (!usable) {
			addr = vma_end;
			continue;
		}
		while (addr < vma_end && !ret) {
			struct drm_gpusvm_notifier *n;
			struct drm_gpusvm_range *range = NULL;
			u64 next = vma_end;

			ret = svmgpu_vm_fault_locked(vm, addr, access);
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

static int svmgpu_ioctl_prefetch(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct svmgpu_device *gdev = to_svmgpu_drm(drm)->gdev;
	struct drm_svmgpu_prefetch *args = data;
	struct svmgpu_vm *vm;
	int ret;

	if (args->flags || args->pad || args->pages || !args->len ||
	    !PAGE_ALIGNED(args->addr) || !PAGE_ALIGNED(args->len) ||
	    args->len > SVMGPU_CMD_MAX_LEN ||
	    !svmgpu_user_range_ok(args->addr, args->len) ||
	    args->region > DRM_SVMGPU_REGION_VRAM)
		return -EINVAL;
	if (args->region == DRM_SVMGPU_REGION_VRAM)
		return -EOPNOTSUPP;
	vm = svmgpu_vm_get(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ret = svmgpu_drm_enter(gdev);
	if (ret)
		goto out_put;
	if (!mmget_not_zero(vm->mm)) {
		ret = -ESRCH;
		goto out_exit;
	}
	mutex_lock(&vm->lock);
	ret = vm->closed ? -ENODEV :
	      svmgpu_vm_prefetch(vm, args->addr, args->addr + args->len,
				 &args->pages);
	mutex_unlock(&vm->lock);
	mmput(vm->mm);
out_exit:
	svmgpu_drm_exit(gdev);
out_put:
	svmgpu_mmu_put(&vm->mmu);
	return ret;
}

static int svmgpu_ioctl_madvise(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct drm_svmgpu_madvise *args = data;
	struct svmgpu_vm *vm;
	int ret = 0;

	if (args->pad || !args->len || !PAGE_ALIGNED(args->addr) ||
	    !PAGE_ALIGNED(args->len) ||
	    !svmgpu_user_range_ok(args->addr, args->len))
		return -EINVAL;
	switch (args->attr) {
	case DRM_SVMGPU_ATTR_PREFERRED_LOC:
		if (args->value > DRM_SVMGPU_REGION_VRAM)
			return -EINVAL;
		break;
	case DRM_SVMGPU_ATTR_ATOMIC:
		if (args->value > DRM_SVMGPU_ATOMIC_DEVICE)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	vm = svmgpu_vm_get(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	mutex_lock(&vm->attr_lock);
	if (vm->nattrs == ARRAY_SIZE(vm->attrs)) {
		ret = -ENOSPC;
	} else {
		vm->attrs[vm->nattrs++] = (struct svmgpu_vm_attr) {
			.start = args->addr,
			.end = args->addr + args->len,
			.attr = args->attr,
			.value = args->value,
		};
	}
	mutex_unlock(&vm->attr_lock);
	svmgpu_mmu_put(&vm->mmu);
	return ret;
}

static int svmgpu_ioctl_vm_stats(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct svmgpu_device *gdev = to_svmgpu_drm(drm)->gdev;
	struct drm_svmgpu_vm_stats *args = data;
	struct svmgpu_counters *c;
	struct drm_gpusvm_notifier *notifier;
	struct svmgpu_vm *vm;
	u64 ranges = 0;

	if (args->pad)
		return -EINVAL;
	vm = svmgpu_vm_get(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
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
	c = &vm->mmu.stats;
	*args = (struct drm_svmgpu_vm_stats) {
		.vm_id = args->vm_id,
		.faults = atomic64_read(&c->faults),
		.replays = atomic64_read(&c->replays),
		.cancels = atomic64_read(&c->cancels),
		.invalidations = atomic64_read(&c->invalidations),
		.commands = atomic64_read(&c->commands),
		.pages_mapped = atomic64_read(&c->pages_mapped),
		.huge_mapped = atomic64_read(&c->huge_mapped),
		.ranges = ranges,
		.migrated_to_vram = atomic64_read(&c->migrated_to_vram),
		.migrated_to_ram = atomic64_read(&gdev->stats.migrated_to_ram),
		.evicted = atomic64_read(&gdev->stats.evicted),
		.spurious = atomic64_read(&c->spurious),
	};
	svmgpu_mmu_put(&vm->mmu);
	return 0;
}

static const struct drm_ioctl_desc svmgpu_drm_ioctls[] = {
	DRM_IOCTL_DEF_DRV(SVMGPU_QUERY, svmgpu_ioctl_query, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMGPU_VM_CREATE, svmgpu_ioctl_vm_create,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMGPU_VM_DESTROY, svmgpu_ioctl_vm_destroy,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMGPU_EXEC, svmgpu_ioctl_exec, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMGPU_PREFETCH, svmgpu_ioctl_prefetch,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMGPU_MADVISE, svmgpu_ioctl_madvise,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMGPU_VM_STATS, svmgpu_ioctl_vm_stats,
			  DRM_RENDER_ALLOW),
};

/* === the DRM device === */

static int svmgpu_drm_open(struct drm_device *drm, struct drm_file *file)
{
	struct svmgpu_drm_file *sfile = kzalloc_obj(*sfile);

	if (!sfile)
		return -ENOMEM;
	xa_init_flags(&sfile->vms, XA_FLAGS_ALLOC1);
	file->driver_priv = sfile;
	return 0;
}

static void svmgpu_drm_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct svmgpu_drm_file *sfile = file->driver_priv;
	struct svmgpu_vm *vm;
	unsigned long id;

	xa_for_each(&sfile->vms, id, vm) {
		xa_erase(&sfile->vms, id);
		svmgpu_vm_close_put(to_svmgpu_drm(drm)->gdev, vm);
	}
	xa_destroy(&sfile->vms);
	kfree(sfile);
}

static const struct file_operations svmgpu_drm_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = drm_ioctl,
	.compat_ioctl = drm_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.fop_flags = FOP_UNSIGNED_OFFSET,
};

static const struct drm_driver svmgpu_drm_driver = {
	.driver_features = DRIVER_RENDER,
	.open = svmgpu_drm_open,
	.postclose = svmgpu_drm_postclose,
	.ioctls = svmgpu_drm_ioctls,
	.num_ioctls = ARRAY_SIZE(svmgpu_drm_ioctls),
	.fops = &svmgpu_drm_fops,
	.name = SVMGPU_NAME,
	.desc = "svmgpu emulated SVM GPU (drm_gpusvm)",
	.major = DRM_SVMGPU_UAPI_MAJOR,
	.minor = DRM_SVMGPU_UAPI_MINOR,
};

static void svmgpu_drm_release(struct drm_device *drm, void *gdev)
{
	svmgpu_device_put(gdev);
}

/**
 * svmgpu_drm_register() - register the render node of a device
 * @gdev: the device, being probed
 *
 * Return: 0 or a negative errno; the device works without a render node.
 */
int svmgpu_drm_register(struct svmgpu_device *gdev)
{
	struct svmgpu_drm *sdrm;
	int ret;

	sdrm = devm_drm_dev_alloc(&gdev->pdev->dev, &svmgpu_drm_driver,
				  struct svmgpu_drm, drm);
	if (IS_ERR(sdrm))
		return PTR_ERR(sdrm);
	sdrm->gdev = gdev;
	kref_get(&gdev->kref);
	ret = drmm_add_action_or_reset(&sdrm->drm, svmgpu_drm_release, gdev);
	if (ret)
		return ret;
	ret = drm_dev_register(&sdrm->drm, 0);
	if (ret)
		return ret;
	gdev->drm = &sdrm->drm;
	return 0;
}

/**
 * svmgpu_drm_unplug() - take the render node away, on unbind
 * @gdev: the device
 *
 * New opens and ioctls fail with -ENODEV; open files stay until closed.
 * Their VMs are closed with every other MMU context by the remove path.
 */
void svmgpu_drm_unplug(struct svmgpu_device *gdev)
{
	if (gdev->drm)
		drm_dev_unplug(gdev->drm);
}
