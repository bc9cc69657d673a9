/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest of the svmgpu device: PCI identity, identification registers,
 * the VRAM BAR per memory mode, register access rules, reset and FLR.
 *
 * SVMGPU_QTEST_ARGS, if set, is appended to every QEMU command line (the
 * runner uses it for the firmware search path of a Debian host).
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "svmgpu/svmgpu_hw.h"

#define GPU_SLOT 4
#define TEST_VRAM (16 * 1024 * 1024)

typedef struct {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar regs;
} Gpu;

static void gpu_start(Gpu *g, const char *mode)
{
    const char *extra = g_getenv("SVMGPU_QTEST_ARGS");

    g->qts = qtest_initf("-M q35 -nodefaults %s "
                         "-device svmgpu,addr=%02x.0,mem-mode=%s,vram-size=%d",
                         extra ? extra : "", GPU_SLOT, mode, TEST_VRAM);
    g->bus = qpci_new_pc(g->qts, NULL);
    g->dev = qpci_device_find(g->bus, QPCI_DEVFN(GPU_SLOT, 0));
    g_assert_nonnull(g->dev);
    qpci_device_enable(g->dev);
    g->regs = qpci_iomap(g->dev, SVMGPU_BAR_REGS, NULL);
}

static void gpu_stop(Gpu *g)
{
    g_free(g->dev);
    qpci_free_pc(g->bus);
    qtest_quit(g->qts);
}

static uint32_t reg_read(Gpu *g, uint32_t reg)
{
    return qpci_io_readl(g->dev, g->regs, reg);
}

static void reg_write(Gpu *g, uint32_t reg, uint32_t val)
{
    qpci_io_writel(g->dev, g->regs, reg, val);
}

static void test_pci_identity(void)
{
    Gpu g;

    gpu_start(&g, "private");
    g_assert_cmphex(qpci_config_readw(g.dev, PCI_VENDOR_ID), ==,
                    SVMGPU_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(g.dev, PCI_DEVICE_ID), ==,
                    SVMGPU_PCI_DEVICE_ID);
    g_assert_cmphex(qpci_config_readw(g.dev, PCI_CLASS_DEVICE), ==,
                    SVMGPU_PCI_CLASS_DISPLAY_3D);
    g_assert_cmphex(qpci_config_readb(g.dev, PCI_REVISION_ID), ==,
                    SVMGPU_PCI_REVISION);
    g_assert_cmpint(qpci_find_capability(g.dev, PCI_CAP_ID_EXP, 0), !=, 0);
    gpu_stop(&g);
}

static void check_ident(Gpu *g, uint32_t mode)
{
    g_assert_cmphex(reg_read(g, SVMGPU_REG_ID), ==, SVMGPU_ID_MAGIC);
    g_assert_cmphex(reg_read(g, SVMGPU_REG_VERSION), ==, SVMGPU_HW_VERSION);
    g_assert_cmpuint(reg_read(g, SVMGPU_REG_MEM_MODE), ==, mode);
    g_assert_cmphex(reg_read(g, SVMGPU_REG_VRAM_SIZE_LO), ==, TEST_VRAM);
    g_assert_cmphex(reg_read(g, SVMGPU_REG_VRAM_SIZE_HI), ==, 0);
}

static void test_private_mode(void)
{
    Gpu g;

    gpu_start(&g, "private");
    check_ident(&g, SVMGPU_MEM_MODE_PRIVATE);
    g_assert_cmphex(reg_read(&g, SVMGPU_REG_CAPS) & SVMGPU_CAP_VRAM_BAR, ==, 0);
    /* No VRAM BAR: its base address register is not implemented. */
    qpci_config_writel(g.dev, PCI_BASE_ADDRESS_0 + 4 * SVMGPU_BAR_VRAM,
                       0xffffffff);
    g_assert_cmphex(qpci_config_readl(g.dev, PCI_BASE_ADDRESS_0 +
                                      4 * SVMGPU_BAR_VRAM), ==, 0);
    gpu_stop(&g);
}

