// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu: the hmm_dmirror compatibility interface
 *
 * DOC: hmm_dmirror on svmgpu
 *
 * With the module parameter dmirror_compat=1 the driver also registers the
 * character devices of the kernel's HMM test driver (lib/test_hmm.c):
 * /dev/hmm_dmirror0 and 1 on the first two device-private svmgpu devices,
 * /dev/hmm_dmirror2 and 3 on the first two device-coherent ones, in probe
 * order, with the exact ABI of lib/test_hmm_uapi.h, so that the kernel's
 * unmodified tools/testing/selftests/mm/hmm-tests runs against emulated
 * hardware: DMA, interrupts, device page faults, a real VRAM limit and, for
 * the coherent devices, VRAM behind a real BAR.
 *
 * It is glue over the driver core, not a second implementation:
 *
 * - open() creates an SVM context bound to current->mm, like /dev/svmgpuN;
 *   each svmgpu device is its own pgmap owner, so the four nodes have four
 *   distinct owners. close() tears it down like /dev/svmgpuN's release.
 * - READ and WRITE make sure the range is mirrored in the context's device
 *   page tables (svmgpu_mirror_range(): if a page lacks a PTE, the rest of
 *   the range is faulted in one round, counted as one fault, as test_hmm
 *   counts), and the caller's buffer too (not counted), then the engine
 *   COPYs from one to the other, both virtual, through the device MMU, on
 *   the user ring, where a device fault (an invalidation racing the copy)
 *   is serviced as for any user command. No CPU copy: the data moves
 *   between the user's pages and VRAM by DMA.
 * - MIGRATE_TO_DEV and MIGRATE_TO_SYS are svmgpu_migrate_range(). After a
 *   migration to the device the range is read back through the device, as
 *   test_hmm reads it back from its page table; a page that is not in this
 *   device's VRAM afterwards (on another device, or not migratable) gives
 *   -ENOENT, as in test_hmm.
 * - SNAPSHOT is hmm_range_fault() without faulting, the device as the
 *   private owner, in test_hmm's byte encoding.
 * - EXCLUSIVE is the driver's device-exclusive path for device atomics
 *   (svmgpu_map_exclusive()) page by page, then a read back through the
 *   device; CHECK_EXCLUSIVE looks for SVMGPU_PTE_ATOMIC in the device page
 *   tables, which the notifier clears when the CPU takes a page back.
 * - RELEASE is the physical eviction of the whole device
 *   (svmgpu_vram_evict_all()).
 * - FLAGS with HMM_DMIRROR_FLAG_FAIL_ALLOC sets the context's fail_alloc,
 *   which makes the next 2 MiB destination allocation of its migrations
 *   (MIGRATE_TO_DEV or MIGRATE_TO_SYS) fail once: the THP then moves as
 *   4 KiB pages, the fallback its tests force.
 * - mmap() of the file gives zeroed kernel pages (vm_insert_page()), as
 *   test_hmm's.
 *
 * DOC: Differences from test_hmm
 *
 * - test_hmm evicts all of the device's memory whenever any of its files
 *   closes, because its device pages point at per-file state. svmgpu's
 *   device pages point at nothing per file: they stay in VRAM after the
 *   file that migrated them closed, until the CPU touches them, the mm
 *   frees them, VRAM pressure or RELEASE evicts them, or the device goes.
 * - VRAM is finite (test_hmm grows without limit): migrating more than is
 *   free evicts least-recently-used VRAM first.
 * - An ioctl that acts on memory must come from the opener's mm (-EBADF
 *   otherwise); test_hmm lets any process act on the opener's mm.
 * - FAIL_ALLOC fails 2 MiB allocations only, and not those of CPU faults
 *   (migrate_to_ram): test_hmm fails the next allocation whatever its
 *   size, which for a 4 KiB page leaves it behind and makes
 *   MIGRATE_TO_DEV's read back fail. svmgpu's coherent mode migrates no
 *   2 MiB folios (svmgpu_select_compound()), so there the flag changes
 *   nothing.
 * - A range that leaves user space is -EINVAL up front, and so is an
 *   @npages whose byte length overflows (test_hmm checks the shifted sum
 *   only).
 * - SNAPSHOT retries on any invalidation of the mm (the context's notifier
 *   covers it all) instead of registering a notifier per window.
 * - Once the device is unbound, open files get -ENODEV.
 */

