// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu engine: rings, fences, interrupts and the fault queue
 *
 * DOC: Command submission
 *
 * The driver uses two of the device's rings: SVMGPU_RING_USER for work on
 * user virtual addresses (which may fault) and SVMGPU_RING_KERNEL for its
 * own copies, so that servicing a fault never waits behind the command that
 * faulted. A submitter holds the ring's lock from the doorbell until its
 * commands completed: the ring is empty whenever the lock is free, so there
 * is no space accounting. The last descriptor of every submission is a
 * FENCE that writes the submission's seqno to a DMA-coherent word; the
 * completion interrupt wakes the waiters, and waiters also poll that word
 * every 10 ms, so that a lost interrupt costs latency, never a hang.
 *
 * DOC: Hang recovery
 *
 * A submission that times out while its ring's HEAD moved in the last
 * SVMGPU_HANG_WINDOW, or while a command waits for the driver to service
 * its fault (STATUS.FAULT_PENDING), is slow, not hung: the ring is
 * restarted, which abandons that submission alone (its submitter gets
 * -ETIMEDOUT), and nobody else pays: no reset, no eviction. Its clock
 * starts when it has the ring, not while it waits for it. Otherwise the
 * engine is hung.
 * On the user ring, the submitter resets the device itself: the fault worker
 * is stopped (disable_work_sync()), the kernel ring's lock is taken (the
 * order is always user ring, then kernel ring), the function is reset with
 * FLR (pci_try_reset_function(): a trylock, since unbinding holds the device
 * lock while it waits for ioctls), and rings, fault queue and every live
 * context's page-table root are programmed again. Commands in flight are
 * lost (their submitters get -ETIMEDOUT); VRAM contents survive a reset, so
 * no page is lost. The context whose submission hung the engine is guilty,
 * as in DRM: it is banned, its later submissions fail with -ECANCELED, and
 * the contexts waiting for the ring go on after the reset, their work and
 * data untouched (only one submission is ever on the user ring). Only a
 * submission that found the engine sound is blamed: not when the ring is
 * @dirty (the one before it ended unfinished without a reset: a fatal
 * signal, a slow submission aborted) or the kernel ring saw a hang first.
 *
 * A kernel-ring copy that times out (SVMGPU_COPY_TIMEOUT) fails its
 * migration or eviction, which leaves every page where it was, and marks
 * the engine hung (@kring_hung); until a reset, kernel-ring copies fail at
 * once. It cannot reset the device itself: it holds the kernel ring's
 * lock, and may be the fault worker, which a reset waits for. So it queues
 * @reset_work, which takes the locks in order and resets unless a reset
 * happened meanwhile; it tries again while the device lock is taken, and
 * takes the engine offline for good if the reset fails. Unbinding cannot
 * wait for that work (it holds @remove_lock), so svmgpu_remove() resets a
 * hung device itself, under the device lock it already holds.
 *
 * DOC: PCIe errors
 *
 * A correctable error is counted. On an uncorrectable one the AER core
 * calls error_detected(): the driver takes the engine offline
 * (svmgpu_engine_offline(): submissions fail with -EIO, the fault worker
 * stops) and asks for a reset, which the core does by a secondary bus
 * reset; slot_reset() programs the device again and resume() brings it
 * online (svmgpu_engine_online()), evicting VRAM as after a hang. A
 * permanent failure leaves it offline.
 *
 * DOC: Lost and duplicated interrupts
 *
 * Interrupts are hints. A waiter polls its fence every 10 ms, and a user
 * submission's waiter also queues the fault worker at each poll, which
 * drains whatever the fault queue holds: a lost fault interrupt costs
 * 10 ms, not a timeout and a reset. A duplicated interrupt wakes the
 * waiters or the worker once more, which then find nothing new.
 *
 * DOC: Device faults
 *
 * The fault interrupt queues fault_work on an ordered workqueue. The worker
 * drains the fault queue, services each fault in the faulting context
 * (the front end's svmgpu_mmu_ops.service_fault) and answers REPLAY, or CANCEL when the fault
 * cannot be serviced: the command then completes with status FAULT, which
 * the submitter reports as -EFAULT.
 */

#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/unaligned.h>

#include "svmgpu_drv.h"

#define SVMGPU_POLL_INTERVAL	(HZ / 100)

static void svmgpu_desc_encode(u8 *d, const struct svmgpu_cmd *cmd)
{
	memset(d, 0, SVMGPU_DESC_SIZE);
	d[SVMGPU_DESC_OPCODE] = cmd->opcode;
	d[SVMGPU_DESC_FLAGS] = cmd->flags;
	put_unaligned_le16(cmd->ctx, d + SVMGPU_DESC_CTX);
	d[SVMGPU_DESC_ATOMIC_OP] = cmd->atomic_op;
	d[SVMGPU_DESC_WIDTH] = cmd->width;
	put_unaligned_le64(cmd->dst, d + SVMGPU_DESC_DST);
	put_unaligned_le64(cmd->src, d + SVMGPU_DESC_SRC);
	put_unaligned_le64(cmd->len, d + SVMGPU_DESC_LEN);
	put_unaligned_le64(cmd->operand, d + SVMGPU_DESC_OPERAND);
	put_unaligned_le64(cmd->compare, d + SVMGPU_DESC_COMPARE);
}

/* Slot @i of the submission starting at the tail (indices wrap). */
static u8 *svmgpu_ring_slot(struct svmgpu_ring *ring, unsigned int i)
{
	return ring->desc + (size_t)((ring->tail + i) % SVMGPU_RING_ENTRIES) *
	       SVMGPU_DESC_SIZE;
}

static bool svmgpu_ring_done(struct svmgpu_ring *ring, u64 seqno)
{
	return le64_to_cpu(READ_ONCE(*ring->fence)) >= seqno;
}

static u32 svmgpu_ring_head(struct svmgpu_ring *ring)
{
	return svmgpu_rd(ring->gdev, SVMGPU_REG_RING_HEAD(ring->id));
}

/* An engine whose ring HEAD moved this recently is slow, not hung. */
#define SVMGPU_HANG_WINDOW	(HZ / 2)

/*
 * Forget whatever the ring still holds: disabling resets head and tail.
 * Used after a timeout, so that the next submitter finds an empty ring.
 */
static void svmgpu_ring_restart(struct svmgpu_ring *ring)
{
	struct svmgpu_device *gdev = ring->gdev;

	lockdep_assert_held(&ring->lock);
	svmgpu_wr(gdev, SVMGPU_REG_RING_CONTROL(ring->id), 0);
	svmgpu_wr(gdev, SVMGPU_REG_RING_CONTROL(ring->id),
		  SVMGPU_RING_CONTROL_ENABLE);
	ring->tail = 0;
	ring->dirty = true;
}

static void svmgpu_ring_program(struct svmgpu_device *gdev, unsigned int id)
{
	struct svmgpu_ring *ring = &gdev->rings[id];

	svmgpu_wr64(gdev, SVMGPU_REG_RING_BASE_LO(id), ring->desc_dma);
	svmgpu_wr(gdev, SVMGPU_REG_RING_SIZE(id), SVMGPU_RING_ENTRIES);
	svmgpu_wr(gdev, SVMGPU_REG_RING_CONTROL(id), SVMGPU_RING_CONTROL_ENABLE);
	ring->tail = 0;
	ring->dirty = false;
}

static void svmgpu_faultq_program(struct svmgpu_device *gdev)
{
	svmgpu_wr64(gdev, SVMGPU_REG_FAULTQ_BASE_LO, gdev->faultq_dma);
	svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_SIZE, SVMGPU_FAULTQ_ENTRIES);
	svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_CONTROL, SVMGPU_FAULTQ_CONTROL_ENABLE);
	gdev->faultq_head = 0;
}

