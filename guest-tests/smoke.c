// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke tests of the svmgpu pipeline, run inside the guest: the device
 * enumerates with its IDs, the driver binds and agrees with the device, the
 * VRAM BAR exists exactly in coherent mode and is real memory, the module
 * unloads and reloads, and the char device refuses bad input.
 *
 * The runner tells the test what QEMU was asked for:
 *   SVMGPU_EXPECT_DEVICES  number of svmgpu devices
 *   SVMGPU_EXPECT_MODE     private | coherent
 *   SVMGPU_EXPECT_VRAM     VRAM bytes per device
 *   SVMGPU_MODULE          path of svmgpu.ko (for the reload test)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "svmgpu/svmgpu_hw.h"
#include "svmgpu_test.h"

#define MAX_GPUS 16

struct gpu {
	char sysfs[128];	/* /sys/bus/pci/devices/DDDD:BB:DD.F */
	char bdf[32];		/* DDDD:BB:DD.F */
};

static unsigned long read_sysfs_ulong(const char *dir, const char *file)
{
	char path[PATH_MAX + 64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return ULONG_MAX;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoul(buf, NULL, 0);
}

/* Every PCI function with the svmgpu vendor and device ID. */
static int find_gpus(struct gpu *gpus)
{
	const char *base = "/sys/bus/pci/devices";
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(base);

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < MAX_GPUS) {
		char dir[sizeof(gpus[n].sysfs)];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(gpus[n].bdf))
			continue;
		snprintf(dir, sizeof(dir), "%s/%.*s", base,
			 (int)sizeof(gpus[n].bdf) - 1, de->d_name);
		if (read_sysfs_ulong(dir, "vendor") != SVMGPU_PCI_VENDOR_ID ||
		    read_sysfs_ulong(dir, "device") != SVMGPU_PCI_DEVICE_ID)
			continue;
		memcpy(gpus[n].sysfs, dir, sizeof(dir));
		snprintf(gpus[n].bdf, sizeof(gpus[n].bdf), "%.*s",
			 (int)sizeof(gpus[n].bdf) - 1, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* The last component of what the symbolic link @link points to, or NULL. */
static const char *link_target(const char *link, char *buf, size_t len)
{
	ssize_t n = readlink(link, buf, len - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
}

static const char *bound_driver(const struct gpu *g, char *buf, size_t len)
{
	char link[PATH_MAX + 16];

	snprintf(link, sizeof(link), "%s/driver", g->sysfs);
	return link_target(link, buf, len);
}

static unsigned long long expect_ull(const char *name)
{
	const char *v = getenv(name);

	return v ? strtoull(v, NULL, 0) : 0;
}

static int expect_mode(void)
{
	const char *v = getenv("SVMGPU_EXPECT_MODE");

	if (v && !strcmp(v, "coherent"))
		return SVMGPU_INFO_MEM_COHERENT;
	return SVMGPU_INFO_MEM_PRIVATE;
}

/* Open /dev/svmgpuN of the GPU at @g, found through its misc class link. */
static int open_gpu(const struct gpu *g, char *name, size_t len)
{
	char dir[sizeof(g->sysfs) + 8], dev[64];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/misc", g->sysfs);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "svmgpu", 6) || strlen(de->d_name) >= 32)
			continue;
		snprintf(name, len, "%.31s", de->d_name);
		closedir(d);
		snprintf(dev, sizeof(dev), "/dev/%.31s", de->d_name);
		return open(dev, O_RDWR | O_CLOEXEC);
	}
	closedir(d);
	return -1;
}

TEST(device_enumerates)
{
	unsigned long long want = expect_ull("SVMGPU_EXPECT_DEVICES");
	struct gpu gpus[MAX_GPUS];
	int n = find_gpus(gpus);

	ASSERT_GT(want, 0) TH_LOG("SVMGPU_EXPECT_DEVICES not set by the runner");
	ASSERT_EQ(n, (int)want);
	for (int i = 0; i < n; i++) {
		/* class is "0xCCSSPP": display controller, 3D, no prog-if */
		EXPECT_EQ(read_sysfs_ulong(gpus[i].sysfs, "class"),
			  SVMGPU_PCI_CLASS_DISPLAY_3D << 8);
		EXPECT_EQ(read_sysfs_ulong(gpus[i].sysfs, "revision"),
			  SVMGPU_PCI_REVISION);
	}
}

/* A decimal attribute of the device's sysfs directory; -1 if unreadable. */
static unsigned long long sysfs_ull(const struct gpu *gpu, const char *attr)
{
	char path[PATH_MAX], line[64];
	FILE *f;

	snprintf(path, sizeof(path), "%.*s/%s", (int)sizeof(gpu->sysfs) - 1,
		 gpu->sysfs, attr);
	f = fopen(path, "r");
	if (!f)
		return -1ull;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return line[0] ? strtoull(line, NULL, 10) : -1ull;
}

TEST(driver_binds_and_agrees)
{
	struct gpu gpus[MAX_GPUS];
	int n = find_gpus(gpus);

	ASSERT_GT(n, 0);
	for (int i = 0; i < n; i++) {
		struct svmgpu_info info;
		char buf[PATH_MAX], name[64], bdf[32];
		const char *drv = bound_driver(&gpus[i], buf, sizeof(buf));
		int fd;

		ASSERT_NE(drv, NULL) TH_LOG("%s has no driver", gpus[i].bdf);
		ASSERT_STREQ(drv, "svmgpu");
		fd = open_gpu(&gpus[i], name, sizeof(name));
		ASSERT_GE(fd, 0) TH_LOG("no /dev node for %s", gpus[i].bdf);

		memset(&info, 0xa5, sizeof(info));
		ASSERT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
		EXPECT_EQ(info.uapi_major, SVMGPU_UAPI_VERSION_MAJOR);
		EXPECT_EQ(info.hw_version >> SVMGPU_VERSION_MAJOR_SHIFT,
			  SVMGPU_HW_MAJOR);
		EXPECT_EQ(info.mem_mode, expect_mode());
		EXPECT_EQ(info.vram_size, expect_ull("SVMGPU_EXPECT_VRAM"));
		EXPECT_EQ(info.pad, 0);
		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", info.pci_segment,
			 info.pci_bus, info.pci_devfn >> 3, info.pci_devfn & 7);
		EXPECT_STREQ(bdf, gpus[i].bdf);
		snprintf(buf, sizeof(buf), "svmgpu%u", info.minor);
		EXPECT_STREQ(buf, name);
		close(fd);
		/* the DMA mask is what a PTE can hold, not 64 bits */
		EXPECT_EQ(sysfs_ull(&gpus[i], "dma_mask_bits"),
			  SVMGPU_DMA_ADDR_BITS);
	}
}

/*
 * Coherent mode: BAR 2 is VRAM, as large as VRAM, and real memory (a
 * pattern written through a user mapping reads back). Private mode: no BAR 2
 * at all, and the driver maps nothing.
 */
/*
 * The device's DMA is translated as the runner set up the machine: behind
 * QEMU's intel-iommu (SVMGPU_EXPECT_IOMMU=1, suite debug) each device is
 * in an IOMMU group with a strict DMA domain (iommu.strict=1: every unmap
 * is invalidated at once); without it, no device has a group.
 */
TEST(dma_translation_matches_machine)
{
	bool want = expect_ull("SVMGPU_EXPECT_IOMMU") == 1;
	struct gpu gpus[MAX_GPUS];
	int n = find_gpus(gpus);

	ASSERT_GT(n, 0);
	for (int i = 0; i < n; i++) {
		char link[PATH_MAX], type[PATH_MAX], line[32] = "";
		const char *group;
		FILE *f;

		snprintf(link, sizeof(link), "%.127s/iommu_group",
			 gpus[i].sysfs);
		group = link_target(link, type, sizeof(type));
		if (!want) {
			EXPECT_EQ(group, NULL)
				TH_LOG("%s is in IOMMU group %s on a machine without one",
				       gpus[i].bdf, group);
			continue;
		}
		ASSERT_NE(group, NULL)
			TH_LOG("%s is in no IOMMU group", gpus[i].bdf);
		snprintf(link, sizeof(link), "/sys/kernel/iommu_groups/%.32s/type",
			 group);
		f = fopen(link, "r");
		ASSERT_NE(f, NULL) TH_LOG("%s: %s", link, strerror(errno));
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		line[strcspn(line, "\n")] = 0;
		EXPECT_STREQ(line, "DMA")
			TH_LOG("%s: IOMMU group %s has a '%s' domain, not a strict DMA one",
			       gpus[i].bdf, group, line);
	}
}

TEST(vram_bar_matches_mode)
{
	unsigned long long vram = expect_ull("SVMGPU_EXPECT_VRAM");
	struct gpu gpus[MAX_GPUS];
	int n = find_gpus(gpus);

	ASSERT_GT(n, 0);
	for (int i = 0; i < n; i++) {
		char path[sizeof(gpus[i].sysfs) + 16], name[64];
		struct svmgpu_info info;
		struct stat st;
		int fd, have_bar;

		snprintf(path, sizeof(path), "%.*s/resource2",
			 (int)sizeof(gpus[i].sysfs) - 1, gpus[i].sysfs);
		have_bar = stat(path, &st) == 0;
		fd = open_gpu(&gpus[i], name, sizeof(name));
		ASSERT_GE(fd, 0);
		ASSERT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
		close(fd);

		if (expect_mode() == SVMGPU_INFO_MEM_PRIVATE) {
			EXPECT_FALSE(have_bar) TH_LOG("private device has BAR 2");
			EXPECT_EQ(info.flags & SVMGPU_INFO_VRAM_CPU_MAPPED, 0);
			continue;
		}

		ASSERT_TRUE(have_bar) TH_LOG("coherent device has no BAR 2");
		EXPECT_EQ((unsigned long long)st.st_size, vram);
		EXPECT_NE(info.flags & SVMGPU_INFO_VRAM_CPU_MAPPED, 0);

		fd = open(path, O_RDWR | O_SYNC);
		ASSERT_GE(fd, 0);
		size_t len = 2 << 20;
		__u64 *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				fd, 0);
		ASSERT_NE(p, MAP_FAILED);
		for (size_t w = 0; w < len / 8; w += 509)
			p[w] = 0x5356474d00000000ull ^ w;
		/* compiler barrier: read the BAR again, not the stored values */
		asm volatile("" : : : "memory");
		for (size_t w = 0; w < len / 8; w += 509)
			ASSERT_EQ(p[w], 0x5356474d00000000ull ^ w);
		munmap(p, len);
		close(fd);
	}
}

