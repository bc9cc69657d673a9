/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * svmgpu command engine and device MMU
 *
 * The engine is a thread that executes the command ring concurrently with
 * the vCPUs. Its memory accesses are real accesses to the memory the guest
 * CPU uses: bulk data is moved with memcpy on mapped RAM, atomics are host
 * atomic operations on it. It touches only RAM and VRAM (svmgpu_map_sys()
 * refuses every other target), so it needs no BQL, except behind an IOMMU,
 * whose translation may take it: there each command runs under the BQL
 * (svmgpu.h, svmgpu_engine_bql_lock()).
 *
 * A command runs with the device lock dropped, except for short sections
 * (translation and TLB, completion). Reset bumps s->epoch and waits until
 * the engine leaves the command; the engine checks the epoch between steps,
 * so a reset never waits for more than one bounded step. A synchronous TLB
 * invalidation likewise waits for the step using a translation to end
 * (s->xlat_users, s->xlat_idle_seq).
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/units.h"
#include "system/dma.h"
#include "system/memory.h"
#include "svmgpu.h"
#include "trace.h"

/* Bytes moved per step: bounds how long a reset waits for the engine. */
#define SVMGPU_STEP_MAX         (2 * MiB)

/* Engine-internal outcome beyond the descriptor statuses: a fault. */
#define SVMGPU_EXEC_FAULT       0x100

typedef struct SvmgpuCmd {
    unsigned ring;
    uint32_t index;
    uint32_t epoch;
    uint32_t ring_gen;
    uint8_t opcode;
    uint8_t flags;
    uint16_t ctx;
    uint8_t atomic_op;
    uint8_t width;
    uint64_t dst;
    uint64_t src;
    uint64_t len;
    uint64_t operand;
    uint64_t compare;
    uint64_t result;
    uint64_t done;          /* COPY/FILL bytes done; a REPLAY starts here */

    /* set with SVMGPU_EXEC_FAULT */
    uint64_t fault_addr;
    uint8_t fault_access;
    uint8_t fault_reason;
    bool fault_spurious;
} SvmgpuCmd;

/* A piece of memory mapped for the engine, RAM or VRAM. */
typedef struct SvmgpuMapping {
    void *ptr;
    hwaddr len;
    bool is_sys;
    bool is_write;
    bool translated;        /* counted in s->xlat_users */
    uint64_t vram_off;
} SvmgpuMapping;

static uint8_t desc_space(uint8_t flags, unsigned shift)
{
    return (flags >> shift) & SVMGPU_DESC_SPACE_MASK;
}

/* === PRNG and injection decisions === */

/* xorshift64*: deterministic from the seed property. */
static uint64_t svmgpu_prng_next_locked(SvmgpuState *s)
{
    uint64_t x = s->prng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->prng = x;
    return x * 0x2545f4914f6cdd1dull;
}

bool svmgpu_inject_roll_locked(SvmgpuState *s, uint32_t ppm)
{
    if (!ppm) {
        return false;
    }
    return svmgpu_prng_next_locked(s) % 1000000 < ppm;
}

/* The DMA-error knobs, consulted once per memory-touching command. */
static bool svmgpu_inject_dma_error(SvmgpuState *s)
{
    bool fire = false;

    QEMU_LOCK_GUARD(&s->lock);
    if (s->inject.dma_error_nth) {
        fire = --s->inject.dma_error_nth == 0;
    }
    if (!fire) {
        fire = svmgpu_inject_roll_locked(s, s->inject.dma_error_ppm);
    }
    if (fire) {
        s->stats.injected++;
        trace_svmgpu_inject("dma-error");
    }
    return fire;
}

static bool svmgpu_vram_poisoned(SvmgpuState *s, uint64_t off, uint64_t len)
{
    uint64_t start, end;

    QEMU_LOCK_GUARD(&s->lock);
    start = s->inject.poison_addr;
    end = start + s->inject.poison_len;
    if (!s->inject.poison_len || end < start ||
        !(off < end && start < off + len)) {
        return false;
    }
    s->stats.injected++;
    return true;
}

/* === Memory access (RAM and VRAM only) === */

/*
 * Map up to *len bytes of system memory at bus address @addr. Only RAM is
 * accepted: anything else (MMIO, ROM for writes, unassigned, an IOMMU
 * fault, bus mastering off) is a DMA error, so the access itself never
 * needs the BQL that an MMIO access would take. Behind an IOMMU the
 * translation may take it: the engine holds it then (svmgpu.h).
 */
static void *svmgpu_map_sys(SvmgpuState *s, hwaddr addr, hwaddr *len,
                            bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    MemoryRegion *mr;
    hwaddr xlat, l = *len;
    void *p;

    if (!l) {
        return NULL;
    }
    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(as, addr, &xlat, &l, is_write,
                                 MEMTXATTRS_UNSPECIFIED);
    if (!l || !memory_access_is_direct(mr, is_write, MEMTXATTRS_UNSPECIFIED)) {
        return NULL;
    }
    /*
     * Map what was just checked, in the same RCU section. A second
     * translation (address_space_map()) could meet another memory map,
     * bus mastering turned off meanwhile, and return a bounce buffer
     * filled by an MMIO read from this thread, without the BQL.
     * address_space_unmap() finds the region by its host address.
     */
    memory_region_ref(mr);
    p = qemu_map_ram_ptr(mr->ram_block, xlat);
    *len = l;
    return p;
}

static void svmgpu_unmap_sys(SvmgpuState *s, void *p, hwaddr len,
                             bool is_write, hwaddr done)
{
    address_space_unmap(pci_get_address_space(PCI_DEVICE(s)), p, len,
                        is_write, done);
}