#include <linux/hmm.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "svmgpu_drv.h"

/* The ABI of lib/test_hmm_uapi.h (Linux 7.2), which is not exported. */
struct hmm_dmirror_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};

#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS	_IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT		_IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_EXCLUSIVE		_IOWR('H', 0x05, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_CHECK_EXCLUSIVE	_IOWR('H', 0x06, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_RELEASE		_IOWR('H', 0x07, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_FLAGS		_IOWR('H', 0x08, struct hmm_dmirror_cmd)

#define HMM_DMIRROR_FLAG_FAIL_ALLOC	BIT_ULL(0)

enum {
	HMM_DMIRROR_PROT_ERROR			= 0xFF,
	HMM_DMIRROR_PROT_NONE			= 0x00,
	HMM_DMIRROR_PROT_READ			= 0x01,
	HMM_DMIRROR_PROT_WRITE			= 0x02,
	HMM_DMIRROR_PROT_PMD			= 0x04,
	HMM_DMIRROR_PROT_PUD			= 0x08,
	HMM_DMIRROR_PROT_ZERO			= 0x10,
	HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL	= 0x20,
	HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE	= 0x30,
	HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL	= 0x40,
	HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE	= 0x50,
};

static_assert(sizeof(struct hmm_dmirror_cmd) == 40);
static_assert(HMM_DMIRROR_READ == 0xc0284800);

#define SVMGPU_DMIRROR_NODES		4	/* 0, 1 private; 2, 3 coherent */
#define SVMGPU_DMIRROR_PIECE		SZ_2M	/* bytes per COPY command */
#define SVMGPU_DMIRROR_BATCH		64	/* COPY commands per submission */
#define SVMGPU_DMIRROR_TIMEOUT		(10 * HZ)	/* per submission */
#define SVMGPU_DMIRROR_SNAPSHOT_WINDOW	64	/* pages per hmm_range_fault */

static bool dmirror_compat;
module_param(dmirror_compat, bool, 0444);
MODULE_PARM_DESC(dmirror_compat,
		 "also register /dev/hmm_dmirror0-3 (lib/test_hmm's ABI) on the first two private and the first two coherent devices (default off)");

/**
 * struct svmgpu_dmirror - one /dev/hmm_dmirrorN
 * @misc: the character device
 * @gdev: the svmgpu device under it, NULL while the node is free; written
 *	before misc_register() and after misc_deregister(), read by open(),
 *	which the misc core calls under its own mutex, so it is stable there
 * @name: hmm_dmirrorN
 */
struct svmgpu_dmirror {
	struct miscdevice misc;
	struct svmgpu_device *gdev;
	char name[16];
};

/* The four nodes; svmgpu_dmirror_lock protects their allocation. */
static struct svmgpu_dmirror svmgpu_dmirrors[SVMGPU_DMIRROR_NODES];
static DEFINE_MUTEX(svmgpu_dmirror_lock);

/* What a finished engine command's status means, as a negative errno. */
static int svmgpu_dmirror_cmd_errno(const struct svmgpu_cmd *cmd)
{
	switch (cmd->status) {
	case SVMGPU_DESC_STATUS_OK:
		return 0;
	case SVMGPU_DESC_STATUS_FAULT:
		/* the fault service's reason: -EFAULT, -EPERM, ... */
		return cmd->fault_errno ? cmd->fault_errno : -EFAULT;
	case SVMGPU_DESC_STATUS_INVALID:
		return -EINVAL;
	case SVMGPU_DESC_STATUS_POISONED:
		return -EHWPOISON;
	default:
		return -EIO;
	}
}

/*
 * The engine copies @len bytes from @src to @dst, both user virtual
 * addresses of @ctx's mm, through the device MMU, on the user ring: a page
 * not mirrored (or invalidated since) faults and is serviced as for any
 * user command.
 */
