/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmgpu tracepoints: device faults, invalidations, migrations, evictions
 * and exclusive grants (events/svmgpu/ in tracefs).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM svmgpu

#if !defined(_SVMGPU_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _SVMGPU_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(svmgpu_fault,
	TP_PROTO(int dev, unsigned int ctx, u64 addr, u8 access, int ret),
	TP_ARGS(dev, ctx, addr, access, ret),
	TP_STRUCT__entry(
		__field(int, dev)
		__field(unsigned int, ctx)
		__field(u64, addr)
		__field(u8, access)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->ctx = ctx;
		__entry->addr = addr;
		__entry->access = access;
		__entry->ret = ret;
	),
	TP_printk("svmgpu%d ctx %u addr %#llx %s: %s (%d)", __entry->dev,
		  __entry->ctx, __entry->addr,
		  __print_symbolic(__entry->access, { 1, "read" },
				   { 2, "write" }, { 3, "atomic" }),
		  __entry->ret ? "cancel" : "replay", __entry->ret)
);

TRACE_EVENT(svmgpu_invalidate,
	TP_PROTO(int dev, unsigned int ctx, u64 start, u64 end, int event,
		 unsigned long cleared),
	TP_ARGS(dev, ctx, start, end, event, cleared),
	TP_STRUCT__entry(
		__field(int, dev)
		__field(unsigned int, ctx)
		__field(u64, start)
		__field(u64, end)
		__field(int, event)
		__field(unsigned long, cleared)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->ctx = ctx;
		__entry->start = start;
		__entry->end = end;
		__entry->event = event;
		__entry->cleared = cleared;
	),
	TP_printk("svmgpu%d ctx %u [%#llx, %#llx) event %d: %lu PTEs cleared",
		  __entry->dev, __entry->ctx, __entry->start, __entry->end,
		  __entry->event, __entry->cleared)
);

TRACE_EVENT(svmgpu_migrate,
	TP_PROTO(int dev, u64 start, u64 end, bool to_vram,
		 unsigned long moved),
	TP_ARGS(dev, start, end, to_vram, moved),
	TP_STRUCT__entry(
		__field(int, dev)
		__field(u64, start)
		__field(u64, end)
		__field(bool, to_vram)
		__field(unsigned long, moved)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->start = start;
		__entry->end = end;
		__entry->to_vram = to_vram;
		__entry->moved = moved;
	),
	TP_printk("svmgpu%d [%#llx, %#llx) to %s: %lu pages moved",
		  __entry->dev, __entry->start, __entry->end,
		  __entry->to_vram ? "VRAM" : "system memory", __entry->moved)
);

TRACE_EVENT(svmgpu_evict,
	TP_PROTO(int dev, unsigned long tried, unsigned long moved),
	TP_ARGS(dev, tried, moved),
	TP_STRUCT__entry(
		__field(int, dev)
		__field(unsigned long, tried)
		__field(unsigned long, moved)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->tried = tried;
		__entry->moved = moved;
	),
	TP_printk("svmgpu%d: %lu of %lu device pages evicted", __entry->dev,
		  __entry->moved, __entry->tried)
);

TRACE_EVENT(svmgpu_exclusive,
	TP_PROTO(int dev, unsigned int ctx, u64 addr, int ret),
	TP_ARGS(dev, ctx, addr, ret),
	TP_STRUCT__entry(
		__field(int, dev)
		__field(unsigned int, ctx)
		__field(u64, addr)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->ctx = ctx;
		__entry->addr = addr;
		__entry->ret = ret;
	),
	TP_printk("svmgpu%d ctx %u addr %#llx: %d", __entry->dev,
		  __entry->ctx, __entry->addr, __entry->ret)
);

#endif /* _SVMGPU_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE svmgpu_trace
#include <trace/define_trace.h>