/*
 * The device was reset: program rings, fault queue and contexts again,
 * and, as VRAM survives a reset but what was in flight is unknown, bring
 * every page home, where the CPU can check it. Both ring locks held.
 */
static void svmgpu_engine_program(struct svmgpu_device *gdev)
{
	unsigned int i;

	lockdep_assert_held(&gdev->rings[SVMGPU_RING_USER].lock);
	lockdep_assert_held(&gdev->rings[SVMGPU_RING_KERNEL].lock);
	WRITE_ONCE(gdev->kring_hung, false);
	for (i = 0; i < ARRAY_SIZE(gdev->rings); i++)
		svmgpu_ring_program(gdev, i);
	svmgpu_faultq_program(gdev);
	svmgpu_mmu_reprogram(gdev);
	atomic64_inc(&gdev->stats.resets);
	schedule_work(&gdev->evict_work);
}

/**
 * svmgpu_device_reset() - FLR after a hang, then program everything again
 * @gdev: the device
 * @dev_locked: the caller holds the PCI device lock (svmgpu_remove())
 *
 * Context: process; the caller holds the user ring's lock, this takes the
 * kernel ring's (nested: always in this order).
 * Return: 0, or the errno of a reset that failed (the rings are then only
 * restarted).
 */
int svmgpu_device_reset(struct svmgpu_device *gdev, bool dev_locked)
{
	struct svmgpu_ring *ring = &gdev->rings[SVMGPU_RING_USER];
	struct svmgpu_ring *kring = &gdev->rings[SVMGPU_RING_KERNEL];
	int ret;

	lockdep_assert_held(&ring->lock);
	disable_work_sync(&gdev->fault_work);
	mutex_lock(&kring->lock);
	ret = dev_locked ? pci_reset_function_locked(gdev->pdev) :
			   pci_try_reset_function(gdev->pdev);
	if (ret) {
		pci_warn(gdev->pdev, "reset failed (%d): restarting the rings\n",
			 ret);
		svmgpu_ring_restart(ring);
		svmgpu_ring_restart(kring);
		goto out;
	}
	svmgpu_engine_program(gdev);
	pci_info(gdev->pdev, "device reset after a hang\n");
out:
	mutex_unlock(&kring->lock);
	enable_work(&gdev->fault_work);
	return ret;
}

