// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu: PCI driver for the svmgpu emulated shared-virtual-memory GPU
 *
 * DOC: Overview
 *
 * One PCI function is one GPU and gets one character device, /dev/svmgpuN.
 * Probe checks the device against the hardware contract
 * (include/svmgpu/svmgpu_hw.h): the ID register, then the major of the
 * version register, then that the VRAM BAR exists exactly when the device
 * says it is in coherent mode and has the size of VRAM.
 *
 * DOC: Lifetime
 *
 * struct svmgpu_device is reference counted: the PCI binding holds one
 * reference and every open file another, so a file that outlives an unbind
 * never touches freed memory. @removed tells such a file the hardware is
 * gone; everything that touches the hardware checks it under @remove_lock.
 */

#include <linux/idr.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "svmgpu/svmgpu_hw.h"
#include "uapi/svmgpu.h"

#define SVMGPU_NAME "svmgpu"

/**
 * struct svmgpu_device - one svmgpu PCI function
 * @kref: one reference for the PCI binding, one per open file
 * @pdev: the PCI device; valid while !@removed
 * @regs: BAR 0 register mapping; valid while !@removed
 * @vram: CPU mapping of VRAM (coherent mode only, else NULL)
 * @vram_size: bytes of VRAM
 * @mem_mode: SVMGPU_MEM_MODE_* read from the device
 * @hw_version: version register of the device
 * @id: N of /dev/svmgpuN
 * @misc: the character device
 * @remove_lock: held for reading while the hardware is used, for writing
 *	while it is torn down
 * @removed: the PCI function is unbound; protected by @remove_lock
 * @pci_segment: PCI domain, kept for GET_INFO after unbind
 * @pci_bus: PCI bus number, kept likewise
 * @pci_devfn: PCI devfn, kept likewise
 */
struct svmgpu_device {
	struct kref kref;
	struct pci_dev *pdev;
	void __iomem *regs;
	void *vram;
	u64 vram_size;
	u32 mem_mode;
	u32 hw_version;
	int id;
	struct miscdevice misc;
	struct rw_semaphore remove_lock;
	bool removed;
	u32 pci_segment;
	u16 pci_bus;
	u16 pci_devfn;
};

static DEFINE_IDA(svmgpu_ida);

static u32 svmgpu_read(struct svmgpu_device *gdev, u32 reg)
{
	return ioread32(gdev->regs + reg);
}

static void svmgpu_device_release(struct kref *kref)
{
	struct svmgpu_device *gdev = container_of(kref, struct svmgpu_device, kref);

	ida_free(&svmgpu_ida, gdev->id);
	kfree(gdev->misc.name);
	kfree(gdev);
}

static void svmgpu_device_put(struct svmgpu_device *gdev)
{
	kref_put(&gdev->kref, svmgpu_device_release);
}

static int svmgpu_open(struct inode *inode, struct file *file)
{
	struct svmgpu_device *gdev =
		container_of(file->private_data, struct svmgpu_device, misc);
	int ret = 0;

	down_read(&gdev->remove_lock);
	if (gdev->removed)
		ret = -ENODEV;
	else
		kref_get(&gdev->kref);
	up_read(&gdev->remove_lock);
	if (ret)
		return ret;

	file->private_data = gdev;
	return 0;
}

static int svmgpu_release(struct inode *inode, struct file *file)
{
	svmgpu_device_put(file->private_data);
	return 0;
}

