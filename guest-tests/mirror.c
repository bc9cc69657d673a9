// SPDX-License-Identifier: GPL-2.0
/*
 * Shared virtual memory through the mirror: the device works on ordinary
 * process memory through its own page tables, filled on demand by device
 * page faults (hmm_range_fault) and emptied by MMU-notifier invalidations.
 * Every test checks the data, not only the return codes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"

FIXTURE(mirror) {
	int fd;
};

FIXTURE_SETUP(mirror)
{
	self->fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(mirror)
{
	close(self->fd);
}

/* The device reads what the CPU wrote and writes what the CPU reads. */
TEST_F(mirror, copy_anonymous)
{
	size_t len = 5 * PAGE + 123;
	__u8 *a = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_stats st;

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	for (size_t i = 0; i < len; i++)
		a[i] = i * 31 + 7;
	ASSERT_EQ(dev_copy(self->fd, b + 17, a, len), 0);
	ASSERT_EQ(memcmp(b + 17, a, len), 0);
	for (int i = 0; i < 17; i++)
		ASSERT_EQ(b[i], 0);
	st = stats(self->fd);
	EXPECT_GE(st.faults, 1);	/* nothing was mapped up front */
	EXPECT_EQ(st.replays, st.faults);
	EXPECT_EQ(st.cancels, 0);
	EXPECT_EQ(st.commands, 1);
}

/* Pages the CPU never touched: the device's write populates them. */
TEST_F(mirror, fill_untouched)
{
	size_t len = 3 * PAGE;
	__u64 *p = map_anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(p, NULL);
	ASSERT_EQ(dev_fill(self->fd, p, 0x0123456789abcdefull, len), 0);
	for (size_t i = 0; i < len / 8; i++)
		ASSERT_EQ(p[i], 0x0123456789abcdefull);
}

/* A second run needs no fault: the mirror keeps the translations. */
TEST_F(mirror, mapping_is_kept)
{
	__u8 *a = map_anon(PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(PAGE, PROT_READ | PROT_WRITE);
	__u64 faults;

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	memset(a, 0x5a, PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, PAGE), 0);
	faults = own_faults(self->fd);
	memset(a, 0xa5, PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, PAGE), 0);
	EXPECT_EQ(own_faults(self->fd), faults);
	EXPECT_EQ(b[PAGE - 1], 0xa5);
}

/*
 * After munmap the device must not reach the old page: a missed
 * invalidation would let it read stale data through its TLB.
 */
TEST_F(mirror, munmap_invalidates)
{
	__u8 *a = map_anon(PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(PAGE, PROT_READ | PROT_WRITE);

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	memset(a, 0x77, PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, PAGE), 0);
	ASSERT_EQ(munmap(a, PAGE), 0);
	memset(b, 0, PAGE);
	EXPECT_EQ(dev_copy(self->fd, b, a, PAGE), EFAULT);
	for (size_t i = 0; i < PAGE; i++)
		ASSERT_EQ(b[i], 0);
	EXPECT_GE(stats(self->fd).invalidations, 1);
}

/* Replaced behind the device's back: it must see the new page. */
TEST_F(mirror, remap_sees_new_page)
{
	__u8 *a = map_anon(PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(PAGE, PROT_READ | PROT_WRITE);

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	memset(a, 1, PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, PAGE), 0);
	ASSERT_EQ(b[0], 1);
	ASSERT_EQ(mmap(a, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), a);
	memset(a, 2, PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, PAGE), 0);
	EXPECT_EQ(b[0], 2);
	EXPECT_EQ(b[PAGE - 1], 2);
}

