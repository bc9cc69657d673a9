/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the svmgpu guest tests: device commands on user memory,
 * the file's counters, anonymous mappings, sysfs writes.
 */
#ifndef SVMGPU_TEST_H
#define SVMGPU_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
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

#define THP_SIZE (2UL << 20)

/*
 * @len bytes of anonymous memory, 2 MiB aligned, that the kernel backs
 * with transparent huge pages where it can.
 */
static inline __u8 *map_thp(size_t len)
{
	__u8 *raw = map_anon(len + THP_SIZE, PROT_READ | PROT_WRITE), *p;

	if (!raw)
		return NULL;
	p = (__u8 *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	if (madvise(p, len, MADV_HUGEPAGE))
		return NULL;
	return p;
}

/* Move [addr, addr + len) to VRAM or back; -errno, or 0 and *moved. */
static inline int dev_migrate(int fd, void *addr, size_t len, __u32 flags,
			      __u64 *moved)
{
	struct svmgpu_migrate m = {
		.addr = (uintptr_t)addr,
		.len = len,
		.flags = flags,
	};

	if (ioctl(fd, SVMGPU_IOCTL_MIGRATE, &m))
		return -errno;
	if (moved)
		*moved = m.migrated;
	return 0;
}

static inline int dev_residency(int fd, void *addr, unsigned long npages,
				__u8 *bytes)
{
	struct svmgpu_residency r = {
		.addr = (uintptr_t)addr,
		.npages = npages,
		.bytes = (uintptr_t)bytes,
	};

	return ioctl(fd, SVMGPU_IOCTL_RESIDENCY, &r) ? -errno : 0;
}

static inline int set_policy(int fd, void *addr, size_t len, __u32 policy,
			     __u32 atomic)
{
	struct svmgpu_policy p = {
		.addr = (uintptr_t)addr,
		.len = len,
		.policy = policy,
		.atomic = atomic,
	};

	return ioctl(fd, SVMGPU_IOCTL_SET_POLICY, &p) ? -errno : 0;
}

/* Evict the whole device; -errno, or 0 and *evicted. */
static inline int dev_evict(int fd, __u64 *evicted)
{
	struct svmgpu_evict e = { 0 };

	if (ioctl(fd, SVMGPU_IOCTL_EVICT, &e))
		return -errno;
	if (evicted)
		*evicted = e.evicted;
	return 0;
}

/* One device atomic at @addr: -errno of the ioctl, or its status. */
static inline int dev_atomic(int fd, void *addr, __u32 op, __u32 width,
			     __u64 operand, __u64 *old)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_ATOMIC,
		.atomic_op = op,
		.width = width,
		.dst = (uintptr_t)addr,
		.operand = operand,
	};
	int ret = submit_one(fd, &c);

	if (old)
		*old = c.result;
	return ret;
}

static inline int is_coherent(int fd)
{
	struct svmgpu_info info = { 0 };

	ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info);
	return info.mem_mode == SVMGPU_INFO_MEM_COHERENT;
}

/* A byte pattern that differs per offset and per @seed. */
static inline __u8 pattern_byte(size_t i, unsigned int seed)
{
	return (i * 131 + seed) ^ (i >> 12);
}

static inline void pattern_fill(__u8 *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

/*
 * @len bytes at @buf in 4 KiB pages, filled with pattern @seed and moved
 * to VRAM: 0 when every page moved, else -1.
 */
static inline int pattern_in_vram(int fd, __u8 *buf, size_t len,
				  unsigned int seed)
{
	__u64 moved = 0;

	if (madvise(buf, len, MADV_NOHUGEPAGE))
		return -1;
	pattern_fill(buf, len, seed);
	if (dev_migrate(fd, buf, len, SVMGPU_MIGRATE_TO_VRAM, &moved))
		return -1;
	return moved == len / PAGE ? 0 : -1;
}

/* How many bytes of @p differ from pattern_fill(@seed). */
static inline size_t pattern_errors(const __u8 *p, size_t len,
				    unsigned int seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < len; i++)
		bad += p[i] != pattern_byte(i, seed);
	return bad;
}

/* The offset of the first byte where @a and @b differ, or -1. */
static inline long first_difference(const __u8 *a, const __u8 *b, size_t len)
{
	for (size_t i = 0; i < len; i += PAGE) {
		size_t n = len - i < PAGE ? len - i : PAGE;

		if (memcmp(a + i, b + i, n))
			for (size_t j = i; j < i + n; j++)
				if (a[j] != b[j])
					return j;
	}
	return -1;
}

/* A CPU thread adding 1 to *counter until *stop is set (at least once). */
struct cpu_adder {
	__u64 *counter;
	int *stop;
	__u64 adds;		/* out */
	pthread_t thread;
};

static inline void *cpu_adder_main(void *arg)
{
	struct cpu_adder *a = arg;

	do {
		__atomic_fetch_add(a->counter, 1, __ATOMIC_RELAXED);
		a->adds++;
	} while (!__atomic_load_n(a->stop, __ATOMIC_RELAXED));
	return NULL;
}

static inline struct svmgpu_stats stats(int fd)
{
	struct svmgpu_stats st = { 0 };

	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &st);
	return st;
}

/*
 * The faults this file's workload caused: all of them but those the device
 * injected (x-inject-spurious-ppm), which cost a replay and nothing else.
 */
static inline __u64 own_faults(int fd)
{
	struct svmgpu_stats st = stats(fd);

	return st.faults - st.spurious;
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

/* "key value" (any C base) from /sys/kernel/debug/svmgpu0/@file; -1 if absent. */
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
		if (sscanf(line, "%63s %li", k, &v) == 2 && !strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

/* Poison all of svmgpu0's VRAM (debugfs inject, the debug window). */
static inline int poison_all_vram(void)
{
	char poison[64];

	snprintf(poison, sizeof(poison), "poison 0 %ld",
		 debugfs_value("vram", "size"));
	return write_sysfs("/sys/kernel/debug/svmgpu0/inject", poison);
}

#endif /* SVMGPU_TEST_H */
