// SPDX-License-Identifier: GPL-2.0
/*
 * A stress of QEMU's TCG, not of the driver: cross-modifying code between
 * two vCPUs. One thread rewrites the immediate of a tiny function (mov
 * eax, imm32; ret) and then publishes the new value; the other calls the
 * function in a loop, and once it sees a value published, serialises
 * (CPUID) and calls it again: it must get the new value, as on hardware.
 *
 * The loop makes the reader translate the function again right after each
 * store invalidates it, inside the store's slow path: QEMU 10.2 invalidated
 * a code page's TBs before the store wrote the page, so a TB translated in
 * between from the old bytes outlived the store. Linux guests hit that as
 * "Oops: int3" in early boot, where static keys are patched with a
 * temporary INT3 (patches/qemu/0002). Run with two vCPUs.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kselftest_harness.h"

#define SECONDS		10

/* nop; nop; nop; mov eax, imm32; ret: the immediate is 4-byte aligned */
static const unsigned char code_template[] = {
	0x90, 0x90, 0x90, 0xb8, 0, 0, 0, 0, 0xc3,
};

#define IMM_OFFSET	4

typedef unsigned int (*code_fn)(void);

struct shared {
	code_fn fn;
	unsigned int published;	/* the value last stored into the code */
	unsigned int seen;	/* the last value the reader checked */
	int stop;
	unsigned long calls, checks, stale;
	unsigned int first_stale, first_stale_got;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* CPUID serialises instruction fetch on x86 (SDM 8.1.3, cross-modifying code) */
static void serialize(void)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	asm volatile("" : : "r"(a), "r"(b), "r"(c), "r"(d) : "memory");
}

static void *reader_main(void *arg)
{
	struct shared *s = arg;
	unsigned int last = 0;

	pin(0);
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		unsigned int pub, got;

		s->fn();
		s->calls++;
		pub = __atomic_load_n(&s->published, __ATOMIC_ACQUIRE);
		if (pub == last)
			continue;
		serialize();
		got = s->fn();
		s->checks++;
		if (got != pub) {
			if (!s->stale) {
				s->first_stale = pub;
				s->first_stale_got = got;
			}
			s->stale++;
		}
		last = pub;
		__atomic_store_n(&s->seen, pub, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST(code_store_is_seen_after_serialization)
{
	struct shared s = { 0 };
	unsigned int *imm;
	unsigned char *page;
	unsigned int v = 0;
	pthread_t thread;
	time_t end;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(page, MAP_FAILED);
	memcpy(page, code_template, sizeof(code_template));
	imm = (unsigned int *)(page + IMM_OFFSET);
	s.fn = (code_fn)page;
	ASSERT_EQ(s.fn(), 0);

	ASSERT_EQ(pthread_create(&thread, NULL, reader_main, &s), 0);
	pin(1);
	end = time(NULL) + SECONDS;
	while (time(NULL) < end) {
		v++;
		/* one aligned 4-byte store, as a patching kernel does */
		__atomic_store_n(imm, v, __ATOMIC_RELAXED);
		__atomic_store_n(&s.published, v, __ATOMIC_RELEASE);
		while (__atomic_load_n(&s.seen, __ATOMIC_ACQUIRE) != v &&
		       time(NULL) < end)
			;
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	ksft_print_msg("%u code stores, %lu checks, %lu calls, %lu stale\n",
		       v, s.checks, s.calls, s.stale);
	if (s.stale)
		ksft_print_msg("first: published %u, the code returned %u\n",
			       s.first_stale, s.first_stale_got);
	EXPECT_GT(s.checks, 1000);
	EXPECT_EQ(s.stale, 0);
	munmap(page, 4096);
}

TEST_HARNESS_MAIN
