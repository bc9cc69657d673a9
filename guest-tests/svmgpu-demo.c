// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu-demo: the workload of "./svmgpu run". It reports what the guest
 * sees (every /dev/svmgpuN, its PCI address, contract version, VRAM size
 * and memory mode), then has each device work on plain malloc() memory
 * through the shared-virtual-memory mirror: the device fills one buffer and
 * copies it to another, faulting the pages in as it goes; the buffer then
 * moves to VRAM, the device increments every 64-bit word there with
 * atomics, and the CPU reads it (device-private pages fault back to system
 * memory, device-coherent ones are read in place). Then a working set twice
 * as large as VRAM: device writes pull it into VRAM on fault and a
 * migration moves all of it, so the driver evicts least-recently-used VRAM
 * as it goes. Last, CPU threads and device atomics increment one counter
 * together (the page goes device-exclusive for each device atomic, and
 * back to the CPU on its next access). The CPU checks every byte and the
 * sum, and the driver's counters tell what happened. Exits non-zero if a
 * device does not answer or a byte is wrong.
 *
 * With --render-node the same kind of account comes from each device's DRM
 * render node, whose SVM is the kernel's drm_gpusvm: a VM mirrors the
 * process, the device fills and copies malloc() memory and a THP buffer
 * (one 2 MiB range, one 2 MiB PTE), part of the buffer is unmapped (the
 * framework invalidates, the garbage collector drops the range), a prefetch
 * maps a range before the device touches it, and a write to unmapped memory
 * fails that command alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "svmgpu/svmgpu_hw.h"
#include "svmgpu_drm.h"
#include "svmgpu_test.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Device fill + copy on malloc() memory, checked by the CPU. */
static int svm_workload(int fd, const char *path)
{
	size_t len = 4 << 20;
	unsigned char *a = malloc(len), *b = malloc(len);
	struct svmgpu_user_cmd cmds[2] = {
		{ .op = SVMGPU_CMD_FILL, .len = len,
		  .operand = 0x0706050403020100ull },
		{ .op = SVMGPU_CMD_COPY, .len = len },
	};
	struct svmgpu_submit sub = { .cmds = (uintptr_t)cmds, .count = 2 };
	struct svmgpu_stats st;
	size_t bad = 0;
	double t;

	if (!a || !b)
		return -1;
	cmds[0].dst = (uintptr_t)a;
	cmds[1].dst = (uintptr_t)b;
	cmds[1].src = (uintptr_t)a;
	t = now();
	if (ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub)) {
		fprintf(stderr, "svmgpu-demo: %s: SUBMIT: %s\n", path, strerror(errno));
		return -1;
	}
	t = now() - t;
	for (size_t i = 0; i < len; i++)
		bad += a[i] != (i & 7) || b[i] != (i & 7);
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &st);
	printf("%s: device filled %zu MiB of malloc() memory, copied it: %.1f ms\n",
	       path, len >> 20, t * 1e3);
	printf("%s: statuses %u/%u, %zu wrong bytes\n", path, cmds[0].status,
	       cmds[1].status, bad);
	printf("%s: device page faults %llu (replayed %llu, cancelled %llu)\n",
	       path, (unsigned long long)st.faults,
	       (unsigned long long)st.replays, (unsigned long long)st.cancels);
	printf("%s: device PTEs written %llu, invalidations %llu\n", path,
	       (unsigned long long)st.pages_mapped,
	       (unsigned long long)st.invalidations);
	free(a);
	free(b);
	return bad || cmds[0].status || cmds[1].status ? -1 : 0;
}

