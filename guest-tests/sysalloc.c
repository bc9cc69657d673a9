// SPDX-License-Identifier: GPL-2.0
/*
 * sysalloc: the device works on memory the process allocated by any means,
 * through drm_gpusvm, the kernel's SVM framework, on the render node. The
 * case families follow IGT's xe_exec_system_allocator (once, twice, many,
 * many-stride, many-large over malloc, mmap, shared, THP, file and mlock'ed
 * memory; free and new; mremap; fork; threads; processes; partial munmap;
 * bad addresses; prefetch; madvise). Every case checks the data the device
 * wrote or read, not only return codes.
 *
 * SYSALLOC_BACKEND=svmgpu runs the same cases on /dev/svmgpu0, the driver's
 * own SVM core, so that both SVM paths are held to the same behaviour;
 * cases that need something only one path has say so and skip there.
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
#include "svmgpu_backend.h"

/* === memory of every kind === */

enum mem_kind {
	MEM_MALLOC,	/* malloc()/free() */
	MEM_MMAP,	/* private anonymous mmap */
	MEM_SHARED,	/* shared anonymous mmap (shmem) */
	MEM_THP,	/* 2 MiB aligned, MADV_HUGEPAGE */
	MEM_FILE,	/* shared mapping of a file on tmpfs */
	MEM_MLOCK,	/* mlock()ed private anonymous */
};

/* A buffer of one kind; free with mem_free(). */
struct mem {
	__u8 *p;
	size_t len;
	void *raw;
	size_t raw_len;
	enum mem_kind kind;
};

static int mem_alloc(struct mem *m, enum mem_kind kind, size_t len)
{
	int prot = PROT_READ | PROT_WRITE;
	char path[] = "/tmp/sysalloc-XXXXXX";
	int fd;

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->len = len;
	switch (kind) {
	case MEM_MALLOC:
		m->raw = malloc(len);
		m->p = m->raw;
		break;
	case MEM_MMAP:
	case MEM_MLOCK:
		m->raw = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
		if (m->raw == MAP_FAILED)
			return -errno;
		m->raw_len = len;
		m->p = m->raw;
		if (kind == MEM_MLOCK && mlock(m->p, len))
			return -errno;
		break;
	case MEM_SHARED:
		m->raw = mmap(NULL, len, prot, MAP_SHARED | MAP_ANONYMOUS,
			      -1, 0);
		if (m->raw == MAP_FAILED)
			return -errno;
		m->raw_len = len;
		m->p = m->raw;
		break;
	case MEM_THP:
		m->raw_len = len + THP_SIZE;
		m->raw = mmap(NULL, m->raw_len, prot,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m->raw == MAP_FAILED)
			return -errno;
		m->p = (__u8 *)(((uintptr_t)m->raw + THP_SIZE - 1) &
				~(THP_SIZE - 1));
		madvise(m->p, len, MADV_HUGEPAGE);
		break;
	case MEM_FILE:
		fd = mkstemp(path);
		if (fd < 0)
			return -errno;
		unlink(path);
		if (ftruncate(fd, len)) {
			close(fd);
			return -errno;
		}
		m->raw = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
		close(fd);
		if (m->raw == MAP_FAILED)
			return -errno;
		m->raw_len = len;
		m->p = m->raw;
		break;
	}
	return m->p ? 0 : -ENOMEM;
}

static void mem_free(struct mem *m)
{
	if (m->kind == MEM_MALLOC)
		free(m->raw);
	else if (m->raw && m->raw != MAP_FAILED)
		munmap(m->raw, m->raw_len);
	m->raw = NULL;
	m->p = NULL;
}

/* Bytes of @p that are not the 8-byte @pattern. */
static size_t fill_errors(const __u8 *p, size_t len, __u64 pattern)
{
	size_t bad = 0;

	for (size_t i = 0; i < len; i++)
		bad += p[i] != (__u8)(pattern >> (8 * (i % 8)));
	return bad;
}

/* === the families over every kind of memory === */

FIXTURE(sysalloc) {
	struct backend be;
};

FIXTURE_VARIANT(sysalloc) {
	enum mem_kind kind;
};

FIXTURE_VARIANT_ADD(sysalloc, malloc) { .kind = MEM_MALLOC };
FIXTURE_VARIANT_ADD(sysalloc, mmap) { .kind = MEM_MMAP };
FIXTURE_VARIANT_ADD(sysalloc, shared) { .kind = MEM_SHARED };
FIXTURE_VARIANT_ADD(sysalloc, thp) { .kind = MEM_THP };
FIXTURE_VARIANT_ADD(sysalloc, file) { .kind = MEM_FILE };
FIXTURE_VARIANT_ADD(sysalloc, mlock) { .kind = MEM_MLOCK };

FIXTURE_SETUP(sysalloc)
{
	ASSERT_EQ(be_open(&self->be), 0);
}

FIXTURE_TEARDOWN(sysalloc)
{
	be_close(&self->be);
}

/* once: one device fill, the CPU reads it; nothing was mapped up front. */
TEST_F(sysalloc, once)
{
	struct mem m;

	ASSERT_EQ(mem_alloc(&m, variant->kind, 64 * 1024), 0);
	memset(m.p, 0x11, m.len);
	ASSERT_EQ(be_fill(&self->be, m.p + 64, 0x0123456789abcdefull, 4096),
		  0);
	EXPECT_EQ(fill_errors(m.p + 64, 4096, 0x0123456789abcdefull), 0);
	EXPECT_EQ(m.p[63], 0x11);
	EXPECT_EQ(m.p[64 + 4096], 0x11);
	EXPECT_GE(be_own_faults(&self->be), 1);
	EXPECT_EQ(be_stats(&self->be).cancels, 0);
	mem_free(&m);
}

/* twice: a second command on the same memory faults no more. */
TEST_F(sysalloc, twice)
{
	struct mem m;
	__u64 faults;

	ASSERT_EQ(mem_alloc(&m, variant->kind, 64 * 1024), 0);
	pattern_fill(m.p, m.len, 1);
	ASSERT_EQ(be_fill(&self->be, m.p, 0x5a5a5a5a5a5a5a5aull, 8192), 0);
	faults = be_own_faults(&self->be);
	ASSERT_EQ(be_fill(&self->be, m.p, 0xa5a5a5a5a5a5a5a5ull, 8192), 0);
	EXPECT_EQ(fill_errors(m.p, 8192, 0xa5a5a5a5a5a5a5a5ull), 0);
	EXPECT_EQ(be_own_faults(&self->be), faults);
	/* the rest is untouched */
	for (size_t i = 8192; i < m.len; i++)
		ASSERT_EQ(m.p[i], pattern_byte(i, 1));
	mem_free(&m);
}

