// SPDX-License-Identifier: GPL-2.0
/*
 * svmgpu-demo: the workload of "./svmgpu run". For now it reports what the
 * guest sees: every /dev/svmgpuN, its PCI address, contract version, VRAM
 * size and memory mode. Exits non-zero if no device answers.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "svmgpu/svmgpu_hw.h"
#include "svmgpu.h"

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
	close(fd);
	if (ret) {
		fprintf(stderr, "svmgpu-demo: %s: GET_INFO: %s\n", path, strerror(errno));
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
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

int main(void)
{
	struct dirent **list;
	int n, found = 0, bad = 0;

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