/* Migrate to VRAM, device atomics there, the CPU reads it back. */
static int vram_workload(int fd, const char *path)
{
	size_t len = 1 << 20, words = len / 8;
	struct svmgpu_migrate m = { .len = len, .flags = SVMGPU_MIGRATE_TO_VRAM };
	struct svmgpu_user_cmd add[64];
	struct svmgpu_stats before, after;
	unsigned long long *p;
	size_t bad = 0;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < words; i++)
		p[i] = i;
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &before);
	m.addr = (uintptr_t)p;
	if (ioctl(fd, SVMGPU_IOCTL_MIGRATE, &m)) {
		fprintf(stderr, "svmgpu-demo: %s: MIGRATE: %s\n", path, strerror(errno));
		return -1;
	}
	/* one atomic add per page, in VRAM */
	for (size_t base = 0; base < words; base += 64 * 512) {
		struct svmgpu_submit sub = { .cmds = (uintptr_t)add, .count = 0 };

		for (unsigned int i = 0; i < 64 && base + i * 512 < words; i++) {
			add[i] = (struct svmgpu_user_cmd){
				.op = SVMGPU_CMD_ATOMIC,
				.atomic_op = SVMGPU_ATOM_ADD, .width = 8,
				.dst = (uintptr_t)&p[base + i * 512],
				.operand = 1000000,
			};
			sub.count++;
		}
		if (ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub))
			return -1;
		for (unsigned int i = 0; i < sub.count; i++)
			bad += add[i].status != 0;
	}
	for (size_t i = 0; i < words; i++)
		bad += p[i] != i + (i % 512 ? 0 : 1000000);
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &after);
	printf("%s: %llu pages moved to VRAM, device atomics there, CPU reads: %zu wrong words\n",
	       path, (unsigned long long)m.migrated, bad);
	printf("%s: pages migrated to VRAM %llu, back to system memory %llu\n",
	       path, (unsigned long long)(after.migrated_to_vram - before.migrated_to_vram),
	       (unsigned long long)(after.migrated_to_ram - before.migrated_to_ram));
	munmap(p, len);
	return bad ? -1 : 0;
}

/*
 * Twice VRAM (at most 512 MiB): device writes migrate on fault, then all of
 * it moves to VRAM; least-recently-used VRAM is evicted to make room.
 */
static int oversubscribed_workload(int fd, const char *path, size_t vram)
{
	size_t len = vram * 2 > (512u << 20) ? 512u << 20 : vram * 2;
	size_t words = len / 8, stride = (1 << 20) / 8, bad = 0;
	struct svmgpu_migrate m = { .len = len, .flags = SVMGPU_MIGRATE_TO_VRAM };
	struct svmgpu_policy pol = { .len = len,
				     .policy = SVMGPU_POLICY_MIGRATE_ON_FAULT };
	struct svmgpu_stats before, after;
	struct svmgpu_user_cmd w[64];
	unsigned long long *p;
	double t_fault, t_move;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -1;
	madvise(p, len, MADV_HUGEPAGE);
	for (size_t i = 0; i < words; i++)
		p[i] = i * 3;
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &before);
	pol.addr = (uintptr_t)p;
	m.addr = (uintptr_t)p;
	if (ioctl(fd, SVMGPU_IOCTL_SET_POLICY, &pol))
		return -1;

	/* one device write per MiB: each fault pulls its window into VRAM */
	t_fault = now();
	for (size_t base = 0; base < words; base += 64 * stride) {
		struct svmgpu_submit sub = { .cmds = (uintptr_t)w };

		for (size_t i = base; i < words && i < base + 64 * stride;
		     i += stride)
			w[sub.count++] = (struct svmgpu_user_cmd){
				.op = SVMGPU_CMD_WRITE_IMM, .width = 8,
				.dst = (uintptr_t)&p[i], .operand = ~i,
			};
		if (ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub))
			return -1;
		for (unsigned int i = 0; i < sub.count; i++)
			bad += w[i].status != 0;
	}
	t_fault = now() - t_fault;
	t_move = now();
	if (ioctl(fd, SVMGPU_IOCTL_MIGRATE, &m)) {
		fprintf(stderr, "svmgpu-demo: %s: MIGRATE: %s\n", path, strerror(errno));
		return -1;
	}
	t_move = now() - t_move;
	for (size_t i = 0; i < words; i++)
		bad += p[i] != (i % stride ? i * 3 : ~i);
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &after);
	printf("%s: working set %zu MiB = %.1fx VRAM: %zu device writes ",
	       path, len >> 20, (double)len / vram, words / stride);
	printf("migrating on fault in %.0f ms, then all of it to VRAM in %.0f ms\n",
	       t_fault * 1e3, t_move * 1e3);
	printf("%s: %llu pages to VRAM, %llu evicted to make room, ", path,
	       (unsigned long long)(after.migrated_to_vram - before.migrated_to_vram),
	       (unsigned long long)(after.evicted - before.evicted));
	printf("%llu MiB copied by the engine; CPU check: %zu wrong words\n",
	       (unsigned long long)(after.bytes_copied - before.bytes_copied) >> 20,
	       bad);
	munmap(p, len);
	return bad ? -1 : 0;
}

