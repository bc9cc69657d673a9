/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * svmgpu DRM render-node ABI: /dev/dri/renderD*, SVM on drm_gpusvm.
 *
 * Each svmgpu device registers a render node next to /dev/svmgpuN. Its
 * shared virtual memory is the kernel's own framework (drm_gpusvm and
 * drm_pagemap): a VM mirrors the address space of the process that created
 * it (a CPU-address mirror); commands run on the device at CPU virtual
 * addresses; the device faults pages in on demand.
 *
 * Versioned by DRM_SVMGPU_UAPI_VERSION, which is also the DRM driver's
 * major.minor (DRM_IOCTL_VERSION): a new minor only adds ioctls or values;
 * a new major breaks compatibility. Every struct is fixed-size, naturally
 * aligned, and its padding and reserved fields must be zero; a nonzero one
 * is -EINVAL and changes nothing.
 *
 * Commands are &struct svmgpu_user_cmd of <svmgpu.h>: both SVM paths of
 * the driver run the same commands, with the same per-command status.
 */
#ifndef _UAPI_SVMGPU_DRM_H
#define _UAPI_SVMGPU_DRM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#include "svmgpu.h"

#define DRM_SVMGPU_UAPI_MAJOR		1
#define DRM_SVMGPU_UAPI_MINOR		1

/**
 * struct drm_svmgpu_query - what the device and the driver offer
 * @uapi_major: DRM_SVMGPU_UAPI_MAJOR of the running driver
 * @uapi_minor: DRM_SVMGPU_UAPI_MINOR of the running driver
 * @hw_version: the device's version register (major << 16 | minor)
 * @mem_mode: SVMGPU_INFO_MEM_* of <svmgpu.h>
 * @vram_size: bytes of VRAM
 * @devmem_size: bytes of VRAM that VMs of the render node can migrate to
 *	(0: none; device memory is device-private only)
 * @flags: DRM_SVMGPU_QUERY_*
 * @minor: N of the device's /dev/svmgpuN
 */
struct drm_svmgpu_query {
	__u32 uapi_major;
	__u32 uapi_minor;
	__u32 hw_version;
	__u32 mem_mode;
	__u64 vram_size;
	__u64 devmem_size;
	__u32 flags;
	__u32 minor;
};

/* struct drm_svmgpu_query.flags */
#define DRM_SVMGPU_QUERY_SYSMEM_ATOMICS	_BITUL(0)	/* atomics on system memory */

/* VMs one open render node may hold at once */
#define DRM_SVMGPU_VMS_PER_FILE		8

/**
 * struct drm_svmgpu_vm_create - a VM mirroring the caller's address space
 * @flags: must be 0
 * @vm_id: out: the VM's handle in this file, 1 to DRM_SVMGPU_VMS_PER_FILE
 *
 * The VM is bound to the calling process's mm; only that mm may use it.
 * -ENOSPC when the file holds DRM_SVMGPU_VMS_PER_FILE VMs, -EBUSY when
 * every device MMU context is taken (they are shared with /dev/svmgpuN).
 */
struct drm_svmgpu_vm_create {
	__u32 flags;
	__u32 vm_id;
};

/**
 * struct drm_svmgpu_vm_destroy - destroy a VM
 * @vm_id: the VM
 * @pad: must be 0
 */
struct drm_svmgpu_vm_destroy {
	__u32 vm_id;
	__u32 pad;
};

/**
 * struct drm_svmgpu_exec - run commands in a VM and wait for them
 * @vm_id: the VM
 * @count: 1 to SVMGPU_SUBMIT_MAX_CMDS
 * @cmds: user pointer to @count &struct svmgpu_user_cmd; their status and
 *	result are written back
 * @timeout_ms: 0 for the default (10 s), at most 600000
 * @flags: must be 0
 * @pad: must be 0
 *
 * The commands run in order on the device's user ring at CPU virtual
 * addresses of the VM's mm. The ioctl returns 0 when they all ran, each
 * with its own status (see &struct svmgpu_user_cmd): a page the device
 * cannot be given (no VMA, no access, a write to a read-only mapping) fails
 * that command only. Errors: -EINVAL (nothing ran), -ENOENT (no such VM),
 * -EACCES (the caller's mm is not the VM's), -ETIMEDOUT, -EINTR, -ENODEV,
 * -ECANCELED (an earlier EXEC on this VM hung the engine: the VM is banned,
 * as &struct svmgpu_submit tells; create a new VM).
 */
