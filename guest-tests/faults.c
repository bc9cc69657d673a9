// SPDX-License-Identifier: GPL-2.0
/*
 * The fault-injection campaign: every knob of the device's debug window
 * (debugfs svmgpu0/inject), one at a time, under every data-verifying
 * workload. A case is faults.KNOB.WORKLOAD. What must hold:
 *
 * - every byte is intact, or the operation that failed said so (an errno,
 *   a command status, fewer pages migrated) and left the data where it
 *   was; only the knob's own kind of failure may appear (a DMA error, a
 *   timeout after a hang, poisoned VRAM), and the knobs the driver must
 *   absorb (latency, lost and duplicated interrupts, spurious faults) may
 *   fail nothing at all;
 * - no reset, unless the knob hangs the engine, which must then be reset;
 * - the knob fired (the device counts its injections; a hang shows as a
 *   reset), so that a knob that stopped working cannot pass vacuously;
 * - the device works afterwards: a copy through the mirror verifies;
 * - no kernel splat and no hang (the runner's and the harness's watchdogs).
 *
 * The device's seed is fixed by the run (-global svmgpu.x-seed), so a
 * failure reproduces. Each case prints a "row" line; "faults --table FILE"
 * turns a run's output into the knob x workload table of
 * docs/fault-injection.md.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"
#include "test_hmm_uapi.h"

#define INJECT		"/sys/kernel/debug/svmgpu0/inject"
#define CMD_TIMEOUT_MS	2000	/* a hung user command costs this */
#define OP_TRIES	4	/* runs of an operation that failed as allowed */

FIXTURE(faults) {
	int fd;
	bool coherent;
	long vram_size;
	long injected0;
	long resets0;
	int ops;	/* operations run */
	int failed;	/* of them, failed as the knob allows */
	int stayed;	/* pages a migration left where they were */
	bool timed_out;	/* a user submission timed out (run_cmd()) */
};

/*
 * @arm goes to the inject file: once before the workload, or before each
 * operation's first run (@per_op, the one-shot knobs). @allowed is the
 * errno an operation may fail with; @may_stay lets a migration leave pages
 * behind; @resets says the knob hangs the engine.
 */
FIXTURE_VARIANT(faults) {
	const char *name;
	const char *arm;
	bool per_op;
	int allowed;
	bool may_stay;
	bool resets;
	bool fires;
};

FIXTURE_VARIANT_ADD(faults, none) {
	.name = "none", .arm = "clear",
};

/* The second memory-touching command of each operation fails. */
FIXTURE_VARIANT_ADD(faults, dma_error_nth) {
	.name = "dma_error_nth", .arm = "dma-error-nth 2", .per_op = true, .allowed = EIO,
	.fires = true,
};

/*
 * One memory-touching command in ten fails: a kernel-ring copy may fail
 * all of its tries, and its migration leave pages where they were.
 */
FIXTURE_VARIANT_ADD(faults, dma_error_ppm) {
	.name = "dma_error_ppm", .arm = "dma-error-ppm 100000", .allowed = EIO,
	.may_stay = true, .fires = true,
};

FIXTURE_VARIANT_ADD(faults, latency) {
	.name = "latency", .arm = "latency-us 2000",
};

FIXTURE_VARIANT_ADD(faults, irq_drop) {
	.name = "irq_drop", .arm = "irq-drop-nth 1", .per_op = true, .fires = true,
};

FIXTURE_VARIANT_ADD(faults, irq_dup) {
	.name = "irq_dup", .arm = "irq-dup-nth 1", .per_op = true, .fires = true,
};

FIXTURE_VARIANT_ADD(faults, spurious) {
	.name = "spurious", .arm = "spurious-ppm 100000", .fires = true,
};

/* All of VRAM: nothing can move there, nothing there can be read. */
FIXTURE_VARIANT_ADD(faults, poison) {
	.name = "poison", .arm = "poison-all", .allowed = EHWPOISON, .may_stay = true,
};

FIXTURE_VARIANT_ADD(faults, hang) {
	.name = "hang", .arm = "hang", .allowed = ETIMEDOUT, .may_stay = true, .resets = true,
};

static int inject(struct _test_data_faults *self, const char *what)
{
	return strcmp(what, "poison-all") ? write_sysfs(INJECT, what) :
					    poison_all_vram();
}