static int svmgpu_dmirror_copy(struct svmgpu_ctx *ctx, u64 dst, u64 src,
			       u64 len)
{
	struct svmgpu_ring *ring = &ctx->mmu.gdev->rings[SVMGPU_RING_USER];
	struct svmgpu_cmd *cmds;
	unsigned int i, n;
	int ret = 0;

	cmds = kcalloc(SVMGPU_DMIRROR_BATCH, sizeof(*cmds), GFP_KERNEL);
	if (!cmds)
		return -ENOMEM;
	while (len && !ret) {
		for (n = 0; n < SVMGPU_DMIRROR_BATCH && len; n++) {
			u64 piece = min_t(u64, len, SVMGPU_DMIRROR_PIECE);

			cmds[n] = (struct svmgpu_cmd) {
				.opcode = SVMGPU_OP_COPY,
				.flags = SVMGPU_SPACE_VIRT <<
						SVMGPU_DESC_DST_SPACE_SHIFT |
					 SVMGPU_SPACE_VIRT <<
						SVMGPU_DESC_SRC_SPACE_SHIFT,
				.ctx = ctx->mmu.id,
				.dst = dst,
				.src = src,
				.len = piece,
			};
			dst += piece;
			src += piece;
			len -= piece;
		}
		ret = svmgpu_ring_run(ring, cmds, n, SVMGPU_DMIRROR_TIMEOUT);
		for (i = 0; i < n && !ret; i++)
			ret = svmgpu_dmirror_cmd_errno(&cmds[i]);
	}
	kfree(cmds);
	return ret;
}

/*
 * Mirror the caller's buffer @cmd->ptr (the range's size), readable or
 * @writable, before the engine copies to or from it. Its faults are not
 * the range's, so they are not counted. A buffer the caller cannot access
 * is -EFAULT, as copy_to_user() or copy_from_user() would say.
 */
static int svmgpu_dmirror_mirror_buffer(struct svmgpu_ctx *ctx,
					const struct hmm_dmirror_cmd *cmd,
					bool writable)
{
	u64 len = cmd->npages * PAGE_SIZE, faults = 0;
	int ret;

	if (!access_ok(u64_to_user_ptr(cmd->ptr), len))
		return -EFAULT;
	ret = svmgpu_mirror_range(ctx, ALIGN_DOWN(cmd->ptr, PAGE_SIZE),
				  ALIGN(cmd->ptr + len, PAGE_SIZE), writable,
				  &faults);
	return ret == -EPERM ? -EFAULT : ret;
}

/*
 * The device reads @cmd's range into @cmd->ptr: mirror the range (counting
 * @faults) and the buffer, then one engine copy from one to the other. On
 * success cmd->cpages is the range's pages.
 */
static int svmgpu_dmirror_device_read(struct svmgpu_ctx *ctx,
				      struct hmm_dmirror_cmd *cmd, u64 *faults)
{
	u64 len = cmd->npages * PAGE_SIZE;
	int ret;

	ret = svmgpu_mirror_range(ctx, cmd->addr, cmd->addr + len, false,
				  faults);
	if (!ret)
		ret = svmgpu_dmirror_mirror_buffer(ctx, cmd, true);
	if (!ret)
		ret = svmgpu_dmirror_copy(ctx, cmd->ptr, cmd->addr, len);
	if (!ret)
		cmd->cpages = cmd->npages;
	return ret;
}

/* HMM_DMIRROR_WRITE: the device writes @cmd->ptr's data to the range. */
static int svmgpu_dmirror_write(struct svmgpu_ctx *ctx,
				struct hmm_dmirror_cmd *cmd)
{
	u64 len = cmd->npages * PAGE_SIZE;
	int ret;

	/* the buffer first: test_hmm copies it in before it faults */
	ret = svmgpu_dmirror_mirror_buffer(ctx, cmd, false);
	if (!ret)
		ret = svmgpu_mirror_range(ctx, cmd->addr, cmd->addr + len, true,
					  &cmd->faults);
	if (!ret)
		ret = svmgpu_dmirror_copy(ctx, cmd->addr, cmd->ptr, len);
	if (!ret)
		cmd->cpages = cmd->npages;
	return ret;
}

/*
 * HMM_DMIRROR_MIGRATE_TO_DEV: migrate, then read the range back through
 * the device; -ENOENT if a page is not in this device's VRAM.
 */
static int svmgpu_dmirror_migrate_to_dev(struct svmgpu_ctx *ctx,
					 struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr, end = start + cmd->npages * PAGE_SIZE;
	unsigned long i;
	u64 moved, faults = 0;
	u8 *where;
	int ret;

	ret = svmgpu_migrate_range(ctx, start, end, true, false, &moved);
	if (ret)
		return ret;

	where = kvmalloc(cmd->npages, GFP_KERNEL | __GFP_NOWARN);
	if (!where)
		return -ENOMEM;
	ret = svmgpu_residency(ctx, start, cmd->npages, where);
	for (i = 0; !ret && i < cmd->npages; i++)
		if ((where[i] & SVMGPU_RES_WHERE_MASK) != SVMGPU_RES_VRAM)
			ret = -ENOENT;
	kvfree(where);
	if (ret)
		return ret;
	/* test_hmm reads back without counting faults */
	return svmgpu_dmirror_device_read(ctx, cmd, &faults);
}

