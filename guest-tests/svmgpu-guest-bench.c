// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu-guest-bench: the driver-level figures of "./svmgpu bench", run in
 * the guest. A benchmark, not a test: it prints figures and fails only if
 * the data is wrong or a call fails.
 *
 *  - migration of THP-backed anonymous memory to VRAM and back, 2 MiB to
 *    256 MiB, median of 3, in GB/s each way (the figure test_hmm's
 *    benchmark_thp_migration reports);
 *  - device fault service: the time of one 8-byte device read of a page
 *    the device has not mirrored yet, against the same read of a mirrored
 *    page, median and 99th percentile: 400 faults on 4 KiB pages (each
 *    mirrors a 64 KiB window), 200 on THPs (each maps 2 MiB);
 *  - eviction at 2x oversubscription: with VRAM full of one buffer, the
 *    migration of a second as large evicts the first, MiB/s of eviction;
 *  - device atomics per second on one counter under each atomic policy,
 *    with and without two CPU threads incrementing the same counter.
 *
 * --migration-only: the migration figures alone (for the same-guest
 * comparison with test_hmm in "./svmgpu bench").
 *
 * --render-node: the same figures through the render node, whose SVM is
 * drm_gpusvm and drm_pagemap: migration is PREFETCH to VRAM and back, the
 * fault reach is a drm_gpusvm range (64 KiB on 4 KiB pages, 2 MiB on a
 * THP), eviction comes from prefetching a second buffer, and atomics run
 * in VRAM (madvise ATOMIC DEVICE), the framework having no exclusive path.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svmgpu_backend.h"

#define RUNS		3
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define FAULT_SAMPLES	400

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double quantile(double *v, int n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)(q * (n - 1))];
}

static int bench_migration(int fd, size_t len)
{
	double to[RUNS], back[RUNS];
	size_t thp = 2UL << 20;
	__u8 *raw, *p;
	__u64 moved = 0;

	raw = map_anon(len + thp, PROT_READ | PROT_WRITE);
	if (!raw)
		return -1;
	p = (__u8 *)(((uintptr_t)raw + thp - 1) & ~(thp - 1));
	madvise(p, len, MADV_HUGEPAGE);
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = i >> 12;

	for (int r = 0; r < RUNS; r++) {
		double t = now();

		if (dev_migrate(fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved) ||
		    moved != len / PAGE) {
			fprintf(stderr, "to VRAM: %llu of %zu pages\n",
				(unsigned long long)moved, len / PAGE);
			return -1;
		}
		to[r] = now() - t;
		t = now();
		if (dev_migrate(fd, p, len, SVMGPU_MIGRATE_TO_SYSTEM, &moved) ||
		    moved != len / PAGE)
			return -1;
		back[r] = now() - t;
	}
	for (size_t i = 0; i < len; i += PAGE)
		if (p[i] != (__u8)(i >> 12)) {
			fprintf(stderr, "wrong data at %zu\n", i);
			return -1;
		}
	printf("migrate %4zu MiB: to VRAM %6.3f GB/s, back %6.3f GB/s\n",
	       len >> 20, len / quantile(to, RUNS, 0.5) / 1e9,
	       len / quantile(back, RUNS, 0.5) / 1e9);
	munmap(raw, len + thp);
	return 0;
}

/* One 8-byte device read of @src; its wall time. */
static double timed_read(int fd, void *dst, void *src)
{
	double t = now();

	if (dev_copy(fd, dst, src, 8))
		return -1;
	return now() - t;
}