/* Copy between a host buffer and system memory: descriptors, records. */
static bool svmgpu_dma_sys(SvmgpuState *s, hwaddr addr, void *buf,
                           hwaddr len, bool is_write)
{
    while (len) {
        hwaddr l = len;
        void *p = svmgpu_map_sys(s, addr, &l, is_write);

        if (!p) {
            return false;
        }
        if (is_write) {
            memcpy(p, buf, l);
        } else {
            memcpy(buf, p, l);
        }
        svmgpu_unmap_sys(s, p, l, is_write, l);
        addr += l;
        buf = (uint8_t *)buf + l;
        len -= l;
    }
    return true;
}

/*
 * Map up to @len bytes at @addr of a physical space. Returns a descriptor
 * status; on success @m describes at least one byte.
 */
static int svmgpu_map_phys(SvmgpuState *s, uint8_t space, uint64_t addr,
                           uint64_t len, bool is_write, SvmgpuMapping *m)
{
    memset(m, 0, sizeof(*m));
    m->is_write = is_write;
    if (space == SVMGPU_SPACE_VRAM) {
        if (addr >= s->vram_size || len > s->vram_size - addr) {
            return SVMGPU_DESC_STATUS_VRAM_RANGE;
        }
        if (svmgpu_vram_poisoned(s, addr, len)) {
            return SVMGPU_DESC_STATUS_POISONED;
        }
        /*
         * Through VRAM's own address space, not vram_ptr: unmapping a
         * write marks it dirty and drops code TCG translated from it (a
         * CPU may run code in coherent VRAM, which is BAR 2).
         */
        m->len = len;
        m->ptr = address_space_map(&s->vram_as,
                                   SVMGPU_VRAM_ENGINE_BASE(s) + addr,
                                   &m->len, is_write, MEMTXATTRS_UNSPECIFIED);
        if (!m->ptr || !m->len) {
            m->ptr = NULL;
            return SVMGPU_DESC_STATUS_VRAM_RANGE;
        }
        m->vram_off = addr;
        return SVMGPU_DESC_STATUS_OK;
    }

    m->len = len;
    m->ptr = svmgpu_map_sys(s, addr, &m->len, is_write);
    if (!m->ptr) {
        return SVMGPU_DESC_STATUS_DMA_ERROR;
    }
    m->is_sys = true;
    return SVMGPU_DESC_STATUS_OK;
}

/* A translated access is over: wake a TLB invalidation waiting for it. */
static void svmgpu_xlat_put(SvmgpuState *s)
{
    QEMU_LOCK_GUARD(&s->lock);
    if (--s->xlat_users == 0) {
        s->xlat_idle_seq++;
        qemu_cond_broadcast(&s->idle_cond);
    }
}

/* Release a mapping of which @done bytes were accessed. */
static void svmgpu_unmap(SvmgpuState *s, SvmgpuMapping *m, hwaddr done)
{
    if (m->is_sys) {
        svmgpu_unmap_sys(s, m->ptr, m->len, m->is_write, done);
    } else if (m->ptr) {
        address_space_unmap(&s->vram_as, m->ptr, m->len, m->is_write, done);
    }
    if (m->translated) {
        svmgpu_xlat_put(s);
    }
    m->ptr = NULL;
}

/* === Device MMU === */

static unsigned svmgpu_tlb_slot(uint16_t ctx, uint64_t vpn, bool huge)
{
    uint64_t h = (vpn ^ ((uint64_t)ctx << 36) ^ (huge ? 0x5bd1e995 : 0)) *
                 0x9e3779b97f4a7c15ull;

    return h >> (64 - 12);      /* SVMGPU_TLB_ENTRIES == 1 << 12 */
}

void svmgpu_tlb_flush_locked(SvmgpuState *s)
{
    memset(s->tlb, 0, sizeof(s->tlb));
}

void svmgpu_tlb_invalidate_locked(SvmgpuState *s, unsigned scope,
                                  uint16_t ctx, uint64_t start, uint64_t len)
{
    uint64_t end = start + len < start ? UINT64_MAX : start + len;

    trace_svmgpu_tlb_invalidate(scope, ctx, start, len);
    for (unsigned i = 0; i < SVMGPU_TLB_ENTRIES; i++) {
        SvmgpuTlbEntry *e = &s->tlb[i];
        unsigned shift = e->huge ? SVMGPU_HUGE_SHIFT : SVMGPU_PAGE_SHIFT;
        uint64_t va, va_end;

        if (!e->valid) {
            continue;
        }
        if (scope == SVMGPU_TLB_INV_ALL) {
            e->valid = false;
            continue;
        }
        if (e->ctx != ctx) {
            continue;
        }
        va = e->vpn << shift;
        va_end = va + (1ull << shift);
        if (scope == SVMGPU_TLB_INV_CONTEXT || (va < end && start < va_end)) {
            e->valid = false;
        }
    }
}

static bool svmgpu_pte_allows(SvmgpuState *s, uint64_t pte, uint8_t access,
                              uint8_t *reason)
{
    if (access == SVMGPU_ACCESS_READ) {
        return true;
    }
    if (!(pte & SVMGPU_PTE_WRITE)) {
        *reason = SVMGPU_FAULT_WRITE_DENIED;
        return false;
    }
    if (access == SVMGPU_ACCESS_ATOMIC && !(pte & SVMGPU_PTE_VRAM) &&
        !(pte & SVMGPU_PTE_ATOMIC) && !s->sysmem_atomics) {
        *reason = SVMGPU_FAULT_ATOMIC_DENIED;
        return false;
    }
    return true;
}

