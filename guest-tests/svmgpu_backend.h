/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two SVM paths of the driver behind one interface, for the guest
 * programs that hold both to the same behaviour and figures: the render
 * node (a VM on drm_gpusvm, uapi/svmgpu_drm.h) by default, /dev/svmgpu0
 * (the driver's own SVM core) with SYSALLOC_BACKEND=svmgpu.
 */
#ifndef SVMGPU_BACKEND_H
#define SVMGPU_BACKEND_H

#include <stdlib.h>

#include "svmgpu_test.h"
#include "svmgpu_drm.h"

/**
 * struct backend - where the commands go
 * @fd: the render node, or /dev/svmgpu0
 * @vm: the VM on the render node (0 on /dev/svmgpu0)
 * @drm: true for the render node
 */
struct backend {
	int fd;
	__u32 vm;
	bool drm;
};

static inline bool backend_is_drm(void)
{
	const char *b = getenv("SYSALLOC_BACKEND");

	return !b || strcmp(b, "svmgpu");
}

/* The render node of svmgpu0: the one whose QUERY says minor 0. */
static inline int open_render_node(void)
{
	char path[64];

	for (int i = 128; i < 192; i++) {
		struct drm_svmgpu_query q = { 0 };
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, DRM_IOCTL_SVMGPU_QUERY, &q) && q.minor == 0)
			return fd;
		close(fd);
	}
	return -1;
}

static inline int vm_create(int fd, __u32 *vm)
{
	struct drm_svmgpu_vm_create c = { 0 };

	if (ioctl(fd, DRM_IOCTL_SVMGPU_VM_CREATE, &c))
		return -errno;
	*vm = c.vm_id;
	return 0;
}

/* Open the backend for the calling process; 0 or -errno. */
static inline int be_open(struct backend *be)
{
	be->drm = backend_is_drm();
	be->vm = 0;
	be->fd = be->drm ? open_render_node() :
			   open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	if (be->fd < 0)
		return -ENODEV;
	if (be->drm && vm_create(be->fd, &be->vm)) {
		close(be->fd);
		return -ENODEV;
	}
	return 0;
}

static inline void be_close(struct backend *be)
{
	close(be->fd);
}

/* Run @n commands; -errno of the ioctl, else 0 (see each status). */
static inline int be_exec(struct backend *be, struct svmgpu_user_cmd *cmds,
		   unsigned int n)
{
	struct drm_svmgpu_exec e = {
		.vm_id = be->vm,
		.count = n,
		.cmds = (uintptr_t)cmds,
	};

	if (!be->drm)
		return submit(be->fd, cmds, n);
	return ioctl(be->fd, DRM_IOCTL_SVMGPU_EXEC, &e) ? -errno : 0;
}

/* One command: -errno of the ioctl, or the command's status. */
static inline int be_one(struct backend *be, struct svmgpu_user_cmd *c)
{
	int ret = be_exec(be, c, 1);

	return ret ? ret : (int)c->status;
}

static inline int be_fill(struct backend *be, void *dst, __u64 pattern, size_t len)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_FILL,
		.dst = (uintptr_t)dst,
		.operand = pattern,
		.len = len,
	};

	return be_one(be, &c);
}

static inline int be_copy(struct backend *be, void *dst, const void *src, size_t len)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_COPY,
		.dst = (uintptr_t)dst,
		.src = (uintptr_t)src,
		.len = len,
	};

	return be_one(be, &c);
}

static inline int be_write32(struct backend *be, void *dst, __u32 value)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_WRITE_IMM,
		.dst = (uintptr_t)dst,
		.operand = value,
		.width = 4,
	};

	return be_one(be, &c);
}

static inline int be_atomic_add(struct backend *be, void *dst, __u64 v, __u64 *old)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_ATOMIC,
		.atomic_op = SVMGPU_ATOM_ADD,
		.dst = (uintptr_t)dst,
		.operand = v,
		.width = 8,
	};
	int ret = be_one(be, &c);

	if (old)
		*old = c.result;
	return ret;
}

/* Prefetch to system memory; -errno, or 0 and *pages (drm only). */
static inline int be_prefetch_system(struct backend *be, void *addr, size_t len,
			      __u64 *pages)
{
	struct drm_svmgpu_prefetch p = {
		.vm_id = be->vm,
		.region = DRM_SVMGPU_REGION_SYSTEM,
		.addr = (uintptr_t)addr,
		.len = len,
	};

	if (!be->drm)
		return dev_migrate(be->fd, addr, len, SVMGPU_MIGRATE_TO_SYSTEM,
				   pages);
	if (ioctl(be->fd, DRM_IOCTL_SVMGPU_PREFETCH, &p))
		return -errno;
	if (pages)
		*pages = p.pages;
	return 0;
}

