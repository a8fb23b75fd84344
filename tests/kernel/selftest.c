/*
 * The test build's tests, run from the kernel command line (test=NAME) by
 * QEMU tests that boot the real ISO: GRUB boots nano_core-test.elf, which is
 * nano_core with this file, when the arguments hold test=NAME. Each checks a property of the running nano_core
 * that host tests cannot see: page permissions, the live allocators, what
 * the boot loader handed over.
 */
#include <delos/ops.h>
#include "nano_core/boot.h"
#include <delos/cells.h>
#include <delos/frame.h>
#include <delos/kernel.h>
#include <delos/display.h>
#include "nano_core/ksyms.h"
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/paging.h>
#include "tests/kernel/selftest.h"
#include <delos/system.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "nano_core/physmap.h"

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			kprintf("selftest: check failed: " __VA_ARGS__);       \
			kprintf("\n");                                         \
			return false;                                          \
		}                                                              \
	} while (0)

/* Code bytes for an executable-page probe: `ret`. Deliberately in .data. */
static uint8_t data_ret[16] = { 0xc3 };
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void probe_write(void *addr) { *(volatile uint8_t *)addr = *(volatile uint8_t *)addr; }
static void probe_read(void *addr) { (void)*(volatile uint8_t *)addr; }
static void probe_exec(void *addr) { ((void (*)(void))addr)(); }

/* Runs a probe and checks it raised a page fault with the given error bits set. */
static bool faults(void (*probe)(void *), void *addr, uint64_t err_bits, const char *what)
{
	struct trap_info ti;
	int r = trap_catch(probe, addr, &ti);

	CHECK(r == 15, "%s at %p: expected a page fault, got %s", what, addr,
	      r ? trap_name(ti.vector) : "no fault");
	CHECK((ti.error & err_bits) == err_bits, "%s: page fault error 0x%lx lacks 0x%lx", what,
	      ti.error, err_bits);
	kprintf("selftest: %-34s faults as it should (error 0x%lx)\n", what, ti.error);
	return true;
}

/* Calls hello_main at addr; returns its result, or -(vector + 1) if it faulted. */
static int call_hello(uint64_t addr, struct trap_info *ti)
{
	int result, vec = cells_call(addr, &result, ti);

	return vec ? -vec : result;
}

/* The physmap alias of the byte at va. */
static void *alias_of(const void *va)
{
	uint64_t pa;

	return paging_translate((uint64_t)va, &pa) ? phys_to_virt(pa) : NULL;
}

/* nano_core's code and read-only data cannot be written through the physmap; its data can. */
static bool test_wx_physmap(void)
{
	bool ok = faults(probe_write, alias_of(__text_start), 0x3, "write nano_core text via physmap") &&
		  faults(probe_write, alias_of(__rodata_start), 0x3, "write rodata via the physmap") &&
		  faults(probe_write, alias_of(__ksyms_start), 0x3, "write symbols via the physmap");

	if (!ok)
		return false;
	CHECK(trap_catch(probe_write, alias_of(data_ret), NULL) == 0,
	      "writing nano_core data through the physmap faulted");
	return true;
}

/*
 * A cell's text is read-only through the physmap, text_poke patches it and
 * leaves it so, and once the cell is unloaded its frames are writable again.
 */
static bool test_wx_cell(void)
{
	struct loader_cell *c = loader_cell_find(cells_loader(), "hello");
	struct trap_info ti;
	uint64_t fn, pa;
	uint8_t *code, was, flipped;

	CHECK(c && loader_cell_lookup(c, "hello_main", &fn) == 0, "hello@1 not loaded at boot");
	code = (uint8_t *)fn;
	was = *code;
	flipped = was ^ 0xff;
	if (!faults(probe_write, alias_of(code), 0x3, "write cell text via the physmap"))
		return false;
	CHECK(text_poke(code, &flipped, 1) == 0 && *code == flipped, "text_poke did not write");
	CHECK(text_poke(code, &was, 1) == 0 && *code == was, "text_poke did not write back");
	CHECK(text_poke((void *)STACK_BASE, &was, 1) == -1, "text_poke into a guard page succeeded");
	if (!faults(probe_write, alias_of(code), 0x3, "the same after text_poke") ||
	    !faults(probe_write, code, 0x3, "write a cell's text"))
		return false;
	CHECK(call_hello(fn, &ti) == 42, "hello_main did not return 42 after the pokes");
	CHECK(paging_translate(fn, &pa) && cells_unload("hello") == 0, "unload of hello failed");
	CHECK(trap_catch(probe_write, phys_to_virt(pa), NULL) == 0,
	      "a frame of the unloaded hello's text is still read-only in the physmap");
	kprintf("selftest: text_poke patched hello's text; its frames are writable once unloaded\n");
	return true;
}