/*
 * x-inject-spurious-ppm: fault although the translation succeeded (only then,
 * so that a spurious fault never stands in for a real one). The reason
 * stays NOT_PRESENT; the record's SPURIOUS flag tells.
 */
static bool svmgpu_inject_spurious_locked(SvmgpuState *s, SvmgpuCmd *cmd)
{
    if (!svmgpu_inject_roll_locked(s, s->inject.spurious_ppm)) {
        return false;
    }
    s->stats.injected++;
    trace_svmgpu_inject("spurious-fault");
    cmd->fault_spurious = true;
    return true;
}

/*
 * Translate @va of context @ctx for @access. On success returns OK with the
 * leaf in @pte and its size in @page_shift. A fault returns
 * SVMGPU_EXEC_FAULT with the record fields filled in @cmd; other failures
 * return their descriptor status. Called with s->lock held: the walk reads
 * guest RAM only, never needing the BQL.
 */
static int svmgpu_translate_locked(SvmgpuState *s, SvmgpuCmd *cmd,
                                   uint64_t va, uint8_t access, uint64_t *pte,
                                   unsigned *page_shift)
{
    uint16_t ctx = cmd->ctx;
    uint8_t reason = SVMGPU_FAULT_NOT_PRESENT;
    uint64_t table, entry = 0;
    SvmgpuTlbEntry *e;

    if (va >> SVMGPU_VA_BITS) {
        reason = SVMGPU_FAULT_ADDRESS;
        goto fault;
    }
    /* A cached entry is used as it is; lacking a permission, walk again. */
    for (int huge = 0; huge < 2; huge++) {
        unsigned shift = huge ? SVMGPU_HUGE_SHIFT : SVMGPU_PAGE_SHIFT;
        uint64_t vpn = va >> shift;

        e = &s->tlb[svmgpu_tlb_slot(ctx, vpn, huge)];
        if (e->valid && e->ctx == ctx && e->huge == huge && e->vpn == vpn &&
            svmgpu_pte_allows(s, e->pte, access, &reason)) {
            if (svmgpu_inject_spurious_locked(s, cmd)) {
                reason = SVMGPU_FAULT_NOT_PRESENT;
                goto fault;
            }
            *pte = e->pte;
            *page_shift = shift;
            return SVMGPU_DESC_STATUS_OK;
        }
    }

    table = s->ctx_root[ctx];
    if (!table) {
        reason = SVMGPU_FAULT_NOT_PRESENT;
        goto fault;
    }
    for (int level = SVMGPU_PT_LEVELS - 1; level >= 0; level--) {
        unsigned shift = SVMGPU_PAGE_SHIFT + 9 * level;
        hwaddr at = (table & SVMGPU_PTE_ADDR_MASK) +
                    ((va >> shift) & (SVMGPU_PT_ENTRIES - 1)) * 8;
        uint8_t buf[8];

        if (!svmgpu_dma_sys(s, at, buf, sizeof(buf), false)) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ctx %u: page table at 0x%"
                          HWADDR_PRIx " is not readable RAM\n", ctx, at);
            return SVMGPU_DESC_STATUS_MMU_ERROR;
        }
        entry = ldq_le_p(buf);
        if (entry & SVMGPU_PTE_RESERVED_MASK) {
            qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ctx %u: level %d entry 0x%"
                          PRIx64 " has reserved bits\n", ctx, level, entry);
            return SVMGPU_DESC_STATUS_MMU_ERROR;
        }
        if (!(entry & SVMGPU_PTE_VALID)) {
            reason = SVMGPU_FAULT_NOT_PRESENT;
            goto fault;
        }
        if (entry & SVMGPU_PTE_HUGE) {
            if (level != 1 || (entry & SVMGPU_PTE_ADDR_MASK &
                               ((1ull << SVMGPU_HUGE_SHIFT) - 1))) {
                qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ctx %u: HUGE entry 0x%"
                              PRIx64 " at level %d\n", ctx, entry, level);
                return SVMGPU_DESC_STATUS_MMU_ERROR;
            }
            *page_shift = SVMGPU_HUGE_SHIFT;
            break;
        }
        if (level == 0) {
            *page_shift = SVMGPU_PAGE_SHIFT;
            break;
        }
        table = entry;
    }

    trace_svmgpu_translate(ctx, va, access, entry);
    if (!svmgpu_pte_allows(s, entry, access, &reason) ||
        svmgpu_inject_spurious_locked(s, cmd)) {
        goto fault;
    }
    e = &s->tlb[svmgpu_tlb_slot(ctx, va >> *page_shift,
                                *page_shift == SVMGPU_HUGE_SHIFT)];
    *e = (SvmgpuTlbEntry) {
        .valid = true,
        .huge = *page_shift == SVMGPU_HUGE_SHIFT,
        .ctx = ctx,
        .vpn = va >> *page_shift,
        .pte = entry,
    };
    *pte = entry;
    return SVMGPU_DESC_STATUS_OK;

fault:
    cmd->fault_addr = va;
    cmd->fault_access = access;
    cmd->fault_reason = reason;
    return SVMGPU_EXEC_FAULT;
}

/*
 * Map up to @len bytes of operand (@space, @addr) for @access: virtual
 * operands are translated and clipped to their page.
 */
