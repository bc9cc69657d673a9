// SPDX-License-Identifier: GPL-2.0
/*
 * PCIe AER errors, injected from the host while the device works: the
 * guest asks the runner for a QMP step ("# SVMGPU-QMP-STEP NAME" on the
 * results channel; the runner sends QEMU's pcie_aer_inject_error) and waits
 * for the driver to see it.
 *
 * - a correctable error is counted, and nothing else happens: no reset,
 *   VRAM stays where it is;
 * - an uncorrectable one, non-fatal or fatal, takes the engine offline,
 *   the AER core resets the link, the driver programs the device again and
 *   evicts VRAM: while a thread keeps copying through the mirror, every
 *   copy either verifies or fails with an errno and leaves each byte old or
 *   new, the data that was in VRAM comes home intact, and the device works
 *   afterwards.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"

#define COPY_LEN	(64 * 1024)

/* Ask the runner for a QMP step. */
static int qmp_step(const char *name)
{
	const char *out = getenv("SVMGPU_OUT");
	char line[128];
	int fd, n;

	if (!out)
		return -1;
	fflush(stdout);
	fd = open(out, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(line, sizeof(line), "# SVMGPU-QMP-STEP %s\n", name);
	n = write(fd, line, n) == n ? 0 : -1;
	close(fd);
	return n;
}

/* Wait up to 30 s for debugfs stats @key to exceed @was. */
static long wait_stat_above(const char *key, long was)
{
	long v = was;

	for (int i = 0; i < 300 && v <= was; i++) {
		usleep(100 * 1000);
		v = debugfs_value("stats", key);
	}
	return v;
}

struct copier {
	int fd;
	int stop;
	int bad;		/* a byte neither old nor new, or a stray errno */
	int ok, failed;
	pthread_t thread;
};

/* Copies until told to stop; a failed copy must leave each byte old or new. */
static void *copier_main(void *arg)
{
	struct copier *c = arg;
	__u8 *src = map_anon(COPY_LEN, PROT_READ | PROT_WRITE);
	__u8 *dst = map_anon(COPY_LEN, PROT_READ | PROT_WRITE);

	if (!src || !dst) {
		c->bad++;
		return NULL;
	}
	pattern_fill(src, COPY_LEN, 31);
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		struct svmgpu_user_cmd cmd = {
			.op = SVMGPU_CMD_COPY, .dst = (uintptr_t)dst,
			.src = (uintptr_t)src, .len = COPY_LEN,
		};
		struct svmgpu_submit sub = {
			.cmds = (uintptr_t)&cmd, .count = 1, .timeout_ms = 5000,
		};
		int ret;

		memset(dst, 0x6b, COPY_LEN);
		ret = ioctl(c->fd, SVMGPU_IOCTL_SUBMIT, &sub) ? -errno :
		      -(int)cmd.status;
		if (!ret) {
			c->ok++;
			c->bad += first_difference(dst, src, COPY_LEN) != -1;
			continue;
		}
		c->failed++;
		if (ret != -EIO && ret != -ETIMEDOUT)
			c->bad++;
		for (size_t i = 0; i < COPY_LEN; i++)
			if (dst[i] != 0x6b && dst[i] != src[i]) {
				c->bad++;
				break;
			}
	}
	munmap(src, COPY_LEN);
	munmap(dst, COPY_LEN);
	return NULL;
}

FIXTURE(aer) {
	int fd;
	__u8 *buf;
	size_t len;
};

FIXTURE_SETUP(aer)
{
	self->len = 32 * PAGE;
	self->fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
	if (!getenv("SVMGPU_QMP_STEPS"))
		SKIP(return, "the runner defines no QMP steps (--qmp-step)");
	self->buf = map_anon(self->len, PROT_READ | PROT_WRITE);
	ASSERT_NE(self->buf, NULL);
	ASSERT_EQ(pattern_in_vram(self->fd, self->buf, self->len, 33), 0);
}

FIXTURE_TEARDOWN(aer)
{
	close(self->fd);
}

/* Residency of the fixture's buffer: how many pages are in VRAM. */
static int in_vram(struct _test_data_aer *self)
{
	__u8 res[32];
	int n = 0;

	if (dev_residency(self->fd, self->buf, 32, res))
		return -1;
	for (int i = 0; i < 32; i++)
		n += (res[i] & SVMGPU_RES_WHERE_MASK) == SVMGPU_RES_VRAM;
	return n;
}

/* The device works: a copy through the mirror verifies. */
static bool device_works(int fd)
{
	__u8 *a = map_anon(COPY_LEN, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(COPY_LEN, PROT_READ | PROT_WRITE);
	bool ok = a && b;

	if (ok) {
		pattern_fill(a, COPY_LEN, 34);
		ok = !dev_copy(fd, b, a, COPY_LEN) &&
		     !pattern_errors(b, COPY_LEN, 34);
	}
	if (a)
		munmap(a, COPY_LEN);
	if (b)
		munmap(b, COPY_LEN);
	return ok;
}

TEST_F(aer, correctable_error_is_counted)
{
	long cor = debugfs_value("stats", "aer_correctable");
	long resets = debugfs_value("stats", "resets");

	ASSERT_EQ(qmp_step("aer-correctable"), 0);
	EXPECT_GT(wait_stat_above("aer_correctable", cor), cor);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets);
	EXPECT_EQ(in_vram(self), 32);
	EXPECT_TRUE(device_works(self->fd));
	EXPECT_EQ(pattern_errors(self->buf, self->len, 33), 0);
}

/* An uncorrectable error of @step's kind, a copier running throughout. */
static void uncorrectable(struct __test_metadata *_metadata,
			  struct _test_data_aer *self, const char *step)
{
	long rec = debugfs_value("stats", "aer_recovered");
	long resets = debugfs_value("stats", "resets");
	struct copier c = { .fd = self->fd };

	ASSERT_EQ(pthread_create(&c.thread, NULL, copier_main, &c), 0);
	usleep(200 * 1000);
	ASSERT_EQ(qmp_step(step), 0);
	EXPECT_GT(wait_stat_above("aer_recovered", rec), rec);
	usleep(200 * 1000);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(c.thread, NULL);
	ksft_print_msg("%s: %d copies verified, %d failed and said so\n", step,
		       c.ok, c.failed);
	EXPECT_EQ(c.bad, 0);
	EXPECT_GT(c.ok, 0);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets + 1);
	/* the recovery evicts VRAM, as after a hang: the pages come home */
	for (int i = 0; i < 100 && in_vram(self) > 0; i++)
		usleep(100 * 1000);
	EXPECT_EQ(in_vram(self), 0);
	EXPECT_EQ(pattern_errors(self->buf, self->len, 33), 0);
	EXPECT_TRUE(device_works(self->fd));
}

TEST_F(aer, nonfatal_error_recovers)
{
	uncorrectable(_metadata, self, "aer-nonfatal");
}

TEST_F(aer, fatal_error_recovers)
{
	uncorrectable(_metadata, self, "aer-fatal");
}

TEST_HARNESS_MAIN