static bool test_wx(const struct mb2_info *boot)
{
	void *heap_code = kmalloc(64);
	bool ok;

	(void)boot;
	CHECK(heap_code, "kmalloc failed");
	memset(heap_code, 0xc3, 64);
	CHECK(trap_catch(probe_read, __text_start, NULL) == 0, "reading text faulted");
	ok = faults(probe_write, __text_start, 0x3, "write to nano_core text") &&
	     faults(probe_write, __rodata_start, 0x3, "write to nano_core rodata") &&
	     faults(probe_write, __ksyms_start, 0x3, "write to the symbol table") &&
	     faults(probe_exec, data_ret, 0x11, "execute nano_core data") &&
	     faults(probe_exec, heap_code, 0x11, "execute the heap") &&
	     faults(probe_exec, phys_to_virt(0x100000), 0x11, "execute the physmap") &&
	     faults(probe_read, (void *)0x100000, 0, "read the old identity map") &&
	     faults(probe_read, (void *)STACK_BASE, 0, "read the kernel stack's guard page");
	CHECK(trap_catch(probe_read, (void *)(STACK_BASE + PAGE_SIZE), NULL) == 0,
	      "the kernel stack's lowest page is not readable");
	kfree(heap_code);
	return ok && test_wx_physmap() && test_wx_cell();
}

/* Random allocations and frees checked byte by byte; usage must return to the start. */
static bool test_heap(const struct mb2_info *boot)
{
	enum { SLOTS = 256, ROUNDS = 20000 };
	static uint8_t *slot[SLOTS];
	static size_t len[SLOTS];
	struct mm_stats before, after;

	(void)boot;
	mm_stats(&before);
	for (int i = 0; i < ROUNDS; i++) {
		size_t k = rng() % SLOTS;
		if (slot[k]) {
			for (size_t j = 0; j < len[k]; j++)
				CHECK(slot[k][j] == (uint8_t)(k + j), "block %zu byte %zu overwritten", k, j);
			kfree(slot[k]);
			slot[k] = NULL;
		} else {
			len[k] = 1 + rng() % (rng() % 4 ? 256 : 32768);
			slot[k] = kmalloc(len[k]);
			CHECK(slot[k] && ((uint64_t)slot[k] & 15) == 0, "kmalloc(%zu) = %p", len[k], slot[k]);
			for (size_t j = 0; j < len[k]; j++)
				slot[k][j] = (uint8_t)(k + j);
		}
		if (i % 1000 == 0)
			CHECK(mm_heap_check() == 0, "heap check failed after %d operations", i);
	}
	for (size_t k = 0; k < SLOTS; k++)
		kfree(slot[k]);
	mm_stats(&after);
	CHECK(after.heap_in_use == before.heap_in_use, "heap in use %lu after, %lu before",
	      after.heap_in_use, before.heap_in_use);
	CHECK(after.heap_live == before.heap_live, "live allocations %lu after, %lu before",
	      after.heap_live, before.heap_live);
	kprintf("selftest: %d heap operations, heap size %lu\n", ROUNDS, after.heap_size);
	return true;
}

static bool inside(uint64_t pa, uint64_t base, uint64_t end)
{
	return pa + PAGE_SIZE > base && pa < end;
}

