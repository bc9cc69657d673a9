/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu hardware contract: the one definition of every register offset,
 * bit and identifier the device model (hw/svmgpu) and the guest driver
 * (drivers/svmgpu) share. Nothing here may be defined a second time on
 * either side.
 *
 * All registers are little-endian and 32 bits wide unless said otherwise;
 * 64-bit quantities are split into _LO/_HI halves that may be read in any
 * order. Reads of undefined offsets return 0, writes to them are ignored
 * (and logged by the device as a guest error).
 *
 * This header must stay includable from the Linux kernel and from QEMU:
 * macros and fixed-width types only, no helpers of either project.
 */
#ifndef SVMGPU_HW_H
#define SVMGPU_HW_H

/* Neither side's BIT() exists on the other, nor in user space. */
#define SVMGPU_BIT(n)                   (1u << (n))

/* PCI identity: Red Hat / Qumranet vendor, experimental device range. */
#define SVMGPU_PCI_VENDOR_ID            0x1af4
#define SVMGPU_PCI_DEVICE_ID            0x10f0
#define SVMGPU_PCI_REVISION             0x01
/* PCI class code: display controller, 3D (no VGA). */
#define SVMGPU_PCI_CLASS_DISPLAY_3D     0x0302

/*
 * Contract version. The driver refuses a device whose major differs from
 * the one it was built with; a newer minor only adds registers.
 */
#define SVMGPU_HW_MAJOR                 1
#define SVMGPU_HW_MINOR                 0
#define SVMGPU_VERSION_MAJOR_SHIFT      16
#define SVMGPU_VERSION_MINOR_MASK       0xffffu
#define SVMGPU_VERSION(maj, min) (((maj) << SVMGPU_VERSION_MAJOR_SHIFT) | (min))
#define SVMGPU_HW_VERSION       SVMGPU_VERSION(SVMGPU_HW_MAJOR, SVMGPU_HW_MINOR)

/* BARs */
/* BAR 0: 64-bit MMIO, registers. BAR 2: 64-bit prefetchable VRAM (coherent). */
#define SVMGPU_BAR_REGS                 0
#define SVMGPU_BAR_VRAM                 2
#define SVMGPU_REGS_SIZE                0x4000

/* VRAM size limits (bytes); the size is always a power of two. */
#define SVMGPU_VRAM_SIZE_MIN            (2ull << 20)    /* one 2 MiB folio */
#define SVMGPU_VRAM_SIZE_MAX            (16ull << 30)

/* Identification block (read-only unless said otherwise) */
#define SVMGPU_REG_ID                   0x0000  /* SVMGPU_ID_MAGIC */
#define SVMGPU_REG_VERSION              0x0004  /* SVMGPU_HW_VERSION */
#define SVMGPU_REG_MEM_MODE             0x0008  /* enum svmgpu_mem_mode */
#define SVMGPU_REG_CAPS                 0x000c  /* SVMGPU_CAP_* */
#define SVMGPU_REG_VRAM_SIZE_LO         0x0010
#define SVMGPU_REG_VRAM_SIZE_HI         0x0014
#define SVMGPU_REG_SCRATCH              0x0018  /* RW, cleared on reset */

/* "SVMG" read as a little-endian 32-bit word */
#define SVMGPU_ID_MAGIC                 0x474d5653u

/* SVMGPU_REG_MEM_MODE values */
/* private: only the engine reaches VRAM; coherent: also the CPU, via BAR 2 */
#define SVMGPU_MEM_MODE_PRIVATE         0
#define SVMGPU_MEM_MODE_COHERENT        1

/* SVMGPU_REG_CAPS bits */
#define SVMGPU_CAP_VRAM_BAR             SVMGPU_BIT(0)   /* BAR 2 maps VRAM */

#endif /* SVMGPU_HW_H */
