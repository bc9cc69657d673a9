# Device set of the svmgpu QEMU build (--without-default-devices).
# q35 needs HPET and VMPORT unless the machine turns them off; PXB/CXL only
# satisfy a link dependency of ACPI on x86 (reference/qemu-device-model.md).
CONFIG_Q35=y
CONFIG_HPET=y
CONFIG_VMPORT=y
CONFIG_PXB=y
CONFIG_CXL=y
CONFIG_CXL_MEM_DEVICE=y
CONFIG_PCIE_PORT=y
CONFIG_ISA_DEBUG=y
CONFIG_PVPANIC_ISA=y
CONFIG_SVMGPU=y
# The guest's IOMMU of the debug suite (./svmgpu test debug): intel-iommu.
CONFIG_VTD=y
