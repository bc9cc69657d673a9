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
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "svmgpu_test.h"

/* One page copied by the device, from a to b, as a submission of its own. */
struct page_copy {
	__u8 *a, *b;
	struct svmgpu_user_cmd cmd;
	struct svmgpu_submit sub;
};

static bool page_copy_init(struct page_copy *pc, __u64 timeout_ms)
{
	pc->a = map_anon(PAGE, PROT_READ | PROT_WRITE);
	pc->b = map_anon(PAGE, PROT_READ | PROT_WRITE);
	pc->cmd = (struct svmgpu_user_cmd){ .op = SVMGPU_CMD_COPY,
					    .len = PAGE,
					    .dst = (uintptr_t)pc->b,
					    .src = (uintptr_t)pc->a };
	pc->sub = (struct svmgpu_submit){ .cmds = (uintptr_t)&pc->cmd,
					  .count = 1,
					  .timeout_ms = timeout_ms };
	return pc->a && pc->b;
}

/*
 * Hang the engine (debug window) and submit a command from a file of its
 * own: it times out, the driver resets the device by FLR, which starts an
 * eviction of all VRAM, and bans that file's context (guilty) alone.
 */
static void hang_and_reset(struct __test_metadata *_metadata)
{
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	struct page_copy pc;
	long resets = debugfs_value("stats", "resets");

	ASSERT_GE(fd, 0);
	ASSERT_GE(resets, 0);
	ASSERT_TRUE(page_copy_init(&pc, 1000));
	ASSERT_EQ(write_sysfs("/sys/kernel/debug/svmgpu0/inject", "hang"), 0);

	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &pc.sub), -1);
	EXPECT_EQ(errno, ETIMEDOUT);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets + 1);
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &pc.sub), -1);
	EXPECT_EQ(errno, ECANCELED);
	close(fd);
	munmap(pc.a, PAGE);
	munmap(pc.b, PAGE);
}