static void test_coherent_mode(void)
{
    uint64_t bar_size = 0, pattern[64], back[64];
    QPCIBar vram;
    Gpu g;

    gpu_start(&g, "coherent");
    check_ident(&g, SVMGPU_MEM_MODE_COHERENT);
    g_assert_cmphex(reg_read(&g, SVMGPU_REG_CAPS) & SVMGPU_CAP_VRAM_BAR, ==,
                    SVMGPU_CAP_VRAM_BAR);
    vram = qpci_iomap(g.dev, SVMGPU_BAR_VRAM, &bar_size);
    g_assert_cmpuint(bar_size, ==, TEST_VRAM);
    g_assert_true(qpci_config_readl(g.dev, PCI_BASE_ADDRESS_0 +
                                    4 * SVMGPU_BAR_VRAM) &
                  PCI_BASE_ADDRESS_MEM_PREFETCH);

    /* The BAR is memory: what is written at both ends reads back. */
    for (int i = 0; i < ARRAY_SIZE(pattern); i++) {
        pattern[i] = 0x5356474d00000000ull | (i * 0x01010101u);
    }
    qpci_memwrite(g.dev, vram, 0, pattern, sizeof(pattern));
    qpci_memwrite(g.dev, vram, TEST_VRAM - sizeof(pattern), pattern,
                  sizeof(pattern));
    qpci_memread(g.dev, vram, 0, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
    qpci_memread(g.dev, vram, TEST_VRAM - sizeof(back), back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
    gpu_stop(&g);
}

static void test_register_rules(void)
{
    Gpu g;

    gpu_start(&g, "private");
    reg_write(&g, SVMGPU_REG_SCRATCH, 0xdeadbeef);
    g_assert_cmphex(reg_read(&g, SVMGPU_REG_SCRATCH), ==, 0xdeadbeef);

    /* Read-only registers ignore writes. */
    reg_write(&g, SVMGPU_REG_ID, 0);
    reg_write(&g, SVMGPU_REG_VRAM_SIZE_LO, 0x1000);
    reg_write(&g, SVMGPU_REG_MEM_MODE, SVMGPU_MEM_MODE_COHERENT);
    check_ident(&g, SVMGPU_MEM_MODE_PRIVATE);

    /* Undefined offsets read as zero and swallow writes. */
    reg_write(&g, SVMGPU_REGS_SIZE - 4, 0xffffffff);
    g_assert_cmphex(reg_read(&g, SVMGPU_REGS_SIZE - 4), ==, 0);
    g_assert_cmphex(reg_read(&g, 0x100), ==, 0);
    gpu_stop(&g);
}

static void test_system_reset(void)
{
    Gpu g;

    gpu_start(&g, "private");
    reg_write(&g, SVMGPU_REG_SCRATCH, 0x12345678);
    qtest_system_reset(g.qts);
    qpci_device_enable(g.dev);
    g.regs = qpci_iomap(g.dev, SVMGPU_BAR_REGS, NULL);
    g_assert_cmphex(reg_read(&g, SVMGPU_REG_SCRATCH), ==, 0);
    check_ident(&g, SVMGPU_MEM_MODE_PRIVATE);
    gpu_stop(&g);
}

static void test_flr(void)
{
    uint8_t exp;
    uint16_t devctl;
    uint32_t devcap;
    Gpu g;

    gpu_start(&g, "coherent");
    exp = qpci_find_capability(g.dev, PCI_CAP_ID_EXP, 0);
    devcap = qpci_config_readl(g.dev, exp + PCI_EXP_DEVCAP);
    g_assert_true(devcap & PCI_EXP_DEVCAP_FLR);

    reg_write(&g, SVMGPU_REG_SCRATCH, 0x12345678);
    devctl = qpci_config_readw(g.dev, exp + PCI_EXP_DEVCTL);
    qpci_config_writew(g.dev, exp + PCI_EXP_DEVCTL,
                       devctl | PCI_EXP_DEVCTL_BCR_FLR);

    /* FLR clears the command register and the BARs: map again. */
    qpci_device_enable(g.dev);
    g.regs = qpci_iomap(g.dev, SVMGPU_BAR_REGS, NULL);
    g_assert_cmphex(reg_read(&g, SVMGPU_REG_SCRATCH), ==, 0);
    check_ident(&g, SVMGPU_MEM_MODE_COHERENT);
    gpu_stop(&g);
}

/* Migration is refused, with a message naming the device. */
/* The type of property @name in device-list-properties' @props, or NULL. */
static const char *prop_type(QList *props, const char *name)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(props, e) {
        QDict *p = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(p, "name"), name)) {
            return qdict_get_str(p, "type");
        }
    }
    return NULL;
}