static int svmgpu_map_operand(SvmgpuState *s, SvmgpuCmd *cmd, uint8_t space,
                              uint64_t addr, uint64_t len, uint8_t access,
                              SvmgpuMapping *m)
{
    bool is_write = access != SVMGPU_ACCESS_READ;
    unsigned shift;
    uint64_t pte, page_off;
    int ret;

    if (space != SVMGPU_SPACE_VIRT) {
        return svmgpu_map_phys(s, space, addr, len, is_write, m);
    }
    WITH_QEMU_LOCK_GUARD(&s->lock) {
        ret = svmgpu_translate_locked(s, cmd, addr, access, &pte, &shift);
        if (ret == SVMGPU_DESC_STATUS_OK) {
            s->xlat_users++;    /* until svmgpu_unmap() */
        }
    }
    if (ret != SVMGPU_DESC_STATUS_OK) {
        return ret;
    }
    page_off = addr & ((1ull << shift) - 1);
    len = MIN(len, (1ull << shift) - page_off);
    ret = svmgpu_map_phys(s, pte & SVMGPU_PTE_VRAM ? SVMGPU_SPACE_VRAM :
                          SVMGPU_SPACE_SYS,
                          (pte & SVMGPU_PTE_ADDR_MASK &
                           ~((1ull << shift) - 1)) + page_off,
                          len, is_write, m);
    if (ret != SVMGPU_DESC_STATUS_OK) {
        svmgpu_xlat_put(s);
        return ret;
    }
    m->translated = true;
    return ret;
}

/* === Commands === */

/* A reset, or a disable of the command's ring, abandons it. */
static bool svmgpu_cmd_abandoned(SvmgpuState *s, SvmgpuCmd *cmd)
{
    return qatomic_read(&s->epoch) != cmd->epoch ||
           qatomic_read(&s->rings[cmd->ring].gen) != cmd->ring_gen;
}

/*
 * Behind an IOMMU the engine holds the BQL while it runs a command. Take it
 * as everyone does, before s->lock; called with s->lock held, which it
 * drops meanwhile: the caller looks at the state afresh.
 */
static void svmgpu_engine_bql_lock(SvmgpuState *s)
{
    if (s->dma_needs_bql) {
        qemu_mutex_unlock(&s->lock);
        bql_lock();
        qemu_mutex_lock(&s->lock);
    }
}

static void svmgpu_engine_bql_unlock(SvmgpuState *s)
{
    if (s->dma_needs_bql) {
        bql_unlock();
    }
}

/*
 * Behind an IOMMU, let go of the BQL where the engine holds no mapping, so
 * that vCPUs and the main loop get it: the engine is idle meanwhile
 * (engine_active false), so a reset or ring disable that gets the BQL does
 * not wait for it. The caller checks svmgpu_cmd_abandoned() afterwards.
 */
static void svmgpu_engine_pause(SvmgpuState *s)
{
    if (s->dma_needs_bql) {
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            s->engine_active = false;
            qemu_cond_broadcast(&s->idle_cond);
        }
        bql_unlock();
    }
}

static void svmgpu_engine_resume(SvmgpuState *s)
{
    if (s->dma_needs_bql) {
        bql_lock();
        WITH_QEMU_LOCK_GUARD(&s->lock) {
            s->engine_active = true;
        }
    }
}

/*
 * Step boundary of a long COPY or FILL (no mapping held): pause every
 * SVMGPU_STEP_MAX bytes since *@since. Returns true if the command was
 * abandoned (then stop at once).
 */
static bool svmgpu_step_boundary(SvmgpuState *s, SvmgpuCmd *cmd,
                                 uint64_t *since)
{
    if (s->dma_needs_bql && cmd->done - *since >= SVMGPU_STEP_MAX) {
        svmgpu_engine_pause(s);
        svmgpu_engine_resume(s);
        *since = cmd->done;
    }
    return svmgpu_cmd_abandoned(s, cmd);
}

/* Count the bytes a COPY or FILL moved in this run (from @start on). */
static void svmgpu_count_bytes(SvmgpuState *s, SvmgpuCmd *cmd, uint64_t start)
{
    WITH_QEMU_LOCK_GUARD(&s->lock) {
        s->stats.bytes += cmd->done - start;
    }
}

/*
 * COPY and FILL advance cmd->done as they go. A fault stops them there, and
 * a REPLAY resumes at the faulting byte: what was written is not written
 * again, so each fault costs one replay however long the command is (and an
 * overlapping COPY never reads bytes it has already overwritten).
 */
static int svmgpu_cmd_copy(SvmgpuState *s, SvmgpuCmd *cmd)
{
    uint8_t dst_space = desc_space(cmd->flags, SVMGPU_DESC_DST_SPACE_SHIFT);
    uint8_t src_space = desc_space(cmd->flags, SVMGPU_DESC_SRC_SPACE_SHIFT);
    uint64_t start = cmd->done, since = start;
    int ret = SVMGPU_DESC_STATUS_OK;

    while (cmd->done < cmd->len && !svmgpu_step_boundary(s, cmd, &since)) {
        uint64_t want = MIN(cmd->len - cmd->done, SVMGPU_STEP_MAX);
        SvmgpuMapping src, dst;
        uint64_t n;

        ret = svmgpu_map_operand(s, cmd, src_space, cmd->src + cmd->done,
                                 want, SVMGPU_ACCESS_READ, &src);
        if (ret != SVMGPU_DESC_STATUS_OK) {
            break;
        }
        ret = svmgpu_map_operand(s, cmd, dst_space, cmd->dst + cmd->done,
                                 src.len, SVMGPU_ACCESS_WRITE, &dst);
        if (ret != SVMGPU_DESC_STATUS_OK) {
            svmgpu_unmap(s, &src, 0);
            break;
        }
        n = MIN(src.len, dst.len);
        memmove(dst.ptr, src.ptr, n);
        svmgpu_unmap(s, &dst, n);
        svmgpu_unmap(s, &src, n);
        cmd->done += n;
    }
    svmgpu_count_bytes(s, cmd, start);
    return ret;
}

