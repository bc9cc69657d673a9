/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * svmgpu user-space ABI: ioctls of /dev/svmgpuN.
 *
 * Versioned by SVMGPU_UAPI_VERSION: a new minor only adds ioctls or appends
 * fields behind a size check; a new major breaks compatibility. Every struct
 * is fixed-size, naturally aligned and has explicit padding that must be zero.
 */
#ifndef _UAPI_SVMGPU_H
#define _UAPI_SVMGPU_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define SVMGPU_UAPI_VERSION_MAJOR	1
#define SVMGPU_UAPI_VERSION_MINOR	7

/* struct svmgpu_info.mem_mode */
#define SVMGPU_INFO_MEM_PRIVATE		0
#define SVMGPU_INFO_MEM_COHERENT	1

/* struct svmgpu_info.flags */
#define SVMGPU_INFO_VRAM_CPU_MAPPED	_BITUL(0)	/* the driver maps VRAM (coherent) */

/**
 * struct svmgpu_info - what the driver knows of one device
 * @uapi_major: SVMGPU_UAPI_VERSION_MAJOR of the running driver
 * @uapi_minor: SVMGPU_UAPI_VERSION_MINOR of the running driver
 * @hw_version: the device's version register (major << 16 | minor)
 * @mem_mode: SVMGPU_INFO_MEM_*
 * @flags: SVMGPU_INFO_*
 * @minor: N of /dev/svmgpuN
 * @vram_size: bytes of VRAM
 * @pci_segment: PCI domain of the device
 * @pci_bus: PCI bus number
 * @pci_devfn: PCI device and function number
 * @pad: must be zero
 */
struct svmgpu_info {
	__u32 uapi_major;
	__u32 uapi_minor;
	__u32 hw_version;
	__u32 mem_mode;
	__u32 flags;
	__u32 minor;
	__u64 vram_size;
	__u32 pci_segment;
	__u16 pci_bus;
	__u16 pci_devfn;
	__u64 pad;
};

/* struct svmgpu_user_cmd.op */
#define SVMGPU_CMD_COPY		1	/* len bytes from src to dst */
#define SVMGPU_CMD_FILL		2	/* dst: len bytes of operand, repeated */
#define SVMGPU_CMD_WRITE_IMM	3	/* width bytes of operand at dst */
#define SVMGPU_CMD_ATOMIC	4	/* atomic_op on width bytes at dst */

/* struct svmgpu_user_cmd.atomic_op */
#define SVMGPU_ATOM_ADD		0
#define SVMGPU_ATOM_XCHG	1
#define SVMGPU_ATOM_CMPXCHG	2
#define SVMGPU_ATOM_AND		3
#define SVMGPU_ATOM_OR		4
#define SVMGPU_ATOM_XOR		5
#define SVMGPU_ATOM_UMIN	6
#define SVMGPU_ATOM_UMAX	7
#define SVMGPU_ATOM_SMIN	8
#define SVMGPU_ATOM_SMAX	9

#define SVMGPU_SUBMIT_MAX_CMDS	64
#define SVMGPU_CMD_MAX_LEN	_BITULL(30)

/**
 * struct svmgpu_user_cmd - one device command on user virtual addresses
 * @op: SVMGPU_CMD_*
 * @atomic_op: SVMGPU_ATOM_* (ATOMIC)
 * @width: 4 or 8 (WRITE_IMM, ATOMIC); dst aligned to it
 * @status: out: 0, or the positive errno of this command: EFAULT (address
 *	not mapped or not accessible), EPERM (write to a read-only mapping),
 *	EOPNOTSUPP (atomic on memory that can be neither device-exclusive nor
 *	in VRAM: file-backed, shared or hugetlb), EIO (device error),
 *	EHWPOISON (poisoned device memory)
 * @dst: destination user address
 * @src: source user address (COPY)
 * @len: bytes (COPY, FILL), at most SVMGPU_CMD_MAX_LEN
 * @operand: FILL pattern (8 bytes, little-endian), value (WRITE_IMM, ATOMIC)
 * @compare: expected value (CMPXCHG)
 * @result: out: old value (ATOMIC)
 */
struct svmgpu_user_cmd {
	__u32 op;
	__u32 atomic_op;
	__u32 width;
	__u32 status;
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 operand;
	__u64 compare;
	__u64 result;
};