FIXTURE_SETUP(faults)
{
	memset(self, 0, sizeof(*self));
	self->fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
	self->coherent = is_coherent(self->fd);
	self->vram_size = debugfs_value("vram", "size");
	ASSERT_GT(self->vram_size, 0);
	if (debugfs_value("inject", "injected") < 0)
		SKIP(return, "needs the device's debug window");
	ASSERT_EQ(write_sysfs(INJECT, "clear"), 0);
	/* a clean start: nothing of an earlier case in VRAM */
	ASSERT_EQ(dev_evict(self->fd, NULL), 0);
	self->injected0 = debugfs_value("inject", "injected");
	self->resets0 = debugfs_value("stats", "resets");
	if (!variant->per_op)
		ASSERT_EQ(inject(self, variant->arm), 0);
}

FIXTURE_TEARDOWN(faults)
{
	write_sysfs(INJECT, "clear");
	close(self->fd);
}

/*
 * The operation about to run: arm a one-shot knob for its first run. An
 * operation that failed as allowed runs again, unarmed.
 */
static void op_start(struct _test_data_faults *self,
		     const struct _fixture_variant_faults *variant, int try)
{
	self->ops++;
	if (variant->per_op && !try)
		inject(self, variant->arm);
}

/* 0, or @ret if the knob allows it (counted); anything else is a failure. */
static bool op_failed_as_allowed(struct __test_metadata *_metadata,
				 struct _test_data_faults *self,
				 const struct _fixture_variant_faults *variant,
				 const char *what, int ret)
{
	if (!ret)
		return false;
	if (variant->allowed && ret == -variant->allowed) {
		self->failed++;
		self->timed_out |= ret == -ETIMEDOUT;
		return true;
	}
	TH_LOG("%s failed: %d (%s)", what, ret, strerror(-ret));
	_metadata->exit_code = KSFT_FAIL;
	return false;
}

/*
 * One user command with a short timeout: -errno of the ioctl or status.
 * A submission that hung the engine banned the file's context (guilty,
 * DOC: Hang recovery): later ones fail with -ECANCELED and run nothing.
 * The case goes on in a new context, as a user would.
 */
static int run_cmd(struct _test_data_faults *self, struct svmgpu_user_cmd *c)
{
	struct svmgpu_submit sub = {
		.cmds = (uintptr_t)c,
		.count = 1,
		.timeout_ms = CMD_TIMEOUT_MS,
	};
	int ret;

	for (int renewed = 0;; renewed++) {
		/* outputs of an earlier run: the driver wants them zero */
		c->status = 0;
		c->result = 0;
		ret = ioctl(self->fd, SVMGPU_IOCTL_SUBMIT, &sub) ? -errno :
								  -(int)c->status;
		if (ret != -ECANCELED || !self->timed_out || renewed)
			return ret;
		close(self->fd);
		self->fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
		if (self->fd < 0)
			return -errno;
	}
}

/*
 * Copy @src to @dst on the device. After a failed run every byte of @dst
 * is its old value or the new one, and @src is untouched. Returns the
 * last run's result.
 */
static int copy_op(struct __test_metadata *_metadata,
		   struct _test_data_faults *self,
		   const struct _fixture_variant_faults *variant,
		   __u8 *dst, const __u8 *src, const __u8 *old, size_t len)
{
	struct svmgpu_user_cmd c = {
		.op = SVMGPU_CMD_COPY, .dst = (uintptr_t)dst,
		.src = (uintptr_t)src, .len = len,
	};
	int ret = -1;

	for (int try = 0; try < OP_TRIES && ret; try++) {
		op_start(self, variant, try);
		ret = run_cmd(self, &c);
		if (!ret)
			break;
		if (!op_failed_as_allowed(_metadata, self, variant, "copy", ret))
			return ret;
		for (size_t i = 0; i < len; i++)
			if (dst[i] != old[i] && dst[i] != src[i]) {
				TH_LOG("failed copy wrote byte %zu: %#x", i,
				       dst[i]);
				_metadata->exit_code = KSFT_FAIL;
				return ret;
			}
	}
	return ret;
}