/* many: many small buffers, each written by the device, checked by CPU. */
TEST_F(sysalloc, many)
{
	enum { N = 64 };
	struct mem m[N];
	struct svmgpu_user_cmd c[N];

	for (int i = 0; i < N; i++) {
		ASSERT_EQ(mem_alloc(&m[i], variant->kind, 4096 + 64 * i), 0);
		memset(m[i].p, 0, m[i].len);
		c[i] = (struct svmgpu_user_cmd) {
			.op = SVMGPU_CMD_WRITE_IMM,
			.dst = (uintptr_t)(m[i].p + 4 * i),
			.operand = 0xc0de0000u + i,
			.width = 4,
		};
	}
	ASSERT_EQ(be_exec(&self->be, c, N), 0);
	for (int i = 0; i < N; i++) {
		__u32 v;

		EXPECT_EQ(c[i].status, 0);
		memcpy(&v, m[i].p + 4 * i, 4);
		EXPECT_EQ(v, 0xc0de0000u + i);
		mem_free(&m[i]);
	}
}

/* many-stride: one write per 4 KiB page + 68 bytes, over 4 MiB. */
TEST_F(sysalloc, many_stride)
{
	enum { STRIDE = 4096 + 68, N = 64 };
	struct svmgpu_user_cmd c[N];
	struct mem m;

	ASSERT_EQ(mem_alloc(&m, variant->kind, N * STRIDE + 4096), 0);
	memset(m.p, 0xee, m.len);
	for (int i = 0; i < N; i++)
		c[i] = (struct svmgpu_user_cmd) {
			.op = SVMGPU_CMD_WRITE_IMM,
			.dst = (uintptr_t)(m.p + (size_t)i * STRIDE),
			.operand = 0x1000u * i + 7,
			.width = 4,
		};
	ASSERT_EQ(be_exec(&self->be, c, N), 0);
	for (int i = 0; i < N; i++) {
		__u32 v;

		EXPECT_EQ(c[i].status, 0);
		memcpy(&v, m.p + (size_t)i * STRIDE, 4);
		EXPECT_EQ(v, 0x1000u * i + 7);
		EXPECT_EQ(m.p[(size_t)i * STRIDE + 4], 0xee);
	}
	mem_free(&m);
}

/* many-large: 8 MiB copies between two buffers of the kind, both ways. */
TEST_F(sysalloc, many_large)
{
	size_t len = 8UL << 20;
	struct mem a, b;

	ASSERT_EQ(mem_alloc(&a, variant->kind, len), 0);
	ASSERT_EQ(mem_alloc(&b, variant->kind, len), 0);
	pattern_fill(a.p, len, 3);
	memset(b.p, 0, len);
	ASSERT_EQ(be_copy(&self->be, b.p, a.p, len), 0);
	EXPECT_EQ(pattern_errors(b.p, len, 3), 0);
	pattern_fill(b.p, len, 4);
	ASSERT_EQ(be_copy(&self->be, a.p, b.p, len), 0);
	EXPECT_EQ(pattern_errors(a.p, len, 4), 0);
	mem_free(&a);
	mem_free(&b);
}

/*
 * free-new: the buffer is freed and a new one allocated (often at the same
 * address): the device must see the new memory, not the old pages.
 */
TEST_F(sysalloc, free_new)
{
	size_t len = 256 * 1024;

	for (int round = 0; round < 4; round++) {
		struct mem m, src;

		ASSERT_EQ(mem_alloc(&m, variant->kind, len), 0);
		ASSERT_EQ(mem_alloc(&src, MEM_MMAP, len), 0);
		pattern_fill(src.p, len, 10 + round);
		memset(m.p, 0, len);
		ASSERT_EQ(be_copy(&self->be, m.p, src.p, len), 0);
		EXPECT_EQ(pattern_errors(m.p, len, 10 + round), 0);
		mem_free(&m);
		mem_free(&src);
	}
}

/* CPU writes after the device mapped the pages reach the device. */
TEST_F(sysalloc, cpu_write_after_device)
{
	struct mem a, b;
	size_t len = 128 * 1024;

	ASSERT_EQ(mem_alloc(&a, variant->kind, len), 0);
	ASSERT_EQ(mem_alloc(&b, MEM_MMAP, len), 0);
	pattern_fill(a.p, len, 20);
	ASSERT_EQ(be_copy(&self->be, b.p, a.p, len), 0);
	EXPECT_EQ(pattern_errors(b.p, len, 20), 0);
	pattern_fill(a.p, len, 21);
	ASSERT_EQ(be_copy(&self->be, b.p, a.p, len), 0);
	EXPECT_EQ(pattern_errors(b.p, len, 21), 0);
	mem_free(&a);
	mem_free(&b);
}

/* === faults the device must be refused, and nothing else changes === */

FIXTURE(sys) {
	struct backend be;
};

FIXTURE_SETUP(sys)
{
	ASSERT_EQ(be_open(&self->be), 0);
}

FIXTURE_TEARDOWN(sys)
{
	be_close(&self->be);
}

/* fault: a hole is EFAULT for that command; the next one still runs. */
TEST_F(sys, fault_unmapped)
{
	__u8 *p = map_anon(2 * PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_user_cmd c[2] = {
		{ .op = SVMGPU_CMD_WRITE_IMM, .width = 4, .operand = 1 },
		{ .op = SVMGPU_CMD_WRITE_IMM, .width = 4, .operand = 2 },
	};

	ASSERT_NE(p, NULL);
	ASSERT_EQ(munmap(p + PAGE, PAGE), 0);
	c[0].dst = (uintptr_t)(p + PAGE);
	c[1].dst = (uintptr_t)p;
	ASSERT_EQ(be_exec(&self->be, c, 2), 0);
	EXPECT_EQ(c[0].status, EFAULT);
	EXPECT_EQ(c[1].status, 0);
	EXPECT_EQ(*(__u32 *)p, 2);
	EXPECT_GE(be_stats(&self->be).cancels, 1);
	munmap(p, PAGE);
}

/* fault: PROT_NONE memory is EFAULT. */
TEST_F(sys, fault_prot_none)
{
	__u8 *p = map_anon(PAGE, PROT_NONE);

	ASSERT_NE(p, NULL);
	EXPECT_EQ(be_write32(&self->be, p, 5), EFAULT);
	munmap(p, PAGE);
}

/* fault: a write to read-only memory is EPERM; a read of it works. */
TEST_F(sys, fault_read_only)
{
	__u8 *ro = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *dst = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);

	ASSERT_NE(ro, NULL);
	ASSERT_NE(dst, NULL);
	pattern_fill(ro, 4 * PAGE, 30);
	ASSERT_EQ(mprotect(ro, 4 * PAGE, PROT_READ), 0);
	EXPECT_EQ(be_write32(&self->be, ro + 8, 5), EPERM);
	EXPECT_EQ(pattern_errors(ro, 4 * PAGE, 30), 0);
	ASSERT_EQ(be_copy(&self->be, dst, ro, 4 * PAGE), 0);
	EXPECT_EQ(pattern_errors(dst, 4 * PAGE, 30), 0);
	/* writable again: the device may write */
	ASSERT_EQ(mprotect(ro, 4 * PAGE, PROT_READ | PROT_WRITE), 0);
	EXPECT_EQ(be_write32(&self->be, ro + 8, 5), 0);
	EXPECT_EQ(*(__u32 *)(ro + 8), 5);
	munmap(ro, 4 * PAGE);
	munmap(dst, 4 * PAGE);
}