static int bench_faults(int fd, bool thp)
{
	/*
	 * One page per fault's reach, so that every sample faults: a 64 KiB
	 * window on 4 KiB pages, a whole 2 MiB block on a THP.
	 */
	int samples = thp ? FAULT_SAMPLES / 2 : FAULT_SAMPLES;
	size_t stride = thp ? THP_SIZE : 64 * 1024, len = samples * stride;
	double fault[FAULT_SAMPLES], hit[FAULT_SAMPLES];
	__u8 *p = thp ? map_thp(len) : map_anon(len, PROT_READ | PROT_WRITE);
	__u64 dst, faults, huge;

	if (!p)
		return -1;
	/* else the guest's THP=always backs it with THPs: one fault per 2 MiB */
	if (!thp && madvise(p, len, MADV_NOHUGEPAGE))
		return -1;
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = 1;
	faults = stats(fd).faults;
	huge = debugfs_value("stats", "huge_mapped");
	for (int i = 0; i < samples; i++) {
		fault[i] = timed_read(fd, &dst, p + i * stride);
		hit[i] = timed_read(fd, &dst, p + i * stride);
		if (fault[i] < 0 || hit[i] < 0)
			return -1;
	}
	faults = stats(fd).faults - faults;
	huge = debugfs_value("stats", "huge_mapped") - huge;
	if (faults < (__u64)samples) {
		/* the "faulted in" figure would be mostly mirrored reads */
		fprintf(stderr, "%s pages: %llu faults for %d samples\n",
			thp ? "THP-backed" : "4 KiB",
			(unsigned long long)faults, samples);
		return -1;
	}
	printf("device 8-byte read on %s pages, median / p99 of %d samples",
	       thp ? "THP-backed" : "4 KiB", samples);
	printf(" (%llu faults, %llu mapped 2 MiB):\n",
	       (unsigned long long)faults, (unsigned long long)huge);
	printf("  page faulted in: %.0f / %.0f us; page mirrored: %.0f / %.0f us\n",
	       quantile(fault, samples, 0.5) * 1e6,
	       quantile(fault, samples, 0.99) * 1e6,
	       quantile(hit, samples, 0.5) * 1e6,
	       quantile(hit, samples, 0.99) * 1e6);
	munmap(p, len);
	return 0;
}

/*
 * VRAM full of buffer a; moving buffer b, as large, to VRAM evicts a.
 * Reports the eviction rate (the pages evicted over the time of the
 * migration that needed them, so it includes moving b in).
 */
static int bench_eviction(int fd, size_t vram)
{
	struct svmgpu_stats before, after;
	__u8 *a = map_thp(vram), *b = map_thp(vram);
	__u64 moved = 0;
	double t;

	if (!a || !b)
		return -1;
	pattern_fill(a, vram, 1);
	pattern_fill(b, vram, 2);
	if (dev_migrate(fd, a, vram, SVMGPU_MIGRATE_TO_VRAM, &moved))
		return -1;
	before = stats(fd);
	t = now();
	if (dev_migrate(fd, b, vram, SVMGPU_MIGRATE_TO_VRAM, &moved))
		return -1;
	t = now() - t;
	after = stats(fd);
	if (pattern_errors(a, vram, 1) || pattern_errors(b, vram, 2)) {
		fprintf(stderr, "eviction: wrong data\n");
		return -1;
	}
	printf("eviction at 2x VRAM: %llu MiB evicted while %llu MiB moved in, ",
	       (unsigned long long)(after.evicted - before.evicted) >> 8,
	       (unsigned long long)moved >> 8);
	printf("%.2f s: %.0f MiB/s evicted\n", t,
	       (after.evicted - before.evicted) / 256.0 / t);
	dev_evict(fd, NULL);
	return 0;
}

/* Device atomics per second on one counter; @threads CPU threads too. */
static int bench_atomics(int fd, __u32 policy, int threads)
{
	struct svmgpu_user_cmd add[64];
	struct cpu_adder adders[2];
	__u64 *c = map_anon(PAGE, PROT_READ | PROT_WRITE), want = 0;
	int stop = 0, rounds = 40;
	double t;

	if (!c || set_policy(fd, c, PAGE, SVMGPU_POLICY_MIRROR, policy))
		return -1;
	for (int t = 0; t < threads; t++) {
		adders[t] = (struct cpu_adder){ .counter = c, .stop = &stop };
		if (pthread_create(&adders[t].thread, NULL, cpu_adder_main,
				   &adders[t]))
			return -1;
	}
	t = now();
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 64; i++)
			add[i] = (struct svmgpu_user_cmd){
				.op = SVMGPU_CMD_ATOMIC,
				.atomic_op = SVMGPU_ATOM_ADD, .width = 8,
				.dst = (uintptr_t)c, .operand = 1,
			};
		if (submit(fd, add, 64))
			return -1;
	}
	t = now() - t;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < threads; i++) {
		pthread_join(adders[i].thread, NULL);
		want += adders[i].adds;
	}
	if (*c != want + rounds * 64) {
		fprintf(stderr, "atomics: counter %llu, want %llu\n",
			(unsigned long long)*c,
			(unsigned long long)(want + rounds * 64));
		return -1;
	}
	printf("device atomics, %s policy, %d CPU threads on the counter: ",
	       policy == SVMGPU_POLICY_ATOMIC_VRAM ? "VRAM" : "exclusive",
	       threads);
	printf("%.0f/s\n", rounds * 64 / t);
	munmap(c, PAGE);
	return 0;
}

/* === the same figures through the render node (drm_gpusvm) === */