/* HMM_DMIRROR_MIGRATE_TO_SYS: cpages is the pages that moved. */
static int svmgpu_dmirror_migrate_to_sys(struct svmgpu_ctx *ctx,
					 struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr, end = start + cmd->npages * PAGE_SIZE;
	u64 moved;
	int ret;

	ret = svmgpu_migrate_range(ctx, start, end, false, false, &moved);
	if (!ret)
		cmd->cpages = moved;
	return ret;
}

/* One SNAPSHOT byte (test_hmm's dmirror_mkentry()) from one hmm pfn. */
static u8 svmgpu_dmirror_prot(struct svmgpu_device *gdev, unsigned long pfn)
{
	unsigned int shift;
	struct page *page;
	u8 prot;

	if (pfn & HMM_PFN_ERROR)
		return HMM_DMIRROR_PROT_ERROR;
	if (!(pfn & HMM_PFN_VALID))
		return HMM_DMIRROR_PROT_NONE;

	page = hmm_pfn_to_page(pfn);
	if (is_device_private_page(page))
		prot = page_pgmap(page) == &gdev->pgmap ?
		       HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL :
		       HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	else if (is_device_coherent_page(page))
		prot = page_pgmap(page) == &gdev->pgmap ?
		       HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL :
		       HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
	else if (is_zero_pfn(page_to_pfn(page)))
		prot = HMM_DMIRROR_PROT_ZERO;
	else
		prot = HMM_DMIRROR_PROT_NONE;
	prot |= pfn & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE :
				      HMM_DMIRROR_PROT_READ;
	shift = hmm_pfn_to_map_order(pfn) + PAGE_SHIFT;
	if (shift == PMD_SHIFT)
		prot |= HMM_DMIRROR_PROT_PMD;
	else if (shift == PUD_SHIFT)
		prot |= HMM_DMIRROR_PROT_PUD;
	return prot;
}

/*
 * HMM_DMIRROR_SNAPSHOT: the CPU page tables, read without faulting (so
 * holes and inaccessible VMAs read HMM_PFN_ERROR), one byte per page.
 */
static int svmgpu_dmirror_snapshot(struct svmgpu_ctx *ctx,
				   struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr, end = start + cmd->npages * PAGE_SIZE;
	unsigned long pfns[SVMGPU_DMIRROR_SNAPSHOT_WINDOW];
	u8 prot[SVMGPU_DMIRROR_SNAPSHOT_WINDOW];
	u8 __user *uptr = u64_to_user_ptr(cmd->ptr);
	struct hmm_range range = {
		.notifier = &ctx->notifier,
		.hmm_pfns = pfns,
		.dev_private_owner = ctx->mmu.gdev,
	};
	struct mm_struct *mm = ctx->mm;
	unsigned long addr, i, n, timeout;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -EINVAL;
	for (addr = start; addr < end && !ret; addr = range.end) {
		range.start = addr;
		range.end = min(addr + ARRAY_SIZE(pfns) * PAGE_SIZE, end);
		n = (range.end - range.start) >> PAGE_SHIFT;
		timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
		do {
			if (time_after(jiffies, timeout)) {
				ret = -EBUSY;
				break;
			}
			range.notifier_seq =
				mmu_interval_read_begin(&ctx->notifier);
			mmap_read_lock(mm);
			ret = hmm_range_fault(&range);
			mmap_read_unlock(mm);
		} while (ret == -EBUSY);
		if (ret)
			break;
		for (i = 0; i < n; i++)
			prot[i] = svmgpu_dmirror_prot(ctx->mmu.gdev, pfns[i]);
		if (copy_to_user(uptr, prot, n))
			ret = -EFAULT;
		uptr += n;
		cmd->cpages += n;
	}
	mmput(mm);
	return ret;
}

