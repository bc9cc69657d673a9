/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmgpu render node: the VMs on drm_gpusvm (svmgpu_gpusvm.c), for the
 * DRM device and its ioctls (svmgpu_drm.c).
 */
#ifndef _SVMGPU_GPUSVM_H
#define _SVMGPU_GPUSVM_H

#include <drm/drm_gpusvm.h>

#include "svmgpu_drv.h"
#include "uapi/svmgpu_drm.h"

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

/* Where a fault or prefetch puts the data of a range */
enum svmgpu_place {
	SVMGPU_PLACE_POLICY,	/* as madvise says: a device fault */
	SVMGPU_PLACE_SYSTEM,	/* system memory */
	SVMGPU_PLACE_VRAM,	/* VRAM where it can go */
};

struct svmgpu_vm *svmgpu_vm_create(struct drm_device *drm,
				   struct svmgpu_device *gdev);
void svmgpu_vm_close(struct svmgpu_vm *vm);
int svmgpu_vm_prefetch(struct svmgpu_vm *vm, u64 start, u64 end,
		       enum svmgpu_place place, u64 *pages);
u64 svmgpu_vm_ranges(struct svmgpu_vm *vm);
int svmgpu_vm_residency(struct svmgpu_vm *vm, unsigned long start,
			unsigned long npages, u8 *bytes);

/* svmgpu_pagemap.c */
int svmgpu_pagemap_init(struct svmgpu_device *gdev, void *owner);
struct drm_pagemap *svmgpu_pagemap_get(struct svmgpu_device *gdev,
				       struct drm_device *drm);

#endif /* _SVMGPU_GPUSVM_H */