static int rn_migration(struct backend *be, size_t len)
{
	double to[RUNS], back[RUNS];
	__u8 *p = map_thp(len);
	__u64 pages = 0;

	if (!p)
		return -1;
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = i >> 12;
	for (int r = 0; r < RUNS; r++) {
		double t = now();

		if (be_prefetch_vram(be, p, len, &pages) || pages != len / PAGE)
			return -1;
		to[r] = now() - t;
		t = now();
		if (be_prefetch_system(be, p, len, &pages))
			return -1;
		back[r] = now() - t;
	}
	for (size_t i = 0; i < len; i += PAGE)
		if (p[i] != (__u8)(i >> 12)) {
			fprintf(stderr, "wrong data at %zu\n", i);
			return -1;
		}
	printf("prefetch %4zu MiB: to VRAM %6.3f GB/s, back %6.3f GB/s\n",
	       len >> 20, len / quantile(to, RUNS, 0.5) / 1e9,
	       len / quantile(back, RUNS, 0.5) / 1e9);
	munmap(p, len);
	return 0;
}

static double rn_timed_read(struct backend *be, void *dst, void *src)
{
	double t = now();

	if (be_copy(be, dst, src, 8))
		return -1;
	return now() - t;
}

static int rn_faults(struct backend *be, bool thp)
{
	/*
	 * A fault's reach is a drm_gpusvm range: the largest chunk that fits
	 * the VMA, 2 MiB here whether or not a THP backs it (then as 512
	 * 4 KiB PTEs).
	 */
	int samples = thp ? FAULT_SAMPLES / 2 : FAULT_SAMPLES / 4;
	size_t stride = THP_SIZE, len = samples * stride;
	double fault[FAULT_SAMPLES], hit[FAULT_SAMPLES];
	__u8 *p = thp ? map_thp(len) : map_anon(len, PROT_READ | PROT_WRITE);
	struct be_stats before, after;
	__u64 dst;

	if (!p || (!thp && madvise(p, len, MADV_NOHUGEPAGE)))
		return -1;
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = 1;
	before = be_stats(be);
	for (int i = 0; i < samples; i++) {
		fault[i] = rn_timed_read(be, &dst, p + i * stride);
		hit[i] = rn_timed_read(be, &dst, p + i * stride);
		if (fault[i] < 0 || hit[i] < 0)
			return -1;
	}
	after = be_stats(be);
	if (after.faults - before.faults < (__u64)samples) {
		fprintf(stderr, "render node, %s pages: %llu faults for %d samples\n",
			thp ? "THP-backed" : "4 KiB",
			(unsigned long long)(after.faults - before.faults),
			samples);
		return -1;
	}
	printf("render node: device 8-byte read on %s pages, median / p99 of %d samples",
	       thp ? "THP-backed" : "4 KiB", samples);
	printf(" (%llu faults, %llu mapped 2 MiB):\n",
	       (unsigned long long)(after.faults - before.faults),
	       (unsigned long long)(after.huge_mapped - before.huge_mapped));
	printf("  page faulted in: %.0f / %.0f us; page mirrored: %.0f / %.0f us\n",
	       quantile(fault, samples, 0.5) * 1e6,
	       quantile(fault, samples, 0.99) * 1e6,
	       quantile(hit, samples, 0.5) * 1e6,
	       quantile(hit, samples, 0.99) * 1e6);
	munmap(p, len);
	return 0;
}

static int rn_eviction(struct backend *be, size_t vram)
{
	__u8 *a = map_thp(vram), *b = map_thp(vram);
	__u64 pages = 0, before, evicted;
	double t;

	if (!a || !b)
		return -1;
	pattern_fill(a, vram, 1);
	pattern_fill(b, vram, 2);
	if (be_prefetch_vram(be, a, vram, &pages))
		return -1;
	before = be_evicted(be);
	t = now();
	if (be_prefetch_vram(be, b, vram, &pages))
		return -1;
	t = now() - t;
	evicted = be_evicted(be) - before;
	if (pattern_errors(a, vram, 1) || pattern_errors(b, vram, 2)) {
		fprintf(stderr, "eviction: wrong data\n");
		return -1;
	}
	printf("render node: eviction at 2x VRAM: %llu MiB evicted while %llu MiB moved in, ",
	       (unsigned long long)evicted >> 8, (unsigned long long)vram >> 20);
	printf("%.2f s: %.0f MiB/s evicted\n", t, evicted / 256.0 / t);
	munmap(a, vram);
	munmap(b, vram);
	return 0;
}