/* Migrate, counting pages that stayed; a failed ioctl fails the case. */
static void migrate_op(struct __test_metadata *_metadata,
		       struct _test_data_faults *self,
		       const struct _fixture_variant_faults *variant,
		       void *addr, size_t len, __u32 flags)
{
	__u64 moved = 0;
	int ret = -1;

	for (int try = 0; try < OP_TRIES && ret; try++) {
		op_start(self, variant, try);
		ret = dev_migrate(self->fd, addr, len, flags, &moved);
		if (ret && !op_failed_as_allowed(_metadata, self, variant,
						 "migrate", ret))
			return;
	}
	/* to VRAM: count what is not there now (some may have been before) */
	if (flags & SVMGPU_MIGRATE_TO_VRAM) {
		unsigned long npages = len / PAGE, away = 0;
		__u8 *res = malloc(npages);

		ASSERT_NE(res, NULL);
		ASSERT_EQ(dev_residency(self->fd, addr, npages, res), 0);
		for (unsigned long i = 0; i < npages; i++)
			away += (res[i] & SVMGPU_RES_WHERE_MASK) !=
				SVMGPU_RES_VRAM;
		free(res);
		if (away && !variant->may_stay) {
			TH_LOG("migration left %lu of %lu pages behind", away,
			       npages);
			_metadata->exit_code = KSFT_FAIL;
		}
		self->stayed += away;
	}
}

/*
 * What every case ends with: the knob off, the device usable, resets as
 * the knob wants, the knob seen to fire (@uses_vram: the workload puts
 * data in VRAM); then the table row.
 */