/* fault: an address beyond user space is refused before the device. */
TEST_F(sys, fault_kernel_address)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_WRITE_IMM, .width = 4,
		.dst = 0xffff888000000000ull,
	};

	EXPECT_EQ(be_exec(&self->be, &c, 1), -EINVAL);
}

/* mmap-remap: mremap moves the pages; the device follows them. */
TEST_F(sys, mmap_remap)
{
	size_t len = 1UL << 20;
	__u8 *a = map_anon(len, PROT_READ | PROT_WRITE), *b;
	__u8 *dst = map_anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(a, NULL);
	ASSERT_NE(dst, NULL);
	pattern_fill(a, len, 40);
	ASSERT_EQ(be_copy(&self->be, dst, a, len), 0);
	b = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   map_anon(len, PROT_NONE));
	ASSERT_NE(b, MAP_FAILED);
	memset(dst, 0, len);
	ASSERT_EQ(be_copy(&self->be, dst, b, len), 0);
	EXPECT_EQ(pattern_errors(dst, len, 40), 0);
	/* the old address is a hole now */
	EXPECT_EQ(be_write32(&self->be, a, 1), EFAULT);
	munmap(b, len);
	munmap(dst, len);
}

/* mmap-remap-dontunmap: the old range stays mapped, empty. */
TEST_F(sys, mmap_remap_dontunmap)
{
	size_t len = 256 * 1024;
	__u8 *a = map_anon(len, PROT_READ | PROT_WRITE), *b;
	__u8 *dst = map_anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(a, NULL);
	ASSERT_NE(dst, NULL);
	pattern_fill(a, len, 41);
	ASSERT_EQ(be_copy(&self->be, dst, a, len), 0);
	b = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	ASSERT_NE(b, MAP_FAILED);
	ASSERT_EQ(be_copy(&self->be, dst, b, len), 0);
	EXPECT_EQ(pattern_errors(dst, len, 41), 0);
	ASSERT_EQ(be_copy(&self->be, dst, a, len), 0);
	for (size_t i = 0; i < len; i += 4096)
		ASSERT_EQ(dst[i], 0);
	munmap(a, len);
	munmap(b, len);
	munmap(dst, len);
}

/* mmap-remap-ro: a read-only remap can be read, not written. */
TEST_F(sys, mmap_remap_ro)
{
	size_t len = 128 * 1024;
	__u8 *a = map_anon(len, PROT_READ | PROT_WRITE), *b;
	__u8 *dst = map_anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(a, NULL);
	ASSERT_NE(dst, NULL);
	pattern_fill(a, len, 42);
	ASSERT_EQ(be_fill(&self->be, dst, 0, len), 0);
	b = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   map_anon(len, PROT_NONE));
	ASSERT_NE(b, MAP_FAILED);
	ASSERT_EQ(mprotect(b, len, PROT_READ), 0);
	ASSERT_EQ(be_copy(&self->be, dst, b, len), 0);
	EXPECT_EQ(pattern_errors(dst, len, 42), 0);
	EXPECT_EQ(be_fill(&self->be, b, 0, PAGE), EPERM);
	EXPECT_EQ(pattern_errors(b, len, 42), 0);
	munmap(b, len);
	munmap(dst, len);
}

/*
 * partial munmap: the middle of a mapped 2 MiB range goes; the rest is
 * still the device's, the hole is EFAULT. With and without a CPU fault on
 * the remainder in between.
 */
static void partial_munmap(struct __test_metadata *_metadata,
			   struct backend *be, bool cpu_fault, bool remap)
{
	size_t len = 4UL << 20;
	__u8 *p = map_thp(len);
	__u8 *mid;