static long svmgpu_ioctl_get_info(struct svmgpu_device *gdev,
				  void __user *arg)
{
	struct svmgpu_info info = {
		.uapi_major = SVMGPU_UAPI_VERSION_MAJOR,
		.uapi_minor = SVMGPU_UAPI_VERSION_MINOR,
		.hw_version = gdev->hw_version,
		.mem_mode = gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ?
			    SVMGPU_INFO_MEM_COHERENT : SVMGPU_INFO_MEM_PRIVATE,
		.flags = gdev->vram ? SVMGPU_INFO_VRAM_CPU_MAPPED : 0,
		.minor = gdev->id,
		.vram_size = gdev->vram_size,
		.pci_segment = gdev->pci_segment,
		.pci_bus = gdev->pci_bus,
		.pci_devfn = gdev->pci_devfn,
	};

	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long svmgpu_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct svmgpu_device *gdev = file->private_data;
	long ret;

	down_read(&gdev->remove_lock);
	if (gdev->removed) {
		ret = -ENODEV;
		goto out;
	}

	switch (cmd) {
	case SVMGPU_IOCTL_GET_INFO:
		ret = svmgpu_ioctl_get_info(gdev, (void __user *)arg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
out:
	up_read(&gdev->remove_lock);
	return ret;
}

static const struct file_operations svmgpu_fops = {
	.owner = THIS_MODULE,
	.open = svmgpu_open,
	.release = svmgpu_release,
	.unlocked_ioctl = svmgpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * The VRAM BAR must exist exactly in coherent mode, be a 64-bit memory BAR
 * and be as large as VRAM: anything else is a device the driver does not
 * understand, and mapping a wrong size would hand the mm a wrong range.
 */
static int svmgpu_check_vram_bar(struct svmgpu_device *gdev)
{
	struct pci_dev *pdev = gdev->pdev;
	resource_size_t len = pci_resource_len(pdev, SVMGPU_BAR_VRAM);
	unsigned long flags = pci_resource_flags(pdev, SVMGPU_BAR_VRAM);

	if (gdev->mem_mode == SVMGPU_MEM_MODE_PRIVATE) {
		if (len) {
			pci_err(pdev, "private-mode device exposes a VRAM BAR\n");
			return -ENODEV;
		}
		return 0;
	}

	if (!len) {
		pci_err(pdev, "coherent-mode device has no VRAM BAR (not assigned?)\n");
		return -ENODEV;
	}
	if (!(flags & IORESOURCE_MEM) || !(flags & IORESOURCE_MEM_64) ||
	    len != gdev->vram_size) {
		pci_err(pdev, "VRAM BAR %pR does not match %llu bytes of VRAM\n",
			pci_resource_n(pdev, SVMGPU_BAR_VRAM), gdev->vram_size);
		return -ENODEV;
	}
	return 0;
}

static int svmgpu_map_vram(struct svmgpu_device *gdev)
{
	struct pci_dev *pdev = gdev->pdev;
	int ret;

	if (gdev->mem_mode != SVMGPU_MEM_MODE_COHERENT)
		return 0;

	ret = pcim_request_region(pdev, SVMGPU_BAR_VRAM, SVMGPU_NAME "-vram");
	if (ret)
		return ret;
	/* Coherent VRAM is ordinary cacheable memory: map it write-back. */
	gdev->vram = devm_memremap(&pdev->dev,
				   pci_resource_start(pdev, SVMGPU_BAR_VRAM),
				   gdev->vram_size, MEMREMAP_WB);
	if (IS_ERR(gdev->vram)) {
		ret = PTR_ERR(gdev->vram);
		gdev->vram = NULL;
		pci_err(pdev, "cannot map VRAM: %d\n", ret);
		return ret;
	}
	return 0;
}

static int svmgpu_identify(struct svmgpu_device *gdev)
{
	struct pci_dev *pdev = gdev->pdev;
	u32 magic, major;

	magic = svmgpu_read(gdev, SVMGPU_REG_ID);
	if (magic != SVMGPU_ID_MAGIC) {
		pci_err(pdev, "ID register reads %#x, not an svmgpu\n", magic);
		return -ENODEV;
	}

	gdev->hw_version = svmgpu_read(gdev, SVMGPU_REG_VERSION);
	major = gdev->hw_version >> SVMGPU_VERSION_MAJOR_SHIFT;
	if (major != SVMGPU_HW_MAJOR) {
		pci_err(pdev, "hardware contract %u.%u, driver speaks %u.x\n",
			major, gdev->hw_version & SVMGPU_VERSION_MINOR_MASK,
			SVMGPU_HW_MAJOR);
		return -ENODEV;
	}

	gdev->mem_mode = svmgpu_read(gdev, SVMGPU_REG_MEM_MODE);
	if (gdev->mem_mode != SVMGPU_MEM_MODE_PRIVATE &&
	    gdev->mem_mode != SVMGPU_MEM_MODE_COHERENT) {
		pci_err(pdev, "unknown memory mode %u\n", gdev->mem_mode);
		return -ENODEV;
	}

	gdev->vram_size = svmgpu_read(gdev, SVMGPU_REG_VRAM_SIZE_LO) |
			  (u64)svmgpu_read(gdev, SVMGPU_REG_VRAM_SIZE_HI) << 32;
	if (gdev->vram_size < SVMGPU_VRAM_SIZE_MIN ||
	    gdev->vram_size > SVMGPU_VRAM_SIZE_MAX ||
	    !is_power_of_2(gdev->vram_size)) {
		pci_err(pdev, "implausible VRAM size %llu\n", gdev->vram_size);
		return -ENODEV;
	}
	return 0;
}

static int svmgpu_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct svmgpu_device *gdev;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	gdev = kzalloc_obj(*gdev);
	if (!gdev)
		return -ENOMEM;
	kref_init(&gdev->kref);
	init_rwsem(&gdev->remove_lock);
	gdev->pdev = pdev;
	gdev->pci_segment = pci_domain_nr(pdev->bus);
	gdev->pci_bus = pdev->bus->number;
	gdev->pci_devfn = pdev->devfn;

	ret = ida_alloc(&svmgpu_ida, GFP_KERNEL);
	if (ret < 0) {
		kfree(gdev);
		return ret;
	}
	gdev->id = ret;

	gdev->regs = pcim_iomap_region(pdev, SVMGPU_BAR_REGS, SVMGPU_NAME);
	if (IS_ERR(gdev->regs)) {
		ret = PTR_ERR(gdev->regs);
		goto err_put;
	}

	ret = svmgpu_identify(gdev);
	if (ret)
		goto err_put;
	ret = svmgpu_check_vram_bar(gdev);
	if (ret)
		goto err_put;
	ret = svmgpu_map_vram(gdev);
	if (ret)
		goto err_put;

	gdev->misc.minor = MISC_DYNAMIC_MINOR;
	gdev->misc.name = kasprintf(GFP_KERNEL, SVMGPU_NAME "%d", gdev->id);
	if (!gdev->misc.name) {
		ret = -ENOMEM;
		goto err_put;
	}
	gdev->misc.fops = &svmgpu_fops;
	gdev->misc.parent = &pdev->dev;
	gdev->misc.mode = 0600;
	ret = misc_register(&gdev->misc);
	if (ret)
		goto err_put;

	pci_set_drvdata(pdev, gdev);
	pci_info(pdev, "%s: hw %u.%u, %llu MiB %s VRAM%s\n", gdev->misc.name,
		 gdev->hw_version >> SVMGPU_VERSION_MAJOR_SHIFT,
		 gdev->hw_version & SVMGPU_VERSION_MINOR_MASK,
		 gdev->vram_size >> 20,
		 gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ? "coherent" : "private",
		 gdev->vram ? ", CPU-mapped" : "");
	return 0;

err_put:
	svmgpu_device_put(gdev);
	return ret;
}

static void svmgpu_remove(struct pci_dev *pdev)
{
	struct svmgpu_device *gdev = pci_get_drvdata(pdev);

	misc_deregister(&gdev->misc);

	/* Wait for every hardware user, then forbid new ones. */
	down_write(&gdev->remove_lock);
	gdev->removed = true;
	gdev->regs = NULL;
	gdev->vram = NULL;
	gdev->pdev = NULL;
	up_write(&gdev->remove_lock);

	/* The devm mappings of BAR 0 and 2 go when this function returns. */
	svmgpu_device_put(gdev);
}

static const struct pci_device_id svmgpu_pci_ids[] = {
	{ PCI_DEVICE(SVMGPU_PCI_VENDOR_ID, SVMGPU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, svmgpu_pci_ids);

static struct pci_driver svmgpu_pci_driver = {
	.name = SVMGPU_NAME,
	.id_table = svmgpu_pci_ids,
	.probe = svmgpu_probe,
	.remove = svmgpu_remove,
};
module_pci_driver(svmgpu_pci_driver);

MODULE_DESCRIPTION("svmgpu emulated shared-virtual-memory GPU");
MODULE_LICENSE("GPL");