/*
 * HMM_DMIRROR_EXCLUSIVE: each page device-exclusive and mapped for device
 * atomics, then the range read back through the device (whose PTEs are
 * there: nothing faults, nothing is taken back).
 */
static int svmgpu_dmirror_exclusive(struct svmgpu_ctx *ctx,
				    struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr, end = start + cmd->npages * PAGE_SIZE;
	unsigned long addr;
	u64 faults = 0;
	int ret = 0;

	if (!mmget_not_zero(ctx->mm))
		return -EINVAL;
	/*
	 * PMD-mapped THPs are split first: make_device_exclusive() would
	 * split one inside svmgpu_map_exclusive()'s notifier critical section,
	 * which then retries, and each retry takes back (one more
	 * invalidation) the page the round before made exclusive, until
	 * HMM_RANGE_DEFAULT_TIMEOUT ends it with -EBUSY. Best effort: what
	 * cannot be faulted in here, svmgpu_map_exclusive() reports.
	 */
	mmap_read_lock(ctx->mm);
	get_user_pages_remote(ctx->mm, start, cmd->npages,
			      FOLL_WRITE | FOLL_SPLIT_PMD, NULL, NULL);
	mmap_read_unlock(ctx->mm);
	for (addr = start; addr < end && !ret; addr += PAGE_SIZE)
		ret = svmgpu_map_exclusive(ctx, addr);
	mmput(ctx->mm);
	if (ret)
		return ret;
	return svmgpu_dmirror_device_read(ctx, cmd, &faults);
}

/* The commands that act on the opener's memory. */
static int svmgpu_dmirror_cmd_mm(struct svmgpu_ctx *ctx, unsigned int command,
				 struct hmm_dmirror_cmd *cmd)
{
	switch (command) {
	case HMM_DMIRROR_READ:
		return svmgpu_dmirror_device_read(ctx, cmd, &cmd->faults);
	case HMM_DMIRROR_WRITE:
		return svmgpu_dmirror_write(ctx, cmd);
	case HMM_DMIRROR_MIGRATE_TO_DEV:
		return svmgpu_dmirror_migrate_to_dev(ctx, cmd);
	case HMM_DMIRROR_MIGRATE_TO_SYS:
		return svmgpu_dmirror_migrate_to_sys(ctx, cmd);
	case HMM_DMIRROR_SNAPSHOT:
		return svmgpu_dmirror_snapshot(ctx, cmd);
	default:
		return svmgpu_dmirror_exclusive(ctx, cmd);
	}
}

static int svmgpu_dmirror_cmd(struct svmgpu_ctx *ctx, unsigned int command,
			      struct hmm_dmirror_cmd *cmd)
{
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	unsigned long end = cmd->addr + cmd->npages * PAGE_SIZE;

	lockdep_assert_held_read(&gdev->remove_lock);
	switch (command) {
	case HMM_DMIRROR_READ:
	case HMM_DMIRROR_WRITE:
	case HMM_DMIRROR_MIGRATE_TO_DEV:
	case HMM_DMIRROR_MIGRATE_TO_SYS:
	case HMM_DMIRROR_SNAPSHOT:
	case HMM_DMIRROR_EXCLUSIVE:
		/* They act on the opener's memory: only the opener's mm may. */
		if (current->mm != ctx->mm)
			return -EBADF;
		return svmgpu_dmirror_cmd_mm(ctx, command, cmd);
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
		return svmgpu_range_has_atomic(ctx, cmd->addr, end) ? -EPERM : 0;
	case HMM_DMIRROR_RELEASE:
		return svmgpu_vram_evict_all(gdev, NULL);
	case HMM_DMIRROR_FLAGS:
		atomic_set(&ctx->fail_alloc,
			   !!(cmd->npages & HMM_DMIRROR_FLAG_FAIL_ALLOC));
		return 0;
	default:
		return -EINVAL;
	}
}

static long svmgpu_dmirror_ioctl(struct file *file, unsigned int command,
				 unsigned long arg)
{
	struct svmgpu_ctx *ctx = file->private_data;
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	u64 limit = min_t(u64, TASK_SIZE, 1ULL << SVMGPU_VA_BITS);
	void __user *uarg = (void __user *)arg;
	struct hmm_dmirror_cmd cmd;
	long ret;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;
	/* test_hmm's checks, and the range must be user memory */
	if (!PAGE_ALIGNED(cmd.addr) || cmd.addr >= limit || !cmd.npages ||
	    cmd.npages > (limit - cmd.addr) >> PAGE_SHIFT)
		return -EINVAL;
	cmd.cpages = 0;
	cmd.faults = 0;

	down_read(&gdev->remove_lock);
	ret = gdev->removed ? -ENODEV : svmgpu_dmirror_cmd(ctx, command, &cmd);
	up_read(&gdev->remove_lock);
	if (ret)
		return ret;
	/* only on success, as test_hmm */
	return copy_to_user(uarg, &cmd, sizeof(cmd)) ? -EFAULT : 0;
}