	ASSERT_NE(p, NULL);
	memset(p, 0, len);
	ASSERT_EQ(be_fill(be, p, 0x0101010101010101ull, len), 0);
	mid = p + THP_SIZE / 2;
	ASSERT_EQ(munmap(mid, THP_SIZE), 0);
	if (remap)
		ASSERT_EQ(mmap(mid, THP_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			  mid);
	if (cpu_fault)
		p[0] = 0x01;
	ASSERT_EQ(be_fill(be, p, 0x0202020202020202ull, THP_SIZE / 2), 0);
	ASSERT_EQ(be_fill(be, mid + THP_SIZE, 0x0303030303030303ull,
			  len - THP_SIZE / 2 - THP_SIZE), 0);
	EXPECT_EQ(fill_errors(p, THP_SIZE / 2, 0x0202020202020202ull), 0);
	EXPECT_EQ(fill_errors(mid + THP_SIZE, len - THP_SIZE / 2 - THP_SIZE,
			      0x0303030303030303ull), 0);
	if (remap) {
		EXPECT_EQ(fill_errors(mid, THP_SIZE, 0), 0);
		EXPECT_EQ(be_fill(be, mid, 0x0404040404040404ull, THP_SIZE),
			  0);
		EXPECT_EQ(fill_errors(mid, THP_SIZE, 0x0404040404040404ull),
			  0);
	} else {
		EXPECT_EQ(be_write32(be, mid + PAGE, 1), EFAULT);
	}
	munmap(p, THP_SIZE / 2);
	munmap(mid, THP_SIZE);
	munmap(mid + THP_SIZE, len - THP_SIZE / 2 - THP_SIZE);
}

TEST_F(sys, partial_munmap_no_cpu_fault)
{
	partial_munmap(_metadata, &self->be, false, false);
}

TEST_F(sys, partial_munmap_cpu_fault)
{
	partial_munmap(_metadata, &self->be, true, false);
}

TEST_F(sys, partial_remap_no_cpu_fault)
{
	partial_munmap(_metadata, &self->be, false, true);
}

TEST_F(sys, partial_remap_cpu_fault)
{
	partial_munmap(_metadata, &self->be, true, true);
}

/* A 2 MiB THP the CPU maps with one PMD is one 2 MiB device mapping. */
TEST_F(sys, thp_maps_huge)
{
	__u8 *p = map_thp(THP_SIZE);
	struct be_stats s;

	ASSERT_NE(p, NULL);
	memset(p, 0x33, THP_SIZE);	/* the CPU faults a THP in */
	ASSERT_EQ(be_fill(&self->be, p, 0x4444444444444444ull, THP_SIZE), 0);
	EXPECT_EQ(fill_errors(p, THP_SIZE, 0x4444444444444444ull), 0);
	s = be_stats(&self->be);
	if (!self->be.drm)
		SKIP(return, "huge_mapped is the render node's counter");
	EXPECT_GE(s.huge_mapped, 1);
	EXPECT_LE(be_own_faults(&self->be), 2);
	munmap(p, THP_SIZE);
}

/* fork-read: after fork, the child reads what the device wrote. */
TEST_F(sys, fork_read)
{
	size_t len = 512 * 1024;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	int status;
	pid_t pid;

	ASSERT_NE(p, NULL);
	memset(p, 0, len);
	ASSERT_EQ(be_fill(&self->be, p, 0x7777777777777777ull, len), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(fill_errors(p, len, 0x7777777777777777ull) ? 1 : 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* COW broke the parent's pages for the child: the device follows */
	ASSERT_EQ(be_fill(&self->be, p, 0x1212121212121212ull, len), 0);
	EXPECT_EQ(fill_errors(p, len, 0x1212121212121212ull), 0);
	munmap(p, len);
}

/* fork-read-after: the child writes its copy; the parent's is untouched. */
TEST_F(sys, fork_child_writes)
{
	size_t len = 256 * 1024;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	int status;
	pid_t pid;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(be_fill(&self->be, p, 0x2121212121212121ull, len), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		memset(p, 0x99, len);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(fill_errors(p, len, 0x2121212121212121ull), 0);
	ASSERT_EQ(be_copy(&self->be, p, p + len / 2, len / 2), 0);
	EXPECT_EQ(fill_errors(p, len, 0x2121212121212121ull), 0);
	munmap(p, len);
}

/* A child's own VM works on the child's memory. */
TEST_F(sys, fork_child_vm)
{
	size_t len = 128 * 1024;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	int status;
	pid_t pid;

	ASSERT_NE(p, NULL);
	memset(p, 1, len);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct backend be;

		if (be_open(&be))
			_exit(2);
		if (be_fill(&be, p, 0x5656565656565656ull, len))
			_exit(3);
		_exit(fill_errors(p, len, 0x5656565656565656ull) ? 4 : 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	/* the parent's copy is its own */
	EXPECT_EQ(fill_errors(p, len, 0x0101010101010101ull), 0);
	munmap(p, len);
}

/* The parent's VM cannot be used from the child's mm. */
TEST_F(sys, vm_of_other_mm)
{
	int status;
	pid_t pid;

	if (!self->be.drm)
		SKIP(return, "a /dev/svmgpu0 file is bound to its opener's mm");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		__u32 v = 0;

		_exit(be_write32(&self->be, &v, 1) == -EACCES ? 0 : 1);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct thread_arg {
	struct backend *be;	/* shared VM, or NULL: the thread opens one */
	int id;
	int errors;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	struct backend own, *be = t->be;
	size_t len = 192 * 1024;
	__u8 *buf = malloc(len), *src = malloc(len);

	if (!buf || !src) {
		t->errors = 1;
		return NULL;
	}
	if (!be) {
		if (be_open(&own)) {
			t->errors = 1;
			return NULL;
		}
		be = &own;
	}
	for (int round = 0; round < 4; round++) {
		pattern_fill(src, len, t->id * 16 + round);
		memset(buf, 0, len);
		if (be_copy(be, buf, src, len) ||
		    pattern_errors(buf, len, t->id * 16 + round))
			t->errors++;
	}
	if (be == &own)
		be_close(&own);
	free(buf);
	free(src);
	return NULL;
}

static void run_threads(struct __test_metadata *_metadata,
			struct backend *shared, int n)
{
	pthread_t th[16];
	struct thread_arg arg[16];

	for (int i = 0; i < n; i++) {
		arg[i] = (struct thread_arg) { .be = shared, .id = i };
		ASSERT_EQ(pthread_create(&th[i], NULL, thread_main, &arg[i]),
			  0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(arg[i].errors, 0);
	}
}

/* threads: each thread its own VM (its own file), copies checked. */
TEST_F(sys, threads)
{
	run_threads(_metadata, NULL, 4);
}

/* threads-shared-vm: all threads in one VM. */
TEST_F(sys, threads_shared_vm)
{
	run_threads(_metadata, &self->be, 4);
}

/* processes: several processes, each with its own VM, at once. */
TEST_F(sys, processes)
{
	enum { N = 4 };
	pid_t pid[N];

	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			struct thread_arg t = { .id = 8 + i };

			thread_main(&t);
			_exit(t.errors ? 1 : 0);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		ASSERT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* Many small mallocs in many processes (IGT process-many-malloc). */
TEST_F(sys, processes_many_malloc)
{
	enum { N = 4, M = 32 };
	pid_t pid[N];

	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			struct backend be;
			int bad = 0;

			if (be_open(&be))
				_exit(2);
			for (int j = 0; j < M; j++) {
				__u32 *v = malloc(16 * 1024);

				if (!v || be_write32(&be, v + j, 0xab00 + j) ||
				    v[j] != 0xab00u + j)
					bad++;
				/* freed and reused: the device must follow */
				free(v);
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		ASSERT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* race: a CPU thread rewrites pages the device copies from, in a loop. */
struct toggler {
	__u8 *p;
	size_t len;
	int stop;
};

static void *toggler_main(void *arg)
{
	struct toggler *t = arg;

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		madvise(t->p, t->len, MADV_DONTNEED);
		memset(t->p, 0x42, t->len);
	}
	return NULL;
}

TEST_F(sys, race_invalidate)
{
	size_t len = 256 * 1024;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *dst = map_anon(len, PROT_READ | PROT_WRITE);
	struct toggler t = { .p = p, .len = len };
	pthread_t th;

	ASSERT_NE(p, NULL);
	ASSERT_NE(dst, NULL);
	memset(p, 0x42, len);
	ASSERT_EQ(pthread_create(&th, NULL, toggler_main, &t), 0);
	for (int i = 0; i < 50; i++) {
		ASSERT_EQ(be_copy(&self->be, dst, p, len), 0);
		/* every byte is 0x42 or 0 (between DONTNEED and memset) */
		for (size_t j = 0; j < len; j++)
			if (dst[j] != 0x42 && dst[j] != 0)
				ASSERT_EQ(dst[j], 0x42);
	}
	__atomic_store_n(&t.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	EXPECT_GE(be_stats(&self->be).invalidations, 1);
	munmap(p, len);
	munmap(dst, len);
}

/* prefetch to system memory maps the range: no fault on the next access. */
TEST_F(sys, prefetch_system)
{
	size_t len = 1UL << 20;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 pages = 0, faults;

	ASSERT_NE(p, NULL);
	if (!self->be.drm)
		SKIP(return, "MIGRATE_TO_SYSTEM on /dev/svmgpu0 maps nothing");
	memset(p, 0, len);
	ASSERT_EQ(be_prefetch_system(&self->be, p, len, &pages), 0);
	EXPECT_EQ(pages, len / PAGE);
	faults = be_own_faults(&self->be);
	ASSERT_EQ(be_fill(&self->be, p, 0x6666666666666666ull, len), 0);
	EXPECT_EQ(fill_errors(p, len, 0x6666666666666666ull), 0);
	EXPECT_EQ(be_own_faults(&self->be), faults);
	munmap(p, len);
}

/* prefetch over holes and PROT_NONE skips them; the rest is mapped. */
TEST_F(sys, prefetch_holes)
{
	size_t len = 8 * 64 * 1024;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 pages = 0;

	ASSERT_NE(p, NULL);
	if (!self->be.drm)
		SKIP(return, "prefetch counts pages on the render node only");
	ASSERT_EQ(munmap(p + 64 * 1024, 64 * 1024), 0);
	ASSERT_EQ(mprotect(p + 3 * 64 * 1024, 64 * 1024, PROT_NONE), 0);
	ASSERT_EQ(be_prefetch_system(&self->be, p, len, &pages), 0);
	EXPECT_EQ(pages, (len - 2 * 64 * 1024) / PAGE);
	munmap(p, len);
}

/* === argument checking: bad input is -EINVAL and changes nothing === */

TEST(render_node_rejects_bad_input)
{
	struct drm_svmgpu_vm_create vc = { .flags = 1 };
	struct drm_svmgpu_exec e = { 0 };
	struct drm_svmgpu_prefetch pf = { 0 };
	struct drm_svmgpu_madvise ma = { 0 };
	struct drm_svmgpu_vm_destroy vd = { 0 };
	struct drm_svmgpu_vm_stats vs = { 0 };
	struct drm_svmgpu_residency rs = { 0 };
	struct svmgpu_user_cmd c = { .op = 99 };
	__u8 res[4];
	__u8 *p = map_anon(PAGE, PROT_READ | PROT_WRITE);
	__u32 vm = 0;
	int fd;

	if (!backend_is_drm())
		SKIP(return, "render-node ioctls");
	fd = open_render_node();
	ASSERT_GE(fd, 0);
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_CREATE, &vc), -1);
	EXPECT_EQ(errno, EINVAL);
	ASSERT_EQ(vm_create(fd, &vm), 0);

	e.vm_id = vm;		/* no commands */
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e), -1);
	EXPECT_EQ(errno, EINVAL);
	e.count = 1;		/* a bad command: nothing runs */
	e.cmds = (uintptr_t)&c;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e), -1);
	EXPECT_EQ(errno, EINVAL);
	e.vm_id = vm + 100;	/* no such VM */
	c.op = SVMGPU_CMD_WRITE_IMM;
	c.width = 4;
	c.dst = (uintptr_t)p;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e), -1);
	EXPECT_EQ(errno, ENOENT);
	e.vm_id = vm;
	e.pad = 1;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e), -1);
	EXPECT_EQ(errno, EINVAL);
	e.pad = 0;
	e.count = SVMGPU_SUBMIT_MAX_CMDS + 1;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e), -1);
	EXPECT_EQ(errno, EINVAL);
	e.count = 1;
	e.cmds = 8;		/* unreadable */
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e), -1);
	EXPECT_EQ(errno, EFAULT);
	EXPECT_EQ(*(__u32 *)p, 0);

	pf.vm_id = vm;
	pf.addr = (uintptr_t)p + 1;	/* unaligned */
	pf.len = PAGE;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_PREFETCH, &pf), -1);
	EXPECT_EQ(errno, EINVAL);
	pf.addr = (uintptr_t)p;
	pf.region = 7;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_PREFETCH, &pf), -1);
	EXPECT_EQ(errno, EINVAL);
	pf.region = 0;
	pf.len = 0;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_PREFETCH, &pf), -1);
	EXPECT_EQ(errno, EINVAL);

	ma.vm_id = vm;
	ma.addr = (uintptr_t)p;
	ma.len = PAGE;
	ma.attr = 9;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_MADVISE, &ma), -1);
	EXPECT_EQ(errno, EINVAL);
	ma.attr = DRM_SVMGPU_ATTR_ATOMIC;
	ma.value = 9;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_MADVISE, &ma), -1);
	EXPECT_EQ(errno, EINVAL);

	vs.vm_id = vm;
	vs.pad = 1;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_STATS, &vs), -1);
	EXPECT_EQ(errno, EINVAL);
	vs.pad = 0;
	ASSERT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_STATS, &vs), 0);
	EXPECT_EQ(vs.commands, 0);	/* nothing ran */
	EXPECT_EQ(vs.faults, 0);

	rs.vm_id = vm;
	rs.addr = (uintptr_t)p;
	rs.bytes = (uintptr_t)res;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_RESIDENCY, &rs), -1);	/* 0 pages */
	EXPECT_EQ(errno, EINVAL);
	rs.npages = SVMGPU_RESIDENCY_MAX_PAGES + 1;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_RESIDENCY, &rs), -1);
	EXPECT_EQ(errno, EINVAL);
	rs.npages = 1;
	rs.addr = (uintptr_t)p + 8;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_RESIDENCY, &rs), -1);
	EXPECT_EQ(errno, EINVAL);
	rs.addr = (uintptr_t)p;
	rs.bytes = 8;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_RESIDENCY, &rs), -1);
	EXPECT_EQ(errno, EFAULT);

	vd.vm_id = vm + 100;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_DESTROY, &vd), -1);
	EXPECT_EQ(errno, ENOENT);
	vd.vm_id = vm;
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_DESTROY, &vd), 0);
	EXPECT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_DESTROY, &vd), -1);
	EXPECT_EQ(errno, ENOENT);
	close(fd);
	munmap(p, PAGE);
}

