// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu: PCI driver for the svmgpu emulated shared-virtual-memory GPU
 *
 * DOC: Overview
 *
 * One PCI function is one GPU and gets one character device, /dev/svmgpuN.
 * Probe checks the device against the hardware contract
 * (include/svmgpu/svmgpu_hw.h): the ID register, then the major of the
 * version register, then that the VRAM BAR exists exactly when the device
 * says it is in coherent mode and has the size of VRAM.
 *
 * DOC: Lifetime
 *
 * struct svmgpu_device is reference counted: the PCI binding holds one
 * reference and every SVM context (open file) another, so a file that
 * outlives an unbind never touches freed memory. @removed tells such a file
 * the hardware is gone; everything that touches the hardware checks it
 * under @remove_lock. Unbinding waits for running ioctls, stops the rings
 * and the fault worker, then detaches every context from the hardware (its
 * page tables freed, its notifier left with nothing to do).
 */

#include <linux/debugfs.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "svmgpu_drv.h"

#define SVMGPU_SUBMIT_DEFAULT_TIMEOUT_MS	10000
#define SVMGPU_SUBMIT_MAX_TIMEOUT_MS		600000

static DEFINE_IDA(svmgpu_ida);

static void svmgpu_device_release(struct kref *kref)
{
	struct svmgpu_device *gdev = container_of(kref, struct svmgpu_device, kref);

	ida_free(&svmgpu_ida, gdev->id);
	ida_destroy(&gdev->ctx_ida);
	cleanup_srcu_struct(&gdev->hw_srcu);
	kfree(gdev->misc.name);
	kfree(gdev);
}

static unsigned int inject_probe_failure;
module_param(inject_probe_failure, uint, 0644);
MODULE_PARM_DESC(inject_probe_failure,
		 "Test hook: probe fails at stage N (1: interrupts and rings set up, 2: VRAM has struct pages); 0 (default): off");

/**
 * svmgpu_probe_fault() - fail probe here if the test hook asks for it
 * @gdev: the device being probed
 * @stage: where probe is
 *
 * Return: -EIO when the module parameter inject_probe_failure names
 * @stage, else 0. Tests use it to prove each unwind path.
 */
int svmgpu_probe_fault(struct svmgpu_device *gdev,
		       enum svmgpu_probe_stage stage)
{
	if (READ_ONCE(inject_probe_failure) != stage)
		return 0;
	pci_info(gdev->pdev, "probe failure injected at stage %u\n", stage);
	return -EIO;
}

/**
 * svmgpu_hw_enter() - keep the hardware while a CPU fault copies
 * @gdev: the device
 *
 * A CPU fault on a VRAM page (migrate_to_ram()) holds the page locked and
 * may come while the device is being unbound: it must neither wait for the
 * unbind (whose eviction may want that page) nor copy once the hardware is
 * gone. It copies inside an SRCU read section; remove() sets @hw_gone
 * after its eviction and waits for those in flight before it stops the
 * engine.
 *
 * Return: an index for svmgpu_hw_leave(), or -ENODEV once the hardware is
 * gone.
 */
int svmgpu_hw_enter(struct svmgpu_device *gdev)
{
	int idx = srcu_read_lock(&gdev->hw_srcu);

	if (READ_ONCE(gdev->hw_gone)) {
		srcu_read_unlock(&gdev->hw_srcu, idx);
		return -ENODEV;
	}
	return idx;
}

/**
 * svmgpu_hw_leave() - end what svmgpu_hw_enter() began
 * @gdev: the device
 * @idx: its return value
 */
void svmgpu_hw_leave(struct svmgpu_device *gdev, int idx)
{
	srcu_read_unlock(&gdev->hw_srcu, idx);
}

/**
 * svmgpu_device_put() - drop a reference to a device
 * @gdev: the device
 */
void svmgpu_device_put(struct svmgpu_device *gdev)
{
	kref_put(&gdev->kref, svmgpu_device_release);
}

/**
 * svmgpu_file_open() - bind an open file to a new SVM context
 * @gdev: the device
 * @file: the file; its private_data becomes the context
 *
 * Shared by /dev/svmgpuN and the hmm_dmirror nodes.
 * Return: 0, -ENODEV after unbind, or svmgpu_ctx_create()'s error.
 */
int svmgpu_file_open(struct svmgpu_device *gdev, struct file *file)
{
	struct svmgpu_ctx *ctx;

	down_read(&gdev->remove_lock);
	ctx = gdev->removed ? ERR_PTR(-ENODEV) : svmgpu_ctx_create(gdev);
	up_read(&gdev->remove_lock);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);

	file->private_data = ctx;
	return 0;
}

/**
 * svmgpu_file_release() - tear down the SVM context of a closing file
 * @file: the file
 *
 * Return: 0.
 */
int svmgpu_file_release(struct file *file)
{
	struct svmgpu_ctx *ctx = file->private_data;
	struct svmgpu_device *gdev = ctx->mmu.gdev;

	/*
	 * Under remove_lock: unbind either still finds the context published
	 * and detaches it, or finds it gone because it is detached here.
	 */
	down_read(&gdev->remove_lock);
	svmgpu_ctx_unpublish(ctx);
	if (!gdev->removed)
		svmgpu_ctx_detach(ctx);
	up_read(&gdev->remove_lock);
	svmgpu_ctx_put(ctx);
	return 0;
}