static int svmgpu_cmd_fill(SvmgpuState *s, SvmgpuCmd *cmd)
{
    uint8_t space = desc_space(cmd->flags, SVMGPU_DESC_DST_SPACE_SHIFT);
    uint8_t pattern[8 + 4096];
    uint64_t start = cmd->done, since = start;
    int ret = SVMGPU_DESC_STATUS_OK;

    /* pattern[i] is byte i mod 8 of the operand, for any start phase */
    for (unsigned i = 0; i < sizeof(pattern); i++) {
        pattern[i] = cmd->operand >> (8 * (i % 8));
    }
    while (cmd->done < cmd->len && !svmgpu_step_boundary(s, cmd, &since)) {
        uint64_t want = MIN(cmd->len - cmd->done, SVMGPU_STEP_MAX);
        SvmgpuMapping dst;

        ret = svmgpu_map_operand(s, cmd, space, cmd->dst + cmd->done, want,
                                 SVMGPU_ACCESS_WRITE, &dst);
        if (ret != SVMGPU_DESC_STATUS_OK) {
            break;
        }
        for (uint64_t off = 0; off < dst.len;) {
            uint64_t n = MIN(dst.len - off, sizeof(pattern) - 8);

            memcpy((uint8_t *)dst.ptr + off,
                   pattern + (cmd->done + off) % 8, n);
            off += n;
        }
        svmgpu_unmap(s, &dst, dst.len);
        cmd->done += dst.len;
    }
    svmgpu_count_bytes(s, cmd, start);
    return ret;
}

/* Map exactly @width bytes (aligned, so within one page) of the dst. */
static int svmgpu_map_scalar(SvmgpuState *s, SvmgpuCmd *cmd, unsigned width,
                             uint8_t access, SvmgpuMapping *m)
{
    uint8_t space = desc_space(cmd->flags, SVMGPU_DESC_DST_SPACE_SHIFT);
    int ret;

    ret = svmgpu_map_operand(s, cmd, space, cmd->dst, width, access, m);
    if (ret == SVMGPU_DESC_STATUS_OK && m->len < width) {
        svmgpu_unmap(s, m, 0);
        return SVMGPU_DESC_STATUS_DMA_ERROR;
    }
    return ret;
}

static int svmgpu_cmd_write_imm(SvmgpuState *s, SvmgpuCmd *cmd)
{
    SvmgpuMapping m;
    int ret;

    ret = svmgpu_map_scalar(s, cmd, cmd->width, SVMGPU_ACCESS_WRITE, &m);
    if (ret != SVMGPU_DESC_STATUS_OK) {
        return ret;
    }
    if (cmd->width == 4) {
        qatomic_set((uint32_t *)m.ptr, cpu_to_le32(cmd->operand));
    } else {
        qatomic_set__nocheck((uint64_t *)m.ptr, cpu_to_le64(cmd->operand));
    }
    svmgpu_unmap(s, &m, cmd->width);
    return SVMGPU_DESC_STATUS_OK;
}

static uint64_t svmgpu_atomic_apply(uint8_t op, unsigned width, uint64_t old,
                                    uint64_t operand, uint64_t compare)
{
    int64_t sold = width == 4 ? (int32_t)old : (int64_t)old;
    int64_t sop = width == 4 ? (int32_t)operand : (int64_t)operand;

    switch (op) {
    case SVMGPU_ATOMIC_ADD:
        return old + operand;
    case SVMGPU_ATOMIC_XCHG:
        return operand;
    case SVMGPU_ATOMIC_CMPXCHG:
        return old == compare ? operand : old;
    case SVMGPU_ATOMIC_AND:
        return old & operand;
    case SVMGPU_ATOMIC_OR:
        return old | operand;
    case SVMGPU_ATOMIC_XOR:
        return old ^ operand;
    case SVMGPU_ATOMIC_UMIN:
        return MIN(old, operand);
    case SVMGPU_ATOMIC_UMAX:
        return MAX(old, operand);
    case SVMGPU_ATOMIC_SMIN:
        return sold < sop ? old : operand;
    case SVMGPU_ATOMIC_SMAX:
        return sold > sop ? old : operand;
    }
    g_assert_not_reached();     /* validated before */
}

/*
 * A compare-and-swap loop on the guest's own memory, converting to and
 * from little-endian around each attempt: atomic against the vCPUs on any
 * host.
 */
static int svmgpu_cmd_atomic(SvmgpuState *s, SvmgpuCmd *cmd)
{
    uint8_t space = desc_space(cmd->flags, SVMGPU_DESC_DST_SPACE_SHIFT);
    uint64_t mask = cmd->width == 4 ? UINT32_MAX : UINT64_MAX;
    uint64_t operand = cmd->operand & mask, compare = cmd->compare & mask;
    SvmgpuMapping m;
    int ret;

    if (space == SVMGPU_SPACE_SYS && !s->sysmem_atomics) {
        return SVMGPU_DESC_STATUS_ATOMIC_DENIED;
    }
    ret = svmgpu_map_scalar(s, cmd, cmd->width, SVMGPU_ACCESS_ATOMIC, &m);
    if (ret != SVMGPU_DESC_STATUS_OK) {
        return ret;
    }
    if (cmd->width == 4) {
        uint32_t *p = m.ptr, cur = qatomic_read(p), seen;

        for (;;) {
            uint32_t new = svmgpu_atomic_apply(cmd->atomic_op, 4,
                                               le32_to_cpu(cur), operand,
                                               compare);
            seen = qatomic_cmpxchg(p, cur, cpu_to_le32(new));
            if (seen == cur) {
                break;
            }
            cur = seen;
        }
        cmd->result = le32_to_cpu(cur);
    } else {
        uint64_t *p = m.ptr, cur = qatomic_read__nocheck(p), seen;

        for (;;) {
            uint64_t new = svmgpu_atomic_apply(cmd->atomic_op, 8,
                                               le64_to_cpu(cur), operand,
                                               compare);
            seen = qatomic_cmpxchg__nocheck(p, cur, cpu_to_le64(new));
            if (seen == cur) {
                break;
            }
            cur = seen;
        }
        cmd->result = le64_to_cpu(cur);
    }
    svmgpu_unmap(s, &m, cmd->width);
    return SVMGPU_DESC_STATUS_OK;
}