/* Destroying a VM with mapped ranges, then the file, leaks nothing. */
TEST(vm_lifetime)
{
	size_t len = 4UL << 20;
	__u8 *p = map_thp(len);

	if (!backend_is_drm())
		SKIP(return, "render-node VMs");
	ASSERT_NE(p, NULL);
	for (int round = 0; round < 8; round++) {
		struct drm_svmgpu_vm_destroy vd = { 0 };
		int fd = open_render_node();
		__u32 vm[3];

		ASSERT_GE(fd, 0);
		for (int i = 0; i < 3; i++) {
			struct backend be = { .fd = fd, .drm = true };

			ASSERT_EQ(vm_create(fd, &vm[i]), 0);
			be.vm = vm[i];
			ASSERT_EQ(be_fill(&be, p + i * (len / 3 & ~(PAGE - 1)),
					  round, PAGE * 100), 0);
		}
		vd.vm_id = vm[1];
		ASSERT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_VM_DESTROY, &vd), 0);
		close(fd);	/* VMs 0 and 2 go with the file */
	}
	munmap(p, len);
}

/* One file holds at most DRM_SVMGPU_VMS_PER_FILE VMs: ENOSPC after. */
TEST(vms_per_file_limit)
{
	__u32 vm[DRM_SVMGPU_VMS_PER_FILE];
	__u32 extra = 0;
	int fd;

	if (!backend_is_drm())
		SKIP(return, "render-node VMs");
	fd = open_render_node();
	ASSERT_GE(fd, 0);
	for (int i = 0; i < DRM_SVMGPU_VMS_PER_FILE; i++)
		ASSERT_EQ(vm_create(fd, &vm[i]), 0);
	EXPECT_EQ(vm_create(fd, &extra), -ENOSPC);
	close(fd);
}