/**
 * svmgpu_engine_offline() - stop using the hardware for an error recovery
 * @gdev: the device
 *
 * Submissions fail with -EIO from now on, those waiting give up at their
 * next poll, and the fault worker stops; returns once none of them is
 * left. The device stays offline until svmgpu_engine_online(), or for
 * good. Idempotent.
 * Context: process; the caller holds no ring lock (AER's error_detected(),
 * or a reset that failed).
 */
void svmgpu_engine_offline(struct svmgpu_device *gdev)
{
	unsigned int i;

	if (READ_ONCE(gdev->engine_offline))
		return;
	WRITE_ONCE(gdev->engine_offline, true);
	disable_work_sync(&gdev->fault_work);
	/* each lock once: whoever held it has seen the flag and left */
	for (i = 0; i < ARRAY_SIZE(gdev->rings); i++) {
		mutex_lock(&gdev->rings[i].lock);
		mutex_unlock(&gdev->rings[i].lock);
	}
}

/**
 * svmgpu_engine_online() - the device was reset: program it, work again
 * @gdev: the device, offline (svmgpu_engine_offline())
 *
 * Commands that were in flight are lost (their submitters got -EIO);
 * VRAM, which survives a reset, is evicted (svmgpu_engine_program()).
 * Context: process; the caller holds the PCI device lock (AER).
 */
void svmgpu_engine_online(struct svmgpu_device *gdev)
{
	struct svmgpu_ring *ring = &gdev->rings[SVMGPU_RING_USER];
	struct svmgpu_ring *kring = &gdev->rings[SVMGPU_RING_KERNEL];

	if (!READ_ONCE(gdev->engine_offline))
		return;
	mutex_lock(&ring->lock);
	mutex_lock(&kring->lock);
	svmgpu_engine_program(gdev);
	WRITE_ONCE(gdev->engine_offline, false);
	mutex_unlock(&kring->lock);
	mutex_unlock(&ring->lock);
	enable_work(&gdev->fault_work);
}

/*
 * A kernel-ring copy timed out (DOC: Hang recovery): reset, unless the
 * device was reset since, or is going away.
 */
