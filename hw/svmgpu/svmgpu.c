/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu: an emulated PCIe GPU for shared-virtual-memory driver development
 *
 * This file is the device's PCI face: identification registers, the VRAM
 * RAM block and, in coherent mode, the prefetchable BAR that maps it into the
 * guest's physical address space. The register map lives in
 * include/svmgpu/svmgpu_hw.h, shared with the guest driver; docs/device.md
 * is the specification.
 *
 * VRAM is always RAM-backed. In coherent mode it is also BAR 2, so the guest
 * CPU maps the very bytes the device sees (memory_region_init_ram, not an I/O
 * region: every CPU access must be a plain RAM access, not a trap). In private
 * mode BAR 2 does not exist and only the device reaches VRAM.
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "svmgpu/svmgpu_hw.h"
#include "trace.h"

#define TYPE_SVMGPU "svmgpu"
OBJECT_DECLARE_SIMPLE_TYPE(SvmgpuState, SVMGPU)

struct SvmgpuState {
    PCIDevice parent_obj;

    /* properties */
    uint64_t vram_size;
    char *mem_mode_str;

    /* derived at realize */
    uint32_t mem_mode;          /* SVMGPU_MEM_MODE_* */

    MemoryRegion mmio;
    MemoryRegion vram;

    /* guest-visible register state, cleared on reset */
    uint32_t scratch;
};

static uint32_t svmgpu_caps(SvmgpuState *s)
{
    return s->mem_mode == SVMGPU_MEM_MODE_COHERENT ? SVMGPU_CAP_VRAM_BAR : 0;
}

static uint64_t svmgpu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    SvmgpuState *s = opaque;
    uint64_t val = 0;

    switch (addr) {
    case SVMGPU_REG_ID:
        val = SVMGPU_ID_MAGIC;
        break;
    case SVMGPU_REG_VERSION:
        val = SVMGPU_HW_VERSION;
        break;
    case SVMGPU_REG_MEM_MODE:
        val = s->mem_mode;
        break;
    case SVMGPU_REG_CAPS:
        val = svmgpu_caps(s);
        break;
    case SVMGPU_REG_VRAM_SIZE_LO:
        val = (uint32_t)s->vram_size;
        break;
    case SVMGPU_REG_VRAM_SIZE_HI:
        val = s->vram_size >> 32;
        break;
    case SVMGPU_REG_SCRATCH:
        val = s->scratch;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: read of undefined register 0x%" HWADDR_PRIx "\n",
                      __func__, addr);
        break;
    }
    trace_svmgpu_mmio_read(addr, val, size);
    return val;
}

static void svmgpu_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    SvmgpuState *s = opaque;

    trace_svmgpu_mmio_write(addr, val, size);
    switch (addr) {
    case SVMGPU_REG_SCRATCH:
        s->scratch = val;
        break;
    case SVMGPU_REG_ID:
    case SVMGPU_REG_VERSION:
    case SVMGPU_REG_MEM_MODE:
    case SVMGPU_REG_CAPS:
    case SVMGPU_REG_VRAM_SIZE_LO:
    case SVMGPU_REG_VRAM_SIZE_HI:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: write 0x%" PRIx64 " to read-only register 0x%"
                      HWADDR_PRIx "\n", __func__, val, addr);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: write 0x%" PRIx64 " to undefined register 0x%"
                      HWADDR_PRIx "\n", __func__, val, addr);
        break;
    }
}