/* Each open file is one SVM context bound to the opener's mm. */
static int svmgpu_open(struct inode *inode, struct file *file)
{
	return svmgpu_file_open(container_of(file->private_data,
					     struct svmgpu_device, misc), file);
}

static int svmgpu_release(struct inode *inode, struct file *file)
{
	return svmgpu_file_release(file);
}

static long svmgpu_ioctl_get_info(struct svmgpu_device *gdev,
				  void __user *arg)
{
	struct svmgpu_info info = {
		.uapi_major = SVMGPU_UAPI_VERSION_MAJOR,
		.uapi_minor = SVMGPU_UAPI_VERSION_MINOR,
		.hw_version = gdev->hw_version,
		.mem_mode = gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ?
			    SVMGPU_INFO_MEM_COHERENT : SVMGPU_INFO_MEM_PRIVATE,
		.flags = gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT &&
			 gdev->vram_pages ? SVMGPU_INFO_VRAM_CPU_MAPPED : 0,
		.minor = gdev->id,
		.vram_size = gdev->vram_size,
		.pci_segment = gdev->pci_segment,
		.pci_bus = gdev->pci_bus,
		.pci_devfn = gdev->pci_devfn,
	};

	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/* Device status of a finished command -> the (negative) errno it means. */
static int svmgpu_status_errno(u32 status)
{
	switch (status) {
	case SVMGPU_DESC_STATUS_OK:
		return 0;
	case SVMGPU_DESC_STATUS_FAULT:
		return -EFAULT;
	case SVMGPU_DESC_STATUS_INVALID:
		return -EINVAL;
	case SVMGPU_DESC_STATUS_POISONED:
		return -EHWPOISON;
	case SVMGPU_DESC_STATUS_ATOMIC_DENIED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static const u8 svmgpu_cmd_opcode[] = {
	[SVMGPU_CMD_COPY] = SVMGPU_OP_COPY,
	[SVMGPU_CMD_FILL] = SVMGPU_OP_FILL,
	[SVMGPU_CMD_WRITE_IMM] = SVMGPU_OP_WRITE_IMM,
	[SVMGPU_CMD_ATOMIC] = SVMGPU_OP_ATOMIC,
};

/**
 * svmgpu_user_range_ok() - is a user range valid for the device
 * @addr: start
 * @len: length
 *
 * Return: true if it neither wraps nor leaves user space or the device's
 * virtual address space.
 */
bool svmgpu_user_range_ok(u64 addr, u64 len)
{
	return addr + len >= addr && addr + len <= TASK_SIZE &&
	       !(addr >> SVMGPU_VA_BITS);
}

/*
 * Check one user command and translate it into a device command in the
 * context's address space. Nothing reaches the device unless every command
 * of the submission passes.
 */
static int svmgpu_user_cmd_prepare(struct svmgpu_mmu *mmu,
				   const struct svmgpu_user_cmd *u,
				   struct svmgpu_cmd *cmd)
{
	bool scalar = u->op == SVMGPU_CMD_WRITE_IMM || u->op == SVMGPU_CMD_ATOMIC;
	u64 len;

	if (u->op >= ARRAY_SIZE(svmgpu_cmd_opcode) || !svmgpu_cmd_opcode[u->op] ||
	    u->status || u->result)
		return -EINVAL;
	if (scalar) {
		if ((u->width != 4 && u->width != 8) || u->dst % u->width ||
		    u->len || u->src)
			return -EINVAL;
		if (u->op == SVMGPU_CMD_ATOMIC ?
		    u->atomic_op > SVMGPU_ATOM_SMAX : u->atomic_op)
			return -EINVAL;
		len = u->width;
	} else {
		if (u->width || u->atomic_op || u->len > SVMGPU_CMD_MAX_LEN)
			return -EINVAL;
		if (u->op == SVMGPU_CMD_COPY ?
		    !svmgpu_user_range_ok(u->src, u->len) : u->src)
			return -EINVAL;
		len = u->len;
	}
	if (!svmgpu_user_range_ok(u->dst, len))
		return -EINVAL;

	*cmd = (struct svmgpu_cmd) {
		.opcode = svmgpu_cmd_opcode[u->op],
		.flags = SVMGPU_SPACE_VIRT << SVMGPU_DESC_DST_SPACE_SHIFT |
			 SVMGPU_SPACE_VIRT << SVMGPU_DESC_SRC_SPACE_SHIFT,
		.ctx = mmu->id,
		.atomic_op = u->atomic_op,
		.width = u->width,
		.dst = u->dst,
		.src = u->src,
		.len = u->len,
		.operand = u->operand,
		.compare = u->compare,
	};
	return 0;
}

/**
 * svmgpu_user_cmds_run() - run user commands in a device MMU context
 * @mmu: the context their virtual addresses are in
 * @u: the commands; each one's status and result are filled in
 * @count: how many, 1 to SVMGPU_SUBMIT_MAX_CMDS
 * @timeout_ms: 0 for the default, at most SVMGPU_SUBMIT_MAX_TIMEOUT_MS
 *
 * Shared by both SVM front ends: /dev/svmgpuN's SUBMIT and the render
 * node's EXEC run the same commands with the same checks. Nothing reaches
 * the device unless every command passes them.
 *
 * A submission that hangs the engine bans its context (DOC: Hang
 * recovery): it gets -ETIMEDOUT, every later one -ECANCELED.
 *
 * Return: 0 when every command ran (each has its own status), -EINVAL for
 * a bad command or argument, -ENOMEM, -ECANCELED for a banned context, or
 * svmgpu_ring_run()'s error.
 * Context: process; the caller keeps the hardware alive.
 */
int svmgpu_user_cmds_run(struct svmgpu_mmu *mmu, struct svmgpu_user_cmd *u,
			 unsigned int count, u64 timeout_ms)
{
	struct svmgpu_ring *ring = &mmu->gdev->rings[SVMGPU_RING_USER];
	struct svmgpu_cmd *cmds;
	unsigned int i;
	int ret;

	if (!count || count > SVMGPU_SUBMIT_MAX_CMDS ||
	    timeout_ms > SVMGPU_SUBMIT_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (READ_ONCE(mmu->banned))
		return -ECANCELED;	/* and again under the ring's lock */
	if (!timeout_ms)
		timeout_ms = SVMGPU_SUBMIT_DEFAULT_TIMEOUT_MS;
	cmds = kcalloc(count, sizeof(*cmds), GFP_KERNEL);
	if (!cmds)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		ret = svmgpu_user_cmd_prepare(mmu, &u[i], &cmds[i]);
		if (ret)
			goto out;
	}
	ret = __svmgpu_ring_run(ring, cmds, count, msecs_to_jiffies(timeout_ms),
				&mmu->banned);
	if (ret == -ETIMEDOUT && READ_ONCE(mmu->banned))
		dev_warn(&mmu->gdev->pdev->dev,
			 "context %u hung the engine: banned\n", mmu->id);
	if (ret)
		goto out;
	atomic64_add(count, &mmu->stats.commands);
	for (i = 0; i < count; i++) {
		/* A cancelled fault says why it could not be serviced. */
		u[i].status = -(cmds[i].status == SVMGPU_DESC_STATUS_FAULT &&
				cmds[i].fault_errno ? cmds[i].fault_errno :
				svmgpu_status_errno(cmds[i].status));
		u[i].result = cmds[i].result;
	}
out:
	kfree(cmds);
	return ret;
}

static long svmgpu_ioctl_submit(struct svmgpu_ctx *ctx, void __user *arg)
{
	struct svmgpu_user_cmd __user *ucmds;
	struct svmgpu_user_cmd *u;
	struct svmgpu_submit sub;
	long ret;

	if (copy_from_user(&sub, arg, sizeof(sub)))
		return -EFAULT;
	if (!sub.count || sub.count > SVMGPU_SUBMIT_MAX_CMDS || sub.flags ||
	    sub.timeout_ms > SVMGPU_SUBMIT_MAX_TIMEOUT_MS)
		return -EINVAL;
	ucmds = u64_to_user_ptr(sub.cmds);
	u = memdup_array_user(ucmds, sub.count, sizeof(*u));
	if (IS_ERR(u))
		return PTR_ERR(u);
	ret = svmgpu_user_cmds_run(&ctx->mmu, u, sub.count, sub.timeout_ms);
	if (!ret && copy_to_user(ucmds, u, sub.count * sizeof(*u)))
		ret = -EFAULT;
	kfree(u);
	return ret;
}

static long svmgpu_ioctl_migrate(struct svmgpu_ctx *ctx, void __user *arg)
{
	struct svmgpu_migrate m;
	long ret;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	if ((m.flags != SVMGPU_MIGRATE_TO_VRAM &&
	     m.flags != SVMGPU_MIGRATE_TO_SYSTEM) || m.pad || m.migrated ||
	    !m.len || !PAGE_ALIGNED(m.addr) || !PAGE_ALIGNED(m.len) ||
	    m.len > SVMGPU_CMD_MAX_LEN || !svmgpu_user_range_ok(m.addr, m.len))
		return -EINVAL;
	ret = svmgpu_migrate_range(ctx, m.addr, m.addr + m.len,
				   m.flags == SVMGPU_MIGRATE_TO_VRAM, false,
				   &m.migrated);
	if (ret)
		return ret;
	return copy_to_user(arg, &m, sizeof(m)) ? -EFAULT : 0;
}

static long svmgpu_ioctl_residency(struct svmgpu_ctx *ctx, void __user *arg)
{
	struct svmgpu_residency r;
	u8 *bytes;
	long ret;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (!r.npages || r.npages > SVMGPU_RESIDENCY_MAX_PAGES ||
	    !PAGE_ALIGNED(r.addr) ||
	    !svmgpu_user_range_ok(r.addr, r.npages * PAGE_SIZE))
		return -EINVAL;
	bytes = kvmalloc(r.npages, GFP_KERNEL);
	if (!bytes)
		return -ENOMEM;
	ret = svmgpu_residency(ctx, r.addr, r.npages, bytes);
	if (!ret && copy_to_user(u64_to_user_ptr(r.bytes), bytes, r.npages))
		ret = -EFAULT;
	kvfree(bytes);
	return ret;
}

static long svmgpu_ioctl_set_policy(struct svmgpu_ctx *ctx, void __user *arg)
{
	struct svmgpu_policy p;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (p.policy > SVMGPU_POLICY_MIGRATE_ON_FAULT ||
	    p.atomic > SVMGPU_POLICY_ATOMIC_VRAM || !p.len ||
	    !PAGE_ALIGNED(p.addr) || !PAGE_ALIGNED(p.len) ||
	    !svmgpu_user_range_ok(p.addr, p.len))
		return -EINVAL;
	return svmgpu_set_policy(ctx, p.addr, p.addr + p.len, p.policy,
				 p.atomic);
}

static long svmgpu_ioctl_evict(struct svmgpu_device *gdev, void __user *arg)
{
	struct svmgpu_evict e;
	long ret;

	if (copy_from_user(&e, arg, sizeof(e)))
		return -EFAULT;
	if (e.flags || e.pad || e.evicted)
		return -EINVAL;
	ret = svmgpu_vram_evict_all(gdev, &e.evicted);
	if (ret)
		return ret;
	return copy_to_user(arg, &e, sizeof(e)) ? -EFAULT : 0;
}

/* @size: that of the caller's struct, from the ioctl number */
static long svmgpu_ioctl_get_stats(struct svmgpu_ctx *ctx, void __user *arg,
				   unsigned int size)
{
	struct svmgpu_counters *dc = &ctx->mmu.gdev->stats;
	struct svmgpu_stats st = {
		.faults = atomic64_read(&ctx->mmu.stats.faults),
		.replays = atomic64_read(&ctx->mmu.stats.replays),
		.cancels = atomic64_read(&ctx->mmu.stats.cancels),
		.invalidations = atomic64_read(&ctx->mmu.stats.invalidations),
		.commands = atomic64_read(&ctx->mmu.stats.commands),
		.pages_mapped = atomic64_read(&ctx->mmu.stats.pages_mapped),
		.migrated_to_vram =
			atomic64_read(&ctx->mmu.gdev->stats.migrated_to_vram),
		.migrated_to_ram =
			atomic64_read(&ctx->mmu.gdev->stats.migrated_to_ram),
		.evicted = atomic64_read(&dc->evicted),
		.bytes_copied = atomic64_read(&dc->bytes_copied),
		.exclusive = atomic64_read(&dc->exclusive),
		.spurious = atomic64_read(&ctx->mmu.stats.spurious),
	};

	/* A newer binary's bigger struct gets zeroes in what we do not know. */
	if (size > sizeof(st) &&
	    clear_user(arg + sizeof(st), size - sizeof(st)))
		return -EFAULT;
	return copy_to_user(arg, &st, min_t(size_t, size, sizeof(st))) ?
	       -EFAULT : 0;
}

/* The ioctls that act on the context's mm. */
static long svmgpu_ioctl_mm(struct svmgpu_ctx *ctx, unsigned int cmd,
			    void __user *arg)
{
	switch (cmd) {
	case SVMGPU_IOCTL_SUBMIT:
		return svmgpu_ioctl_submit(ctx, arg);
	case SVMGPU_IOCTL_MIGRATE:
		return svmgpu_ioctl_migrate(ctx, arg);
	case SVMGPU_IOCTL_RESIDENCY:
		return svmgpu_ioctl_residency(ctx, arg);
	default:
		return svmgpu_ioctl_set_policy(ctx, arg);
	}
}

static long svmgpu_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct svmgpu_ctx *ctx = file->private_data;
	struct svmgpu_device *gdev = ctx->mmu.gdev;
	long ret;

	down_read(&gdev->remove_lock);
	if (gdev->removed) {
		ret = -ENODEV;
		goto out;
	}

	switch (cmd) {
	case SVMGPU_IOCTL_GET_INFO:
		ret = svmgpu_ioctl_get_info(gdev, (void __user *)arg);
		break;
	case SVMGPU_IOCTL_SUBMIT:
	case SVMGPU_IOCTL_MIGRATE:
	case SVMGPU_IOCTL_RESIDENCY:
	case SVMGPU_IOCTL_SET_POLICY:
		/* They act on the opener's memory: only the opener's mm may. */
		if (current->mm != ctx->mm) {
			ret = -EBADF;
			break;
		}
		ret = svmgpu_ioctl_mm(ctx, cmd, (void __user *)arg);
		break;
	case SVMGPU_IOCTL_EVICT:
		ret = svmgpu_ioctl_evict(gdev, (void __user *)arg);
		break;
	default:
		/* GET_STATS, of any struct size from that of UAPI 1.4 on */
		if (_IOC_TYPE(cmd) == SVMGPU_IOCTL_BASE &&
		    _IOC_NR(cmd) == _IOC_NR(SVMGPU_IOCTL_GET_STATS) &&
		    _IOC_DIR(cmd) == _IOC_READ &&
		    _IOC_SIZE(cmd) >= SVMGPU_STATS_SIZE_V1_4 &&
		    _IOC_SIZE(cmd) % sizeof(__u64) == 0) {
			ret = svmgpu_ioctl_get_stats(ctx, (void __user *)arg,
						     _IOC_SIZE(cmd));
			break;
		}
		ret = -ENOTTY;
		break;
	}
out:
	up_read(&gdev->remove_lock);
	return ret;
}

static const struct file_operations svmgpu_fops = {
	.owner = THIS_MODULE,
	.open = svmgpu_open,
	.release = svmgpu_release,
	.unlocked_ioctl = svmgpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * The VRAM BAR must exist exactly in coherent mode, be a 64-bit memory BAR
 * and be as large as VRAM: anything else is a device the driver does not
 * understand, and mapping a wrong size would hand the mm a wrong range.
 */
static int svmgpu_check_vram_bar(struct svmgpu_device *gdev)
{
	struct pci_dev *pdev = gdev->pdev;
	resource_size_t len = pci_resource_len(pdev, SVMGPU_BAR_VRAM);
	unsigned long flags = pci_resource_flags(pdev, SVMGPU_BAR_VRAM);

	if (gdev->mem_mode == SVMGPU_MEM_MODE_PRIVATE) {
		if (len) {
			pci_err(pdev, "private-mode device exposes a VRAM BAR\n");
			return -ENODEV;
		}
		return 0;
	}

	if (!len) {
		pci_err(pdev, "coherent-mode device has no VRAM BAR (not assigned?)\n");
		return -ENODEV;
	}
	if (!(flags & IORESOURCE_MEM) || !(flags & IORESOURCE_MEM_64) ||
	    len != gdev->vram_size) {
		pci_err(pdev, "VRAM BAR %pR does not match %llu bytes of VRAM\n",
			pci_resource_n(pdev, SVMGPU_BAR_VRAM), gdev->vram_size);
		return -ENODEV;
	}
	return 0;
}

/* debugfs: svmgpuN/stats, the device's counters */
static int svmgpu_stats_show(struct seq_file *m, void *unused)
{
	struct svmgpu_device *gdev = m->private;
	struct svmgpu_counters *c = &gdev->stats;

	seq_printf(m, "faults %lld\nreplays %lld\ncancels %lld\n",
		   atomic64_read(&c->faults), atomic64_read(&c->replays),
		   atomic64_read(&c->cancels));
	seq_printf(m, "invalidations %lld\npages_mapped %lld\nhuge_mapped %lld\n",
		   atomic64_read(&c->invalidations),
		   atomic64_read(&c->pages_mapped),
		   atomic64_read(&c->huge_mapped));
	seq_printf(m, "migrated_to_vram %lld\nmigrated_to_ram %lld\n",
		   atomic64_read(&c->migrated_to_vram),
		   atomic64_read(&c->migrated_to_ram));
	seq_printf(m, "evicted %lld\nbytes_copied %lld\nexclusive %lld\n",
		   atomic64_read(&c->evicted), atomic64_read(&c->bytes_copied),
		   atomic64_read(&c->exclusive));
	seq_printf(m, "resets %lld\nspurious %lld\ncopy_retries %lld\n",
		   atomic64_read(&c->resets), atomic64_read(&c->spurious),
		   atomic64_read(&c->copy_retries));
	seq_printf(m, "aer_correctable %lld\naer_recovered %lld\n",
		   atomic64_read(&c->aer_correctable),
		   atomic64_read(&c->aer_recovered));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(svmgpu_stats);

/*
 * debugfs: svmgpuN/inject, guest-side fault injection through the device's
 * debug window (only with the device property x-debug-window=on). Write one
 * knob of the window per line: "KNOB VALUE" sets it (a knob alone sets 1),
 * "poison OFFSET LEN" poisons a VRAM range, "clear" sets every knob to 0;
 * "dma-error" is "dma-error-nth". Read: the knobs and how many injections
 * fired (docs/fault-injection.md).
 */
static const struct {
	const char *name;
	u32 reg;
	u32 max;
} svmgpu_inject_knobs[] = {
	{ "dma-error-nth", SVMGPU_REG_DBG_DMA_ERROR_NTH, U32_MAX },
	{ "dma-error-ppm", SVMGPU_REG_DBG_DMA_ERROR_PPM, 1000000 },
	{ "latency-us", SVMGPU_REG_DBG_LATENCY_US, 1000000 },
	{ "irq-drop-nth", SVMGPU_REG_DBG_IRQ_DROP_NTH, U32_MAX },
	{ "irq-dup-nth", SVMGPU_REG_DBG_IRQ_DUP_NTH, U32_MAX },
	{ "hang", SVMGPU_REG_DBG_HANG, 1 },
	{ "spurious-ppm", SVMGPU_REG_DBG_SPURIOUS_PPM, 1000000 },
};

static int svmgpu_inject_show(struct seq_file *m, void *unused)
{
	struct svmgpu_device *gdev = m->private;
	unsigned int i;

	if (!(svmgpu_rd(gdev, SVMGPU_REG_CAPS) & SVMGPU_CAP_DEBUG_WINDOW))
		return -ENODEV;
	for (i = 0; i < ARRAY_SIZE(svmgpu_inject_knobs); i++)
		seq_printf(m, "%s %u\n", svmgpu_inject_knobs[i].name,
			   svmgpu_rd(gdev, svmgpu_inject_knobs[i].reg));
	seq_printf(m, "poison %#llx %#llx\ninjected %u\n",
		   svmgpu_rd64(gdev, SVMGPU_REG_DBG_POISON_ADDR_LO),
		   svmgpu_rd64(gdev, SVMGPU_REG_DBG_POISON_LEN_LO),
		   svmgpu_rd(gdev, SVMGPU_REG_DBG_INJECTED));
	return 0;
}

static int svmgpu_inject_open(struct inode *inode, struct file *file)
{
	return single_open(file, svmgpu_inject_show, inode->i_private);
}

/* One "KNOB [VALUE]", "poison OFFSET LEN" or "clear" line; 0 or -errno. */
static int svmgpu_inject_line(struct svmgpu_device *gdev, const char *line)
{
	u64 v = 1, len = 0;
	unsigned int i;
	int argc, ret = -EINVAL;
	char **argv = argv_split(GFP_KERNEL, line, &argc);

	if (!argv)
		return -ENOMEM;
	if (argc == 1 && !strcmp(argv[0], "clear")) {
		for (i = 0; i < ARRAY_SIZE(svmgpu_inject_knobs); i++)
			svmgpu_wr(gdev, svmgpu_inject_knobs[i].reg, 0);
		svmgpu_wr64(gdev, SVMGPU_REG_DBG_POISON_LEN_LO, 0);
		ret = 0;
	} else if (argc == 3 && !strcmp(argv[0], "poison")) {
		if (!kstrtou64(argv[1], 0, &v) && !kstrtou64(argv[2], 0, &len) &&
		    v < gdev->vram_size && len <= gdev->vram_size - v) {
			svmgpu_wr64(gdev, SVMGPU_REG_DBG_POISON_ADDR_LO, v);
			svmgpu_wr64(gdev, SVMGPU_REG_DBG_POISON_LEN_LO, len);
			ret = 0;
		}
	} else if (argc == 1 || argc == 2) {
		const char *name = strcmp(argv[0], "dma-error") ? argv[0] :
				   "dma-error-nth";

		for (i = 0; i < ARRAY_SIZE(svmgpu_inject_knobs); i++) {
			if (strcmp(name, svmgpu_inject_knobs[i].name))
				continue;
			if ((argc == 2 && kstrtou64(argv[1], 0, &v)) ||
			    v > svmgpu_inject_knobs[i].max)
				break;
			svmgpu_wr(gdev, svmgpu_inject_knobs[i].reg, v);
			ret = 0;
			break;
		}
	}
	argv_free(argv);
	return ret;
}

/* Lines of one write apply in order; a bad one stops there, with -errno. */
static ssize_t svmgpu_inject_write(struct file *file, const char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	static DEFINE_MUTEX(inject_lock);	/* 64-bit pairs stay whole */
	struct svmgpu_device *gdev =
		((struct seq_file *)file->private_data)->private;
	char *buf, *cur, *line;
	int ret = 0;

	if (!(svmgpu_rd(gdev, SVMGPU_REG_CAPS) & SVMGPU_CAP_DEBUG_WINDOW))
		return -ENODEV;
	if (len > PAGE_SIZE)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	cur = buf;
	mutex_lock(&inject_lock);
	while (!ret && (line = strsep(&cur, "\n")))
		if (*skip_spaces(line))
			ret = svmgpu_inject_line(gdev, line);
	mutex_unlock(&inject_lock);
	kfree(buf);
	return ret ? ret : len;
}

static const struct file_operations svmgpu_inject_fops = {
	.owner = THIS_MODULE,
	.open = svmgpu_inject_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = svmgpu_inject_write,
};

/* debugfs: svmgpuN/evict, write anything: every VRAM page to system memory */
static ssize_t svmgpu_evict_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	struct svmgpu_device *gdev = file->private_data;
	int ret;

	down_read(&gdev->remove_lock);
	ret = gdev->removed ? -ENODEV : svmgpu_vram_evict_all(gdev, NULL);
	up_read(&gdev->remove_lock);
	return ret ? ret : len;
}

static const struct file_operations svmgpu_evict_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = svmgpu_evict_write,
};

/* debugfs: svmgpuN/vram, mode and use */
static int svmgpu_vram_show(struct seq_file *m, void *unused)
{
	struct svmgpu_device *gdev = m->private;
	unsigned long used;

	spin_lock(&gdev->vram_lock);
	used = gdev->vram_used;
	spin_unlock(&gdev->vram_lock);
	seq_printf(m, "mode %s\nsize %llu\npages %lu\nused %lu\n",
		   gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ? "coherent" :
		   "private", gdev->vram_size, gdev->vram_pages, used);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(svmgpu_vram);

/* debugfs: svmgpuN/blocks, VRAM blocks in LRU order */
DEFINE_SHOW_ATTRIBUTE(svmgpu_vram_blocks);

static int svmgpu_identify(struct svmgpu_device *gdev)
{
	struct pci_dev *pdev = gdev->pdev;
	u32 magic, major;

	magic = svmgpu_rd(gdev, SVMGPU_REG_ID);
	if (magic != SVMGPU_ID_MAGIC) {
		pci_err(pdev, "ID register reads %#x, not an svmgpu\n", magic);
		return -ENODEV;
	}

	gdev->hw_version = svmgpu_rd(gdev, SVMGPU_REG_VERSION);
	major = gdev->hw_version >> SVMGPU_VERSION_MAJOR_SHIFT;
	if (major != SVMGPU_HW_MAJOR) {
		pci_err(pdev, "hardware contract %u.%u, driver speaks %u.x\n",
			major, gdev->hw_version & SVMGPU_VERSION_MINOR_MASK,
			SVMGPU_HW_MAJOR);
		return -ENODEV;
	}

	gdev->mem_mode = svmgpu_rd(gdev, SVMGPU_REG_MEM_MODE);
	if (gdev->mem_mode != SVMGPU_MEM_MODE_PRIVATE &&
	    gdev->mem_mode != SVMGPU_MEM_MODE_COHERENT) {
		pci_err(pdev, "unknown memory mode %u\n", gdev->mem_mode);
		return -ENODEV;
	}

	gdev->num_contexts = min_t(u32, svmgpu_rd(gdev, SVMGPU_REG_NUM_CONTEXTS),
				   SVMGPU_CONTEXTS_MAX);
	if (!gdev->num_contexts) {
		pci_err(pdev, "device has no MMU context\n");
		return -ENODEV;
	}

	gdev->vram_size = svmgpu_rd64(gdev, SVMGPU_REG_VRAM_SIZE_LO);
	if (gdev->vram_size < SVMGPU_VRAM_SIZE_MIN ||
	    gdev->vram_size > SVMGPU_VRAM_SIZE_MAX ||
	    !is_power_of_2(gdev->vram_size)) {
		pci_err(pdev, "implausible VRAM size %llu\n", gdev->vram_size);
		return -ENODEV;
	}
	return 0;
}

static int svmgpu_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct svmgpu_device *gdev;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	gdev = kzalloc_obj(*gdev);
	if (!gdev)
		return -ENOMEM;
	ret = init_srcu_struct(&gdev->hw_srcu);
	if (ret) {
		kfree(gdev);
		return ret;
	}
	kref_init(&gdev->kref);
	init_rwsem(&gdev->remove_lock);
	spin_lock_init(&gdev->ctx_lock);
	spin_lock_init(&gdev->dpagemap_lock);
	ida_init(&gdev->ctx_ida);
	gdev->pdev = pdev;
	gdev->pci_segment = pci_domain_nr(pdev->bus);
	gdev->pci_bus = pdev->bus->number;
	gdev->pci_devfn = pdev->devfn;

	ret = ida_alloc(&svmgpu_ida, GFP_KERNEL);
	if (ret < 0) {
		cleanup_srcu_struct(&gdev->hw_srcu);
		kfree(gdev);
		return ret;
	}
	gdev->id = ret;

	gdev->regs = pcim_iomap_region(pdev, SVMGPU_BAR_REGS, SVMGPU_NAME);
	if (IS_ERR(gdev->regs)) {
		ret = PTR_ERR(gdev->regs);
		goto err_put;
	}

	ret = svmgpu_identify(gdev);
	if (ret)
		goto err_put;
	ret = svmgpu_check_vram_bar(gdev);
	if (ret)
		goto err_put;
	if (gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT) {
		ret = pcim_request_region(pdev, SVMGPU_BAR_VRAM,
					  SVMGPU_NAME "-vram");
		if (ret)
			goto err_put;
	}
	ret = svmgpu_engine_init(gdev);
	if (ret)
		goto err_put;
	ret = svmgpu_vram_init(gdev);
	if (!ret)
		ret = svmgpu_probe_fault(gdev, SVMGPU_PROBE_FAIL_VRAM);
	if (ret)
		goto err_engine;

	gdev->misc.minor = MISC_DYNAMIC_MINOR;
	gdev->misc.name = kasprintf(GFP_KERNEL, SVMGPU_NAME "%d", gdev->id);
	if (!gdev->misc.name) {
		ret = -ENOMEM;
		goto err_engine;
	}
	gdev->misc.fops = &svmgpu_fops;
	gdev->misc.parent = &pdev->dev;
	gdev->misc.mode = 0600;
	ret = misc_register(&gdev->misc);
	if (ret)
		goto err_engine;

	pci_set_drvdata(pdev, gdev);
	/* what an error recovery restores after the link reset */
	pci_save_state(pdev);
	gdev->debugfs = debugfs_create_dir(gdev->misc.name, NULL);
	debugfs_create_file("stats", 0444, gdev->debugfs, gdev,
			    &svmgpu_stats_fops);
	debugfs_create_file("vram", 0444, gdev->debugfs, gdev,
			    &svmgpu_vram_fops);
	debugfs_create_file("blocks", 0444, gdev->debugfs, gdev,
			    &svmgpu_vram_blocks_fops);
	debugfs_create_file("inject", 0600, gdev->debugfs, gdev,
			    &svmgpu_inject_fops);
	debugfs_create_file("evict", 0200, gdev->debugfs, gdev,
			    &svmgpu_evict_fops);
	debugfs_create_u32("evict_delay_ms", 0600, gdev->debugfs,
			   &gdev->evict_delay_ms);
	svmgpu_dmirror_add(gdev);
	ret = svmgpu_drm_register(gdev);
	if (ret && ret != -EOPNOTSUPP)
		pci_warn(pdev, "no render node (%d): /dev/%s only\n", ret,
			 gdev->misc.name);
	pci_info(pdev, "%s: hw %u.%u, %llu MiB %s VRAM%s\n", gdev->misc.name,
		 gdev->hw_version >> SVMGPU_VERSION_MAJOR_SHIFT,
		 gdev->hw_version & SVMGPU_VERSION_MINOR_MASK,
		 gdev->vram_size >> 20,
		 gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ? "coherent" : "private",
		 gdev->mem_mode == SVMGPU_MEM_MODE_COHERENT ?
		 ", device-coherent pages" : ", device-private pages");
	return 0;

err_engine:
	svmgpu_engine_stop(gdev);
	svmgpu_engine_fini(gdev);
	cancel_delayed_work_sync(&gdev->reset_work);
err_put:
	svmgpu_device_put(gdev);
	return ret;
}

/*
 * Every byte of VRAM back in system memory before the device goes: a
 * hung engine is reset first (DOC: Hang recovery). What cannot be evicted
 * (poisoned VRAM, a page pinned all along) is lost with the device, and
 * said so: a later CPU access to such a private page gets SIGBUS.
 */
static void svmgpu_remove_evict(struct svmgpu_device *gdev)
{
	struct svmgpu_ring *ring = &gdev->rings[SVMGPU_RING_USER];
	int ret;

	lockdep_assert_held_write(&gdev->remove_lock);
	ret = svmgpu_vram_evict_all(gdev, NULL);
	if (ret == -EIO) {
		pci_warn(gdev->pdev, "engine hung during unbind: resetting it\n");
		mutex_lock(&ring->lock);
		ret = svmgpu_device_reset(gdev, true);
		mutex_unlock(&ring->lock);
		/* the reset restarted the user ring and the fault queue */
		svmgpu_engine_stop_faults(gdev);
		if (!ret)
			ret = svmgpu_vram_evict_all(gdev, NULL);
	}
	if (ret)
		pci_err(gdev->pdev,
			"unbound with data in VRAM (%d): the pages that could not leave are lost with the device\n",
			ret);
	/* no CPU fault copies from now on; wait for those under way */
	WRITE_ONCE(gdev->hw_gone, true);
	synchronize_srcu(&gdev->hw_srcu);
}

static void svmgpu_remove(struct pci_dev *pdev)
{
	struct svmgpu_device *gdev = pci_get_drvdata(pdev);
	unsigned int i;

	svmgpu_dmirror_remove(gdev);
	debugfs_remove_recursive(gdev->debugfs);
	misc_deregister(&gdev->misc);
	svmgpu_drm_unplug(gdev);

	/* Wait for every ioctl, then forbid new hardware users. */
	down_write(&gdev->remove_lock);
	/*
	 * No more device faults (they could migrate into VRAM behind the
	 * eviction), then every byte back in system memory while the kernel
	 * ring still runs.
	 */
	svmgpu_engine_stop_faults(gdev);
	svmgpu_remove_evict(gdev);
	svmgpu_engine_stop(gdev);
	for (i = 0; i < SVMGPU_CONTEXTS_MAX; i++) {
		struct svmgpu_mmu *mmu = svmgpu_mmu_lookup(gdev, i);

		if (mmu) {
			mmu->ops->detach(mmu);
			svmgpu_mmu_put(mmu);
		}
	}
	svmgpu_engine_fini(gdev);
	gdev->removed = true;
	gdev->regs = NULL;
	gdev->pdev = NULL;
	up_write(&gdev->remove_lock);
	/* a reset or its eviction, queued before: they see @removed, leave */
	cancel_delayed_work_sync(&gdev->reset_work);
	cancel_work_sync(&gdev->evict_work);

	/* The devm mappings of BAR 0 and 2 go when this function returns. */
	svmgpu_device_put(gdev);
}

/*
 * PCIe errors (DOC: PCIe errors in svmgpu_engine.c). The AER core calls
 * these with the device lock held, so never during probe or remove.
 */
static pci_ers_result_t svmgpu_error_detected(struct pci_dev *pdev,
					      pci_channel_state_t state)
{
	struct svmgpu_device *gdev = pci_get_drvdata(pdev);

	pci_warn(pdev, "PCIe error (%s): taking the engine offline\n",
		 state == pci_channel_io_normal ? "non-fatal" :
		 state == pci_channel_io_frozen ? "fatal" : "permanent");
	svmgpu_engine_offline(gdev);
	if (state == pci_channel_io_perm_failure)
		return PCI_ERS_RESULT_DISCONNECT;
	/* what was in flight is lost either way: a clean start */
	return PCI_ERS_RESULT_NEED_RESET;
}

static pci_ers_result_t svmgpu_slot_reset(struct pci_dev *pdev)
{
	struct svmgpu_device *gdev = pci_get_drvdata(pdev);

	/* the link reset cleared the function's config space too */
	pci_restore_state(pdev);
	pci_save_state(pdev);
	if (svmgpu_rd(gdev, SVMGPU_REG_ID) != SVMGPU_ID_MAGIC) {
		pci_err(pdev, "no device after the reset\n");
		return PCI_ERS_RESULT_DISCONNECT;
	}
	return PCI_ERS_RESULT_RECOVERED;
}

static void svmgpu_error_resume(struct pci_dev *pdev)
{
	struct svmgpu_device *gdev = pci_get_drvdata(pdev);

	svmgpu_engine_online(gdev);
	atomic64_inc(&gdev->stats.aer_recovered);
	pci_info(pdev, "recovered from the PCIe error\n");
}

static void svmgpu_cor_error_detected(struct pci_dev *pdev)
{
	struct svmgpu_device *gdev = pci_get_drvdata(pdev);

	atomic64_inc(&gdev->stats.aer_correctable);
}

static const struct pci_error_handlers svmgpu_err_handlers = {
	.error_detected = svmgpu_error_detected,
	.slot_reset = svmgpu_slot_reset,
	.resume = svmgpu_error_resume,
	.cor_error_detected = svmgpu_cor_error_detected,
};

static const struct pci_device_id svmgpu_pci_ids[] = {
	{ PCI_DEVICE(SVMGPU_PCI_VENDOR_ID, SVMGPU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, svmgpu_pci_ids);

static struct pci_driver svmgpu_pci_driver = {
	.name = SVMGPU_NAME,
	.id_table = svmgpu_pci_ids,
	.probe = svmgpu_probe,
	.remove = svmgpu_remove,
	.err_handler = &svmgpu_err_handlers,
};
module_pci_driver(svmgpu_pci_driver);

MODULE_DESCRIPTION("svmgpu emulated shared-virtual-memory GPU");
MODULE_LICENSE("GPL");