static int svmgpu_cmd_fence(SvmgpuState *s, SvmgpuCmd *cmd)
{
    SvmgpuMapping m;
    uint32_t latency_us;
    int ret;

    ret = svmgpu_map_scalar(s, cmd, 8, SVMGPU_ACCESS_WRITE, &m);
    if (ret == SVMGPU_DESC_STATUS_OK) {
        qatomic_set__nocheck((uint64_t *)m.ptr, cpu_to_le64(cmd->operand));
        svmgpu_unmap(s, &m, 8);
    }
    if (ret == SVMGPU_EXEC_FAULT) {
        return ret;
    }

    WITH_QEMU_LOCK_GUARD(&s->lock) {
        latency_us = s->inject.latency_us;
    }
    if (latency_us) {
        svmgpu_engine_pause(s);
        g_usleep(latency_us);
        svmgpu_engine_resume(s);
    }
    /* The seqno and interrupt follow even a failed write: wake the driver. */
    WITH_QEMU_LOCK_GUARD(&s->lock) {
        if (!svmgpu_cmd_abandoned(s, cmd)) {
            s->fence_seqno = cmd->operand;
            if (!(cmd->flags & SVMGPU_DESC_NO_IRQ)) {
                svmgpu_raise_locked(s, SVMGPU_VEC_COMPLETION);
            }
        }
    }
    return ret;
}

static int svmgpu_cmd_tlb_invalidate(SvmgpuState *s, SvmgpuCmd *cmd)
{
    QEMU_LOCK_GUARD(&s->lock);
    svmgpu_tlb_invalidate_locked(s, cmd->atomic_op, cmd->ctx, cmd->dst,
                                 cmd->len);
    return SVMGPU_DESC_STATUS_OK;
}

static bool svmgpu_uses_ctx(SvmgpuCmd *cmd)
{
    if (cmd->opcode == SVMGPU_OP_TLB_INVALIDATE) {
        return cmd->atomic_op != SVMGPU_TLB_INV_ALL;
    }
    if (desc_space(cmd->flags, SVMGPU_DESC_DST_SPACE_SHIFT) ==
        SVMGPU_SPACE_VIRT && cmd->opcode != SVMGPU_OP_NOP) {
        return true;
    }
    return cmd->opcode == SVMGPU_OP_COPY &&
           desc_space(cmd->flags, SVMGPU_DESC_SRC_SPACE_SHIFT) ==
           SVMGPU_SPACE_VIRT;
}

/* Everything checkable before touching memory: INVALID changes nothing. */
static bool svmgpu_cmd_valid(SvmgpuState *s, SvmgpuCmd *cmd,
                             const uint8_t *desc)
{
    bool scalar = cmd->opcode == SVMGPU_OP_WRITE_IMM ||
                  cmd->opcode == SVMGPU_OP_ATOMIC;

    if (lduw_le_p(desc + SVMGPU_DESC_RESERVED0) ||
        ldl_le_p(desc + SVMGPU_DESC_RESERVED1) ||
        (cmd->flags & ~SVMGPU_DESC_FLAGS_VALID) ||
        desc_space(cmd->flags, SVMGPU_DESC_DST_SPACE_SHIFT) > 2 ||
        desc_space(cmd->flags, SVMGPU_DESC_SRC_SPACE_SHIFT) > 2 ||
        cmd->opcode > SVMGPU_OP_TLB_INVALIDATE) {
        return false;
    }
    if (svmgpu_uses_ctx(cmd) && cmd->ctx >= s->num_contexts) {
        return false;
    }
    if (scalar && ((cmd->width != 4 && cmd->width != 8) ||
                   cmd->dst % cmd->width)) {
        return false;
    }
    switch (cmd->opcode) {
    case SVMGPU_OP_COPY:
    case SVMGPU_OP_FILL:
        return cmd->len <= SVMGPU_MAX_CMD_LEN;
    case SVMGPU_OP_ATOMIC:
        return cmd->atomic_op < SVMGPU_ATOMIC_NUM_OPS;
    case SVMGPU_OP_FENCE:
        return cmd->dst % 8 == 0;
    case SVMGPU_OP_TLB_INVALIDATE:
        return cmd->atomic_op <= SVMGPU_TLB_INV_RANGE;
    }
    return true;
}

