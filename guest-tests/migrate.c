// SPDX-License-Identifier: GPL-2.0
/*
 * Migration to and from device-private VRAM: data moves with the engine,
 * the CPU faults pages back (migrate_to_ram), the device works on VRAM
 * through its own page tables, and unbinding the device evicts every page
 * back to system memory intact. Every test checks the data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"

FIXTURE(migrate) {
	int fd;
};

FIXTURE_SETUP(migrate)
{
	self->fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(migrate)
{
	close(self->fd);
}

/*
 * To VRAM, then the CPU reads, byte-exact: device-private pages fault back
 * to system memory one by one; device-coherent ones are read in place.
 */
TEST_F(migrate, cpu_reads_vram_pages)
{
	size_t len = 64 * PAGE;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	struct svmgpu_stats before = stats(self->fd), after;
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	pattern_fill(p, len, 1);
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	EXPECT_EQ(moved, 64);
	after = stats(self->fd);
	EXPECT_EQ(after.migrated_to_vram - before.migrated_to_vram, 64);
	EXPECT_EQ(pattern_errors(p, len, 1), 0);
	EXPECT_EQ(stats(self->fd).migrated_to_ram - after.migrated_to_ram,
		  is_coherent(self->fd) ? 0 : 64);
}

/*
 * Code in VRAM, rewritten by the device: the CPU must run the new code.
 * A CPU emulated by QEMU's TCG caches the translation of a page it ran;
 * an engine write to that page (coherent VRAM, which the CPU runs in
 * place) must drop it, as a DMA write to RAM does (issue 14: the engine
 * wrote VRAM through a raw pointer, and the CPU went on running the old
 * code). In private mode the page runs in system memory, the same check.
 */