/* Two CPU threads and the device increment one counter at once. */
static int atomic_workload(int fd, const char *path)
{
	unsigned long long want = 0, rounds = 200;
	__u64 *counter;
	struct svmgpu_user_cmd add = {
		.op = SVMGPU_CMD_ATOMIC, .atomic_op = SVMGPU_ATOM_ADD,
		.width = 8, .operand = 1,
	};
	struct svmgpu_submit sub = { .cmds = (uintptr_t)&add, .count = 1 };
	struct svmgpu_stats before, after;
	struct cpu_adder adders[2];
	int stop = 0, bad = 0;

	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (counter == MAP_FAILED)
		return -1;
	*counter = 0;
	add.dst = (uintptr_t)counter;
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &before);
	for (int t = 0; t < 2; t++) {
		adders[t] = (struct cpu_adder){ .counter = counter, .stop = &stop };
		if (pthread_create(&adders[t].thread, NULL, cpu_adder_main,
				   &adders[t]))
			return -1;
	}
	for (unsigned long long r = 0; r < rounds; r++) {
		add.status = 0;
		add.result = 0;
		if (ioctl(fd, SVMGPU_IOCTL_SUBMIT, &sub) || add.status)
			bad++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < 2; t++) {
		pthread_join(adders[t].thread, NULL);
		want += adders[t].adds;
	}
	want += rounds;
	ioctl(fd, SVMGPU_IOCTL_GET_STATS, &after);
	bad += *counter != want;
	printf("%s: counter = %llu, CPU threads added %llu, device %llu: %s\n",
	       path, (unsigned long long)*counter, want - rounds, rounds,
	       bad ? "WRONG" : "exact");
	printf("%s: the device faulted %llu times for its atomics, ", path,
	       (unsigned long long)(after.faults - before.faults));
	printf("got the page exclusive %llu times\n",
	       (unsigned long long)(after.exclusive - before.exclusive));
	munmap(counter, 4096);
	return bad ? -1 : 0;
}