/* Each open file is one SVM context bound to the opener's mm. */
static int svmgpu_dmirror_open(struct inode *inode, struct file *file)
{
	struct svmgpu_dmirror *dm =
		container_of(file->private_data, struct svmgpu_dmirror, misc);

	return svmgpu_file_open(dm->gdev, file);
}

/*
 * As /dev/svmgpuN's release. Unlike test_hmm nothing is evicted: see the
 * DOC section "Differences from test_hmm".
 */
static int svmgpu_dmirror_release(struct inode *inode, struct file *file)
{
	return svmgpu_file_release(file);
}

/* Zeroed kernel pages, as test_hmm's mmap (the mixedmap test uses it). */
static int svmgpu_dmirror_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long addr;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		int ret;

		if (!page)
			return -ENOMEM;
		ret = vm_insert_page(vma, addr, page);
		/* the mapping holds its own reference */
		put_page(page);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct file_operations svmgpu_dmirror_fops = {
	.owner = THIS_MODULE,
	.open = svmgpu_dmirror_open,
	.release = svmgpu_dmirror_release,
	.mmap = svmgpu_dmirror_mmap,
	.unlocked_ioctl = svmgpu_dmirror_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * svmgpu_dmirror_add() - give a device its /dev/hmm_dmirrorN, if wanted
 * @gdev: a device that probed successfully
 *
 * With dmirror_compat=1, a private-mode device gets the first free of
 * hmm_dmirror0 and 1, a coherent-mode one the first free of 2 and 3; others
 * get none. A failure only costs the node (it is logged).
 * Context: process (probe).
 */
void svmgpu_dmirror_add(struct svmgpu_device *gdev)
{
	unsigned int n = gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ? 2 : 0;
	unsigned int last = n + 1;
	struct svmgpu_dmirror *dm;
	int ret;

	if (!dmirror_compat)
		return;
	mutex_lock(&svmgpu_dmirror_lock);
	for (; n <= last && svmgpu_dmirrors[n].gdev; n++)
		;
	if (n > last) {
		mutex_unlock(&svmgpu_dmirror_lock);
		return;
	}
	dm = &svmgpu_dmirrors[n];
	snprintf(dm->name, sizeof(dm->name), "hmm_dmirror%u", n);
	dm->misc = (struct miscdevice) {
		.minor = MISC_DYNAMIC_MINOR,
		.name = dm->name,
		.fops = &svmgpu_dmirror_fops,
		.parent = &gdev->pdev->dev,
		.mode = 0600,
	};
	dm->gdev = gdev;
	ret = misc_register(&dm->misc);
	if (ret)
		dm->gdev = NULL;
	mutex_unlock(&svmgpu_dmirror_lock);
	if (ret)
		pci_warn(gdev->pdev, "cannot register /dev/%s: %d\n", dm->name,
			 ret);
	else
		pci_info(gdev->pdev, "/dev/%s (hmm_dmirror interface)\n",
			 dm->name);
}

/**
 * svmgpu_dmirror_remove() - remove a device's /dev/hmm_dmirrorN, if any
 * @gdev: the device being unbound
 *
 * When this returns no open() of the node runs or will run; files already
 * open keep their context and get -ENODEV once the device is gone.
 * Context: process (remove), before remove_lock is taken.
 */
void svmgpu_dmirror_remove(struct svmgpu_device *gdev)
{
	unsigned int n;

	mutex_lock(&svmgpu_dmirror_lock);
	for (n = 0; n < SVMGPU_DMIRROR_NODES; n++) {
		if (svmgpu_dmirrors[n].gdev != gdev)
			continue;
		misc_deregister(&svmgpu_dmirrors[n].misc);
		svmgpu_dmirrors[n].gdev = NULL;
	}
	mutex_unlock(&svmgpu_dmirror_lock);
}