/* The VMs of one file are separate address spaces' contexts. */
TEST(vms_per_file)
{
	struct backend a, b;
	__u32 x = 0, y = 0;

	if (!backend_is_drm())
		SKIP(return, "render-node VMs");
	ASSERT_EQ(be_open(&a), 0);
	b = a;
	ASSERT_EQ(vm_create(a.fd, &b.vm), 0);
	ASSERT_NE(a.vm, b.vm);
	EXPECT_EQ(be_write32(&a, &x, 1), 0);
	EXPECT_EQ(be_write32(&b, &y, 2), 0);
	EXPECT_EQ(x, 1);
	EXPECT_EQ(y, 2);
	EXPECT_EQ(be_stats(&a).commands, 1);
	EXPECT_EQ(be_stats(&b).commands, 1);
	be_close(&a);
}

/* The render node says what it is. */
TEST(query)
{
	struct drm_svmgpu_query q = { 0 };
	int fd;

	if (!backend_is_drm())
		SKIP(return, "render-node ioctl");
	fd = open_render_node();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ioctl(fd, DRM_IOCTL_SVMGPU_QUERY, &q), 0);
	EXPECT_EQ(q.uapi_major, DRM_SVMGPU_UAPI_MAJOR);
	EXPECT_GE(q.uapi_minor, DRM_SVMGPU_UAPI_MINOR);
	EXPECT_GT(q.vram_size, 0);
	EXPECT_EQ(q.minor, 0);
	close(fd);
}

/*
 * Device atomics on system memory: in place where the device can, else in
 * VRAM (the page moves for them), else refused.
 */
TEST_F(sys, atomic_sysmem)
{
	__u64 *v = map_anon(PAGE, PROT_READ | PROT_WRITE), old = 0;
	struct drm_svmgpu_query q = { 0 };

	ASSERT_NE(v, NULL);
	if (self->be.drm) {
		ASSERT_EQ(ioctl(self->be.fd, DRM_IOCTL_SVMGPU_QUERY, &q), 0);
		if (!(q.flags & DRM_SVMGPU_QUERY_SYSMEM_ATOMICS) &&
		    !q.devmem_size) {
			/* neither in place nor in VRAM: refused, unchanged */
			*v = 40;
			EXPECT_EQ(be_atomic_add(&self->be, v, 2, &old),
				  EOPNOTSUPP);
			EXPECT_EQ(*v, 40);
			munmap(v, PAGE);
			return;
		}
	}
	*v = 40;
	ASSERT_EQ(be_atomic_add(&self->be, v, 2, &old), 0);
	EXPECT_EQ(old, 40);
	EXPECT_EQ(*v, 42);
	munmap(v, PAGE);
}

/* === device memory: VRAM through drm_pagemap (render node, private) === */

/* Does the path have device-private VRAM it can migrate to? */
static bool path_has_vram(struct backend *be)
{
	return be->drm ? has_devmem(be) : !is_coherent(be->fd);
}

/*
 * prefetch to VRAM: the range moves (migrate_to_vram counts it), the device
 * works on it there without faulting it back, and the CPU reads it back.
 */
TEST_F(sys, prefetch_vram)
{
	size_t len = 4UL << 20;
	__u8 *p = map_thp(len);
	__u64 pages = 0, before;

	ASSERT_NE(p, NULL);
	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	pattern_fill(p, len, 50);
	before = be_migrated_to_vram(&self->be);
	ASSERT_EQ(be_prefetch_vram(&self->be, p, len, &pages), 0);
	EXPECT_EQ(pages, len / PAGE);
	EXPECT_EQ(be_migrated_to_vram(&self->be) - before, len / PAGE);
	/* the device copies within VRAM: the first half over the second */
	ASSERT_EQ(be_copy(&self->be, p + len / 2, p, len / 2), 0);
	EXPECT_EQ(be_migrated_to_vram(&self->be) - before, len / PAGE);
	/* the CPU faults it back */
	EXPECT_EQ(pattern_errors(p + len / 2, len / 2, 50), 0);
	EXPECT_EQ(pattern_errors(p, len / 2, 50), 0);
	munmap(p, len);
}

/* prefetch back to system memory after VRAM: data intact, faults none. */
TEST_F(sys, prefetch_vram_then_system)
{
	size_t len = 1UL << 20;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 pages = 0;

	ASSERT_NE(p, NULL);
	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	pattern_fill(p, len, 51);
	ASSERT_EQ(be_prefetch_vram(&self->be, p, len, &pages), 0);
	ASSERT_EQ(be_fill(&self->be, p, 0x5151515151515151ull, PAGE), 0);
	ASSERT_EQ(be_prefetch_system(&self->be, p, len, &pages), 0);
	EXPECT_EQ(fill_errors(p, PAGE, 0x5151515151515151ull), 0);
	for (size_t i = PAGE; i < len; i++)
		ASSERT_EQ(p[i], pattern_byte(i, 51));
	munmap(p, len);
}

/* madvise preferred location VRAM: a device fault migrates the range. */
TEST_F(sys, madvise_preferred_vram)
{
	size_t len = 2UL << 20;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *src = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 before;

	ASSERT_NE(p, NULL);
	ASSERT_NE(src, NULL);
	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	memset(p, 0, len);
	pattern_fill(src, len, 52);
	ASSERT_EQ(be_madvise(&self->be, p, len, DRM_SVMGPU_ATTR_PREFERRED_LOC,
			     DRM_SVMGPU_REGION_VRAM), 0);
	before = be_migrated_to_vram(&self->be);
	ASSERT_EQ(be_copy(&self->be, p, src, len), 0);
	EXPECT_GT(be_migrated_to_vram(&self->be), before);
	EXPECT_EQ(pattern_errors(p, len, 52), 0);
	munmap(p, len);
	munmap(src, len);
}

/* madvise over file memory: it cannot move; the device mirrors it. */
TEST_F(sys, madvise_preferred_vram_file)
{
	struct mem m;

	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	ASSERT_EQ(mem_alloc(&m, MEM_FILE, 256 * 1024), 0);
	memset(m.p, 0, m.len);
	ASSERT_EQ(be_madvise(&self->be, m.p, m.len,
			     DRM_SVMGPU_ATTR_PREFERRED_LOC,
			     DRM_SVMGPU_REGION_VRAM), 0);
	ASSERT_EQ(be_fill(&self->be, m.p, 0x5353535353535353ull, m.len), 0);
	EXPECT_EQ(fill_errors(m.p, m.len, 0x5353535353535353ull), 0);
	mem_free(&m);
}

/*
 * evict-malloc: a working set twice the VRAM size, preferred in VRAM: the
 * least recently used goes back to system memory as the rest comes in,
 * physically; every byte survives.
 */