/* Frames handed out never overlap the kernel, the boot information or the modules. */
static bool frame_ok(uint64_t pa, const struct mb2_info *boot)
{
	extern char __kernel_phys_start[], __kernel_phys_end[];

	CHECK(pa && !(pa & (PAGE_SIZE - 1)), "bad frame %lx", pa);
	CHECK(!inside(pa, (uint64_t)__kernel_phys_start, (uint64_t)__kernel_phys_end),
	      "frame %lx inside the kernel image", pa);
	for (size_t m = 0; m < boot->module_count; m++)
		CHECK(!inside(pa, boot->modules[m].start, boot->modules[m].end), "frame %lx in a module", pa);
	return true;
}

static bool test_frames(const struct mb2_info *boot)
{
	enum { N = 2048 };
	static uint64_t got[N];
	struct frame_stats before, after;

	frame_stats(&before);
	for (int i = 0; i < N; i++) {
		got[i] = frame_alloc();
		if (!frame_ok(got[i], boot))
			return false;
		*(volatile uint64_t *)phys_to_virt(got[i]) = got[i];
	}
	for (int i = 0; i < N; i++)
		CHECK(*(volatile uint64_t *)phys_to_virt(got[i]) == got[i], "frame %lx handed out twice",
		      got[i]);
	for (int i = 0; i < N; i++)
		CHECK(frame_free(got[i]) == 0, "free of %lx refused", got[i]);
	CHECK(frame_free(got[0]) == FRAME_E_NOT_ALLOCATED, "double free not refused");
	frame_stats(&after);
	CHECK(after.free_frames == before.free_frames, "free frames %lu after, %lu before",
	      after.free_frames, before.free_frames);
	kprintf("selftest: %d frames allocated, checked and freed\n", N);
	return true;
}

enum audit_fault { NO_FAULT, LEAKED, OWNED_TWICE, FREE_BUT_OWNED };

/* Runs the ownership audit; checks that it found nothing, or exactly one fault of `kind` at pa. */
static bool audit_finds(enum audit_fault kind, uint64_t pa, const char *what)
{
	struct mm_audit a;
	int err = mm_audit(&a);
	const struct frame_audit *f = &a.frames;
	uint64_t count[] = { 0, f->leaked, f->twice, f->free_claimed };
	uint64_t first[] = { 0, f->first_leaked, f->first_twice, f->first_free_claimed };

	CHECK(a.heap == 0 && f->counters_ok, "%s: heap check %d, counters %s", what, a.heap,
	      f->counters_ok ? "ok" : "wrong");
	CHECK(count[LEAKED] + count[OWNED_TWICE] + count[FREE_BUT_OWNED] == (kind != NO_FAULT) &&
	      count[kind] == (kind != NO_FAULT) && first[kind] == (kind != NO_FAULT ? pa : 0) &&
	      err == (kind == NO_FAULT ? MM_AUDIT_OK : MM_AUDIT_FAILED),
	      "%s (frame %lx): audit gave %d: leaked %lu, owned twice %lu, free but owned %lu", what,
	      pa, err, f->leaked, f->twice, f->free_claimed);
	kprintf("selftest: audit of %-28s %s\n", what, kind == NO_FAULT ? "ok" : "names the frame");
	return true;
}

/*
 * The ownership audit fails for each kind of fault built on purpose: a frame
 * allocated and owned by nothing, owned twice, freed while still mapped;
 * and passes again once each is undone. The pages used lie in the stack
 * region, far above any stack a selftest allocates.
 */
