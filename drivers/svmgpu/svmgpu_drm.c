// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu render node: the DRM device and its ioctls
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
 */

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "svmgpu_gpusvm.h"

static_assert(DRM_SVMGPU_IOCTL_BASE == DRM_IOCTL_BASE);
static_assert(DRM_SVMGPU_COMMAND_BASE == DRM_COMMAND_BASE);

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

static struct svmgpu_drm *to_svmgpu_drm(struct drm_device *drm)
{
	return container_of(drm, struct svmgpu_drm, drm);
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
		.devmem_size = gdev->devmem_pfn ? gdev->vram_size : 0,
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
	vm = svmgpu_vm_create(drm, sdrm->gdev);
	if (IS_ERR(vm)) {
		ret = PTR_ERR(vm);
		goto out;
	}
	ret = xa_alloc(&sfile->vms, &id, vm,
		       XA_LIMIT(1, DRM_SVMGPU_VMS_PER_FILE), GFP_KERNEL);
	if (ret == -EBUSY)	/* xa_alloc's "full" */
		ret = -ENOSPC;
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
	if (vm->closed)
		ret = -ENODEV;
	else if (args->region == DRM_SVMGPU_REGION_VRAM && !gdev->devmem_pfn)
		ret = -EOPNOTSUPP;
	else
		ret = svmgpu_vm_prefetch(vm, args->addr, args->addr + args->len,
					 args->region == DRM_SVMGPU_REGION_VRAM ?
					 SVMGPU_PLACE_VRAM : SVMGPU_PLACE_SYSTEM,
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
	unsigned int i, n;
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
	/* entries of the attribute the new one covers whole go */
	for (i = 0, n = 0; i < vm->nattrs; i++) {
		struct svmgpu_vm_attr *a = &vm->attrs[i];

		if (a->attr == args->attr && a->start >= args->addr &&
		    a->end <= args->addr + args->len)
			continue;
		vm->attrs[n++] = *a;
	}
	vm->nattrs = n;
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
	struct svmgpu_vm *vm;
	u64 ranges;

	if (args->pad)
		return -EINVAL;
	vm = svmgpu_vm_get(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ranges = svmgpu_vm_ranges(vm);
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

static int svmgpu_ioctl_residency(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct drm_svmgpu_residency *args = data;
	struct svmgpu_vm *vm;
	u8 *bytes;
	int ret;

	if (!args->npages || args->npages > SVMGPU_RESIDENCY_MAX_PAGES ||
	    !PAGE_ALIGNED(args->addr) ||
	    !svmgpu_user_range_ok(args->addr, (u64)args->npages << PAGE_SHIFT))
		return -EINVAL;
	vm = svmgpu_vm_get(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	bytes = kvmalloc(args->npages, GFP_KERNEL);
	ret = bytes ? svmgpu_vm_residency(vm, args->addr, args->npages, bytes) :
		      -ENOMEM;
	if (!ret && copy_to_user(u64_to_user_ptr(args->bytes), bytes,
				 args->npages))
		ret = -EFAULT;
	kvfree(bytes);
	svmgpu_mmu_put(&vm->mmu);
	return ret;
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
	DRM_IOCTL_DEF_DRV(SVMGPU_RESIDENCY, svmgpu_ioctl_residency,
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
	/* device memory for the render node: private mode only */
	if (gdev->mem_mode == SVMGPU_MEM_MODE_PRIVATE) {
		ret = svmgpu_pagemap_init(gdev, &sdrm->drm);
		if (ret)
			drm_warn(&sdrm->drm, "no device memory (%d): system memory only\n",
				 ret);
	}
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