TEST(bad_ioctls_are_refused)
{
	struct gpu gpus[MAX_GPUS];
	char name[64];
	int fd;

	ASSERT_GT(find_gpus(gpus), 0);
	fd = open_gpu(&gpus[0], name, sizeof(name));
	ASSERT_GE(fd, 0);
	errno = 0;
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, (void *)16), -1);
	EXPECT_EQ(errno, EFAULT);
	errno = 0;
	EXPECT_EQ(ioctl(fd, _IOR('S', 0x7f, struct svmgpu_info), NULL), -1);
	EXPECT_EQ(errno, ENOTTY);
	close(fd);
}

/* Unload: nodes and bindings go. Reload: they come back and work. */
TEST(module_unload_and_reload)
{
	const char *ko = getenv("SVMGPU_MODULE");
	struct gpu gpus[MAX_GPUS];
	char buf[PATH_MAX], name[64];
	int n = find_gpus(gpus), fd;

	ASSERT_GT(n, 0);
	ASSERT_NE(ko, NULL) TH_LOG("SVMGPU_MODULE not set by the runner");

	ASSERT_EQ(syscall(SYS_delete_module, "svmgpu", O_NONBLOCK), 0)
		TH_LOG("rmmod svmgpu: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(bound_driver(&gpus[i], buf, sizeof(buf)), NULL);
		EXPECT_LT(open_gpu(&gpus[i], name, sizeof(name)), 0);
	}

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(syscall(SYS_finit_module, fd, "", 0), 0)
		TH_LOG("insmod %s: %s", ko, strerror(errno));
	close(fd);
	for (int i = 0; i < n; i++) {
		struct svmgpu_info info;

		ASSERT_NE(bound_driver(&gpus[i], buf, sizeof(buf)), NULL);
		fd = open_gpu(&gpus[i], name, sizeof(name));
		ASSERT_GE(fd, 0);
		EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
		EXPECT_EQ(info.vram_size, expect_ull("SVMGPU_EXPECT_VRAM"));
		close(fd);
	}
}