static bool test_owners(const struct mb2_info *boot)
{
	uint64_t va = STACK_BASE + (1ull << 30), pa;

	(void)boot;
	if (!audit_finds(NO_FAULT, 0, "the boot state"))
		return false;
	CHECK((pa = frame_alloc()) != 0, "no frame");
	if (!audit_finds(LEAKED, pa, "a frame nothing maps"))
		return false;
	CHECK(paging_map(va, pa, PAGE_SIZE, PERM_RW) == 0, "map of %lx at %lx", pa, va);
	if (!audit_finds(NO_FAULT, 0, "a frame mapped once"))
		return false;
	CHECK(paging_map(va + PAGE_SIZE, pa, PAGE_SIZE, PERM_R) == 0, "second map of %lx", pa);
	if (!audit_finds(OWNED_TWICE, pa, "a frame mapped twice"))
		return false;
	CHECK(paging_unmap(va + PAGE_SIZE, PAGE_SIZE, NULL) == 0, "unmap of the second mapping");
	CHECK(frame_free(pa) == 0, "free of %lx", pa);
	if (!audit_finds(FREE_BUT_OWNED, pa, "a free frame still mapped"))
		return false;
	CHECK(paging_unmap(va, PAGE_SIZE, NULL) == 0, "unmap of the first mapping");
	return audit_finds(NO_FAULT, 0, "the frame unmapped and free");
}

/*
 * A fatal report may run inside the heap's critical section (an exception or
 * NMI does not respect it), so once log_fatal() is called console output
 * must allocate nothing. Before it, lines go through the cell holding the
 * screen_write slot (the VGA cell, which writes its cursor record through
 * state_db: from the heap, or from state_db's spare blocks once it has some).
 */
static bool test_fatal_log(const struct mb2_info *boot)
{
	struct mm_stats cell, fatal;

	(void)boot;
	CHECK(ops_resolve(OPS_SCREEN_WRITE) != 0, "no cell holds the screen_write slot; VGA cell loaded?");
	kprintf("selftest: a line through the VGA cell\n");
	mm_stats(&cell);
	log_fatal();
	kprintf("selftest: a line drawn by nano_core\n");
	mm_stats(&fatal);
	CHECK(fatal.heap_allocs == cell.heap_allocs, "output after log_fatal made %lu allocations",
	      fatal.heap_allocs - cell.heap_allocs);
	return true;
}

static bool test_mb2(const struct mb2_info *boot)
{
	CHECK(boot->cmdline && strncmp(boot->cmdline, "test=mb2", 8) == 0, "command line '%s'",
	      boot->cmdline ? boot->cmdline : "(none)");
	CHECK(boot->bootloader && strncmp(boot->bootloader, "GRUB", 4) == 0, "boot loader '%s'",
	      boot->bootloader ? boot->bootloader : "(none)");
	CHECK(boot->mmap_count > 0, "empty memory map");
	kprintf("selftest: loader '%s', %zu memory map entries\n", boot->bootloader, boot->mmap_count);
	return true;
}

/* load -> call -> unload -> a stale call faults -> load again -> call. */
static bool test_loader(const struct mb2_info *boot)
{
	struct loader_cell *c = loader_cell_find(cells_loader(), "hello");
	struct trap_info ti;
	uint64_t old, fresh;

	(void)boot;
	CHECK(c && loader_cell_lookup(c, "hello_main", &old) == 0, "hello@1 not loaded at boot");
	CHECK(call_hello(old, &ti) == 42, "hello_main did not return 42");
	CHECK(cells_unload("hello") == 0, "unload hello failed");
	CHECK(loader_cell_find(cells_loader(), "hello") == NULL, "hello still listed after unload");
	int r = call_hello(old, &ti);
	CHECK(r == -15 && (ti.error & 0x11) == 0x10 && ti.rip == old,
	      "stale call to %016lx gave %d (error 0x%lx, rip %016lx), want a fetch page fault", old, r,
	      ti.error, ti.rip);
	kprintf("selftest: stale call to %016lx faulted: %s, error 0x%lx; not run\n", old,
		trap_name(ti.vector), ti.error);
	CHECK(cells_load("hello@1") == 0, "reload of hello@1 failed");
	c = loader_cell_find(cells_loader(), "hello");
	CHECK(c && loader_cell_lookup(c, "hello_main", &fresh) == 0, "hello_main missing after reload");
	CHECK(call_hello(fresh, &ti) == 42, "reloaded hello_main did not return 42");
	kprintf("selftest: reloaded hello_main at %016lx returned 42\n", fresh);
	return true;
}