static int rn_atomics(struct backend *be, int threads)
{
	struct svmgpu_user_cmd add[64];
	struct cpu_adder adders[2];
	__u64 *c = map_anon(PAGE, PROT_READ | PROT_WRITE), want = 0;
	int stop = 0, rounds = 40;
	double t;

	if (!c || be_madvise(be, c, PAGE, DRM_SVMGPU_ATTR_ATOMIC,
			     DRM_SVMGPU_ATOMIC_DEVICE))
		return -1;
	for (int i = 0; i < threads; i++) {
		adders[i] = (struct cpu_adder){ .counter = c, .stop = &stop };
		if (pthread_create(&adders[i].thread, NULL, cpu_adder_main,
				   &adders[i]))
			return -1;
	}
	t = now();
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 64; i++)
			add[i] = (struct svmgpu_user_cmd){
				.op = SVMGPU_CMD_ATOMIC,
				.atomic_op = SVMGPU_ATOM_ADD, .width = 8,
				.dst = (uintptr_t)c, .operand = 1,
			};
		if (be_exec(be, add, 64))
			return -1;
		for (int i = 0; i < 64; i++)
			if (add[i].status)
				return -1;
	}
	t = now() - t;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < threads; i++) {
		pthread_join(adders[i].thread, NULL);
		want += adders[i].adds;
	}
	if (*c != want + rounds * 64) {
		fprintf(stderr, "atomics: counter %llu, want %llu\n",
			(unsigned long long)*c,
			(unsigned long long)(want + rounds * 64));
		return -1;
	}
	printf("render node: device atomics in VRAM, %d CPU threads on the counter: %.0f/s\n",
	       threads, rounds * 64 / t);
	munmap(c, PAGE);
	return 0;
}

static int render_node_bench(void)
{
	static const size_t mib[] = { 2, 16, 64, 256 };
	struct drm_svmgpu_query q = { 0 };
	struct backend be;

	setenv("SYSALLOC_BACKEND", "drm", 1);
	if (be_open(&be) || ioctl(be.fd, DRM_IOCTL_SVMGPU_QUERY, &q)) {
		fprintf(stderr, "svmgpu-guest-bench: no svmgpu render node\n");
		return 1;
	}
	printf("render node (drm_gpusvm), %s VRAM, %llu MiB, device memory %llu MiB\n",
	       q.mem_mode == SVMGPU_INFO_MEM_COHERENT ? "coherent" : "private",
	       (unsigned long long)q.vram_size >> 20,
	       (unsigned long long)q.devmem_size >> 20);
	for (unsigned int i = 0; q.devmem_size && i < ARRAY_SIZE(mib); i++)
		if ((mib[i] << 20) <= q.vram_size &&
		    rn_migration(&be, mib[i] << 20))
			return 1;
	if (rn_faults(&be, false) || rn_faults(&be, true))
		return 1;
	if (q.devmem_size && rn_eviction(&be, q.vram_size))
		return 1;
	for (int threads = 0; q.devmem_size && threads <= 2; threads += 2)
		if (rn_atomics(&be, threads))
			return 1;
	be_close(&be);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t mib[] = { 2, 16, 64, 256 };
	bool migration_only = argc == 2 && !strcmp(argv[1], "--migration-only");
	struct svmgpu_info info;
	int fd;

	if (argc == 2 && !strcmp(argv[1], "--render-node"))
		return render_node_bench();
	if (argc > 1 && !migration_only) {
		fprintf(stderr, "usage: svmgpu-guest-bench [--migration-only | --render-node]\n");
		return 2;
	}
	fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info)) {
		perror("svmgpu-guest-bench: /dev/svmgpu0");
		return 1;
	}
	printf("%s VRAM, %llu MiB\n",
	       info.mem_mode == SVMGPU_INFO_MEM_COHERENT ? "coherent" : "private",
	       (unsigned long long)info.vram_size >> 20);
	for (unsigned int i = 0; i < ARRAY_SIZE(mib); i++)
		if ((mib[i] << 20) <= info.vram_size &&
		    bench_migration(fd, mib[i] << 20))
			return 1;
	if (migration_only)
		goto out;
	if (bench_faults(fd, false) || bench_faults(fd, true))
		return 1;
	if (bench_eviction(fd, info.vram_size))
		return 1;
	for (int threads = 0; threads <= 2; threads += 2) {
		if (bench_atomics(fd, SVMGPU_POLICY_ATOMIC_EXCLUSIVE, threads) ||
		    bench_atomics(fd, SVMGPU_POLICY_ATOMIC_VRAM, threads))
			return 1;
	}
out:
	close(fd);
	return 0;
}