static void finish(struct __test_metadata *_metadata,
		   struct _test_data_faults *self,
		   const struct _fixture_variant_faults *variant, bool uses_vram)
{
	__u8 *a = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	long injected, resets;

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	/*
	 * A probability knob may miss a small workload: top it up with a
	 * burst of small copies, each checked like the workload's.
	 */
	if (!variant->per_op && variant->fires) {
		static const __u8 zero[64];

		pattern_fill(a, 16 * PAGE, 76);
		for (int i = 0; i < 64; i++) {
			memset(b, 0, 64);
			if (!copy_op(_metadata, self, variant, b, a + i * 64,
				     zero, 64))
				EXPECT_EQ(memcmp(b, a + i * 64, 64), 0);
		}
	}
	injected = debugfs_value("inject", "injected") - self->injected0;
	ASSERT_EQ(write_sysfs(INJECT, "clear"), 0);
	pattern_fill(a, 16 * PAGE, 77);
	/* the first copy after a hang may meet the reset still under way */
	for (int i = 0; i < 3; i++) {
		struct svmgpu_user_cmd c = {
			.op = SVMGPU_CMD_COPY, .dst = (uintptr_t)b,
			.src = (uintptr_t)a, .len = 16 * PAGE,
		};

		if (!run_cmd(self, &c))
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(pattern_errors(b, 16 * PAGE, 77), 0);
	resets = debugfs_value("stats", "resets") - self->resets0;
	/* a hang must reset the device; nothing else may */
	EXPECT_EQ(resets > 0, variant->resets);
	/* poison is in VRAM: it fires for workloads that use VRAM */
	EXPECT_TRUE(injected > 0 || !(variant->fires ||
				      (variant->allowed == EHWPOISON &&
				       uses_vram)));
	ksft_print_msg("row %s %s %d/%d/%d/%ld/%ld\n", variant->name,
		       _metadata->name, self->ops, self->failed, self->stayed,
		       injected, resets);
	munmap(a, 16 * PAGE);
	munmap(b, 16 * PAGE);
}

/*
 * Device reads and writes through the mirror: copies between system
 * pages the device faults in, the destination rewritten by the CPU between
 * rounds (an invalidation each time), then a fill.
 */
TEST_F_TIMEOUT(faults, mirror, 120)
{
	size_t len = 64 * 1024;
	__u8 *src = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *dst = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *old = malloc(len), *fill = malloc(len);

	ASSERT_NE(src, NULL);
	ASSERT_NE(dst, NULL);
	ASSERT_NE(old, NULL);
	ASSERT_NE(fill, NULL);
	memset(fill, 0x5a, len);
	pattern_fill(src, len, 1);
	for (int round = 0; round < 4; round++) {
		struct svmgpu_user_cmd c = {
			.op = SVMGPU_CMD_FILL, .dst = (uintptr_t)dst,
			.operand = 0x5a5a5a5a5a5a5a5aULL, .len = len,
		};
		int ret = -1;

		pattern_fill(dst, len, 2 + round);
		memcpy(old, dst, len);
		if (!copy_op(_metadata, self, variant, dst, src, old, len))
			EXPECT_EQ(first_difference(dst, src, len), -1);
		EXPECT_EQ(pattern_errors(src, len, 1), 0);
		memcpy(old, dst, len);
		for (int try = 0; try < OP_TRIES && ret; try++) {
			op_start(self, variant, try);
			ret = run_cmd(self, &c);
			if (ret && !op_failed_as_allowed(_metadata, self,
							 variant, "fill", ret))
				break;
		}
		if (!ret)
			EXPECT_EQ(memcmp(dst, fill, len), 0);
	}
	finish(_metadata, self, variant, false);
}

/*
 * 4 KiB pages to VRAM and back: read there by the device, half brought
 * back on request, the other half by the CPU's touch (private mode).
 */
static void migrate_workload(struct __test_metadata *_metadata,
			     struct _test_data_faults *self,
			     const struct _fixture_variant_faults *variant,
			     __u8 *buf, size_t len, unsigned int seed)
{
	__u8 *out = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *zero = calloc(1, len);

	ASSERT_NE(out, NULL);
	ASSERT_NE(zero, NULL);
	pattern_fill(buf, len, seed);
	for (int round = 0; round < 2; round++) {
		memset(out, 0, len);
		migrate_op(_metadata, self, variant, buf, len,
			   SVMGPU_MIGRATE_TO_VRAM);
		if (!copy_op(_metadata, self, variant, out, buf, zero, len))
			EXPECT_EQ(pattern_errors(out, len, seed), 0);
		migrate_op(_metadata, self, variant, buf, len / 2,
			   SVMGPU_MIGRATE_TO_SYSTEM);
		EXPECT_EQ(pattern_errors(buf, len, seed), 0);
	}
	free(zero);
	munmap(out, len);
}

TEST_F_TIMEOUT(faults, migrate_4k, 120)
{
	size_t len = 64 * PAGE;
	__u8 *buf = map_anon(len, PROT_READ | PROT_WRITE);

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(madvise(buf, len, MADV_NOHUGEPAGE), 0);
	migrate_workload(_metadata, self, variant, buf, len, 3);
	finish(_metadata, self, variant, true);
}

/* The same with a 2 MiB folio (whole in private mode). */
TEST_F_TIMEOUT(faults, migrate_2m, 120)
{
	__u8 *buf = map_thp(THP_SIZE);

	ASSERT_NE(buf, NULL);
	migrate_workload(_metadata, self, variant, buf, THP_SIZE, 4);
	finish(_metadata, self, variant, true);
}

/*
 * Twice as much as VRAM, migrated a MiB at a time: each migration evicts
 * the least recently used; then the device reads the first MiB (evicted
 * long ago), the whole device is evicted, and all of it must read back.
 */
TEST_F_TIMEOUT(faults, evict_2x, 180)
{
	size_t len = 2 * self->vram_size, chunk = 1 << 20;
	__u8 *buf = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *out = map_anon(chunk, PROT_READ | PROT_WRITE);
	__u8 *zero = calloc(1, chunk);
	int ret = -1;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(out, NULL);
	ASSERT_NE(zero, NULL);
	ASSERT_EQ(madvise(buf, len, MADV_NOHUGEPAGE), 0);
	pattern_fill(buf, len, 5);
	for (size_t off = 0; off < len; off += chunk)
		migrate_op(_metadata, self, variant, buf + off, chunk,
			   SVMGPU_MIGRATE_TO_VRAM);
	if (!copy_op(_metadata, self, variant, out, buf, zero, chunk))
		EXPECT_EQ(pattern_errors(out, chunk, 5), 0);
	for (int try = 0; try < OP_TRIES && ret; try++) {
		op_start(self, variant, try);
		ret = dev_evict(self->fd, NULL);
		if (ret && !op_failed_as_allowed(_metadata, self, variant,
						 "evict", ret))
			break;
	}
	EXPECT_EQ(pattern_errors(buf, len, 5), 0);
	free(zero);
	munmap(out, chunk);
	munmap(buf, len);
	finish(_metadata, self, variant, true);
}

/*
 * Device atomics on counters a CPU thread adds to at the same time, under
 * each atomic policy: the sum must be exact. A failed atomic did not
 * happen, except one that timed out, which may have.
 */
TEST_F_TIMEOUT(faults, atomics, 180)
{
	static const __u32 policies[] = { SVMGPU_POLICY_ATOMIC_EXCLUSIVE,
					  SVMGPU_POLICY_ATOMIC_VRAM };

	for (unsigned int p = 0; p < 2; p++) {
		__u64 *c = (__u64 *)map_anon(PAGE, PROT_READ | PROT_WRITE);
		int stop = 0, unsure = 0;
		struct cpu_adder cpu = { .stop = &stop };
		__u64 done = 0;

		ASSERT_NE(c, NULL);
		cpu.counter = c;
		*c = 0;
		ASSERT_EQ(set_policy(self->fd, c, PAGE, SVMGPU_POLICY_MIRROR,
				     policies[p]), 0);
		ASSERT_EQ(pthread_create(&cpu.thread, NULL, cpu_adder_main,
					 &cpu), 0);
		for (int i = 0; i < 40; i++) {
			struct svmgpu_user_cmd a = {
				.op = SVMGPU_CMD_ATOMIC,
				.atomic_op = SVMGPU_ATOM_ADD, .width = 8,
				.dst = (uintptr_t)c, .operand = 1,
			};
			int ret;

			op_start(self, variant, 0);
			ret = run_cmd(self, &a);
			if (!ret)
				done++;
			else if (op_failed_as_allowed(_metadata, self, variant,
						      "atomic", ret))
				unsure += ret == -ETIMEDOUT;
			else
				break;
		}
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
		pthread_join(cpu.thread, NULL);
		EXPECT_GE(*c, cpu.adds + done);
		EXPECT_LE(*c, cpu.adds + done + unsure);
		if (*c < cpu.adds + done || *c > cpu.adds + done + unsure)
			TH_LOG("policy %u: counter %llu, cpu %llu, device %llu",
			       policies[p], (unsigned long long)*c,
			       (unsigned long long)cpu.adds,
			       (unsigned long long)done);
		munmap(c, PAGE);
	}
	finish(_metadata, self, variant, true);
}

/* One hmm_dmirror ioctl, as hmm-tests issues it: -errno or 0. */
static int dmirror_op(int fd, unsigned long request, void *addr, void *ptr,
		      unsigned long npages)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr, .ptr = (uintptr_t)ptr,
		.npages = npages,
	};

	return ioctl(fd, request, &cmd) ? -errno : 0;
}