/* After a swap the old code is unmapped: a stale pointer faults, the name reaches the new code. */
static bool test_swap(const struct mb2_info *boot)
{
	const char *refs[] = { "hello@1", "hello@2" };
	struct loader_cell *c = loader_cell_find(cells_loader(), "hello");
	struct trap_info ti;
	uint64_t old, fresh;

	(void)boot;
	CHECK(c && loader_cell_lookup(c, "hello_main", &old) == 0, "hello@1 not loaded at boot");
	system_swap(refs, 1, false);
	c = loader_cell_find(cells_loader(), "hello");
	CHECK(c && loader_cell_lookup(c, "hello_main", &fresh) == 0 && fresh != old,
	      "hello_main did not move with the swap");
	CHECK(call_hello(fresh, &ti) == 43, "the new hello_main did not return 43");
	int r = call_hello(old, &ti);
	CHECK(r == -15 && (ti.error & 0x10), "stale call after the swap gave %d, want a fetch fault", r);
	kprintf("selftest: after the swap, a stale call to %016lx faulted; the new code answered\n", old);
	return true;
}

/* The memory map holds available RAM, and the frame allocator tracks only frames inside it. */
static bool boot_memory(const struct mb2_info *boot)
{
	struct frame_stats f;
	uint64_t avail = 0;

	CHECK(boot->mmap_count > 0, "the memory map is empty");
	for (size_t i = 0; i < boot->mmap_count; i++)
		if (boot->mmap[i].type == MB2_MEM_AVAILABLE)
			avail += boot->mmap[i].len;
	frame_stats(&f);
	CHECK(avail >= 16 * FRAME_SIZE, "the memory map has %lu bytes of available RAM", avail);
	CHECK(f.total_frames > 0 && f.total_frames * FRAME_SIZE <= avail,
	      "%lu frames tracked for %lu bytes of available RAM", f.total_frames, avail);
	CHECK(f.free_frames > 0 && f.free_frames + f.reserved_frames + f.allocated_frames == f.total_frames,
	      "frames: %lu free + %lu reserved + %lu allocated != %lu total", f.free_frames,
	      f.reserved_frames, f.allocated_frames, f.total_frames);
	kprintf("selftest: %zu memory map entries, %lu KiB available, %lu of %lu frames free\n",
		boot->mmap_count, avail / 1024, f.free_frames, f.total_frames);
	return true;
}

/* The heap hands out writable memory and takes it back. */
static bool boot_heap(void)
{
	struct mm_stats before, after;
	uint8_t *p;

	mm_stats(&before);
	p = kmalloc(4000);
	CHECK(p, "kmalloc(4000) failed");
	memset(p, 0x5a, 4000);
	CHECK(p[0] == 0x5a && p[3999] == 0x5a && mm_heap_check() == 0, "the heap is unsound after a write");
	kfree(p);
	mm_stats(&after);
	CHECK(after.heap_live == before.heap_live && mm_heap_check() == 0,
	      "live allocations %lu after kfree, %lu before", after.heap_live, before.heap_live);
	return true;
}

/* The IDT is loaded with all 256 gates and catches a real exception. */
static bool boot_idt(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr;
	struct trap_info ti;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	CHECK(idtr.limit == 256 * 16 - 1 && idtr.base >= KERNEL_VMA, "IDTR limit 0x%x base %016lx",
	      idtr.limit, idtr.base);
	CHECK(trap_catch(probe_read, (void *)0x100000, &ti) == 15, "a read of unmapped memory was not caught as #PF");
	return true;
}

/*
 * stack_free takes back only a whole stack stack_alloc gave and that is still
 * mapped (a cell passes it what its records say): a part of one, an address
 * outside the stack region and a second free are refused with nothing freed.
 */