static void svmgpu_reset_work(struct work_struct *work)
{
	struct svmgpu_device *gdev =
		container_of(to_delayed_work(work), struct svmgpu_device,
			     reset_work);
	struct svmgpu_ring *ring = &gdev->rings[SVMGPU_RING_USER];
	int ret = 0;

	down_read(&gdev->remove_lock);
	if (!gdev->removed) {
		mutex_lock(&ring->lock);
		/* an error recovery resets the device its own way */
		if (READ_ONCE(gdev->kring_hung) &&
		    !READ_ONCE(gdev->engine_offline))
			ret = svmgpu_device_reset(gdev, false);
		mutex_unlock(&ring->lock);
	}
	up_read(&gdev->remove_lock);
	if (ret == -EAGAIN) {
		/* someone holds the device lock (an unbind resets itself) */
		schedule_delayed_work(&gdev->reset_work, HZ / 10);
	} else if (ret) {
		pci_err(gdev->pdev, "reset failed (%d): the engine stays offline\n",
			ret);
		svmgpu_engine_offline(gdev);
	}
}

/**
 * __svmgpu_ring_run() - execute commands on a ring and wait for them
 * @ring: the ring
 * @cmds: the commands; their status and result are filled in
 * @count: how many, at most SVMGPU_RING_ENTRIES - 2
 * @timeout: jiffies to wait for completion
 * @banned: NULL, or the submitting context's ban (DOC: Hang recovery):
 *	checked under the ring's lock, and set when these commands hang the
 *	engine of a clean ring, which the device is reset for
 *
 * Context: process; sleeps. The caller keeps the hardware alive (holds
 * svmgpu_device.remove_lock for reading or is the probe/remove path).
 * Completion is the FENCE's seqno, or HEAD past the FENCE when the FENCE's
 * own write failed. A timeout while HEAD moves aborts this submission
 * alone (DOC: Hang recovery).
 *
 * Return: 0 when every command completed (check each status),
 * -ETIMEDOUT if they did not within @timeout (the user ring then resets
 * the device, the kernel ring restarts itself and queues a reset; the
 * commands' statuses are undefined), -EINTR on a fatal signal (the ring
 * restarts), -EIO while an error recovery has the device offline
 * (svmgpu_engine_offline()), -EINVAL for a bad @count.
 */