static int svmgpu_cmd_execute(SvmgpuState *s, SvmgpuCmd *cmd,
                              const uint8_t *desc)
{
    if (!svmgpu_cmd_valid(s, cmd, desc)) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ring[%u]: invalid descriptor "
                      "(opcode %u flags 0x%x ctx %u op %u width %u)\n",
                      cmd->index, cmd->opcode, cmd->flags, cmd->ctx,
                      cmd->atomic_op, cmd->width);
        return SVMGPU_DESC_STATUS_INVALID;
    }
    if (cmd->opcode != SVMGPU_OP_NOP &&
        cmd->opcode != SVMGPU_OP_TLB_INVALIDATE &&
        svmgpu_inject_dma_error(s)) {
        return SVMGPU_DESC_STATUS_DMA_ERROR;
    }

    switch (cmd->opcode) {
    case SVMGPU_OP_NOP:
        return SVMGPU_DESC_STATUS_OK;
    case SVMGPU_OP_COPY:
        return svmgpu_cmd_copy(s, cmd);
    case SVMGPU_OP_FILL:
        return svmgpu_cmd_fill(s, cmd);
    case SVMGPU_OP_WRITE_IMM:
        return svmgpu_cmd_write_imm(s, cmd);
    case SVMGPU_OP_ATOMIC:
        return svmgpu_cmd_atomic(s, cmd);
    case SVMGPU_OP_FENCE:
        return svmgpu_cmd_fence(s, cmd);
    case SVMGPU_OP_TLB_INVALIDATE:
        return svmgpu_cmd_tlb_invalidate(s, cmd);
    }
    g_assert_not_reached();
}

static void svmgpu_cmd_decode(SvmgpuCmd *cmd, const uint8_t *desc)
{
    cmd->opcode = desc[SVMGPU_DESC_OPCODE];
    cmd->flags = desc[SVMGPU_DESC_FLAGS];
    cmd->ctx = lduw_le_p(desc + SVMGPU_DESC_CTX);
    cmd->atomic_op = desc[SVMGPU_DESC_ATOMIC_OP];
    cmd->width = desc[SVMGPU_DESC_WIDTH];
    cmd->dst = ldq_le_p(desc + SVMGPU_DESC_DST);
    cmd->src = ldq_le_p(desc + SVMGPU_DESC_SRC);
    cmd->len = ldq_le_p(desc + SVMGPU_DESC_LEN);
    cmd->operand = ldq_le_p(desc + SVMGPU_DESC_OPERAND);
    cmd->compare = ldq_le_p(desc + SVMGPU_DESC_COMPARE);
}

/* === The engine thread === */

static hwaddr svmgpu_desc_addr(SvmgpuRing *r, uint32_t index)
{
    return r->base + (hwaddr)index * SVMGPU_DESC_SIZE;
}

static bool svmgpu_faultq_full_locked(SvmgpuState *s)
{
    return (s->faultq_tail + 1) % s->faultq_size == s->faultq_head;
}

/* Write the fault record of parked ring @n if there is room; locked. */
static void svmgpu_record_fault_locked(SvmgpuState *s, unsigned n)
{
    SvmgpuRing *r = &s->rings[n];
    uint8_t rec[SVMGPU_FAULT_RECORD_SIZE] = { 0 };
    hwaddr at;

    if (svmgpu_faultq_full_locked(s)) {
        return;     /* overflow already flagged, wait for HEAD to move */
    }
    stq_le_p(rec + SVMGPU_FREC_ADDR, r->fault_addr);
    stl_le_p(rec + SVMGPU_FREC_ID, r->fault_id);
    stw_le_p(rec + SVMGPU_FREC_CTX, r->fault_ctx);
    rec[SVMGPU_FREC_ACCESS] = r->fault_access;
    rec[SVMGPU_FREC_REASON] = r->fault_reason;
    stl_le_p(rec + SVMGPU_FREC_RING_INDEX, r->head);
    stl_le_p(rec + SVMGPU_FREC_FLAGS,
             r->fault_spurious ? SVMGPU_FAULT_FLAG_SPURIOUS : 0);
    rec[SVMGPU_FREC_RING] = n;
    at = s->faultq_base + (hwaddr)s->faultq_tail * SVMGPU_FAULT_RECORD_SIZE;
    if (!svmgpu_dma_sys(s, at, rec, sizeof(rec), true)) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: fault queue entry at 0x%"
                      HWADDR_PRIx " is not writable RAM\n", at);
        svmgpu_error_locked(s, SVMGPU_ERROR_FAULTQ_WRITE);
        /* Unreportable: the command completes with FAULT. */
        r->fault_response = SVMGPU_FAULT_RESPONSE_CANCEL;
        return;
    }
    s->faultq_tail = (s->faultq_tail + 1) % s->faultq_size;
    r->fault_recorded = true;
    svmgpu_raise_locked(s, SVMGPU_VEC_FAULT);
}

/* Park ring @n's head command on the fault described in @cmd. */
static void svmgpu_park_locked(SvmgpuState *s, unsigned n, SvmgpuCmd *cmd)
{
    SvmgpuRing *r = &s->rings[n];

    r->parked = true;
    r->fault_recorded = false;
    r->fault_response = 0;
    r->fault_id = s->next_fault_id;
    s->next_fault_id = (s->next_fault_id + 1) & SVMGPU_FAULT_RESPONSE_ID_MASK;
    if (!s->next_fault_id) {
        s->next_fault_id = 1;
    }
    r->fault_addr = cmd->fault_addr;
    r->fault_ctx = cmd->ctx;
    r->fault_access = cmd->fault_access;
    r->fault_reason = cmd->fault_reason;
    r->fault_spurious = cmd->fault_spurious;
    r->fault_resume = cmd->done;
    s->stats.faults++;
    trace_svmgpu_fault(r->fault_id, n, cmd->ctx, cmd->fault_addr,
                       cmd->fault_access, cmd->fault_reason);
    if (svmgpu_faultq_full_locked(s)) {
        svmgpu_error_locked(s, SVMGPU_ERROR_FAULTQ_OVERFLOW);
    }
    svmgpu_record_fault_locked(s, n);
}