/*
 * QEMU's conventions: mem-mode is an enum, fixed once the device is
 * realized; what exists for testing carries the x- prefix.
 */
static void test_properties(void)
{
    static const char *const testing[] = {
        "x-seed", "x-debug-window", "x-inject-dma-error-nth",
        "x-inject-spurious-ppm", "x-inject-hang", "x-stat-commands",
    };
    static const char *const gone[] = {
        "seed", "debug-window", "contexts", "inject-hang", "stat-commands",
    };
    const char *extra = g_getenv("SVMGPU_QTEST_ARGS");
    QTestState *qts;
    QDict *rsp;
    QList *props;

    qts = qtest_initf("-M q35 -nodefaults %s -device svmgpu,id=gpu0,"
                      "mem-mode=coherent,vram-size=%d,num-contexts=3",
                      extra ? extra : "", TEST_VRAM);
    rsp = qtest_qmp(qts, "{'execute': 'device-list-properties', "
                    "'arguments': {'typename': 'svmgpu'}}");
    props = qdict_get_qlist(rsp, "return");
    g_assert_cmpstr(prop_type(props, "mem-mode"), ==, "SvmgpuMemMode");
    g_assert_nonnull(prop_type(props, "num-contexts"));
    for (int i = 0; i < ARRAY_SIZE(testing); i++) {
        g_assert_nonnull(prop_type(props, testing[i]));
    }
    for (int i = 0; i < ARRAY_SIZE(gone); i++) {
        g_assert_null(prop_type(props, gone[i]));
    }
    qobject_unref(rsp);

    rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                    "{'path': '/machine/peripheral/gpu0', "
                    "'property': 'mem-mode'}}");
    g_assert_cmpstr(qdict_get_str(rsp, "return"), ==, "coherent");
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments': "
                    "{'path': '/machine/peripheral/gpu0', "
                    "'property': 'mem-mode', 'value': 'private'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"), "realized"));
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                    "{'path': '/machine/peripheral/gpu0', "
                    "'property': 'num-contexts'}}");
    g_assert_cmpuint(qdict_get_uint(rsp, "return"), ==, 3);
    qobject_unref(rsp);
    qtest_quit(qts);
}

static void test_migration_refused(void)
{
    QDict *rsp, *err;
    Gpu g;

    gpu_start(&g, "private");
    rsp = qtest_qmp(g.qts, "{'execute': 'migrate', 'arguments': "
                    "{'uri': 'exec:cat > /dev/null'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    err = qdict_get_qdict(rsp, "error");
    g_test_message("migrate: %s", qdict_get_str(err, "desc"));
    g_assert_nonnull(strstr(qdict_get_str(err, "desc"), "svmgpu"));
    qobject_unref(rsp);
    gpu_stop(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/svmgpu/pci-identity", test_pci_identity);
    qtest_add_func("/svmgpu/private-mode", test_private_mode);
    qtest_add_func("/svmgpu/coherent-mode", test_coherent_mode);
    qtest_add_func("/svmgpu/register-rules", test_register_rules);
    qtest_add_func("/svmgpu/system-reset", test_system_reset);
    qtest_add_func("/svmgpu/flr", test_flr);
    qtest_add_func("/svmgpu/migration-refused", test_migration_refused);
    qtest_add_func("/svmgpu/properties", test_properties);
    return g_test_run();
}