int __svmgpu_ring_run(struct svmgpu_ring *ring, struct svmgpu_cmd *cmds,
		      unsigned int count, unsigned long timeout, bool *banned)
{
	struct svmgpu_device *gdev = ring->gdev;
	unsigned long deadline, progress;
	u32 end, head;
	struct svmgpu_cmd fence = {
		.opcode = SVMGPU_OP_FENCE,
		.flags = SVMGPU_SPACE_SYS << SVMGPU_DESC_DST_SPACE_SHIFT,
		.dst = ring->fence_dma,
	};
	unsigned int i;
	int ret = 0;

	if (!count || count > SVMGPU_RING_ENTRIES - 2)
		return -EINVAL;

	mutex_lock(&ring->lock);
	if (READ_ONCE(gdev->engine_offline)) {
		mutex_unlock(&ring->lock);
		return -EIO;
	}
	/* under the lock: a banned context's submissions queued meanwhile */
	if (banned && READ_ONCE(*banned)) {
		mutex_unlock(&ring->lock);
		return -ECANCELED;
	}
	/*
	 * The time waited for the ring (another context's submission, a
	 * reset) is not this submission's: its clock starts now.
	 */
	deadline = jiffies + timeout;
	progress = jiffies - SVMGPU_HANG_WINDOW;	/* none until HEAD moves */
	for (i = 0; i < count; i++) {
		svmgpu_desc_encode(svmgpu_ring_slot(ring, i), &cmds[i]);
		WRITE_ONCE(ring->slot_errno[(ring->tail + i) %
					    SVMGPU_RING_ENTRIES], 0);
	}
	fence.operand = ++ring->seqno;
	svmgpu_desc_encode(svmgpu_ring_slot(ring, count), &fence);
	/* Descriptors must be visible before the doorbell. */
	dma_wmb();
	end = (ring->tail + count + 1) % SVMGPU_RING_ENTRIES;
	head = ring->tail;
	svmgpu_wr(gdev, SVMGPU_REG_RING_TAIL(ring->id), end);

	/*
	 * Each poll also reads HEAD: the FENCE is a memory write like any
	 * other and may fail (a DMA error), and then no seqno comes, but HEAD
	 * passes it and every status before it is written (only one
	 * submission is ever on a ring); and HEAD moving is progress, which
	 * tells a slow submission from a hung engine (DOC: Hang recovery).
	 */
	while (!svmgpu_ring_done(ring, fence.operand)) {
		if (time_after(jiffies, deadline)) {
			u32 now = svmgpu_ring_head(ring);

			if (now == end)
				goto done;
			/* progress seen only now counts too */
			if (now != head)
				progress = jiffies;
			ret = -ETIMEDOUT;
			break;
		}
		/* an error recovery: the device is reset and programmed anew */
		if (READ_ONCE(gdev->engine_offline)) {
			ret = -EIO;
			goto out;
		}
		switch (wait_event_killable_timeout(gdev->fence_wq,
						    svmgpu_ring_done(ring,
								     fence.operand),
						    SVMGPU_POLL_INTERVAL)) {
		case 0: {
			u32 now = svmgpu_ring_head(ring);

			if (now == end) {
				dev_dbg(&gdev->pdev->dev,
					"ring %u: fence %llu not written\n",
					ring->id, fence.operand);
				goto done;
			}
			if (now != head) {
				head = now;
				progress = jiffies;
			}
			/* a user command may wait for a lost fault interrupt */
			if (ring->id == SVMGPU_RING_USER)
				queue_work(gdev->wq, &gdev->fault_work);
			break;
		}
		case -ERESTARTSYS:
			ret = -EINTR;
			break;
		}
		if (ret)
			break;
	}
	/*
	 * Slow, not hung: HEAD moved lately, or the engine waits for the
	 * driver to service a fault (a command parked), which may take
	 * long (eviction after a reset holds the VRAM allocator).
	 */
	if (ret == -ETIMEDOUT &&
	    (time_before(jiffies, progress + SVMGPU_HANG_WINDOW) ||
	     svmgpu_rd(gdev, SVMGPU_REG_STATUS) &
	     SVMGPU_STATUS_FAULT_PENDING)) {
		/* this submission alone pays */
		dev_warn_ratelimited(&gdev->pdev->dev,
				     "ring %u: a submission ran past its timeout, the engine busy with it: aborting it\n",
				     ring->id);
		svmgpu_ring_restart(ring);
		goto out;
	}
	if (ret == -ETIMEDOUT && ring->id == SVMGPU_RING_USER) {
		dev_warn_ratelimited(&gdev->pdev->dev,
				     "ring %u timed out: resetting the device\n",
				     ring->id);
		/* guilty unless the engine was stuck before it came */
		if (banned && !ring->dirty && !READ_ONCE(gdev->kring_hung))
			WRITE_ONCE(*banned, true);
		svmgpu_device_reset(gdev, false);
		goto out;
	}
	if (ret) {
		dev_warn_ratelimited(&gdev->pdev->dev, "ring %u: %s, restarting it\n",
				     ring->id, ret == -EINTR ? "interrupted" :
				     "timed out");
		svmgpu_ring_restart(ring);
		if (ret == -ETIMEDOUT) {
			WRITE_ONCE(gdev->kring_hung, true);
			schedule_delayed_work(&gdev->reset_work, 0);
		}
		goto out;
	}

done:
	/* The fence passed: every earlier status and result is written. */
	dma_rmb();
	for (i = 0; i < count; i++) {
		u8 *d = svmgpu_ring_slot(ring, i);

		cmds[i].status = get_unaligned_le32(d + SVMGPU_DESC_STATUS);
		cmds[i].result = get_unaligned_le64(d + SVMGPU_DESC_RESULT);
		cmds[i].fault_errno =
			READ_ONCE(ring->slot_errno[(ring->tail + i) %
						   SVMGPU_RING_ENTRIES]);
	}
	ring->tail = (ring->tail + count + 1) % SVMGPU_RING_ENTRIES;
	ring->dirty = false;	/* the engine finished what it was given */
out:
	mutex_unlock(&ring->lock);
	return ret;
}