TEST(hang_is_recovered_by_reset)
{
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	__u8 *a = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *b = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	__u8 *c = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
	struct svmgpu_migrate m = { .len = 8 * PAGE,
				    .flags = SVMGPU_MIGRATE_TO_VRAM };
	__u8 res[8];

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
	hang_and_reset(_metadata);

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

/*
 * The eviction a reset starts meets VRAM pages of every kind: 4 KiB pages,
 * a 2 MiB folio the CPU maps whole, a 2 MiB folio half unmapped, and 4 KiB
 * pages and a 2 MiB folio shared copy-on-write with a child process after
 * fork(). The child exits while the eviction is under way (debugfs
 * evict_delay_ms holds each block), so the anon_vmas of its mappings go.
 * Everything comes home and reads back intact, in parent and child, with
 * no splat (the runner checks the console).
 */
TEST(eviction_after_reset_of_every_kind)
{
	const char *delay = "/sys/kernel/debug/svmgpu0/evict_delay_ms";
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	size_t small = 32 * PAGE;
	__u8 *s = map_anon(small, PROT_READ | PROT_WRITE);
	__u8 *whole = map_thp(THP_SIZE), *half = map_thp(THP_SIZE);
	__u8 res[512], c = 0;
	int ready[2], go[2], status = -1;
	__u64 moved = 0;
	pid_t pid;

	if (getenv("SVMGPU_NO_DEBUG_WINDOW"))
		SKIP(return, "needs the device's debug window");
	ASSERT_GE(fd, 0);
	ASSERT_NE(s, NULL);
	ASSERT_NE(whole, NULL);
	ASSERT_NE(half, NULL);
	ASSERT_EQ(madvise(s, small, MADV_NOHUGEPAGE), 0);
	pattern_fill(s, small, 81);
	pattern_fill(whole, THP_SIZE, 82);
	pattern_fill(half, THP_SIZE, 83);
	ASSERT_EQ(dev_residency(fd, whole, 1, res), 0);
	if (!(res[0] & SVMGPU_RES_HUGE))
		SKIP(return, "the kernel gave no THP");
	ASSERT_EQ(dev_migrate(fd, s, small, SVMGPU_MIGRATE_TO_VRAM, &moved), 0);
	ASSERT_EQ(moved, 32);
	ASSERT_EQ(dev_migrate(fd, whole, THP_SIZE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, 512);
	ASSERT_EQ(dev_migrate(fd, half, THP_SIZE, SVMGPU_MIGRATE_TO_VRAM,
			      &moved), 0);
	ASSERT_EQ(moved, 512);
	/* the upper half of one folio unmapped: the folio stays, half mapped */
	ASSERT_EQ(munmap(half + THP_SIZE / 2, THP_SIZE / 2), 0);
	EXPECT_EQ(debugfs_value("vram", "used"), 32 + 2 * 512);

	ASSERT_EQ(pipe(ready), 0);
	ASSERT_EQ(pipe(go), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* the child shares s and whole; it reads them mid-eviction */
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		if (pattern_errors(s, small / 2, 81))
			_exit(3);
		if (pattern_errors(whole, THP_SIZE / 2, 82))
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(read(ready[0], &c, 1), 1);

	ASSERT_EQ(write_sysfs(delay, "100"), 0);
	hang_and_reset(_metadata);
	/* the reset's eviction is under way, a block per 100 ms at least */
	usleep(150 * 1000);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %#x", status);
	for (int i = 0; i < 1000 && debugfs_value("vram", "used") != 0; i++)
		usleep(10000);
	EXPECT_EQ(debugfs_value("vram", "used"), 0);
	ASSERT_EQ(write_sysfs(delay, "0"), 0);

	EXPECT_EQ(pattern_errors(s, small, 81), 0);
	EXPECT_EQ(pattern_errors(whole, THP_SIZE, 82), 0);
	EXPECT_EQ(pattern_errors(half, THP_SIZE / 2, 83), 0);
	/* and the device works on them again */
	memset(res, 0, sizeof(res));
	EXPECT_EQ(dev_copy(fd, res, whole + 4096, sizeof(res)), 0);
	EXPECT_EQ(memcmp(res, whole + 4096, sizeof(res)), 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(fd);
}

/* Whether process @pid sleeps in the driver's wait for a submission. */
static bool waits_for_submission(pid_t pid)
{
	char path[64], wchan[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(wchan, sizeof(wchan), f))
		wchan[0] = 0;
	fclose(f);
	return strstr(wchan, "svmgpu_ring_run");
}

/*
 * The process B of guilty_context_is_banned: once A waits for its (hung)
 * submission, copy 256 KiB 8 times through the device, each checked, each
 * with a timeout of 1 s, shorter than A's: the time B waits for the ring
 * is not B's. Its exit status says what failed.
 */
static int innocent_copier(pid_t guilty)
{
	size_t len = 256 << 10;
	__u8 *src = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *dst = map_anon(len, PROT_READ | PROT_WRITE);
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	int i;

	if (fd < 0 || !src || !dst)
		return 2;
	for (i = 0; i < 1000 && !waits_for_submission(guilty); i++)
		usleep(2000);
	if (i == 1000)
		return 3;
	for (int round = 0; round < 8; round++) {
		struct svmgpu_user_cmd c = { .op = SVMGPU_CMD_COPY, .len = len,
					     .dst = (uintptr_t)dst,
					     .src = (uintptr_t)src };
		struct svmgpu_submit sub = { .cmds = (uintptr_t)&c,
					     .count = 1, .timeout_ms = 1000 };

		for (size_t j = 0; j < len; j++)
			src[j] = j * 13 + round;
		memset(dst, 0, len);
		if (ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub) || c.status)
			return 4;
		if (memcmp(dst, src, len))
			return 5;
	}
	close(fd);
	return 0;
}

/*
 * Guilty contexts (DOC: Hang recovery): process A's submission hangs the
 * engine; process B submits while A holds the ring. A gets -ETIMEDOUT, the
 * device is reset once, and A's file is banned (-ECANCELED, nothing runs)
 * while B's work completes after the reset with its data intact, its
 * waiting not counted against its timeout. A new file of A's works.
 */
TEST(guilty_context_is_banned)
{
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	struct page_copy pc;
	long resets = debugfs_value("stats", "resets");
	int status = -1, fd2;
	pid_t pid;

	if (getenv("SVMGPU_NO_DEBUG_WINDOW"))
		SKIP(return, "needs the device's debug window");
	ASSERT_GE(fd, 0);
	ASSERT_GE(resets, 0);
	ASSERT_TRUE(page_copy_init(&pc, 2000));
	memset(pc.a, 0x5a, PAGE);
	ASSERT_EQ(dev_copy(fd, pc.b, pc.a, PAGE), 0);

	ASSERT_EQ(write_sysfs("/sys/kernel/debug/svmgpu0/inject", "hang"), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(innocent_copier(getppid()));
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &pc.sub), -1);
	EXPECT_EQ(errno, ETIMEDOUT);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	/* exit 2: set-up, 3: A never waited, 4: a copy failed, 5: bad data */
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the innocent process failed: status 0x%x", status);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets + 1);

	/* banned: nothing runs, whatever the command */
	pc.cmd.status = 0;
	memset(pc.b, 0, PAGE);
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &pc.sub), -1);
	EXPECT_EQ(errno, ECANCELED);
	EXPECT_EQ(pc.b[0], 0);
	close(fd);

	fd2 = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd2, 0);
	EXPECT_EQ(dev_copy(fd2, pc.b, pc.a, PAGE), 0);
	EXPECT_EQ(pc.b[PAGE - 1], 0x5a);
	close(fd2);
}