/*
 * The hmm_dmirror interface (the kernel's test_hmm ABI): the device writes
 * a range from a buffer, the range moves to the device and is read back
 * through it, then comes home.
 */
TEST_F_TIMEOUT(faults, hmm_dmirror, 120)
{
	unsigned long npages = 64;
	size_t len = npages * PAGE;
	__u8 *buf = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *mirror = malloc(len), *old = malloc(len);
	static const struct { unsigned long req; const char *name; } steps[] = {
		{ HMM_DMIRROR_WRITE, "write" },
		{ HMM_DMIRROR_MIGRATE_TO_DEV, "migrate to device" },
		{ HMM_DMIRROR_READ, "read" },
		{ HMM_DMIRROR_MIGRATE_TO_SYS, "migrate to system" },
	};
	const char *node = self->coherent ? "/dev/hmm_dmirror2" :
					    "/dev/hmm_dmirror0";
	int fd = open(node, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		SKIP(return, "no %s (load svmgpu with dmirror_compat=1)", node);
	ASSERT_NE(buf, NULL);
	ASSERT_NE(mirror, NULL);
	ASSERT_NE(old, NULL);
	memset(buf, 0, len);
	pattern_fill(mirror, len, 6);
	for (unsigned int s = 0; s < 4; s++) {
		int ret = -1;

		memcpy(old, buf, len);
		for (int try = 0; try < OP_TRIES && ret; try++) {
			op_start(self, variant, try);
			ret = dmirror_op(fd, steps[s].req, buf, mirror, npages);
			/* a migration to a poisoned device says -ENOENT, as test_hmm */
			if (ret == -ENOENT && variant->may_stay &&
			    steps[s].req == HMM_DMIRROR_MIGRATE_TO_DEV) {
				self->failed++;
				break;
			}
			if (ret && !op_failed_as_allowed(_metadata, self,
							 variant,
							 steps[s].name, ret))
				break;
			/* a failed write leaves each byte old or new */
			for (size_t i = 0; ret && s == 0 && i < len; i++)
				ASSERT_TRUE(buf[i] == old[i] ||
					    buf[i] == mirror[i]);
		}
		EXPECT_EQ(memcmp(buf, mirror, len), 0) {
			TH_LOG("after %s", steps[s].name);
			break;
		}
	}
	close(fd);
	munmap(buf, len);
	free(mirror);
	free(old);
	finish(_metadata, self, variant, true);
}

/*
 * Poisoned VRAM under data: the device's reads of it fail with
 * -EHWPOISON, migration and eviction leave it where it is (a CPU touch of
 * a private page gets SIGBUS: its data cannot be read); once the poison
 * is lifted, every byte comes home intact.
 */
/* Does a CPU read of @p kill a child process with SIGBUS? */
static bool read_gets_sigbus(const __u8 *p)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(__atomic_load_n(p, __ATOMIC_RELAXED) == 0x5a ? 3 : 0);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
}