TEST_F(migrate, device_rewrites_code_in_vram)
{
	/* mov eax, imm32; ret */
	static const __u8 code[] = { 0xb8, 1, 0, 0, 0, 0xc3 };
	__u8 *page = map_anon(PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
	__u8 *next = map_anon(PAGE, PROT_READ | PROT_WRITE);
	int (*fn)(void) = (int (*)(void))page;
	__u64 moved = 0;

	ASSERT_NE(page, NULL);
	ASSERT_NE(next, NULL);
	memcpy(page, code, sizeof(code));
	ASSERT_EQ(dev_migrate(self->fd, page, PAGE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, 1);
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(fn(), 1);
	for (int v = 2; v < 6; v++) {
		memcpy(next, code, sizeof(code));
		next[1] = v;
		/* the device writes the new immediate where the code runs */
		ASSERT_EQ(dev_copy(self->fd, page + 1, next + 1, 1), 0);
		EXPECT_EQ(page[1], v);
		EXPECT_EQ(fn(), v);
	}
	munmap(page, PAGE);
	munmap(next, PAGE);
}

/* Coherent VRAM: a CPU write lands in VRAM, where the device reads it. */
TEST_F(migrate, cpu_writes_coherent_vram)
{
	size_t len = 8 * PAGE;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 before, moved = 0;

	if (!is_coherent(self->fd))
		SKIP(return, "device-private VRAM is not CPU-addressable");
	ASSERT_NE(p, NULL);
	ASSERT_NE(b, NULL);
	memset(p, 0, len);
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	ASSERT_EQ(moved, 8);
	before = stats(self->fd).migrated_to_ram;
	pattern_fill(p, len, 7);			/* in place, in VRAM */
	ASSERT_EQ(dev_copy(self->fd, b, p, len), 0);
	EXPECT_EQ(pattern_errors(b, len, 7), 0);
	EXPECT_EQ(stats(self->fd).migrated_to_ram, before);
}

/* The device reads and writes memory that lives in its VRAM. */
TEST_F(migrate, device_works_in_vram)
{
	size_t len = 32 * PAGE;
	__u8 *a = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 moved = 0;

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	pattern_fill(a, len, 2);
	memset(b, 0, len);
	ASSERT_EQ(dev_migrate(self->fd, a, len, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	ASSERT_EQ(moved, 32);
	ASSERT_EQ(dev_migrate(self->fd, b, len, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	ASSERT_EQ(moved, 32);
	/* VRAM to VRAM, through the mirror's VRAM-aperture entries */
	ASSERT_EQ(dev_copy(self->fd, b, a, len), 0);
	/* explicitly back, then the CPU checks without faulting */
	ASSERT_EQ(dev_migrate(self->fd, b, len, SVMGPU_MIGRATE_TO_SYSTEM, &moved),
		  0);
	EXPECT_EQ(moved, 32);
	EXPECT_EQ(pattern_errors(b, len, 2), 0);
	EXPECT_EQ(pattern_errors(a, len, 2), 0);
}

/*
 * Device atomics: the device does them in its VRAM directly; on system
 * memory the driver first makes the page device-exclusive.
 */
TEST_F(migrate, atomics_in_vram)
{
	__u64 *p = (__u64 *)map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_ATOMIC, .atomic_op = SVMGPU_ATOM_ADD,
		.width = 8, .operand = 5,
	};
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	p[0] = 100;
	p[512] = 200;
	/* on system memory: through device-exclusive access (atomic.c) */
	c.dst = (uintptr_t)&p[0];
	EXPECT_EQ(submit_one(self->fd, &c), 0);
	EXPECT_EQ(p[0], 105);

	ASSERT_EQ(dev_migrate(self->fd, p, 4 * PAGE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, 4);
	memset(&c.status, 0, sizeof(c.status));
	c.result = 0;
	c.dst = (uintptr_t)&p[512];
	EXPECT_EQ(submit_one(self->fd, &c), 0);
	EXPECT_EQ(c.result, 200);		/* the old value */
	EXPECT_EQ(p[512], 205);
}

/* The residency query says where pages are, and changes nothing. */
TEST_F(migrate, residency)
{
	__u8 *p = map_anon(6 * PAGE, PROT_READ | PROT_WRITE), res[6];
	const __u8 rw = SVMGPU_RES_READ | SVMGPU_RES_WRITE;
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(munmap(p + 5 * PAGE, PAGE), 0);	/* page 5: a hole */
	p[PAGE] = 1;					/* page 1: written */
	ASSERT_EQ(mprotect(p + 2 * PAGE, PAGE, PROT_READ), 0);
	EXPECT_EQ(p[2 * PAGE], 0);			/* page 2: zero page, RO */
	p[3 * PAGE] = 3;				/* page 3: to VRAM */
	ASSERT_EQ(dev_migrate(self->fd, p + 3 * PAGE, PAGE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, 1);

	ASSERT_EQ(dev_residency(self->fd, p, 6, res), 0);
	EXPECT_EQ(res[0], SVMGPU_RES_NONE);		/* never touched */
	EXPECT_EQ(res[1], SVMGPU_RES_SYSTEM | rw);
	EXPECT_EQ(res[2], SVMGPU_RES_SYSTEM | SVMGPU_RES_READ);
	EXPECT_EQ(res[3], SVMGPU_RES_VRAM | rw);
	EXPECT_EQ(res[4], SVMGPU_RES_NONE);
	EXPECT_EQ(res[5], SVMGPU_RES_NONE);		/* the hole */
	/* asking moved nothing: page 3 is still in VRAM */
	ASSERT_EQ(dev_residency(self->fd, p + 3 * PAGE, 1, res), 0);
	EXPECT_EQ(res[0], SVMGPU_RES_VRAM | rw);
	EXPECT_EQ(p[3 * PAGE], 3);

	EXPECT_EQ(dev_residency(self->fd, p, 0, res), -EINVAL);
	EXPECT_EQ(dev_residency(self->fd, p + 1, 1, res), -EINVAL);
	EXPECT_EQ(dev_residency(self->fd, p, SVMGPU_RESIDENCY_MAX_PAGES + 1, res),
		  -EINVAL);
	EXPECT_EQ(dev_residency(self->fd, p, 1, (__u8 *)16), -EFAULT);
}

/*
 * Migrate on fault: the device's first touch moves the pages to VRAM; with
 * the default policy they are mirrored where they are.
 */
TEST_F(migrate, migrate_on_fault_policy)
{
	size_t len = 32 * PAGE;
	__u8 *m = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *s = map_anon(len, PROT_READ | PROT_WRITE), res[32];
	__u64 before = stats(self->fd).migrated_to_vram;

	ASSERT_NE(m, NULL);
	ASSERT_NE(s, NULL);
	pattern_fill(m, len, 8);
	pattern_fill(s, len, 8);
	ASSERT_EQ(set_policy(self->fd, m, len, SVMGPU_POLICY_MIGRATE_ON_FAULT,
			     SVMGPU_POLICY_ATOMIC_EXCLUSIVE), 0);
	ASSERT_EQ(dev_fill(self->fd, m + 5 * PAGE, 0, 8), 0);
	ASSERT_EQ(dev_fill(self->fd, s + 5 * PAGE, 0, 8), 0);

	/*
	 * The faulting page's 64 KiB window moved, clamped to m (its VMA may
	 * have merged with s's: the policy range still bounds the move); all
	 * of s stayed.
	 */
	uintptr_t ws = ((uintptr_t)m + 5 * PAGE) & ~(16 * PAGE - 1);

	ASSERT_EQ(dev_residency(self->fd, m, 32, res), 0);
	for (int i = 0; i < 32; i++) {
		uintptr_t a = (uintptr_t)m + i * PAGE;
		int want = a >= ws && a < ws + 16 * PAGE ? SVMGPU_RES_VRAM :
							   SVMGPU_RES_SYSTEM;

		EXPECT_EQ(res[i] & SVMGPU_RES_WHERE_MASK, want) TH_LOG("page %d", i);
	}
	EXPECT_GE(stats(self->fd).migrated_to_vram - before, 1);
	ASSERT_EQ(dev_residency(self->fd, s, 32, res), 0);
	for (int i = 0; i < 32; i++)
		EXPECT_EQ(res[i] & SVMGPU_RES_WHERE_MASK, SVMGPU_RES_SYSTEM);

	/* every byte is right, the device's 8 zero bytes included */
	for (size_t i = 0; i < len; i++) {
		__u8 want = i >= 5 * PAGE && i < 5 * PAGE + 8 ? 0 :
			    pattern_byte(i, 8);

		ASSERT_EQ(m[i], want) TH_LOG("m[%zu]", i);
		ASSERT_EQ(s[i], want) TH_LOG("s[%zu]", i);
	}
	EXPECT_EQ(set_policy(self->fd, m, len, 7, 0), -EINVAL);
	EXPECT_EQ(set_policy(self->fd, m, len, 0, 2), -EINVAL);
	EXPECT_EQ(set_policy(self->fd, m + 1, len, 0, 0), -EINVAL);
}

/* debugfs tells VRAM use and the device's migration counters. */
TEST_F(migrate, debugfs)
{
	__u8 *p = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);
	long used, to_vram;
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	used = debugfs_value("vram", "used");
	to_vram = debugfs_value("stats", "migrated_to_vram");
	ASSERT_GE(used, 0);
	ASSERT_GE(to_vram, 0);
	EXPECT_EQ(debugfs_value("vram", "pages"), debugfs_value("vram", "size") /
						 (long)PAGE);
	memset(p, 1, 8 * PAGE);
	ASSERT_EQ(dev_migrate(self->fd, p, 8 * PAGE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, 8);
	EXPECT_EQ(debugfs_value("vram", "used"), used + 8);
	EXPECT_EQ(debugfs_value("stats", "migrated_to_vram"), to_vram + 8);
	ASSERT_EQ(munmap(p, 8 * PAGE), 0);	/* frees the VRAM pages */
	EXPECT_EQ(debugfs_value("vram", "used"), used);
}

/* Never-touched anonymous memory migrates as zeroed VRAM pages. */
TEST_F(migrate, holes_are_zero)
{
	size_t len = 16 * PAGE;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	EXPECT_EQ(moved, 16);
	for (size_t i = 0; i < len; i++)
		ASSERT_EQ(p[i], 0);
}

/* File-backed memory stays where it is, intact. */
TEST_F(migrate, shared_file_stays)
{
	int mfd = memfd_create("svmgpu-migrate", 0);
	__u8 *p;
	__u64 moved = 99;

	ASSERT_GE(mfd, 0);
	ASSERT_EQ(ftruncate(mfd, 8 * PAGE), 0);
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(p, MAP_FAILED);
	pattern_fill(p, 8 * PAGE, 3);
	ASSERT_EQ(dev_migrate(self->fd, p, 8 * PAGE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	EXPECT_EQ(moved, 0);
	EXPECT_EQ(pattern_errors(p, 8 * PAGE, 3), 0);
	munmap(p, 8 * PAGE);
	close(mfd);
}

/*
 * More than VRAM holds: every window still moves, the least recently used
 * VRAM is evicted to make room, and nothing is lost either way.
 */
TEST_F(migrate, vram_oversubscribed)
{
	struct svmgpu_stats before = stats(self->fd);
	struct svmgpu_info info;
	size_t len;
	__u8 *p;
	__u64 moved = 0;

	ASSERT_EQ(ioctl(self->fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
	len = info.vram_size + 64 * PAGE;
	p = map_anon(len, PROT_READ | PROT_WRITE);
	ASSERT_NE(p, NULL);
	pattern_fill(p, len, 4);
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved),
		  0);
	EXPECT_EQ(moved, len / PAGE);
	EXPECT_GE(stats(self->fd).evicted - before.evicted, 64);
	EXPECT_EQ(pattern_errors(p, len, 4), 0);
	munmap(p, len);
}

/* Blocks of svmgpu0's VRAM that hold one 2 MiB folio (debugfs blocks). */
static int vram_folio_blocks(void)
{
	FILE *f = fopen("/sys/kernel/debug/svmgpu0/blocks", "r");
	unsigned int rank, block, pages;
	unsigned long long offset;
	char line[128], size[8];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %llx %u %7s", &rank, &block, &offset,
			   &pages, size) == 5 && !strcmp(size, "2M"))
			n++;
	fclose(f);
	return n;
}

/*
 * Transparent huge pages move as 2 MiB device folios in private mode: the
 * CPU still maps them huge (a device-private PMD), a CPU fault brings the
 * whole 2 MiB back at once, and eviction moves them whole too. In coherent
 * mode they move as 4 KiB pages (the core could not migrate a coherent THP
 * back). The data is right at every step.
 */
TEST_F(migrate, thp_moves_as_one_folio)
{
	size_t len = 2 * THP_SIZE;
	__u8 *p = map_thp(len), *want = malloc(len), res[2 * 512];
	const unsigned int per = THP_SIZE / PAGE;
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	ASSERT_NE(want, NULL);
	pattern_fill(p, len, 31);
	ASSERT_EQ(dev_residency(self->fd, p, 2 * per, res), 0);
	if (!(res[0] & SVMGPU_RES_HUGE))
		SKIP(return, "the kernel gave no THP");
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved),
		  0);
	EXPECT_EQ(moved, 2 * per);
	EXPECT_EQ(debugfs_value("vram", "used"), 2 * per);
	EXPECT_EQ(vram_folio_blocks(), is_coherent(self->fd) ? 0 : 2);
	ASSERT_EQ(dev_residency(self->fd, p, 2 * per, res), 0);
	for (unsigned int i = 0; i < 2 * per; i++)
		ASSERT_EQ(res[i], SVMGPU_RES_VRAM | SVMGPU_RES_READ |
			  SVMGPU_RES_WRITE |
			  (is_coherent(self->fd) ? 0 : SVMGPU_RES_HUGE));

	/* one CPU read: private pages come back whole, coherent stay */
	EXPECT_EQ(p[5], pattern_byte(5, 31));
	ASSERT_EQ(dev_residency(self->fd, p, 2 * per, res), 0);
	EXPECT_EQ(res[0] & SVMGPU_RES_WHERE_MASK,
		  is_coherent(self->fd) ? SVMGPU_RES_VRAM : SVMGPU_RES_SYSTEM);
	EXPECT_EQ(res[per - 1] & SVMGPU_RES_WHERE_MASK,
		  res[0] & SVMGPU_RES_WHERE_MASK);
	EXPECT_EQ(res[per] & SVMGPU_RES_WHERE_MASK, SVMGPU_RES_VRAM);

	/* and back, whole */
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_SYSTEM,
			      &moved), 0);
	EXPECT_EQ(moved, is_coherent(self->fd) ? 2 * per : per);
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	EXPECT_EQ(moved, 2 * per);

	/* the device works on the folio in VRAM, then all is evicted */
	ASSERT_EQ(dev_fill(self->fd, p + THP_SIZE + 8 * PAGE, 0, PAGE), 0);
	ASSERT_EQ(dev_evict(self->fd, NULL), 0);
	EXPECT_EQ(debugfs_value("vram", "used"), 0);
	pattern_fill(want, len, 31);
	memset(want + THP_SIZE + 8 * PAGE, 0, PAGE);
	EXPECT_EQ(first_difference(p, want, len), -1);
	free(want);
}

/*
 * The device maps a 2 MiB device folio in VRAM (private mode) with one
 * 2 MiB VRAM leaf, and loses it whole when a CPU touch takes the folio
 * back; coherent mode's 4 KiB VRAM pages get 4 KiB leaves, and the CPU
 * reads them in place.
 */
TEST_F(migrate, vram_thp_mapped_2m)
{
	const unsigned long per = THP_SIZE / PAGE;
	const __u8 dev = SVMGPU_RES_DEV_MAPPED | SVMGPU_RES_DEV_HUGE;
	__u8 *p = map_thp(THP_SIZE), *b = map_anon(PAGE, PROT_READ | PROT_WRITE);
	int coherent = is_coherent(self->fd);
	__u8 res[512];
	__u64 moved = 0, faults;

	ASSERT_NE(p, NULL);
	ASSERT_NE(b, NULL);
	pattern_fill(p, THP_SIZE, 5);
	ASSERT_EQ(dev_residency(self->fd, p, 1, res), 0);
	ASSERT_TRUE(res[0] & SVMGPU_RES_HUGE) TH_LOG("the kernel gave no THP");
	ASSERT_EQ(dev_migrate(self->fd, p, THP_SIZE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, per);

	faults = own_faults(self->fd);
	ASSERT_EQ(dev_copy(self->fd, b, p + 77 * PAGE, PAGE), 0);
	for (unsigned long i = 0; i < PAGE; i++)
		ASSERT_EQ(b[i], pattern_byte(77 * PAGE + i, 5));
	EXPECT_EQ(own_faults(self->fd) - faults, 2);	/* b, and p's block */
	ASSERT_EQ(dev_residency(self->fd, p, per, res), 0);
	for (unsigned long i = 0; i < per; i++) {
		if (coherent && (i < 64 || i >= 80))
			continue;	/* outside the 64 KiB window */
		ASSERT_EQ(res[i] & (SVMGPU_RES_WHERE_MASK | dev),
			  SVMGPU_RES_VRAM | SVMGPU_RES_DEV_MAPPED |
			  (coherent ? 0 : SVMGPU_RES_DEV_HUGE)) TH_LOG("page %lu", i);
	}

	EXPECT_EQ(p[3], pattern_byte(3, 5));
	ASSERT_EQ(dev_residency(self->fd, p + 77 * PAGE, 1, res), 0);
	EXPECT_EQ(res[0] & (SVMGPU_RES_WHERE_MASK | dev),
		  coherent ? SVMGPU_RES_VRAM | SVMGPU_RES_DEV_MAPPED :
			     SVMGPU_RES_SYSTEM);
	EXPECT_EQ(pattern_errors(p, THP_SIZE, 5), 0);
}

/* The driver's tracepoints fire: a migration, a device fault, eviction. */
TEST_F(migrate, tracepoints)
{
	const char *dir = "/sys/kernel/debug/tracing";
	__u8 *p = map_anon(4 * PAGE, PROT_READ | PROT_WRITE), out[8];
	char path[128], buf[8192];
	ssize_t n;
	int tfd;

	ASSERT_NE(p, NULL);
	snprintf(path, sizeof(path), "%s/events/svmgpu/enable", dir);
	if (access(path, W_OK))
		SKIP(return, "no tracefs at %s", dir);
	snprintf(path, sizeof(path), "%s/trace", dir);
	ASSERT_EQ(write_sysfs(path, ""), 0);		/* clear */
	snprintf(path, sizeof(path), "%s/events/svmgpu/enable", dir);
	ASSERT_EQ(write_sysfs(path, "1"), 0);
	memset(p, 7, 4 * PAGE);
	ASSERT_EQ(dev_copy(self->fd, out, p, 8), 0);
	ASSERT_EQ(dev_migrate(self->fd, p, 4 * PAGE, SVMGPU_MIGRATE_TO_VRAM,
			      NULL), 0);
	ASSERT_EQ(dev_evict(self->fd, NULL), 0);
	ASSERT_EQ(write_sysfs(path, "0"), 0);

	snprintf(path, sizeof(path), "%s/trace", dir);
	tfd = open(path, O_RDONLY);
	ASSERT_GE(tfd, 0);
	n = read(tfd, buf, sizeof(buf) - 1);
	close(tfd);
	ASSERT_GT(n, 0);
	buf[n] = 0;
	EXPECT_NE(strstr(buf, "svmgpu_fault:"), NULL) TH_LOG("%s", buf);
	EXPECT_NE(strstr(buf, "replay"), NULL);
	EXPECT_NE(strstr(buf, "svmgpu_migrate:"), NULL);
	EXPECT_NE(strstr(buf, "to VRAM: 4 pages moved"), NULL);
	EXPECT_NE(strstr(buf, "svmgpu_invalidate:"), NULL);
	EXPECT_NE(strstr(buf, "svmgpu_evict:"), NULL);
}

TEST_F(migrate, bad_arguments)
{
	__u8 *p = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_migrate m = { .addr = (uintptr_t)p, .len = PAGE,
				    .flags = SVMGPU_MIGRATE_TO_VRAM };

	ASSERT_NE(p, NULL);
	EXPECT_EQ(dev_migrate(self->fd, p + 1, PAGE, SVMGPU_MIGRATE_TO_VRAM, NULL),
		  -EINVAL);
	EXPECT_EQ(dev_migrate(self->fd, p, PAGE + 1, SVMGPU_MIGRATE_TO_VRAM, NULL),
		  -EINVAL);
	EXPECT_EQ(dev_migrate(self->fd, p, 0, SVMGPU_MIGRATE_TO_VRAM, NULL),
		  -EINVAL);
	EXPECT_EQ(dev_migrate(self->fd, p, PAGE, 3, NULL), -EINVAL);
	EXPECT_EQ(dev_migrate(self->fd, (void *)0x1000, PAGE,
			      SVMGPU_MIGRATE_TO_VRAM, NULL), -EINVAL);
	m.pad = 1;
	EXPECT_EQ(ioctl(self->fd, SVMGPU_IOCTL_MIGRATE, &m), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(ioctl(self->fd, SVMGPU_IOCTL_MIGRATE, (void *)16), -1);
	EXPECT_EQ(errno, EFAULT);
}

/*
 * Unbinding evicts: the pages come back to system memory (physically,
 * without this process doing anything) and every byte is intact.
 */
TEST_F(migrate, unbind_evicts)
{
	size_t len = 48 * PAGE;
	__u8 *p = map_anon(len, PROT_READ | PROT_WRITE);
	struct svmgpu_info info;
	char bdf[32];
	__u64 moved = 0;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(ioctl(self->fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", info.pci_segment,
		 info.pci_bus, info.pci_devfn >> 3, info.pci_devfn & 7);
	pattern_fill(p, len, 5);
	ASSERT_EQ(dev_migrate(self->fd, p, len, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	ASSERT_EQ(moved, 48);
	close(self->fd);

	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/unbind", bdf), 0);
	EXPECT_EQ(pattern_errors(p, len, 5), 0);
	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/bind", bdf), 0);
	self->fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
}

TEST_HARNESS_MAIN