/* Write back RESULT and STATUS of a finished command, advance HEAD. */
static void svmgpu_complete_locked(SvmgpuState *s, SvmgpuCmd *cmd, int status)
{
    SvmgpuRing *r = &s->rings[cmd->ring];
    hwaddr at = svmgpu_desc_addr(r, cmd->index);
    uint8_t buf[4];

    trace_svmgpu_cmd_done(cmd->ring, cmd->index, status);
    if (cmd->opcode == SVMGPU_OP_ATOMIC && status == SVMGPU_DESC_STATUS_OK) {
        uint8_t res[8];

        stq_le_p(res, cmd->result);
        if (!svmgpu_dma_sys(s, at + SVMGPU_DESC_RESULT, res, 8, true)) {
            svmgpu_error_locked(s, SVMGPU_ERROR_STATUS_WRITE);
        }
    }
    stl_le_p(buf, status);
    if (!svmgpu_dma_sys(s, at + SVMGPU_DESC_STATUS, buf, 4, true)) {
        svmgpu_error_locked(s, SVMGPU_ERROR_STATUS_WRITE);
    }
    s->stats.commands++;
    r->parked = false;
    r->head = (r->head + 1) % r->size;
}

static bool svmgpu_ring_runnable_locked(SvmgpuState *s, SvmgpuRing *r)
{
    if (!r->enabled) {
        return false;
    }
    if (r->parked) {
        return r->fault_response != 0;
    }
    return r->head != r->tail;
}

/* Fetch and run the command at ring @n's head; called locked. */
static void svmgpu_engine_step_locked(SvmgpuState *s, unsigned n)
{
    SvmgpuRing *r = &s->rings[n];
    uint8_t desc[SVMGPU_DESC_SIZE];
    SvmgpuCmd cmd = {
        .ring = n,
        .index = r->head,
        .epoch = s->epoch,
        .ring_gen = r->gen,
    };
    hwaddr at = svmgpu_desc_addr(r, cmd.index);
    int status;

    if (r->parked && r->fault_response == SVMGPU_FAULT_RESPONSE_CANCEL) {
        cmd.opcode = SVMGPU_OP_NOP;     /* no RESULT for a cancelled op */
        svmgpu_complete_locked(s, &cmd, SVMGPU_DESC_STATUS_FAULT);
        return;
    }
    if (r->parked) {
        cmd.done = r->fault_resume;     /* a REPLAY goes on where it faulted */
    }
    r->parked = false;          /* a REPLAY, or a fresh command */

    if (!svmgpu_dma_sys(s, at, desc, sizeof(desc), false)) {
        qemu_log_mask(LOG_GUEST_ERROR, "svmgpu: ring %u[%u] at 0x%"
                      HWADDR_PRIx " is not readable RAM: ring stopped\n",
                      n, cmd.index, at);
        r->enabled = false;
        r->stopped = true;
        svmgpu_error_locked(s, SVMGPU_ERROR_RING_FETCH);
        return;
    }
    svmgpu_cmd_decode(&cmd, desc);
    trace_svmgpu_cmd(n, cmd.index, cmd.opcode, cmd.flags, cmd.ctx);

    s->engine_active = true;
    s->active_ring = n;
    qemu_mutex_unlock(&s->lock);
    status = svmgpu_cmd_execute(s, &cmd, desc);
    qemu_mutex_lock(&s->lock);
    s->engine_active = false;
    qemu_cond_broadcast(&s->idle_cond);

    if (svmgpu_cmd_abandoned(s, &cmd) || !r->enabled) {
        return;     /* reset or disabled meanwhile: forget the command */
    }
    if (status != SVMGPU_EXEC_FAULT) {
        svmgpu_complete_locked(s, &cmd, status);
    } else if (!s->faultq_enabled) {
        svmgpu_complete_locked(s, &cmd, SVMGPU_DESC_STATUS_FAULT);
    } else {
        svmgpu_park_locked(s, n, &cmd);
    }
}

/* Record the faults of parked rings that have none recorded yet. */
static void svmgpu_record_pending_faults_locked(SvmgpuState *s)
{
    for (unsigned n = 0; n < SVMGPU_NUM_RINGS; n++) {
        SvmgpuRing *r = &s->rings[n];

        if (r->parked && !r->fault_recorded && !r->fault_response &&
            s->faultq_enabled) {
            svmgpu_record_fault_locked(s, n);
        }
    }
}

void *svmgpu_engine_thread(void *opaque)
{
    SvmgpuState *s = opaque;

    rcu_register_thread();
    qemu_mutex_lock(&s->lock);
    while (!s->stopping) {
        int runnable = -1;

        svmgpu_engine_bql_lock(s);
        if (s->stopping) {
            svmgpu_engine_bql_unlock(s);
            break;
        }
        if (!s->inject.hang) {
            svmgpu_record_pending_faults_locked(s);
            /* Round robin: one command per ring in turn. */
            for (unsigned i = 0; i < SVMGPU_NUM_RINGS; i++) {
                unsigned n = (s->next_ring + i) % SVMGPU_NUM_RINGS;

                if (svmgpu_ring_runnable_locked(s, &s->rings[n])) {
                    runnable = n;
                    break;
                }
            }
        }
        if (runnable >= 0) {
            s->next_ring = (runnable + 1) % SVMGPU_NUM_RINGS;
            svmgpu_engine_step_locked(s, runnable);
        }
        svmgpu_engine_bql_unlock(s);
        if (runnable < 0 && !s->stopping) {
            qemu_cond_wait(&s->work_cond, &s->lock);
        }
    }
    qemu_mutex_unlock(&s->lock);
    rcu_unregister_thread();
    return NULL;
}