/*
 * Only a submission that found the engine sound is blamed: process A hangs
 * the engine and is killed while it waits, which restarts the ring but
 * resets nothing. The engine is still hung when this process submits next:
 * that times out and resets the device, but bans nobody, and the same file
 * works afterwards.
 */
TEST(hang_left_by_a_killed_process_bans_nobody)
{
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	struct page_copy pc;
	long resets = debugfs_value("stats", "resets");
	int status, i;
	pid_t pid;

	if (getenv("SVMGPU_NO_DEBUG_WINDOW"))
		SKIP(return, "needs the device's debug window");
	ASSERT_GE(fd, 0);
	ASSERT_GE(resets, 0);
	ASSERT_TRUE(page_copy_init(&pc, 1000));
	memset(pc.a, 0x3c, PAGE);

	ASSERT_EQ(write_sysfs("/sys/kernel/debug/svmgpu0/inject", "hang"), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int afd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);

		pc.sub.timeout_ms = 60000;
		ioctl(afd, SVMGPU_IOCTL_SUBMIT, &pc.sub);
		_exit(1);
	}
	for (i = 0; i < 1000 && !waits_for_submission(pid); i++)
		usleep(2000);
	ASSERT_LT(i, 1000) TH_LOG("the process never waited for its submission");
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(debugfs_value("stats", "resets"), resets);

	/* the engine is still hung: this submission resets, unblamed */
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &pc.sub), -1);
	EXPECT_EQ(errno, ETIMEDOUT);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets + 1);
	pc.cmd.status = 0;
	memset(pc.b, 0, PAGE);
	EXPECT_EQ(ioctl(fd, SVMGPU_IOCTL_SUBMIT, &pc.sub), 0);
	EXPECT_EQ(pc.cmd.status, 0);
	EXPECT_EQ(pc.b[PAGE - 1], 0x3c);
	close(fd);
}

