// SPDX-License-Identifier: GPL-2.0
/*
 * Hang recovery: with the device's debug window on, the driver's debugfs
 * "inject" file hangs the engine. The next submission times out, the driver
 * resets the device by FLR and programs it again; afterwards the device
 * works, the mirror works (new faults included), and the pages that were in
 * VRAM are evicted to system memory, intact.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"

TEST(hang_is_recovered_by_reset)
{
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	__u8 *a = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *c = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_migrate m = { .len = 8 * PAGE,
				    .flags = SVMGPU_MIGRATE_TO_VRAM };
	struct svmgpu_user_cmd cmd = { .op = SVMGPU_CMD_COPY, .len = 4 * PAGE };
	struct svmgpu_submit sub = { .cmds = (uintptr_t)&cmd, .count = 1,
				     .timeout_ms = 1000 };
	__u8 res[8];
	long resets;

	if (getenv("SVMGPU_NO_DEBUG_WINDOW"))
		SKIP(return, "needs the device's debug window");
	ASSERT_GE(fd, 0);
	ASSERT_NE(a, NULL);
	for (size_t i = 0; i < 16 * PAGE; i++)
		a[i] = i * 7;
	/* half of a in VRAM (private mode), to check it survives */
	m.addr = (uintptr_t)(a + 8 * PAGE);
	ASSERT_EQ(ioctl(fd, SVMGPU_IOCTL_MIGRATE, &m), 0);
	ASSERT_EQ(m.migrated, 8);
	ASSERT_EQ(dev_copy(fd, b, a, 4 * PAGE), 0);	/* mirrored */
	resets = debugfs_value("stats", "resets");
	ASSERT_GE(resets, 0);

	ASSERT_EQ(write_sysfs("/sys/kernel/debug/svmgpu0/inject", "hang"), 0);
	cmd.dst = (uintptr_t)b;
	cmd.src = (uintptr_t)a;
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub), -1);
	EXPECT_EQ(errno, ETIMEDOUT);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets + 1);

	/* the reset evicts VRAM: a's second half comes home by itself */
	for (int i = 0; i < 500 && debugfs_value("vram", "used") != 0; i++)
		usleep(10000);
	EXPECT_EQ(debugfs_value("vram", "used"), 0);
	ASSERT_EQ(dev_residency(fd, a + 8 * PAGE, 8, res), 0);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(res[i] & SVMGPU_RES_WHERE_MASK, SVMGPU_RES_SYSTEM);

	/* after the reset: known mappings, new faults, VRAM pages */
	memset(b, 0, 16 * PAGE);
	EXPECT_EQ(dev_copy(fd, b, a, 4 * PAGE), 0);
	EXPECT_EQ(dev_copy(fd, c, a + 4 * PAGE, 12 * PAGE), 0);
	for (size_t i = 0; i < 4 * PAGE; i++)
		ASSERT_EQ(b[i], (__u8)(i * 7));
	for (size_t i = 0; i < 12 * PAGE; i++)
		ASSERT_EQ(c[i], (__u8)((i + 4 * PAGE) * 7));
	for (size_t i = 8 * PAGE; i < 16 * PAGE; i++)
		ASSERT_EQ(a[i], (__u8)(i * 7));	/* evicted from VRAM */
	close(fd);
}

/* Without the debug window the inject file refuses, and nothing changes. */
TEST(inject_needs_the_debug_window)
{
	if (!getenv("SVMGPU_NO_DEBUG_WINDOW"))
		SKIP(return, "this run has the debug window on");
	EXPECT_EQ(write_sysfs("/sys/kernel/debug/svmgpu0/inject", "hang"), -1);
}

TEST_HARNESS_MAIN