struct drm_svmgpu_exec {
	__u32 vm_id;
	__u32 count;
	__u64 cmds;
	__u64 timeout_ms;
	__u32 flags;
	__u32 pad;
};

/* struct drm_svmgpu_prefetch.region */
#define DRM_SVMGPU_REGION_SYSTEM	0
#define DRM_SVMGPU_REGION_VRAM		1

/**
 * struct drm_svmgpu_prefetch - move a range where the device will use it
 * @vm_id: the VM
 * @region: DRM_SVMGPU_REGION_*
 * @addr: page-aligned start
 * @len: page-aligned length, at most SVMGPU_CMD_MAX_LEN
 * @flags: must be 0
 * @pad: must be 0
 * @pages: out: pages of the range mirrored by the device afterwards
 *
 * Faults the range into the VM as a device access would, with the data in
 * @region: to VRAM through drm_pagemap (anonymous private memory only;
 * what cannot move stays in system memory and is mirrored there), or back
 * to system memory. Holes are skipped. Errors: -EINVAL, -ENOENT, -EACCES,
 * -EOPNOTSUPP (VRAM and the device has no devmem), -ENODEV.
 */
struct drm_svmgpu_prefetch {
	__u32 vm_id;
	__u32 region;
	__u64 addr;
	__u64 len;
	__u32 flags;
	__u32 pad;
	__u64 pages;
};

/* struct drm_svmgpu_madvise.attr */
#define DRM_SVMGPU_ATTR_PREFERRED_LOC	0	/* value: DRM_SVMGPU_REGION_* */
#define DRM_SVMGPU_ATTR_ATOMIC		1	/* value: DRM_SVMGPU_ATOMIC_* */

/* values of DRM_SVMGPU_ATTR_ATOMIC */
#define DRM_SVMGPU_ATOMIC_DEFAULT	0	/* system memory if the device can */
#define DRM_SVMGPU_ATOMIC_DEVICE	1	/* in VRAM, held for a timeslice */

#define DRM_SVMGPU_MADVISE_MAX_RANGES	64

/**
 * struct drm_svmgpu_madvise - set an attribute of a range of a VM
 * @vm_id: the VM
 * @attr: DRM_SVMGPU_ATTR_*
 * @addr: page-aligned start
 * @len: page-aligned length, nonzero
 * @value: the attribute's value
 * @pad: must be 0
 *
 * Later calls override earlier ones where they overlap; an earlier range
 * of the same attribute that the new one covers whole is dropped.
 * Attributes steer device faults: PREFERRED_LOC VRAM migrates a faulting
 * range to VRAM before mapping it; ATOMIC DEVICE makes device atomics run
 * in VRAM, which the CPU cannot take back for a timeslice (without sysmem
 * atomics, DEFAULT does the same: there is no other way). -ENOSPC when
 * DRM_SVMGPU_MADVISE_MAX_RANGES ranges are set.
 */
struct drm_svmgpu_madvise {
	__u32 vm_id;
	__u32 attr;
	__u64 addr;
	__u64 len;
	__u32 value;
	__u32 pad;
};