/* Read-only memory is mirrored read-only: a device write gets EPERM. */
TEST_F(mirror, read_only_mapping)
{
	__u8 *ro = map_anon(PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(PAGE, PROT_READ | PROT_WRITE);

	ASSERT_NE(ro, NULL);
	ASSERT_NE(b, NULL);
	memset(ro, 0x3c, PAGE);
	ASSERT_EQ(mprotect(ro, PAGE, PROT_READ), 0);
	ASSERT_EQ(dev_copy(self->fd, b, ro, PAGE), 0);
	EXPECT_EQ(b[100], 0x3c);
	EXPECT_EQ(dev_fill(self->fd, ro, 0, PAGE), EPERM);
	EXPECT_EQ(ro[100], 0x3c);

	/* made writable again: the device write goes through */
	ASSERT_EQ(mprotect(ro, PAGE, PROT_READ | PROT_WRITE), 0);
	EXPECT_EQ(dev_fill(self->fd, ro, 0x1111111111111111ull, PAGE), 0);
	EXPECT_EQ(ro[100], 0x11);
}

/* PROT_NONE and holes: EFAULT, and nothing written. */
TEST_F(mirror, no_access)
{
	__u8 *none = map_anon(PAGE, PROT_NONE);
	__u8 *b = map_anon(PAGE, PROT_READ | PROT_WRITE);

	ASSERT_NE(none, NULL);
	ASSERT_NE(b, NULL);
	memset(b, 0x42, PAGE);
	EXPECT_EQ(dev_copy(self->fd, b, none, 64), EFAULT);
	EXPECT_EQ(b[0], 0x42);
	EXPECT_EQ(dev_copy(self->fd, b, (void *)0x1000, 64), EFAULT);
	EXPECT_GE(stats(self->fd).cancels, 2);
	/* and the device goes on working */
	EXPECT_EQ(dev_fill(self->fd, b, 0, 64), 0);
	EXPECT_EQ(b[0], 0);
}

/* MAP_SHARED file memory: the device's write reaches the file. */
TEST_F(mirror, shared_file)
{
	int mfd = memfd_create("svmgpu-mirror", 0);
	char buf[64];
	__u8 *p;

	ASSERT_GE(mfd, 0);
	ASSERT_EQ(ftruncate(mfd, 2 * PAGE), 0);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_EQ(dev_fill(self->fd, p + PAGE, 0x6162636465666768ull, 64), 0);
	ASSERT_EQ(pread(mfd, buf, sizeof(buf), PAGE), (ssize_t)sizeof(buf));
	EXPECT_EQ(memcmp(buf, "hgfedcba", 8), 0);
	munmap(p, 2 * PAGE);
	close(mfd);
}

/* Copy-on-write after fork: the parent's device write stays its own. */
TEST_F(mirror, fork_cow)
{
	__u8 *p = map_anon(PAGE, PROT_READ | PROT_WRITE);
	pid_t pid;
	int status;

	ASSERT_NE(p, NULL);
	memset(p, 0x10, PAGE);
	ASSERT_EQ(dev_fill(self->fd, p, 0x2020202020202020ull, 8), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* the child's view must not change */
		usleep(200000);
		_exit(p[0] == 0x20 && p[8] == 0x10 ? 0 : 1);
	}
	ASSERT_EQ(dev_fill(self->fd, p, 0x3030303030303030ull, 8), 0);
	EXPECT_EQ(p[0], 0x30);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A 2 MiB transparent huge page, written and read back by the device. */
TEST_F(mirror, huge_page)
{
	__u8 *p = map_thp(THP_SIZE);
	__u64 *q;

	ASSERT_NE(p, NULL);
	p[0] = 1;	/* a THP if the kernel can */
	ASSERT_EQ(dev_fill(self->fd, p, 0x5555aaaa5555aaaaull, 2UL << 20), 0);
	q = (__u64 *)p;
	for (size_t i = 0; i < (2UL << 20) / 8; i += 4099)
		ASSERT_EQ(q[i], 0x5555aaaa5555aaaaull);
	ASSERT_EQ(q[(2UL << 20) / 8 - 1], 0x5555aaaa5555aaaaull);
}

/* Each page's SVMGPU_RES_DEV_* bits must be @want; 0 if they all are. */
static long dev_bits_differ(int fd, void *addr, unsigned long npages,
			    __u8 want)
{
	const __u8 mask = SVMGPU_RES_DEV_MAPPED | SVMGPU_RES_DEV_HUGE;
	__u8 *res = malloc(npages);
	long bad = -1;

	if (res && !dev_residency(fd, addr, npages, res))
		for (bad = 0; bad < (long)npages; bad++)
			if ((res[bad] & mask) != want)
				break;
	free(res);
	return bad == (long)npages ? 0 : bad + 1;
}

/*
 * A THP the CPU maps with one PMD is mirrored with one 2 MiB device PTE:
 * one fault per buffer instead of one per 64 KiB window. Splitting the
 * CPU's PMD (mprotect of one page) unmaps the whole leaf; the pages fault
 * back as 4 KiB ones with their data, and the page made read-only refuses
 * a device write while its neighbours take one.
 */
TEST_F(mirror, thp_mapped_2m)
{
	const unsigned long per = THP_SIZE / PAGE;
	__u8 *src = map_thp(THP_SIZE), *dst = map_thp(THP_SIZE), res;
	__u64 faults, mapped;

	ASSERT_NE(src, NULL);
	ASSERT_NE(dst, NULL);
	pattern_fill(src, THP_SIZE, 11);
	memset(dst, 0, THP_SIZE);
	ASSERT_EQ(dev_residency(self->fd, src, 1, &res), 0);
	ASSERT_TRUE(res & SVMGPU_RES_HUGE) TH_LOG("the kernel gave no THP");
	ASSERT_EQ(dev_residency(self->fd, dst, 1, &res), 0);
	ASSERT_TRUE(res & SVMGPU_RES_HUGE) TH_LOG("the kernel gave no THP");
	EXPECT_EQ(dev_bits_differ(self->fd, src, per, 0), 0);

	faults = own_faults(self->fd);
	mapped = stats(self->fd).pages_mapped;
	ASSERT_EQ(dev_copy(self->fd, dst, src, THP_SIZE), 0);
	EXPECT_EQ(pattern_errors(dst, THP_SIZE, 11), 0);
	EXPECT_EQ(own_faults(self->fd) - faults, 2);	/* one per buffer */
	EXPECT_EQ(stats(self->fd).pages_mapped - mapped, 2);
	EXPECT_EQ(dev_bits_differ(self->fd, src, per, SVMGPU_RES_DEV_MAPPED |
				  SVMGPU_RES_DEV_HUGE), 0);
	EXPECT_EQ(dev_bits_differ(self->fd, dst, per, SVMGPU_RES_DEV_MAPPED |
				  SVMGPU_RES_DEV_HUGE), 0);

	/* the CPU splits its PMD: the device's leaf goes, all of it */
	ASSERT_EQ(mprotect(src + 5 * PAGE, PAGE, PROT_READ), 0);
	ASSERT_EQ(dev_residency(self->fd, src, 1, &res), 0);
	EXPECT_FALSE(res & SVMGPU_RES_HUGE);
	EXPECT_EQ(dev_bits_differ(self->fd, src, per, 0), 0);

	/* the pages fault back as 4 KiB ones; dst keeps its 2 MiB leaf */
	memset(dst, 0, THP_SIZE);
	faults = stats(self->fd).faults;
	ASSERT_EQ(dev_copy(self->fd, dst, src, THP_SIZE), 0);
	EXPECT_EQ(pattern_errors(dst, THP_SIZE, 11), 0);
	EXPECT_GE(stats(self->fd).faults - faults, 3);	/* at least 3 VMAs */
	EXPECT_EQ(dev_bits_differ(self->fd, src, per, SVMGPU_RES_DEV_MAPPED), 0);
	EXPECT_EQ(dev_bits_differ(self->fd, dst, per, SVMGPU_RES_DEV_MAPPED |
				  SVMGPU_RES_DEV_HUGE), 0);
	EXPECT_EQ(dev_fill(self->fd, src + 5 * PAGE, 0, 8), EPERM);
	EXPECT_EQ(src[5 * PAGE], pattern_byte(5 * PAGE, 11));
	EXPECT_EQ(dev_fill(self->fd, src + 6 * PAGE, 0, 8), 0);
	EXPECT_EQ(src[6 * PAGE], 0);
}

/*
 * A write into a block the device maps read-only with 2 MiB (the huge zero
 * page the CPU's read left) gets a writable mapping of the THP the write
 * fault allocates, and the write lands. With huge_ptes=0 the same block is
 * mirrored with 4 KiB leaves.
 */
TEST_F(mirror, thp_zero_page_then_write)
{
	const char *param = "/sys/module/svmgpu/parameters/huge_ptes";
	const unsigned long per = THP_SIZE / PAGE;
	__u8 *p = map_thp(THP_SIZE), *q = map_thp(THP_SIZE), *b, res;

	ASSERT_NE(p, NULL);
	ASSERT_NE(q, NULL);
	b = map_anon(PAGE, PROT_READ | PROT_WRITE);
	ASSERT_NE(b, NULL);
	ASSERT_EQ(p[100], 0);		/* a read fault: the huge zero page */
	ASSERT_EQ(dev_residency(self->fd, p, 1, &res), 0);
	ASSERT_TRUE(res & SVMGPU_RES_HUGE) TH_LOG("no huge zero page");
	EXPECT_FALSE(res & SVMGPU_RES_WRITE);
	ASSERT_EQ(dev_copy(self->fd, b, p, PAGE), 0);
	EXPECT_EQ(dev_bits_differ(self->fd, p, per, SVMGPU_RES_DEV_MAPPED |
				  SVMGPU_RES_DEV_HUGE), 0);

	ASSERT_EQ(dev_fill(self->fd, p + THP_SIZE / 2, 0x4242424242424242ull,
			   PAGE), 0);
	EXPECT_EQ(p[THP_SIZE / 2 + 7], 0x42);
	EXPECT_EQ(p[100], 0);
	ASSERT_EQ(dev_residency(self->fd, p + THP_SIZE / 2, 1, &res), 0);
	EXPECT_TRUE(res & SVMGPU_RES_DEV_MAPPED);
	EXPECT_TRUE(res & SVMGPU_RES_WRITE);

	/* huge_ptes=0: 4 KiB leaves only */
	ASSERT_EQ(write_sysfs(param, "0"), 0);
	memset(q, 1, THP_SIZE);
	ASSERT_EQ(dev_residency(self->fd, q, 1, &res), 0);
	EXPECT_TRUE(res & SVMGPU_RES_HUGE);
	EXPECT_EQ(dev_copy(self->fd, b, q + 3 * PAGE, PAGE), 0);
	EXPECT_EQ(write_sysfs(param, "1"), 0);
	EXPECT_EQ(b[0], 1);
	ASSERT_EQ(dev_residency(self->fd, q + 3 * PAGE, 1, &res), 0);
	EXPECT_EQ(res & (SVMGPU_RES_DEV_MAPPED | SVMGPU_RES_DEV_HUGE),
		  SVMGPU_RES_DEV_MAPPED);
}

/* hugetlbfs memory is mirrored like any other. */
TEST_F(mirror, hugetlbfs)
{
	size_t len = 2UL << 20;
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	__u64 *p;

	if (f) {
		fputs("4", f);
		fclose(f);
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(p, MAP_FAILED) TH_LOG("no free huge page");
	p[0] = 1;
	ASSERT_EQ(dev_fill(self->fd, p, 0x7777777777777777ull, len), 0);
	EXPECT_EQ(p[0], 0x7777777777777777ull);
	EXPECT_EQ(p[len / 8 - 1], 0x7777777777777777ull);
	munmap(p, len);
}

/* mremap moves a mirrored buffer: the new address works, the old faults. */
TEST_F(mirror, mremap_moves_mapping)
{
	__u8 *a = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *target = map_anon(8 * PAGE, PROT_NONE), *moved;

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	ASSERT_NE(target, NULL);
	memset(a, 0x4d, 4 * PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, 4 * PAGE), 0);	/* mirrored */
	moved = mremap(a, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
		       target + 2 * PAGE);
	ASSERT_EQ(moved, target + 2 * PAGE);
	memset(b, 0, 4 * PAGE);
	EXPECT_EQ(dev_copy(self->fd, b, moved, 4 * PAGE), 0);
	EXPECT_EQ(b[4 * PAGE - 1], 0x4d);
	EXPECT_EQ(dev_copy(self->fd, b, a, 64), EFAULT);	/* old address */
}

/* Bad input is refused with EINVAL or EFAULT, and nothing runs. */
TEST_F(mirror, bad_submissions)
{
	__u8 *b = map_anon(PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_user_cmd c[SVMGPU_SUBMIT_MAX_CMDS + 1] = { 0 };
	struct svmgpu_submit sub = { .cmds = (uintptr_t)c, .count = 1 };
	__u64 before;

	ASSERT_NE(b, NULL);
	before = stats(self->fd).commands;
	c[0] = (struct svmgpu_user_cmd){ .op = SVMGPU_CMD_FILL,
					 .dst = (uintptr_t)b, .len = 8 };

	sub.count = 0;
	EXPECT_EQ(ioctl(self->fd, SVMGPU_IOCTL_SUBMIT, &sub), -1);
	EXPECT_EQ(errno, EINVAL);
	sub.count = SVMGPU_SUBMIT_MAX_CMDS + 1;
	EXPECT_EQ(ioctl(self->fd, SVMGPU_IOCTL_SUBMIT, &sub), -1);
	EXPECT_EQ(errno, EINVAL);
	sub.count = 1;
	sub.flags = 1;
	EXPECT_EQ(ioctl(self->fd, SVMGPU_IOCTL_SUBMIT, &sub), -1);
	EXPECT_EQ(errno, EINVAL);
	sub.flags = 0;
	sub.cmds = 16;
	EXPECT_EQ(ioctl(self->fd, SVMGPU_IOCTL_SUBMIT, &sub), -1);
	EXPECT_EQ(errno, EFAULT);
	sub.cmds = (uintptr_t)c;

	c[0].op = 99;
	EXPECT_EQ(submit(self->fd, c, 1), -EINVAL);
	c[0].op = SVMGPU_CMD_FILL;
	c[0].len = SVMGPU_CMD_MAX_LEN + 1;
	EXPECT_EQ(submit(self->fd, c, 1), -EINVAL);
	c[0].len = 16;
	c[0].dst = ~0ull - 8;		/* wraps */
	EXPECT_EQ(submit(self->fd, c, 1), -EINVAL);
	c[0].dst = (uintptr_t)b;
	c[0].op = SVMGPU_CMD_WRITE_IMM;
	c[0].len = 0;
	c[0].width = 3;
	EXPECT_EQ(submit(self->fd, c, 1), -EINVAL);
	c[0].width = 8;
	c[0].dst = (uintptr_t)b + 4;	/* misaligned */
	EXPECT_EQ(submit(self->fd, c, 1), -EINVAL);
	c[0].dst = (uintptr_t)b;
	c[0].status = 1;		/* output fields must be 0 */
	EXPECT_EQ(submit(self->fd, c, 1), -EINVAL);
	c[0].status = 0;
	EXPECT_EQ(_IOC_NR(SVMGPU_IOCTL_SUBMIT), 1);

	/* one bad command in a batch: none of the batch runs */
	c[0] = (struct svmgpu_user_cmd){ .op = SVMGPU_CMD_FILL,
					 .dst = (uintptr_t)b, .len = 8,
					 .operand = 0x99 };
	c[1] = c[0];
	c[1].op = 0;
	b[0] = 0;
	EXPECT_EQ(submit(self->fd, c, 2), -EINVAL);
	EXPECT_EQ(b[0], 0);
	EXPECT_EQ(stats(self->fd).commands, before);
}

/* === concurrency === */

#define THREADS		4
#define SHARED_PAGES	16
#define ROUNDS		40

struct worker {
	int fd;
	int id;
	__u8 *shared;		/* SHARED_PAGES pages, all threads */
	__u8 *own;		/* this thread's source bytes */
	int failures;
};

/* Each thread copies its own bytes into its own slot of every page. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int r = 0; r < ROUNDS; r++) {
		struct svmgpu_user_cmd c[SHARED_PAGES];

		memset(c, 0, sizeof(c));
		for (int p = 0; p < SHARED_PAGES; p++) {
			c[p].op = SVMGPU_CMD_COPY;
			c[p].dst = (uintptr_t)(w->shared + p * PAGE + w->id * 64);
			c[p].src = (uintptr_t)w->own;
			c[p].len = 64;
		}
		if (submit(w->fd, c, SHARED_PAGES)) {
			w->failures++;
			continue;
		}
		for (int p = 0; p < SHARED_PAGES; p++)
			w->failures += c[p].status != 0;
	}
	return NULL;
}

static int zapping;

/* Throws the pages away again and again: invalidations under the device. */
static void *zapper_main(void *arg)
{
	while (__atomic_load_n(&zapping, __ATOMIC_RELAXED)) {
		madvise(arg, SHARED_PAGES * PAGE, MADV_DONTNEED);
		usleep(500);
	}
	return NULL;
}

/*
 * Threads fault the same pages while another thread keeps zapping them:
 * every command completes (forward progress, no livelock), and once the
 * zapping stops the data is exactly what the threads wrote.
 */
TEST_F(mirror, threads_fault_same_pages)
{
	__u8 *shared = map_anon(SHARED_PAGES * PAGE, PROT_READ | PROT_WRITE);
	struct worker w[THREADS];
	pthread_t tid[THREADS], zap;

	ASSERT_NE(shared, NULL);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .fd = self->fd, .id = t,
					.shared = shared,
					.own = map_anon(PAGE, PROT_READ | PROT_WRITE) };
		ASSERT_NE(w[t].own, NULL);
		memset(w[t].own, 0x40 + t, 64);
	}
	__atomic_store_n(&zapping, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(pthread_create(&zap, NULL, zapper_main, shared), 0);
	for (int t = 0; t < THREADS; t++)
		ASSERT_EQ(pthread_create(&tid[t], NULL, worker_main, &w[t]), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	__atomic_store_n(&zapping, 0, __ATOMIC_RELAXED);
	pthread_join(zap, NULL);
	for (int t = 0; t < THREADS; t++)
		EXPECT_EQ(w[t].failures, 0);
	EXPECT_GE(stats(self->fd).invalidations, 1);

	/* one more round, undisturbed: every slot holds its thread's bytes */
	for (int t = 0; t < THREADS; t++) {
		worker_main(&w[t]);
		ASSERT_EQ(w[t].failures, 0);
	}
	for (int p = 0; p < SHARED_PAGES; p++)
		for (int t = 0; t < THREADS; t++)
			for (int i = 0; i < 64; i++)
				ASSERT_EQ(shared[p * PAGE + t * 64 + i], 0x40 + t);
}

/* Two processes, each with its own context, at the same time. */
TEST_F(mirror, two_processes)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
		__u8 *a = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);
		__u8 *b = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);
		int bad = fd < 0 || !a || !b;

		for (int r = 0; r < 20 && !bad; r++) {
			memset(a, r, 8 * PAGE);
			bad |= dev_copy(fd, b, a, 8 * PAGE) != 0;
			bad |= b[r * 100] != r || b[8 * PAGE - 1] != r;
		}
		_exit(bad);
	}
	for (int r = 0; r < 20; r++) {
		__u8 *a = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);

		ASSERT_NE(a, NULL);
		ASSERT_EQ(dev_fill(self->fd, a, 0x0101010101010101ull * r,
				   8 * PAGE), 0);
		ASSERT_EQ(a[8 * PAGE - 1], r);
		munmap(a, 8 * PAGE);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * Two devices mirror the same memory, each with its own page tables; an
 * munmap must reach both.
 */
TEST_F(mirror, two_devices)
{
	int fd1 = open("/dev/svmgpu1", O_RDWR | O_CLOEXEC);
	__u8 *a = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *c = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);

	if (fd1 < 0)
		SKIP(return, "needs a second svmgpu (the runner gives two)");
	ASSERT_NE(a, NULL);
	memset(a, 0x61, 4 * PAGE);
	ASSERT_EQ(dev_copy(self->fd, b, a, 4 * PAGE), 0);
	ASSERT_EQ(dev_copy(fd1, c, a, 4 * PAGE), 0);
	EXPECT_EQ(b[4 * PAGE - 1], 0x61);
	EXPECT_EQ(c[4 * PAGE - 1], 0x61);
	ASSERT_EQ(munmap(a, 4 * PAGE), 0);
	EXPECT_EQ(dev_copy(self->fd, b, a, 64), EFAULT);
	EXPECT_EQ(dev_copy(fd1, c, a, 64), EFAULT);
	close(fd1);
}

TEST_HARNESS_MAIN
