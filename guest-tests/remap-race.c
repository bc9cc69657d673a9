// SPDX-License-Identifier: GPL-2.0
/*
 * A stress of QEMU's TCG, not of the driver: one vCPU reads a register of
 * svmgpu's BAR 0 in a loop through a user mapping of the BAR, while the
 * other toggles the device's memory decoding in its PCI command register,
 * each toggle a change of the guest's memory map. A vCPU whose TLB still
 * holds the BAR from before a change must not look its entry up in the map
 * after it: QEMU 10.2 did, and aborted ("iotlb_to_section: Assertion
 * `section_index < d->map.sections_nb' failed"), which a device reset in
 * one vCPU during MMIO in another hits too (patches/qemu/0001). Run with
 * the driver not bound and two vCPUs; the runner fails the run if QEMU
 * dies.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"
#include "svmgpu/svmgpu_hw.h"

#define SECONDS		10

static char dev_path[300];

/* The hex number in sysfs file @name of PCI device @dev; 0 if none. */
static unsigned int pci_attr(const char *dev, const char *name)
{
	char path[300];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* The sysfs directory of the first svmgpu function; false if none. */
static bool find_svmgpu(void)
{
	struct dirent *e;
	DIR *d = opendir("/sys/bus/pci/devices");
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		if (pci_attr(e->d_name, "vendor") == SVMGPU_PCI_VENDOR_ID &&
		    pci_attr(e->d_name, "device") == SVMGPU_PCI_DEVICE_ID) {
			snprintf(dev_path, sizeof(dev_path),
				 "/sys/bus/pci/devices/%s", e->d_name);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

struct reader {
	__u32 *regs;
	int *stop;
	unsigned long reads, ids;
};

/* A register of the BAR, read as an uncached load the compiler keeps. */
static __u32 bar_read(__u32 *regs, unsigned int reg)
{
	return __atomic_load_n(&regs[reg / 4], __ATOMIC_RELAXED);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	pin(0);
	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		r->ids += bar_read(r->regs, SVMGPU_REG_ID) == SVMGPU_ID_MAGIC;
		r->reads++;
	}
	return NULL;
}

TEST(bar_reads_while_decoding_toggles)
{
	char path[400];
	int stop = 0;
	struct reader r = { .stop = &stop };
	unsigned long toggles = 0;
	pthread_t thread;
	__u16 cmd;
	time_t end;
	void *map;
	int cfg, res;

	if (!find_svmgpu())
		SKIP(return, "no svmgpu device");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	snprintf(path, sizeof(path), "%s/config", dev_path);
	cfg = open(path, O_RDWR);
	ASSERT_GE(cfg, 0);
	snprintf(path, sizeof(path), "%s/resource0", dev_path);
	res = open(path, O_RDWR | O_SYNC);
	ASSERT_GE(res, 0);
	ASSERT_EQ(pread(cfg, &cmd, 2, 4), 2);
	cmd |= 0x2;	/* memory space */
	ASSERT_EQ(pwrite(cfg, &cmd, 2, 4), 2);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, res, 0);
	ASSERT_NE(map, MAP_FAILED);
	r.regs = map;
	ASSERT_EQ(bar_read(r.regs, SVMGPU_REG_ID), SVMGPU_ID_MAGIC);

	ASSERT_EQ(pthread_create(&thread, NULL, reader_main, &r), 0);
	pin(1);
	end = time(NULL) + SECONDS;
	while (time(NULL) < end) {
		__u16 off = cmd & ~0x2;

		ASSERT_EQ(pwrite(cfg, &off, 2, 4), 2);
		ASSERT_EQ(pwrite(cfg, &cmd, 2, 4), 2);
		toggles++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	ksft_print_msg("%lu decode toggles, %lu BAR reads (%lu saw the device)\n",
		       toggles, r.reads, r.ids);
	EXPECT_GT(toggles, 100);
	EXPECT_GT(r.ids, 0);
	EXPECT_EQ(bar_read(r.regs, SVMGPU_REG_ID), SVMGPU_ID_MAGIC);
	munmap(map, 4096);
	close(res);
	close(cfg);
}

TEST_HARNESS_MAIN