static int show_device(const char *name)
{
	struct svmgpu_info info;
	char path[300];
	int fd, ret;

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "svmgpu-demo: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = ioctl(fd, SVMGPU_IOCTL_GET_INFO, &info);
	if (ret) {
		fprintf(stderr, "svmgpu-demo: %s: GET_INFO: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	printf("%s: PCI %04x:%02x:%02x.%x, hardware contract %u.%u, driver uAPI %u.%u\n",
	       path, info.pci_segment, info.pci_bus, info.pci_devfn >> 3,
	       info.pci_devfn & 7, info.hw_version >> SVMGPU_VERSION_MAJOR_SHIFT,
	       info.hw_version & SVMGPU_VERSION_MINOR_MASK, info.uapi_major,
	       info.uapi_minor);
	printf("%s: %llu MiB of %s VRAM%s\n", path,
	       (unsigned long long)info.vram_size >> 20,
	       info.mem_mode == SVMGPU_INFO_MEM_COHERENT ? "device-coherent" :
							   "device-private",
	       info.flags & SVMGPU_INFO_VRAM_CPU_MAPPED ?
	       ", mapped by the CPU through BAR 2" : ", reachable by the device only");
	ret = svm_workload(fd, path);
	if (!ret)
		ret = vram_workload(fd, path);
	if (!ret)
		ret = oversubscribed_workload(fd, path, info.vram_size);
	if (!ret)
		ret = atomic_workload(fd, path);
	close(fd);
	return ret;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

static void print_vm_stats(const char *node, int fd, __u32 vm)
{
	struct drm_svmgpu_vm_stats st = { .vm_id = vm };

	if (ioctl(fd, DRM_IOCTL_SVMGPU_VM_STATS, &st))
		return;
	printf("%s: VM %u: device faults %llu (replayed %llu, cancelled %llu),",
	       node, vm, (unsigned long long)st.faults,
	       (unsigned long long)st.replays, (unsigned long long)st.cancels);
	printf(" PTEs written %llu (2 MiB: %llu), invalidations %llu, drm_gpusvm ranges %llu\n",
	       (unsigned long long)st.pages_mapped,
	       (unsigned long long)st.huge_mapped,
	       (unsigned long long)st.invalidations,
	       (unsigned long long)st.ranges);
}

static int drm_exec(int fd, __u32 vm, struct svmgpu_user_cmd *c,
		    unsigned int n)
{
	struct drm_svmgpu_exec e = {
		.vm_id = vm, .count = n, .cmds = (uintptr_t)c,
	};

	return ioctl(fd, DRM_IOCTL_SVMGPU_EXEC, &e) ? -errno : 0;
}

/* The render-node account of one device (see the head comment). */
static int render_node_workload(const char *node)
{
	size_t len = 4 << 20, bad = 0;
	struct drm_svmgpu_query q = { 0 };
	struct drm_svmgpu_vm_create vc = { 0 };
	struct drm_svmgpu_prefetch pf = { 0 };
	struct drm_svmgpu_vm_stats st0 = { 0 }, st1 = { 0 };
	unsigned char *a = malloc(len), *b = malloc(len), *raw, *thp;
	struct svmgpu_user_cmd cmds[2] = {
		{ .op = SVMGPU_CMD_FILL, .len = len,
		  .operand = 0x0706050403020100ull },
		{ .op = SVMGPU_CMD_COPY, .len = len },
	};
	struct svmgpu_user_cmd w = {
		.op = SVMGPU_CMD_WRITE_IMM, .width = 4, .operand = 1,
	};
	int fd = open(node, O_RDWR | O_CLOEXEC), ret = -1;
	double t;

	if (fd < 0 || !a || !b) {
		fprintf(stderr, "svmgpu-demo: %s: %s\n", node, strerror(errno));
		return -1;
	}
	if (ioctl(fd, DRM_IOCTL_SVMGPU_QUERY, &q) ||
	    ioctl(fd, DRM_IOCTL_SVMGPU_VM_CREATE, &vc)) {
		fprintf(stderr, "svmgpu-demo: %s: not an svmgpu render node: %s\n",
			node, strerror(errno));
		goto out;
	}
	printf("%s: svmgpu%u, DRM uAPI %u.%u, %llu MiB VRAM; VM %u mirrors this process\n",
	       node, q.minor, q.uapi_major, q.uapi_minor,
	       (unsigned long long)q.vram_size >> 20, vc.vm_id);

	cmds[0].dst = (uintptr_t)a;
	cmds[1].dst = (uintptr_t)b;
	cmds[1].src = (uintptr_t)a;
	t = now();
	if (drm_exec(fd, vc.vm_id, cmds, 2))
		goto out;
	t = now() - t;
	for (size_t i = 0; i < len; i++)
		bad += a[i] != (i & 7) || b[i] != (i & 7);
	printf("%s: device filled %zu MiB of malloc() memory and copied it: %.1f ms,",
	       node, len >> 20, t * 1e3);
	printf(" statuses %u/%u, %zu wrong bytes\n", cmds[0].status,
	       cmds[1].status, bad);
	print_vm_stats(node, fd, vc.vm_id);

	raw = mmap(NULL, 3 * THP_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		goto out;
	thp = (unsigned char *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	madvise(thp, THP_SIZE, MADV_HUGEPAGE);
	memset(thp, 1, THP_SIZE);
	cmds[0].dst = (uintptr_t)thp;
	cmds[0].len = THP_SIZE;
	if (drm_exec(fd, vc.vm_id, cmds, 1) || cmds[0].status)
		goto out;
	for (size_t i = 0; i < THP_SIZE; i++)
		bad += thp[i] != (i & 7);
	printf("%s: device filled a 2 MiB THP buffer: %zu wrong bytes\n", node, bad);
	print_vm_stats(node, fd, vc.vm_id);

	munmap(thp + THP_SIZE / 2, THP_SIZE / 2);
	w.dst = (uintptr_t)thp;		/* the remaining half: a new range */
	if (drm_exec(fd, vc.vm_id, &w, 1) || w.status || *(__u32 *)thp != 1)
		bad++;
	printf("%s: half of it unmapped: the framework invalidated the range,\n",
	       node);
	printf("%s: the garbage collector dropped it; a device write faulted a new one\n",
	       node);
	print_vm_stats(node, fd, vc.vm_id);

	w.dst = (uintptr_t)(thp + THP_SIZE / 2);
	w.status = 0;
	if (drm_exec(fd, vc.vm_id, &w, 1))
		goto out;
	printf("%s: device write to the unmapped half: status %s (that command alone failed)\n",
	       node, strerror(w.status));
	if (w.status != EFAULT)
		bad++;
	pf.vm_id = vc.vm_id;
	pf.region = DRM_SVMGPU_REGION_SYSTEM;
	pf.addr = (uintptr_t)mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pf.len = 1 << 20;
	if ((void *)(uintptr_t)pf.addr == MAP_FAILED ||
	    ioctl(fd, DRM_IOCTL_SVMGPU_PREFETCH, &pf))
		goto out;
	st0.vm_id = vc.vm_id;
	ioctl(fd, DRM_IOCTL_SVMGPU_VM_STATS, &st0);
	cmds[0].dst = pf.addr;
	cmds[0].len = pf.len;
	if (drm_exec(fd, vc.vm_id, cmds, 1) || cmds[0].status)
		goto out;
	st1.vm_id = vc.vm_id;
	ioctl(fd, DRM_IOCTL_SVMGPU_VM_STATS, &st1);
	printf("%s: prefetch mapped %llu pages of fresh memory;", node,
	       (unsigned long long)pf.pages);
	printf(" the device then filled them with %llu faults\n",
	       (unsigned long long)(st1.faults - st0.faults));

	print_vm_stats(node, fd, vc.vm_id);
	ret = bad ? -1 : 0;
out:
	if (fd >= 0)
		close(fd);
	free(a);
	free(b);
	return ret;
}

static int render_nodes(void)
{
	int found = 0, bad = 0;
	char node[64];

	for (int i = 128; i < 192; i++) {
		struct drm_svmgpu_query q = { 0 };
		int fd;

		snprintf(node, sizeof(node), "/dev/dri/renderD%d", i);
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, DRM_IOCTL_SVMGPU_QUERY, &q)) {
			close(fd);
			continue;
		}
		close(fd);
		found++;
		if (render_node_workload(node))
			bad++;
	}
	if (!found) {
		fprintf(stderr, "svmgpu-demo: no svmgpu render node in /dev/dri\n");
		fprintf(stderr, "(is the driver loaded, on a kernel with DRM_GPUSVM?)\n");
		return 1;
	}
	printf("svmgpu-demo: %d render node(s) found, %d answered\n", found,
	       found - bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct dirent **list;
	int n, found = 0, bad = 0;

	if (argc > 1) {
		if (argc == 2 && !strcmp(argv[1], "--render-node"))
			return render_nodes();
		fprintf(stderr, "usage: svmgpu-demo [--render-node]\n");
		return 2;
	}

	n = scandir("/dev", &list, NULL, by_name);
	if (n < 0) {
		perror("svmgpu-demo: /dev");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (!strncmp(list[i]->d_name, "svmgpu", 6)) {
			found++;
			if (show_device(list[i]->d_name))
				bad++;
		}
		free(list[i]);
	}
	free(list);
	if (!found) {
		fprintf(stderr, "svmgpu-demo: no /dev/svmgpu* (is the driver loaded?)\n");
		return 1;
	}
	printf("svmgpu-demo: %d device(s) found, %d answered\n", found, found - bad);
	return bad ? 1 : 0;
}