/**
 * struct svmgpu_submit - run commands on the device and wait for them
 * @cmds: user pointer to an array of struct svmgpu_user_cmd
 * @count: 1 to SVMGPU_SUBMIT_MAX_CMDS
 * @flags: must be 0
 * @timeout_ms: 0 for the default (10 s)
 *
 * The commands run in order in the file's SVM context: the device mirrors
 * the file's address space on demand (device page faults). The ioctl
 * returns 0 when they all ran, each with its own status; -EINVAL for a bad
 * argument (nothing ran), -EFAULT for an unreadable @cmds, -ETIMEDOUT,
 * -EINTR, -ENODEV. A submission that hangs the engine gets -ETIMEDOUT, the
 * device is reset, and the file's context is banned: every later SUBMIT on
 * it fails with -ECANCELED (nothing ran). Open the device again for a new
 * context; other files' contexts are not affected.
 */
struct svmgpu_submit {
	__u64 cmds;
	__u32 count;
	__u32 flags;
	__u64 timeout_ms;
};

/**
 * struct svmgpu_stats - what the device did for this file
 * @faults: device page faults serviced
 * @replays: faults answered by retrying the command
 * @cancels: faults that failed the command
 * @invalidations: CPU page-table changes that removed device mappings
 * @commands: commands submitted
 * @pages_mapped: device page-table entries written
 * @migrated_to_vram: pages the device moved into its VRAM (device-wide)
 * @migrated_to_ram: pages it moved back to system memory, evicted ones
 *	included (device-wide)
 * @evicted: (1.5) pages evicted from VRAM, under pressure or on request
 *	(device-wide)
 * @bytes_copied: (1.5) bytes the engine copied for migrations and
 *	evictions (device-wide)
 * @exclusive: (1.5) device-exclusive grants of system pages for atomics
 *	(device-wide)
 * @spurious: (1.7) of @faults, those the device flagged as injected by its
 *	fault-injection knob (x-inject-spurious-ppm): the page was mapped, a
 *	replay was all they needed
 *
 * The ioctl number encodes the size: a 1.4 binary's smaller struct gets
 * the fields it knows.
 */
struct svmgpu_stats {
	__u64 faults;
	__u64 replays;
	__u64 cancels;
	__u64 invalidations;
	__u64 commands;
	__u64 pages_mapped;
	__u64 migrated_to_vram;
	__u64 migrated_to_ram;
	__u64 evicted;
	__u64 bytes_copied;
	__u64 exclusive;
	__u64 spurious;
};

/* struct svmgpu_stats of UAPI 1.4, the smallest GET_STATS accepts */
#define SVMGPU_STATS_SIZE_V1_4	64

#define SVMGPU_MIGRATE_TO_VRAM		1
#define SVMGPU_MIGRATE_TO_SYSTEM	2

/**
 * struct svmgpu_migrate - move a range of the file's memory
 * @addr: page-aligned start
 * @len: page-aligned length, at most SVMGPU_CMD_MAX_LEN
 * @flags: SVMGPU_MIGRATE_TO_VRAM or SVMGPU_MIGRATE_TO_SYSTEM
 * @pad: must be 0
 * @migrated: out: pages moved (pages already there, or that cannot move,
 *	such as file-backed ones, are left where they are)
 *
 * Returns -EINVAL for a hole or a range outside a readable VMA,
 * -EOPNOTSUPP on a device without migratable VRAM (coherent mode, for now).
 */
struct svmgpu_migrate {
	__u64 addr;
	__u64 len;
	__u32 flags;
	__u32 pad;
	__u64 migrated;
};

/* Residency byte of one page (struct svmgpu_residency) */
#define SVMGPU_RES_WHERE_MASK	0x3
#define SVMGPU_RES_NONE		0	/* not present, or not accessible */
#define SVMGPU_RES_SYSTEM	1	/* system memory */
#define SVMGPU_RES_VRAM		2	/* this device's VRAM */
#define SVMGPU_RES_OTHER	3	/* another device's memory */
#define SVMGPU_RES_READ		_BITUL(2)
#define SVMGPU_RES_WRITE	_BITUL(3)
#define SVMGPU_RES_HUGE		_BITUL(4)	/* CPU maps it 2 MiB or larger */
/* (1.6) the device's page tables, as they are now */
#define SVMGPU_RES_DEV_MAPPED	_BITUL(5)	/* the device maps it */
#define SVMGPU_RES_DEV_HUGE	_BITUL(6)	/* with a 2 MiB leaf */

