/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the svmgpu guest tests: device commands on user memory,
 * the file's counters, anonymous mappings, sysfs writes.
 */
#ifndef SVMGPU_TEST_H
#define SVMGPU_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "svmgpu.h"

#define PAGE 4096UL

/* Run @n commands; -errno if the ioctl failed, else 0 (see each status). */
static inline int submit(int fd, struct svmgpu_user_cmd *cmds, unsigned int n)
{
	struct svmgpu_submit sub = {
		.cmds = (uintptr_t)cmds,
		.count = n,
	};

	return ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub) ? -errno : 0;
}

/* One device command: -errno of the ioctl, or the command's status. */
static inline int submit_one(int fd, struct svmgpu_user_cmd *c)
{
	int ret = submit(fd, c, 1);

	return ret ? ret : (int)c->status;
}

static inline int dev_copy(int fd, void *dst, const void *src, size_t len)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_COPY,
		.dst = (uintptr_t)dst,
		.src = (uintptr_t)src,
		.len = len,
	};

	return submit_one(fd, &c);
}

static inline int dev_fill(int fd, void *dst, __u64 pattern, size_t len)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_FILL,
		.dst = (uintptr_t)dst,
		.operand = pattern,
		.len = len,
	};

	return submit_one(fd, &c);
}

static inline void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline struct svmgpu_stats stats(int fd)
{
	struct svmgpu_stats st = { 0 };

	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &st);
	return st;
}

static inline int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* "key value" from /sys/kernel/debug/svmgpu0/@file; -1 if absent. */
static inline long debugfs_value(const char *file, const char *key)
{
	char path[128], line[128], k[64];
	long v, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/svmgpu0/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", k, &v) == 2 && !strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

#endif /* SVMGPU_TEST_H */