static void evict_malloc(struct __test_metadata *_metadata,
			 struct backend *be, size_t len, unsigned int seed)
{
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(p, NULL);
	memset(p, 0, len);
	ASSERT_EQ(be_madvise(be, p, len, DRM_SVMGPU_ATTR_PREFERRED_LOC,
			     DRM_SVMGPU_REGION_VRAM), 0);
	for (size_t off = 0; off < len; off += THP_SIZE)
		ASSERT_EQ(be_fill(be, p + off, 0x0101010101010101ull *
				  (__u8)(seed + off / THP_SIZE), THP_SIZE), 0);
	for (size_t off = 0; off < len; off += THP_SIZE)
		ASSERT_EQ(fill_errors(p + off, THP_SIZE, 0x0101010101010101ull *
				      (__u8)(seed + off / THP_SIZE)), 0);
	munmap(p, len);
}

static size_t vram_size(struct backend *be)
{
	struct drm_svmgpu_query q = { 0 };
	struct svmgpu_info info = { 0 };

	if (be->drm) {
		ioctl(be->fd, DRM_IOCTL_SVMGPU_QUERY, &q);
		return q.vram_size;
	}
	ioctl(be->fd, SVMGPU_IOCTL_GET_INFO, &info);
	return info.vram_size;
}

/* 2x VRAM through TCG: more than the harness's 30 s on a debug kernel */
TEST_F_TIMEOUT(sys, evict_malloc, 180)
{
	__u64 before;

	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	before = be_evicted(&self->be);
	evict_malloc(_metadata, &self->be, 2 * vram_size(&self->be), 60);
	EXPECT_GT(be_evicted(&self->be), before);
}

/* processes-evict-malloc: three processes, together 2x VRAM, at once. */
TEST_F_TIMEOUT(sys, processes_evict_malloc, 180)
{
	enum { N = 3 };
	size_t each = (2 * vram_size(&self->be) / N) & ~(THP_SIZE - 1);
	pid_t pid[N];

	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			struct backend be;

			if (be_open(&be))
				_exit(2);
			evict_malloc(_metadata, &be, each, 70 + 16 * i);
			_exit(_metadata->exit_code ? 1 : 0);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		ASSERT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/*
 * Device atomics without sysmem atomics: the page moves to VRAM for them
 * and stays for a timeslice; the CPU reads the result afterwards.
 */
TEST_F(sys, atomic_in_vram)
{
	__u64 *v = map_anon(PAGE, PROT_READ | PROT_WRITE), old = 0;

	ASSERT_NE(v, NULL);
	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	ASSERT_EQ(be_madvise(&self->be, v, PAGE, DRM_SVMGPU_ATTR_ATOMIC,
			     DRM_SVMGPU_ATOMIC_DEVICE), 0);
	v[0] = 1000;
	v[1] = 7;
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(be_atomic_add(&self->be, v, 3, &old), 0);
		ASSERT_EQ(old, 1000 + 3 * i);
	}
	EXPECT_EQ(v[0], 1300);
	EXPECT_EQ(v[1], 7);
	munmap(v, PAGE);
}

/*
 * Device atomics while a CPU thread adds to the same counter: every atomic
 * succeeds and no add is lost. The CPU thread takes the page back to
 * system memory whenever a timeslice ends, so each device atomic has to
 * win the page again.
 */
static void atomic_against_cpu(struct __test_metadata *_metadata,
			       struct backend *be, int n)
{
	__u64 *v = map_anon(PAGE, PROT_READ | PROT_WRITE);
	int stop = 0;
	struct cpu_adder cpu = { .stop = &stop };
	int i, ret = 0;

	ASSERT_NE(v, NULL);
	ASSERT_EQ(be_madvise(be, v, PAGE, DRM_SVMGPU_ATTR_ATOMIC,
			     DRM_SVMGPU_ATOMIC_DEVICE), 0);
	*v = 0;
	cpu.counter = v;
	ASSERT_EQ(pthread_create(&cpu.thread, NULL, cpu_adder_main, &cpu), 0);
	for (i = 0; i < n; i++) {
		ret = be_atomic_add(be, v, 1, NULL);
		if (ret)
			break;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(cpu.thread, NULL);
	EXPECT_EQ(ret, 0) TH_LOG("atomic %d of %d failed", i + 1, n);
	EXPECT_EQ(*v, i + cpu.adds);
	munmap(v, PAGE);
}

TEST_F(sys, atomic_concurrent_cpu)
{
	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	atomic_against_cpu(_metadata, &self->be, 200);
}

#define ATOMIC_TIMESLICE "/sys/module/svmgpu/parameters/atomic_timeslice_ms"

/*
 * The same with a 1 ms timeslice, shorter than a move to VRAM and its
 * get_pages take under TCG: the CPU thread takes the page back before the
 * device is mapped, round after round, until the timeslice has grown
 * past that latency. The atomic must still complete (it failed with EBUSY
 * after xe's three rounds: 5, 10 and 20 ms were too short on a debug
 * kernel behind an IOMMU).
 */
TEST_F_TIMEOUT(sys, atomic_concurrent_cpu_short_timeslice, 120)
{
	char saved[16] = "";
	FILE *f;

	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	f = fopen(ATOMIC_TIMESLICE, "r");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(saved, sizeof(saved), f), NULL);
	fclose(f);
	ASSERT_EQ(write_sysfs(ATOMIC_TIMESLICE, "1"), 0);
	atomic_against_cpu(_metadata, &self->be, 100);
	EXPECT_EQ(write_sysfs(ATOMIC_TIMESLICE, saved), 0);
}

/* An atomic on file memory cannot go to VRAM: EOPNOTSUPP, data intact. */
TEST_F(sys, atomic_file_refused)
{
	struct mem m;
	struct drm_svmgpu_query q = { 0 };

	if (!self->be.drm)
		SKIP(return, "the own core makes file pages exclusive or fails alike");
	ASSERT_EQ(ioctl(self->be.fd, DRM_IOCTL_SVMGPU_QUERY, &q), 0);
	if (q.flags & DRM_SVMGPU_QUERY_SYSMEM_ATOMICS)
		SKIP(return, "the device does atomics on system memory");
	ASSERT_EQ(mem_alloc(&m, MEM_FILE, PAGE), 0);
	*(__u64 *)m.p = 9;
	EXPECT_EQ(be_atomic_add(&self->be, m.p, 1, NULL), EOPNOTSUPP);
	EXPECT_EQ(*(__u64 *)m.p, 9);
	mem_free(&m);
}

/*
 * process-many-malloc with VRAM (IGT's, where drm_gpusvm.c's XXX comes
 * from): the parent has data in VRAM when it forks, so the children's heaps
 * share its device pages; each child mallocs 16 KiB at a time, prefers VRAM
 * for it and has the device write it.
 */