#define SVMGPU_RESIDENCY_MAX_PAGES	4096

/**
 * struct svmgpu_residency - where the pages of a range are, as the CPU's
 *	page tables say now (nothing is faulted in or moved)
 * @addr: page-aligned start
 * @npages: 1 to SVMGPU_RESIDENCY_MAX_PAGES
 * @bytes: user pointer to @npages bytes, one SVMGPU_RES_* byte per page
 */
struct svmgpu_residency {
	__u64 addr;
	__u64 npages;
	__u64 bytes;
};

/* struct svmgpu_policy.policy: where device faults put the data */
#define SVMGPU_POLICY_MIRROR		0	/* device faults mirror in place */
#define SVMGPU_POLICY_MIGRATE_ON_FAULT	1	/* device faults pull to VRAM */
/* struct svmgpu_policy.atomic: device atomics on system memory (1.5) */
#define SVMGPU_POLICY_ATOMIC_EXCLUSIVE	0	/* make the page device-exclusive */
#define SVMGPU_POLICY_ATOMIC_VRAM	1	/* move it to VRAM for a timeslice */
#define SVMGPU_POLICY_MAX_RANGES	64

/**
 * struct svmgpu_policy - what a device fault in a range does
 * @addr: page-aligned start
 * @len: page-aligned length
 * @policy: SVMGPU_POLICY_MIRROR or SVMGPU_POLICY_MIGRATE_ON_FAULT
 * @atomic: SVMGPU_POLICY_ATOMIC_* (was padding before 1.5: 0 is the
 *	default)
 *
 * The default is MIRROR and ATOMIC_EXCLUSIVE everywhere. A later call
 * overrides earlier ones where they overlap, both fields. With
 * MIGRATE_ON_FAULT a device fault first moves the faulting window (64 KiB,
 * within its VMA) to VRAM, then mirrors it; memory that cannot move
 * (file-backed) is mirrored where it is, and a full VRAM evicts its least
 * recently used blocks. The atomic policy matters only on a device without
 * sysmem atomics: a device atomic on system memory then either makes the
 * page device-exclusive (a CPU access takes it back), or moves the window
 * to VRAM and keeps it there for the driver's atomic_timeslice_ms against
 * CPU faults. -ENOSPC after SVMGPU_POLICY_MAX_RANGES calls.
 */
struct svmgpu_policy {
	__u64 addr;
	__u64 len;
	__u32 policy;
	__u32 atomic;
};

/**
 * struct svmgpu_evict - move all of the device's VRAM back to system memory
 * @flags: must be 0
 * @pad: must be 0
 * @evicted: out: pages moved
 *
 * Device-wide, for every process using the device. Returns -EBUSY if some
 * pages could not be moved (pinned, or busy for seconds).
 */
struct svmgpu_evict {
	__u32 flags;
	__u32 pad;
	__u64 evicted;
};

#define SVMGPU_IOCTL_BASE	'S'
#define SVMGPU_IOCTL_GET_INFO	_IOR(SVMGPU_IOCTL_BASE, 0x00, struct svmgpu_info)
#define SVMGPU_IOCTL_SUBMIT	_IOW(SVMGPU_IOCTL_BASE, 0x01, struct svmgpu_submit)
#define SVMGPU_IOCTL_GET_STATS	_IOR(SVMGPU_IOCTL_BASE, 0x02, struct svmgpu_stats)
#define SVMGPU_IOCTL_MIGRATE	_IOWR(SVMGPU_IOCTL_BASE, 0x03, struct svmgpu_migrate)
#define SVMGPU_IOCTL_RESIDENCY	_IOW(SVMGPU_IOCTL_BASE, 0x04, struct svmgpu_residency)
#define SVMGPU_IOCTL_SET_POLICY	_IOW(SVMGPU_IOCTL_BASE, 0x05, struct svmgpu_policy)
#define SVMGPU_IOCTL_EVICT	_IOWR(SVMGPU_IOCTL_BASE, 0x06, struct svmgpu_evict)

#endif /* _UAPI_SVMGPU_H */