static const MemoryRegionOps svmgpu_mmio_ops = {
    .read = svmgpu_mmio_read,
    .write = svmgpu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Registers are 32-bit; narrower or unaligned accesses are refused. */
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
        .unaligned = false,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

static bool svmgpu_check_props(SvmgpuState *s, Error **errp)
{
    if (!s->mem_mode_str || !strcmp(s->mem_mode_str, "private")) {
        s->mem_mode = SVMGPU_MEM_MODE_PRIVATE;
    } else if (!strcmp(s->mem_mode_str, "coherent")) {
        s->mem_mode = SVMGPU_MEM_MODE_COHERENT;
    } else {
        error_setg(errp, "mem-mode must be 'private' or 'coherent', not '%s'",
                   s->mem_mode_str);
        return false;
    }

    if (s->vram_size < SVMGPU_VRAM_SIZE_MIN ||
        s->vram_size > SVMGPU_VRAM_SIZE_MAX ||
        !is_power_of_2(s->vram_size)) {
        error_setg(errp, "vram-size must be a power of two between %llu MiB "
                   "and %llu GiB, not %" PRIu64 " bytes",
                   SVMGPU_VRAM_SIZE_MIN / MiB, SVMGPU_VRAM_SIZE_MAX / GiB,
                   s->vram_size);
        return false;
    }
    return true;
}

static void svmgpu_realize(PCIDevice *pdev, Error **errp)
{
    SvmgpuState *s = SVMGPU(pdev);

    if (!svmgpu_check_props(s, errp)) {
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);

    if (pcie_endpoint_cap_init(pdev, 0) < 0) {
        error_setg(errp, "svmgpu: cannot add the PCIe capability");
        return;
    }
    pcie_cap_flr_init(pdev);

    memory_region_init_io(&s->mmio, OBJECT(s), &svmgpu_mmio_ops, s,
                          "svmgpu-regs", SVMGPU_REGS_SIZE);
    pci_register_bar(pdev, SVMGPU_BAR_REGS,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->mmio);

    if (!memory_region_init_ram(&s->vram, OBJECT(s), "svmgpu-vram",
                                s->vram_size, errp)) {
        pcie_cap_exit(pdev);
        return;
    }
    if (s->mem_mode == SVMGPU_MEM_MODE_COHERENT) {
        pci_register_bar(pdev, SVMGPU_BAR_VRAM,
                         PCI_BASE_ADDRESS_SPACE_MEMORY |
                         PCI_BASE_ADDRESS_MEM_TYPE_64 |
                         PCI_BASE_ADDRESS_MEM_PREFETCH, &s->vram);
    }
}

static void svmgpu_exit(PCIDevice *pdev)
{
    pcie_cap_exit(pdev);
}

static void svmgpu_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                int len)
{
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

static void svmgpu_reset_hold(Object *obj, ResetType type)
{
    SvmgpuState *s = SVMGPU(obj);

    trace_svmgpu_reset(type);
    s->scratch = 0;
}

static const VMStateDescription vmstate_svmgpu = {
    .name = TYPE_SVMGPU,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, SvmgpuState),
        VMSTATE_UINT32(scratch, SvmgpuState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property svmgpu_properties[] = {
    DEFINE_PROP_SIZE("vram-size", SvmgpuState, vram_size, 256 * MiB),
    DEFINE_PROP_STRING("mem-mode", SvmgpuState, mem_mode_str),
};

static void svmgpu_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    k->realize = svmgpu_realize;
    k->exit = svmgpu_exit;
    k->config_write = svmgpu_write_config;
    k->vendor_id = SVMGPU_PCI_VENDOR_ID;
    k->device_id = SVMGPU_PCI_DEVICE_ID;
    k->revision = SVMGPU_PCI_REVISION;
    k->class_id = SVMGPU_PCI_CLASS_DISPLAY_3D;
    rc->phases.hold = svmgpu_reset_hold;
    dc->desc = "svmgpu shared-virtual-memory GPU";
    dc->vmsd = &vmstate_svmgpu;
    device_class_set_props(dc, svmgpu_properties);
    set_bit(DEVICE_CATEGORY_DISPLAY, dc->categories);
}

static const TypeInfo svmgpu_types[] = {
    {
        .name = TYPE_SVMGPU,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(SvmgpuState),
        .class_init = svmgpu_class_init,
        .interfaces = (const InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { }
        },
    },
};

DEFINE_TYPES(svmgpu_types)