/* A file held open across unbind must not see freed memory. */
/*
 * Probe fails at each stage in turn (module parameter
 * inject_probe_failure): no device node, no binding, no leftover that a
 * later load trips over (a second registration of a name, an interrupt
 * handler of a freed device: the splat scanner and, on the debug kernel,
 * KASAN watch); then a load without the hook binds every device again.
 */
TEST(probe_failure_at_each_stage)
{
	const char *ko = getenv("SVMGPU_MODULE");
	struct gpu gpus[MAX_GPUS];
	char buf[PATH_MAX], name[64], param[64];
	int n = find_gpus(gpus), fd;

	ASSERT_GT(n, 0);
	ASSERT_NE(ko, NULL) TH_LOG("SVMGPU_MODULE not set by the runner");
	for (int stage = 1; stage <= 3; stage++) {
		ASSERT_EQ(syscall(SYS_delete_module, "svmgpu", O_NONBLOCK), 0)
			TH_LOG("rmmod svmgpu: %s", strerror(errno));
		/* stage 3: the hook off again */
		snprintf(param, sizeof(param), "inject_probe_failure=%d",
			 stage < 3 ? stage : 0);
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		ASSERT_GE(fd, 0);
		/* a failed probe fails no module load */
		ASSERT_EQ(syscall(SYS_finit_module, fd, param, 0), 0)
			TH_LOG("insmod %s %s: %s", ko, param, strerror(errno));
		close(fd);
		for (int i = 0; i < n; i++) {
			bool bound = bound_driver(&gpus[i], buf, sizeof(buf));

			EXPECT_EQ(bound, stage == 3) TH_LOG("stage %d", stage);
			fd = open_gpu(&gpus[i], name, sizeof(name));
			EXPECT_EQ(fd >= 0, stage == 3) TH_LOG("stage %d", stage);
			if (fd >= 0)
				close(fd);
		}
	}
}

