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
#define SVMGPU_UAPI_VERSION_MINOR	0

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

#define SVMGPU_IOCTL_BASE	'S'
#define SVMGPU_IOCTL_GET_INFO	_IOR(SVMGPU_IOCTL_BASE, 0x00, struct svmgpu_info)

#endif /* _UAPI_SVMGPU_H */