TEST(poison_under_data)
{
	size_t len = 8 * PAGE;
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	__u8 *buf = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *out = map_anon(len, PROT_READ | PROT_WRITE);
	__u64 moved = 0;
	__u8 res[8];

	ASSERT_GE(fd, 0);
	if (debugfs_value("inject", "injected") < 0)
		SKIP(return, "needs the device's debug window");
	ASSERT_EQ(write_sysfs(INJECT, "clear"), 0);
	ASSERT_NE(buf, NULL);
	ASSERT_NE(out, NULL);
	ASSERT_EQ(pattern_in_vram(fd, buf, len, 8), 0);
	ASSERT_EQ(poison_all_vram(), 0);

	EXPECT_EQ(dev_copy(fd, out, buf, len), EHWPOISON);
	ASSERT_EQ(dev_migrate(fd, buf, len, SVMGPU_MIGRATE_TO_SYSTEM, &moved),
		  0);
	EXPECT_EQ(moved, 0);
	EXPECT_EQ(dev_evict(fd, NULL), -EBUSY);
	ASSERT_EQ(dev_residency(fd, buf, 8, res), 0);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(res[i] & SVMGPU_RES_WHERE_MASK, SVMGPU_RES_VRAM);
	/* private VRAM has no CPU path: its data cannot be read now */
	if (!is_coherent(fd))
		EXPECT_TRUE(read_gets_sigbus(buf));
	ASSERT_EQ(write_sysfs(INJECT, "clear"), 0);
	EXPECT_EQ(pattern_errors(buf, len, 8), 0);
	memset(out, 0, len);
	EXPECT_EQ(dev_copy(fd, out, buf, len), 0);
	EXPECT_EQ(pattern_errors(out, len, 8), 0);
	close(fd);
}

/* "faults --table FILE": the knob x workload table of a run's output. */
static int print_table(const char *path)
{
	static const char *const workloads[] = {
		"mirror", "migrate_4k", "migrate_2m", "evict_2x", "atomics",
		"hmm_dmirror",
	};
	char line[512], knob[64], work[64], knobs[16][64];
	char cell[16][6][48];
	bool failed_case[16][6] = { { false } };
	int nknobs = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return 1;
	}
	memset(cell, 0, sizeof(cell));
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "row "), *q = strstr(line, "not ok ");
		int k, w;

		if (q && sscanf(q, "not ok %*d faults.%63[^.].%63s", knob,
				work) == 2)
			p = NULL;
		else if (!p || sscanf(p, "row %63s %63s", knob, work) != 2)
			continue;
		for (k = 0; k < nknobs && strcmp(knobs[k], knob); k++)
			;
		if (k == nknobs && nknobs < 16)
			snprintf(knobs[nknobs++], sizeof(knobs[0]), "%s", knob);
		for (w = 0; w < 6 && strcmp(workloads[w], work); w++)
			;
		if (k >= 16 || w >= 6)
			continue;
		if (!p)
			failed_case[k][w] = true;
		else if (sscanf(p, "row %*s %*s %47s", cell[k][w]) != 1)
			cell[k][w][0] = 0;
	}
	fclose(f);
	printf("# | knob |");
	for (int w = 0; w < 6; w++)
		printf(" %s |", workloads[w]);
	printf("\n# |---|");
	for (int w = 0; w < 6; w++)
		printf("---|");
	printf("\n");
	for (int k = 0; k < nknobs; k++) {
		printf("# | %s |", knobs[k]);
		for (int w = 0; w < 6; w++)
			printf(" %s%s |", failed_case[k][w] ? "FAILED " : "",
			       cell[k][w][0] ? cell[k][w] : "-");
		printf("\n");
	}
	printf("# cells: operations/failed as allowed/pages left behind/");
	printf("injections/resets; -: no row (the case stopped early)\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--table"))
		return print_table(argv[2]);
	return test_harness_run(argc, argv);
}