TEST(open_file_survives_unload_attempt)
{
	struct gpu gpus[MAX_GPUS];
	struct svmgpu_info info;
	char name[64];
	int fd;

	ASSERT_GT(find_gpus(gpus), 0);
	fd = open_gpu(&gpus[0], name, sizeof(name));
	ASSERT_GE(fd, 0);
	/* The open file pins the module: rmmod must refuse, not break it. */
	errno = 0;
	EXPECT_EQ(syscall(SYS_delete_module, "svmgpu", O_NONBLOCK), -1);
	EXPECT_EQ(errno, EWOULDBLOCK);
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
	close(fd);
}

/*
 * Unbind with a file open: the file must get ENODEV, not a use-after-free;
 * its close after the unbind must be clean; a rebind must work again.
 */
TEST(open_file_survives_unbind)
{
	struct gpu gpus[MAX_GPUS];
	struct svmgpu_info info;
	char name[64], buf[PATH_MAX];
	int fd, fd2;

	ASSERT_GT(find_gpus(gpus), 0);
	fd = open_gpu(&gpus[0], name, sizeof(name));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/unbind", gpus[0].bdf), 0);
	EXPECT_EQ(bound_driver(&gpus[0], buf, sizeof(buf)), NULL);
	errno = 0;
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), -1);
	EXPECT_EQ(errno, ENODEV);
	close(fd);

	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/bind", gpus[0].bdf), 0);
	fd2 = open_gpu(&gpus[0], name, sizeof(name));
	ASSERT_GE(fd2, 0);
	EXPECT_EQ(ioctl(fd2, SVMGPU_IOCTL_GET_INFO, &info), 0);
	EXPECT_EQ(info.vram_size, expect_ull("SVMGPU_EXPECT_VRAM"));
	close(fd2);
}

TEST_HARNESS_MAIN