/**
 * svmgpu_tlb_invalidate() - drop device TLB entries, synchronously
 * @gdev: the device
 * @scope: SVMGPU_TLB_INV_*
 * @ctx: context (CONTEXT and RANGE scopes)
 * @start: first byte of the range (RANGE scope)
 * @len: bytes of the range (RANGE scope)
 *
 *
 * When this returns, no engine access uses an invalidated translation
 * (the device's synchronous TLB_INV registers guarantee it).
 * Context: any; does not sleep (also called from non-blockable
 * MMU-notifier invalidations).
 */
void svmgpu_tlb_invalidate(struct svmgpu_device *gdev, u32 scope, u16 ctx,
			   u64 start, u64 len)
{
	spin_lock(&gdev->tlb_lock);
	svmgpu_wr(gdev, SVMGPU_REG_TLB_INV_CTX, ctx);
	svmgpu_wr64(gdev, SVMGPU_REG_TLB_INV_START_LO, start);
	svmgpu_wr64(gdev, SVMGPU_REG_TLB_INV_LEN_LO, len);
	svmgpu_wr(gdev, SVMGPU_REG_TLB_INV_CONTROL, scope);
	spin_unlock(&gdev->tlb_lock);
}

static irqreturn_t svmgpu_irq_completion(int irq, void *data)
{
	struct svmgpu_device *gdev = data;

	svmgpu_wr(gdev, SVMGPU_REG_INT_STATUS, SVMGPU_INT_COMPLETION);
	wake_up_all(&gdev->fence_wq);
	return IRQ_HANDLED;
}

static irqreturn_t svmgpu_irq_fault(int irq, void *data)
{
	struct svmgpu_device *gdev = data;

	svmgpu_wr(gdev, SVMGPU_REG_INT_STATUS, SVMGPU_INT_FAULT);
	queue_work(gdev->wq, &gdev->fault_work);
	return IRQ_HANDLED;
}

static irqreturn_t svmgpu_irq_error(int irq, void *data)
{
	struct svmgpu_device *gdev = data;
	u32 error = svmgpu_rd(gdev, SVMGPU_REG_ERROR);

	svmgpu_wr(gdev, SVMGPU_REG_ERROR, error);
	svmgpu_wr(gdev, SVMGPU_REG_INT_STATUS, SVMGPU_INT_ERROR);
	dev_err_ratelimited(&gdev->pdev->dev, "device error 0x%x, status 0x%x\n",
			    error, svmgpu_rd(gdev, SVMGPU_REG_STATUS));
	/* An overflowed fault queue has records again once we drain it. */
	queue_work(gdev->wq, &gdev->fault_work);
	wake_up_all(&gdev->fence_wq);
	return IRQ_HANDLED;
}