static bool boot_stacks(void)
{
	struct mm_stats before, mid, after;
	uint64_t top;

	mm_stats(&before);
	top = stack_alloc(2);
	CHECK(top, "stack_alloc(2) failed");
	stack_free(top - PAGE_SIZE, 1);		/* its lower page alone */
	stack_free(top, 1);			/* its upper page alone */
	stack_free(KERNEL_VMA, 2);		/* nano_core's image */
	mm_stats(&mid);
	CHECK(mid.stacks == before.stacks + 1 && paging_readable(top - 2 * PAGE_SIZE, 2 * PAGE_SIZE),
	      "a refused stack_free freed something: %lu stacks (%lu before the alloc)", mid.stacks,
	      before.stacks);
	stack_free(top, 2);
	stack_free(top, 2);			/* freed already */
	mm_stats(&after);
	CHECK(after.stacks == before.stacks && after.stack_pages == before.stack_pages &&
	      !paging_readable(top - PAGE_SIZE, 1), "stacks %lu (%lu pages) after the free, %lu (%lu) before",
	      after.stacks, after.stack_pages, before.stacks, before.stack_pages);
	return true;
}

/* nano_core's symbol table is present and names its own functions both ways. */
static bool boot_ksyms(void)
{
	uint64_t off = 0;
	const char *name = ksym_lookup((uint64_t)selftest_run + 1, &off);

	CHECK(ksym_count > 0 && kexport_count > 0, "%lu symbols, %lu exports", ksym_count, kexport_count);
	CHECK(ksym_address("selftest_run") == (uint64_t)selftest_run, "selftest_run resolves to %016lx",
	      ksym_address("selftest_run"));
	CHECK(name && strcmp(name, "selftest_run") == 0 && off == 1, "selftest_run+1 looks up as %s+%lu",
	      name ? name : "(none)", off);
	return true;
}

/* Every module the manifest marks boot=yes is loaded, at the version the manifest gives. */
static bool boot_cells(const struct mb2_info *boot)
{
	size_t n = 0;

	for (size_t i = 0; i < boot->module_count; i++) {
		const char *ref = boot->modules[i].cmdline;
		const struct manifest_entry *e = ref ? cells_manifest_find(ref) : NULL;
		struct loader_cell *c;
		struct loader_cell_info ci;
		char version[16];
		const char *cond = e ? manifest_extra(e, "boot_if") : NULL;
		bool known;
		if (!e || !e->boot || (cond && !display_has(cond, &known)))
			continue;	/* not a boot cell, or one for a screen this boot lacks */
		c = loader_cell_find(cells_loader(), e->name);
		CHECK(c, "boot cell %s is not loaded", ref);
		loader_cell_info(c, &ci);
		snprintf(version, sizeof(version), "%u", e->version);
		CHECK(strcmp(ci.version, version) == 0, "boot cell %s is loaded at version %s", ref, ci.version);
		n++;
	}
	CHECK(n > 0, "no boot cell among %zu modules", boot->module_count);
	kprintf("selftest: %zu boot cells of %zu modules loaded as the manifest says\n", n,
		boot->module_count);
	return true;
}

/* What every boot must have set up before the first cell runs. */
static bool test_boot(const struct mb2_info *boot)
{
	return boot_memory(boot) && boot_heap() && boot_stacks() && boot_idt() && boot_ksyms() &&
	       boot_cells(boot);
}

static const struct {
	const char *name;
	bool (*run)(const struct mb2_info *boot);
} tests[] = {
	{ "boot", test_boot }, { "wx", test_wx }, { "heap", test_heap },
	{ "frames", test_frames }, { "mb2", test_mb2 }, { "loader", test_loader },
	{ "swap", test_swap }, { "owners", test_owners },
	{ "fatal_log", test_fatal_log },
};

_Noreturn void selftest_run(const char *name, const struct mb2_info *boot)
{
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		if (strcmp(tests[i].name, name))
			continue;
		bool ok = tests[i].run(boot);
		kprintf("selftest %s: %s\n", name, ok ? "PASS" : "FAIL");
		qemu_exit(ok ? 0 : 1);
		halt_forever();
	}
	kprintf("selftest: unknown test '%s'; known:", name);
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
		kprintf(" %s", tests[i].name);
	kprintf("\n");
	qemu_exit(2);
	halt_forever();
}