/*
 * A slow job is not a hang: one process submits 64 copies of 128 MiB with
 * a 150 ms timeout, far too short for them (8 GiB; the first copy alone
 * ends well before the timeout, so the engine is seen to progress); meanwhile another process works
 * on data it moved to VRAM. The slow job alone pays: its submission times
 * out, the ring is restarted, and there is no reset, so the other
 * process's data stays in VRAM and its copies complete intact (before
 * issue 14 any timeout reset the device and evicted everyone's VRAM).
 */
TEST(slow_job_pays_alone)
{
	enum { CMDS = SVMGPU_SUBMIT_MAX_CMDS, CHUNK = 128 << 20 };
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	size_t len = 16 * PAGE;
	__u8 *mine = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *out = map_anon(len, PROT_READ | PROT_WRITE);
	long resets = debugfs_value("stats", "resets");
	int started[2], status = -1;
	__u8 res[16];
	pid_t pid;
	char c;

	ASSERT_GE(fd, 0);
	ASSERT_NE(mine, NULL);
	ASSERT_NE(out, NULL);
	ASSERT_EQ(pattern_in_vram(fd, mine, len, 41), 0);
	ASSERT_EQ(pipe(started), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* the slow job, in a process and a device file of its own */
		int cfd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
		__u8 *a = map_anon(CHUNK, PROT_READ | PROT_WRITE);
		__u8 *b = map_anon(CHUNK, PROT_READ | PROT_WRITE);
		struct svmgpu_user_cmd *cmds = calloc(CMDS, sizeof(*cmds));
		struct svmgpu_submit sub = {
			.cmds = (uintptr_t)cmds, .count = CMDS,
			.timeout_ms = 150,
		};
		int ret;

		if (cfd < 0 || !a || !b || !cmds)
			_exit(2);
		memset(a, 1, CHUNK);
		memset(b, 2, CHUNK);	/* faulted in: the job only copies */
		if (dev_copy(cfd, b, a, CHUNK))
			_exit(3);
		for (int i = 0; i < CMDS; i++)
			cmds[i] = (struct svmgpu_user_cmd){
				.op = SVMGPU_CMD_COPY, .len = CHUNK,
				.dst = (uintptr_t)(i & 1 ? a : b),
				.src = (uintptr_t)(i & 1 ? b : a),
			};
		if (write(started[1], "s", 1) != 1)
			_exit(4);
		ret = ioctl(cfd, SVMGPU_IOCTL_SUBMIT, &sub) ? errno : 0;
		_exit(ret == ETIMEDOUT ? 0 : 10 + ret);
	}
	ASSERT_EQ(read(started[0], &c, 1), 1);
	usleep(20 * 1000);
	/* the other process's work waits for the ring, then completes */
	for (int i = 0; i < 4; i++) {
		memset(out, 0, len);
		EXPECT_EQ(dev_copy(fd, out, mine, len), 0);
		EXPECT_EQ(pattern_errors(out, len, 41), 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("slow job's status %#x (0: timed out as it should)",
		       status);
	EXPECT_EQ(debugfs_value("stats", "resets"), resets);
	ASSERT_EQ(dev_residency(fd, mine, 16, res), 0);
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(res[i] & SVMGPU_RES_WHERE_MASK, SVMGPU_RES_VRAM);
	EXPECT_EQ(pattern_errors(mine, len, 41), 0);
	close(started[0]);
	close(started[1]);
	close(fd);
}

/* Has the kernel log a line containing @what (from the start)? */
static bool kmsg_has(const char *what)
{
	char rec[1024];
	bool found = false;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	while (fd >= 0 && !found && read(fd, rec, sizeof(rec) - 1) > 0) {
		rec[sizeof(rec) - 1] = 0;
		found = strstr(rec, what);
	}
	if (fd >= 0)
		close(fd);
	return found;
}

struct unbinder {
	const char *bdf;
	int ret;
	pthread_t thread;
};

static void *unbind_main(void *arg)
{
	struct unbinder *u = arg;

	u->ret = write_sysfs("/sys/bus/pci/drivers/svmgpu/unbind", u->bdf);
	return NULL;
}

/*
 * Unbind while data sits in poisoned VRAM: the eviction cannot read it, so
 * the device goes with it, and says so. A CPU touch of such a page later
 * must get SIGBUS: there is no hardware left to copy it with (before issue
 * 14 it dereferenced the cleared PCI device: an oops). The unbind finishes
 * once the process lets its pages go; the device binds again and works.
 *
 * Once the unbind has started, nothing may end the test before munmap():
 * the unbind waits for these pages, and a process with a thread waiting in
 * the kernel cannot exit to free them (a failed ASSERT, or the harness
 * killing the test at its timeout, would hang the guest). Hence EXPECTs
 * there, and a timeout well past the driver's 10 s of eviction tries.
 */
FIXTURE(unbind) {
};

FIXTURE_SETUP(unbind)
{
}

FIXTURE_TEARDOWN(unbind)
{
}

TEST_F_TIMEOUT(unbind, with_poisoned_vram, 120)
{
	const char *lost = "unbound with data in VRAM";
	int fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	size_t len = 8 * PAGE;
	__u8 *buf = map_anon(len, PROT_READ | PROT_WRITE);
	__u8 *a = map_anon(PAGE, PROT_READ | PROT_WRITE), *b;
	struct svmgpu_info info;
	int status = 0, i;
	bool said_lost;
	char bdf[32];
	struct unbinder u = { .bdf = bdf, .ret = -1 };
	pid_t reader;

	if (getenv("SVMGPU_NO_DEBUG_WINDOW"))
		SKIP(return, "needs the device's debug window");
	ASSERT_GE(fd, 0);
	ASSERT_NE(buf, NULL);
	if (is_coherent(fd))
		SKIP(return, "coherent VRAM stays readable by the CPU");
	ASSERT_EQ(ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info), 0);
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", info.pci_segment,
		 info.pci_bus, info.pci_devfn >> 3, info.pci_devfn & 7);
	ASSERT_EQ(pattern_in_vram(fd, buf, len, 91), 0);
	ASSERT_EQ(poison_all_vram(), 0);
	close(fd);
	ASSERT_FALSE(kmsg_has(lost));

	/*
	 * The unbind blocks until the pages are freed: in a thread (a child
	 * process would share them, and wait for itself).
	 */
	ASSERT_EQ(pthread_create(&u.thread, NULL, unbind_main, &u), 0);
	/* remove() tries the eviction for 10 s, then gives up and says so */
	for (i = 0; i < 600 && !kmsg_has(lost); i++)
		usleep(100 * 1000);
	said_lost = kmsg_has(lost);
	EXPECT_TRUE(said_lost);
	if (said_lost) {
		usleep(500 * 1000);
		reader = fork();
		if (reader == 0)
			_exit(buf[0] == pattern_byte(0, 91) ? 0 : 3);
		EXPECT_GE(reader, 0);
		if (reader > 0)
			EXPECT_EQ(waitpid(reader, &status, 0), reader);
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
			TH_LOG("reader status %#x", status);
	}

	/* the process lets the pages go: the unbind completes */
	EXPECT_EQ(munmap(buf, len), 0);
	pthread_join(u.thread, NULL);
	EXPECT_EQ(u.ret, 0);
	ASSERT_EQ(write_sysfs("/sys/bus/pci/drivers/svmgpu/bind", bdf), 0);
	/* the poison knob survives the rebinding: lift it, then work */
	ASSERT_EQ(write_sysfs("/sys/kernel/debug/svmgpu0/inject", "clear"), 0);
	fd = open("/dev/svmgpu0", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	b = map_anon(PAGE, PROT_READ | PROT_WRITE);
	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	pattern_fill(a, PAGE, 92);
	EXPECT_EQ(dev_copy(fd, b, a, PAGE), 0);
	EXPECT_EQ(pattern_errors(b, PAGE, 92), 0);
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