static void svmgpu_fault_work(struct work_struct *work)
{
	struct svmgpu_device *gdev =
		container_of(work, struct svmgpu_device, fault_work);
	u32 tail;

	while ((tail = svmgpu_rd(gdev, SVMGPU_REG_FAULTQ_TAIL)) !=
	       gdev->faultq_head) {
		u8 *rec = gdev->faultq + (size_t)gdev->faultq_head *
			  SVMGPU_FAULT_RECORD_SIZE;
		u64 addr;
		u32 id, index, flags;
		u16 ctx_id;
		u8 access, ring_id;
		struct svmgpu_mmu *mmu;
		int ret;

		if (tail >= SVMGPU_FAULTQ_ENTRIES) {
			pci_err(gdev->pdev, "fault queue tail %u out of range\n",
				tail);
			return;
		}
		/* TAIL was read before the record it covers. */
		dma_rmb();
		addr = get_unaligned_le64(rec + SVMGPU_FREC_ADDR);
		id = get_unaligned_le32(rec + SVMGPU_FREC_ID);
		ctx_id = get_unaligned_le16(rec + SVMGPU_FREC_CTX);
		access = rec[SVMGPU_FREC_ACCESS];
		index = get_unaligned_le32(rec + SVMGPU_FREC_RING_INDEX);
		ring_id = rec[SVMGPU_FREC_RING];
		flags = get_unaligned_le32(rec + SVMGPU_FREC_FLAGS);
		gdev->faultq_head = (gdev->faultq_head + 1) %
				    SVMGPU_FAULTQ_ENTRIES;
		svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_HEAD, gdev->faultq_head);

		mmu = svmgpu_mmu_lookup(gdev, ctx_id);
		/*
		 * A spurious fault (injected by the device) is serviced like
		 * any other: the driver cannot tell, and must not need to. It
		 * is only counted, so that tests can tell injected faults from
		 * the ones their workload caused.
		 */
		if (flags & SVMGPU_FAULT_FLAG_SPURIOUS) {
			atomic64_inc(&gdev->stats.spurious);
			if (mmu)
				atomic64_inc(&mmu->stats.spurious);
		}
		ret = mmu ? mmu->ops->service_fault(mmu, addr, access) :
			    -ENODEV;
		atomic64_inc(&gdev->stats.faults);
		if (ret) {
			atomic64_inc(&gdev->stats.cancels);
			if (mmu)
				atomic64_inc(&mmu->stats.cancels);
			/* Tell the submitter why, before the command completes. */
			if (ring_id < ARRAY_SIZE(gdev->rings) &&
			    index < SVMGPU_RING_ENTRIES)
				WRITE_ONCE(gdev->rings[ring_id].slot_errno[index],
					   ret);
			svmgpu_wr(gdev, SVMGPU_REG_FAULT_RESPONSE,
				  (id & SVMGPU_FAULT_RESPONSE_ID_MASK) |
				  SVMGPU_FAULT_RESPONSE_CANCEL);
		} else {
			atomic64_inc(&gdev->stats.replays);
			atomic64_inc(&mmu->stats.replays);
			svmgpu_wr(gdev, SVMGPU_REG_FAULT_RESPONSE,
				  (id & SVMGPU_FAULT_RESPONSE_ID_MASK) |
				  SVMGPU_FAULT_RESPONSE_REPLAY);
		}
		if (mmu)
			svmgpu_mmu_put(mmu);
	}
}

static int svmgpu_ring_init(struct svmgpu_device *gdev, unsigned int id)
{
	struct svmgpu_ring *ring = &gdev->rings[id];
	struct device *dev = &gdev->pdev->dev;

	static struct lock_class_key ring_keys[ARRAY_SIZE(gdev->rings)];

	ring->gdev = gdev;
	ring->id = id;
	mutex_init(&ring->lock);
	/* The user ring's lock is taken before the kernel ring's (reset). */
	lockdep_set_class(&ring->lock, &ring_keys[id]);
	ring->desc = dmam_alloc_coherent(dev, SVMGPU_RING_ENTRIES *
					 SVMGPU_DESC_SIZE, &ring->desc_dma,
					 GFP_KERNEL);
	ring->fence = dmam_alloc_coherent(dev, sizeof(*ring->fence),
					  &ring->fence_dma, GFP_KERNEL);
	if (!ring->desc || !ring->fence)
		return -ENOMEM;
	svmgpu_ring_program(gdev, id);
	if (!(svmgpu_rd(gdev, SVMGPU_REG_RING_CONTROL(id)) &
	      SVMGPU_RING_CONTROL_ENABLE))
		return -EIO;
	return 0;
}

/**
 * svmgpu_engine_init() - set up interrupts, rings and the fault queue
 * @gdev: the device, its BAR 0 mapped
 *
 * Return: 0 or a negative errno. Everything is device-managed.
 */