TEST_F(sys, processes_many_malloc_vram)
{
	enum { N = 4, M = 24 };
	size_t warm = 256 * 1024;
	__u8 *heap = malloc(warm);
	pid_t pid[N];

	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	ASSERT_NE(heap, NULL);
	memset(heap, 0x17, warm);
	/* the parent's heap pages go to VRAM: the children inherit them */
	ASSERT_EQ(be_madvise(&self->be,
			     (void *)((uintptr_t)heap & ~(PAGE - 1)),
			     warm & ~(PAGE - 1), DRM_SVMGPU_ATTR_PREFERRED_LOC,
			     DRM_SVMGPU_REGION_VRAM), 0);
	ASSERT_EQ(be_fill(&self->be, heap + PAGE, 0x1818181818181818ull,
			  warm - 2 * PAGE), 0);
	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			struct backend be;
			int bad = 0;

			if (be_open(&be))
				_exit(2);
			for (int j = 0; j < M; j++) {
				__u32 *v = malloc(16 * 1024);
				uintptr_t a = ((uintptr_t)v + PAGE - 1) &
					      ~(PAGE - 1);

				if (!v) {
					bad++;
					continue;
				}
				be_madvise(&be, (void *)a, 2 * PAGE,
					   DRM_SVMGPU_ATTR_PREFERRED_LOC,
					   DRM_SVMGPU_REGION_VRAM);
				if (be_write32(&be, (void *)a, 0xab00 + j) ||
				    *(__u32 *)a != 0xab00u + j)
					bad++;
				free(v);
			}
			/* the inherited heap is intact */
			for (size_t k = PAGE; k < warm - PAGE; k += 512)
				bad += heap[k] != 0x18;
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		ASSERT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(WEXITSTATUS(status), 0);
	}
	EXPECT_EQ(heap[PAGE], 0x18);
	free(heap);
}

/* How many of @n residency bytes have @where and all of @bits. */
static unsigned long res_count(const __u8 *b, unsigned long n, __u8 where,
			       __u8 bits)
{
	unsigned long c = 0;

	for (unsigned long i = 0; i < n; i++)
		c += (b[i] & SVMGPU_RES_WHERE_MASK) == where &&
		     (b[i] & bits) == bits;
	return c;
}

/* Residency: what the CPU and the device map, read without faulting. */
TEST_F(sys, residency)
{
	enum { N = 64 };
	__u8 *p = map_anon(N * PAGE, PROT_READ | PROT_WRITE), res[N];
	__u64 pages;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(madvise(p, N * PAGE, MADV_NOHUGEPAGE), 0);
	ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
	EXPECT_EQ(res_count(res, N, SVMGPU_RES_NONE, 0), N);
	/* the walk faulted nothing in */
	ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
	EXPECT_EQ(res_count(res, N, SVMGPU_RES_NONE, 0), N);

	memset(p, 1, N * PAGE / 2);
	ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
	EXPECT_EQ(res_count(res, N / 2, SVMGPU_RES_SYSTEM,
			    SVMGPU_RES_READ | SVMGPU_RES_WRITE), N / 2);
	EXPECT_EQ(res_count(res + N / 2, N / 2, SVMGPU_RES_NONE, 0), N / 2);
	EXPECT_EQ(res_count(res, N, SVMGPU_RES_SYSTEM, SVMGPU_RES_DEV_MAPPED),
		  0);

	ASSERT_EQ(be_fill(&self->be, p, 0x0202020202020202ull, PAGE), 0);
	ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
	EXPECT_TRUE(res[0] & SVMGPU_RES_DEV_MAPPED);

	if (path_has_vram(&self->be)) {
		ASSERT_EQ(be_prefetch_vram(&self->be, p, N * PAGE, &pages), 0);
		ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
		EXPECT_EQ(res_count(res, N, SVMGPU_RES_VRAM, 0), N);
		if (self->be.drm)	/* a prefetch maps what it moves */
			EXPECT_EQ(res_count(res, N, SVMGPU_RES_VRAM,
					    SVMGPU_RES_DEV_MAPPED), N);
		/* the CPU takes one page back */
		EXPECT_EQ(p[0], 2);
		ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
		EXPECT_EQ(res[0] & SVMGPU_RES_WHERE_MASK, SVMGPU_RES_SYSTEM);
	}
	ASSERT_EQ(munmap(p + N * PAGE / 2, N * PAGE / 2), 0);
	ASSERT_EQ(be_residency(&self->be, p, N, res), 0);
	EXPECT_EQ(res_count(res + N / 2, N / 2, SVMGPU_RES_NONE, 0), N / 2);
	EXPECT_EQ(res_count(res + N / 2, N / 2, SVMGPU_RES_NONE,
			    SVMGPU_RES_DEV_MAPPED), 0);
	munmap(p, N * PAGE / 2);
}

/*
 * VRAM pages shared copy-on-write by fork: a device write in the parent
 * must break COW (the child keeps its copy), not be mapped read-only and
 * fault forever, nor be mapped writable and change the child's copy.
 */
TEST_F(sys, fork_vram_cow)
{
	size_t len = 256 * 1024;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	int go[2], status;
	pid_t pid;
	char c;

	ASSERT_NE(p, NULL);
	if (!path_has_vram(&self->be))
		SKIP(return, "no device-private VRAM on this path");
	pattern_fill(p, len, 90);
	ASSERT_EQ(be_prefetch_vram(&self->be, p, len, NULL), 0);
	ASSERT_EQ(pipe(go), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(pattern_errors(p, len, 90) ? 1 : 0);
	}
	close(go[0]);
	EXPECT_EQ(be_fill(&self->be, p, 0x9191919191919191ull, len), 0);
	EXPECT_EQ(fill_errors(p, len, 0x9191919191919191ull), 0);
	ASSERT_EQ(write(go[1], "x", 1), 1);
	close(go[1]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0) TH_LOG("the child's copy changed");
	munmap(p, len);
}

/*
 * Unbinding evicts render-node VRAM too: the pages come back to system
 * memory physically and every byte is intact; the device binds again.
 */
TEST(unbind_evicts_devmem)
{
	size_t len = 4UL << 20;
	__u8 *p = map_thp(len);
	struct svmgpu_info info = { 0 };
	struct backend be;
	char bdf[32];
	int fd;

	if (!backend_is_drm())
		SKIP(return, "the own core's is migrate.unbind_evicts");
	ASSERT_NE(p, NULL);
	ASSERT_EQ(be_open(&be), 0);
	if (!has_devmem(&be)) {
		be_close(&be);
		SKIP(return, "no device memory on the render node");
	}
	fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
	close(fd);
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", info.pci_segment,
		 info.pci_bus, info.pci_devfn >> 3, info.pci_devfn & 7);
	pattern_fill(p, len, 80);
	ASSERT_EQ(be_prefetch_vram(&be, p, len, NULL), 0);
	ASSERT_EQ(be_copy(&be, p, p + PAGE, PAGE), 0);
	be_close(&be);

	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/unbind", bdf), 0);
	for (size_t i = 0; i < PAGE; i++)
		ASSERT_EQ(p[i], pattern_byte(i + PAGE, 80));
	for (size_t i = PAGE; i < len; i++)
		ASSERT_EQ(p[i], pattern_byte(i, 80));
	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/bind", bdf), 0);
	ASSERT_EQ(be_open(&be), 0);
	be_close(&be);
	munmap(p, len);
}

TEST_HARNESS_MAIN