/* The counters both paths have. */
struct be_stats {
	__u64 faults;
	__u64 replays;
	__u64 cancels;
	__u64 invalidations;
	__u64 commands;
	__u64 pages_mapped;
	__u64 huge_mapped;
	__u64 spurious;
	__u64 ranges;
};

static inline struct be_stats be_stats(struct backend *be)
{
	struct be_stats s = { 0 };

	if (be->drm) {
		struct drm_svmgpu_vm_stats v = { .vm_id = be->vm };

		if (ioctl(be->fd, DRM_IOCTL_SVMGPU_VM_STATS, &v))
			return s;
		s = (struct be_stats) {
			.faults = v.faults, .replays = v.replays,
			.cancels = v.cancels, .invalidations = v.invalidations,
			.commands = v.commands, .pages_mapped = v.pages_mapped,
			.huge_mapped = v.huge_mapped, .spurious = v.spurious,
			.ranges = v.ranges,
		};
	} else {
		struct svmgpu_stats v = stats(be->fd);

		s = (struct be_stats) {
			.faults = v.faults, .replays = v.replays,
			.cancels = v.cancels, .invalidations = v.invalidations,
			.commands = v.commands, .pages_mapped = v.pages_mapped,
			.spurious = v.spurious,
		};
	}
	return s;
}

/* Faults the workload caused: injected spurious ones cost only a replay. */
static inline __u64 be_own_faults(struct backend *be)
{
	struct be_stats s = be_stats(be);

	return s.faults - s.spurious;
}

/* Does the render node have device memory (VRAM for its VMs)? */
static inline bool has_devmem(struct backend *be)
{
	struct drm_svmgpu_query q = { 0 };

	return be->drm && !ioctl(be->fd, DRM_IOCTL_SVMGPU_QUERY, &q) &&
	       q.devmem_size;
}

static inline int be_prefetch_vram(struct backend *be, void *addr, size_t len,
			    __u64 *pages)
{
	struct drm_svmgpu_prefetch p = {
		.vm_id = be->vm,
		.region = DRM_SVMGPU_REGION_VRAM,
		.addr = (uintptr_t)addr,
		.len = len,
	};

	if (!be->drm)
		return dev_migrate(be->fd, addr, len, SVMGPU_MIGRATE_TO_VRAM,
				   pages);
	if (ioctl(be->fd, DRM_IOCTL_SVMGPU_PREFETCH, &p))
		return -errno;
	if (pages)
		*pages = p.pages;
	return 0;
}

static inline int be_madvise(struct backend *be, void *addr, size_t len, __u32 attr,
		      __u32 value)
{
	struct drm_svmgpu_madvise m = {
		.vm_id = be->vm,
		.attr = attr,
		.addr = (uintptr_t)addr,
		.len = len,
		.value = value,
	};

	if (!be->drm) {
		if (attr == DRM_SVMGPU_ATTR_PREFERRED_LOC)
			return set_policy(be->fd, addr, len,
					  value ? SVMGPU_POLICY_MIGRATE_ON_FAULT :
						  SVMGPU_POLICY_MIRROR,
					  SVMGPU_POLICY_ATOMIC_EXCLUSIVE);
		return set_policy(be->fd, addr, len, SVMGPU_POLICY_MIRROR,
				  value ? SVMGPU_POLICY_ATOMIC_VRAM :
					  SVMGPU_POLICY_ATOMIC_EXCLUSIVE);
	}
	return ioctl(be->fd, DRM_IOCTL_SVMGPU_MADVISE, &m) ? -errno : 0;
}

static inline __u64 be_migrated_to_vram(struct backend *be)
{
	struct drm_svmgpu_vm_stats v = { .vm_id = be->vm };

	if (be->drm) {
		ioctl(be->fd, DRM_IOCTL_SVMGPU_VM_STATS, &v);
		return v.migrated_to_vram;
	}
	return stats(be->fd).migrated_to_vram;
}

static inline __u64 be_evicted(struct backend *be)
{
	struct drm_svmgpu_vm_stats v = { .vm_id = be->vm };

	if (be->drm) {
		ioctl(be->fd, DRM_IOCTL_SVMGPU_VM_STATS, &v);
		return v.evicted;
	}
	return stats(be->fd).evicted;
}

/* One SVMGPU_RES_* byte per page of [addr, addr + npages pages). */
static inline int be_residency(struct backend *be, void *addr,
			       unsigned long npages, __u8 *bytes)
{
	struct drm_svmgpu_residency r = {
		.vm_id = be->vm,
		.npages = npages,
		.addr = (uintptr_t)addr,
		.bytes = (uintptr_t)bytes,
	};

	if (!be->drm)
		return dev_residency(be->fd, addr, npages, bytes);
	return ioctl(be->fd, DRM_IOCTL_SVMGPU_RESIDENCY, &r) ? -errno : 0;
}

#endif /* SVMGPU_BACKEND_H */