int svmgpu_engine_init(struct svmgpu_device *gdev)
{
	static const irq_handler_t handlers[SVMGPU_NUM_VECTORS] = {
		[SVMGPU_VEC_COMPLETION] = svmgpu_irq_completion,
		[SVMGPU_VEC_FAULT] = svmgpu_irq_fault,
		[SVMGPU_VEC_ERROR] = svmgpu_irq_error,
	};
	struct pci_dev *pdev = gdev->pdev;
	unsigned int i, nirq = 0;
	int ret;

	pci_set_master(pdev);
	/* PTEs hold 52 address bits; descriptors 64, but PTEs reach more */
	ret = dma_set_mask_and_coherent(&pdev->dev,
					DMA_BIT_MASK(SVMGPU_DMA_ADDR_BITS));
	if (ret)
		return ret;

	init_waitqueue_head(&gdev->fence_wq);
	spin_lock_init(&gdev->tlb_lock);
	INIT_WORK(&gdev->fault_work, svmgpu_fault_work);
	INIT_DELAYED_WORK(&gdev->reset_work, svmgpu_reset_work);
	gdev->wq = alloc_ordered_workqueue("svmgpu%d-faults", 0, gdev->id);
	if (!gdev->wq)
		return -ENOMEM;

	gdev->faultq = dmam_alloc_coherent(&pdev->dev, SVMGPU_FAULTQ_ENTRIES *
					   SVMGPU_FAULT_RECORD_SIZE,
					   &gdev->faultq_dma, GFP_KERNEL);
	if (!gdev->faultq) {
		ret = -ENOMEM;
		goto err_wq;
	}
	svmgpu_faultq_program(gdev);

	ret = pci_alloc_irq_vectors(pdev, SVMGPU_NUM_VECTORS,
				    SVMGPU_NUM_VECTORS, PCI_IRQ_MSIX);
	if (ret < 0) {
		pci_err(pdev, "cannot get %d MSI-X vectors: %d\n",
			SVMGPU_NUM_VECTORS, ret);
		goto err_wq;
	}
	for (nirq = 0; nirq < SVMGPU_NUM_VECTORS; nirq++) {
		ret = devm_request_irq(&pdev->dev, pci_irq_vector(pdev, nirq),
				       handlers[nirq], 0, SVMGPU_NAME, gdev);
		if (ret)
			goto err_irq;
	}

	for (i = 0; i < ARRAY_SIZE(gdev->rings); i++) {
		ret = svmgpu_ring_init(gdev, i);
		if (ret)
			goto err_irq;
	}
	ret = svmgpu_probe_fault(gdev, SVMGPU_PROBE_FAIL_ENGINE);
	if (ret)
		goto err_irq;
	return 0;

err_irq:
	/*
	 * The caller frees @gdev on failure, before devres would release
	 * these handlers: release them now, so no interrupt sees it freed.
	 */
	for (i = 0; i < ARRAY_SIZE(gdev->rings); i++)
		svmgpu_wr(gdev, SVMGPU_REG_RING_CONTROL(i), 0);
	svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_CONTROL, 0);
	while (nirq--)
		devm_free_irq(&pdev->dev, pci_irq_vector(pdev, nirq), gdev);
	destroy_workqueue(gdev->wq);
	return ret;
err_wq:
	svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_CONTROL, 0);
	destroy_workqueue(gdev->wq);
	return ret;
}

/**
 * svmgpu_engine_stop_faults() - no more device faults and fault service
 * @gdev: the device
 *
 * Stops the user ring and the fault queue and waits for the fault worker;
 * the kernel ring keeps running (eviction needs it).
 */
void svmgpu_engine_stop_faults(struct svmgpu_device *gdev)
{
	svmgpu_wr(gdev, SVMGPU_REG_RING_CONTROL(SVMGPU_RING_USER), 0);
	svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_CONTROL, 0);
	disable_work_sync(&gdev->fault_work);
}

/**
 * svmgpu_engine_stop() - stop the rings, the fault queue and fault service
 * @gdev: the device; no submitter may be running
 *
 * Afterwards the device starts no command and the fault worker is idle.
 */
void svmgpu_engine_stop(struct svmgpu_device *gdev)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gdev->rings); i++)
		svmgpu_wr(gdev, SVMGPU_REG_RING_CONTROL(i), 0);
	svmgpu_wr(gdev, SVMGPU_REG_FAULTQ_CONTROL, 0);
	flush_workqueue(gdev->wq);
}

/**
 * svmgpu_engine_fini() - release what svmgpu_engine_init() set up
 * @gdev: the device, stopped by svmgpu_engine_stop()
 *
 * Device-managed memory and interrupts go when the device is unbound.
 */
void svmgpu_engine_fini(struct svmgpu_device *gdev)
{
	unsigned int i;

	for (i = 0; i < SVMGPU_NUM_VECTORS; i++)
		disable_irq(pci_irq_vector(gdev->pdev, i));
	destroy_workqueue(gdev->wq);
}