/**
 * struct drm_svmgpu_vm_stats - what the device did for a VM
 * @vm_id: the VM
 * @pad: must be 0
 * @faults: device page faults serviced
 * @replays: faults answered by retrying the command
 * @cancels: faults that failed the command
 * @invalidations: notifier invalidations that removed device mappings
 * @commands: commands executed
 * @pages_mapped: device page-table entries written
 * @huge_mapped: of those, 2 MiB ones
 * @ranges: drm_gpusvm ranges the VM holds now
 * @migrated_to_vram: pages the VM's faults and prefetches moved to VRAM
 * @migrated_to_ram: pages moved back to system memory for this VM's
 *	device (device-wide: CPU faults and evictions)
 * @evicted: pages evicted from the device's VRAM (device-wide)
 * @spurious: of @faults, those the device flagged as injected
 */
struct drm_svmgpu_vm_stats {
	__u32 vm_id;
	__u32 pad;
	__u64 faults;
	__u64 replays;
	__u64 cancels;
	__u64 invalidations;
	__u64 commands;
	__u64 pages_mapped;
	__u64 huge_mapped;
	__u64 ranges;
	__u64 migrated_to_vram;
	__u64 migrated_to_ram;
	__u64 evicted;
	__u64 spurious;
};

/**
 * struct drm_svmgpu_residency - (1.1) where the pages of a range are
 * @vm_id: the VM
 * @npages: 1 to SVMGPU_RESIDENCY_MAX_PAGES
 * @addr: page-aligned start
 * @bytes: user pointer to @npages bytes: one SVMGPU_RES_* byte of
 *	<svmgpu.h> per page, as /dev/svmgpuN's RESIDENCY gives them
 *
 * Reads the CPU's page tables without faulting anything in or moving it,
 * then the VM's device page table for the SVMGPU_RES_DEV_* bits.
 */
struct drm_svmgpu_residency {
	__u32 vm_id;
	__u32 npages;
	__u64 addr;
	__u64 bytes;
};

#define DRM_SVMGPU_QUERY		0x00
#define DRM_SVMGPU_VM_CREATE		0x01
#define DRM_SVMGPU_VM_DESTROY		0x02
#define DRM_SVMGPU_EXEC			0x03
#define DRM_SVMGPU_PREFETCH		0x04
#define DRM_SVMGPU_MADVISE		0x05
#define DRM_SVMGPU_VM_STATS		0x06
#define DRM_SVMGPU_RESIDENCY		0x07

/*
 * DRM_IOCTL_BASE and DRM_COMMAND_BASE of <drm/drm.h>, spelled out so that
 * this header needs no DRM headers installed; the driver checks that they
 * match.
 */
#define DRM_SVMGPU_IOCTL_BASE		'd'
#define DRM_SVMGPU_COMMAND_BASE		0x40
#define DRM_SVMGPU_NR(nr)		(DRM_SVMGPU_COMMAND_BASE + DRM_SVMGPU_##nr)

#define DRM_IOCTL_SVMGPU_QUERY \
	_IOR(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(QUERY), struct drm_svmgpu_query)
#define DRM_IOCTL_SVMGPU_VM_CREATE \
	_IOWR(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(VM_CREATE), struct drm_svmgpu_vm_create)
#define DRM_IOCTL_SVMGPU_VM_DESTROY \
	_IOW(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(VM_DESTROY), struct drm_svmgpu_vm_destroy)
#define DRM_IOCTL_SVMGPU_EXEC \
	_IOW(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(EXEC), struct drm_svmgpu_exec)
#define DRM_IOCTL_SVMGPU_PREFETCH \
	_IOWR(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(PREFETCH), struct drm_svmgpu_prefetch)
#define DRM_IOCTL_SVMGPU_MADVISE \
	_IOW(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(MADVISE), struct drm_svmgpu_madvise)
#define DRM_IOCTL_SVMGPU_VM_STATS \
	_IOWR(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(VM_STATS), struct drm_svmgpu_vm_stats)
#define DRM_IOCTL_SVMGPU_RESIDENCY \
	_IOW(DRM_SVMGPU_IOCTL_BASE, DRM_SVMGPU_NR(RESIDENCY), struct drm_svmgpu_residency)

#endif /* _UAPI_SVMGPU_DRM_H */
