/* nano_core's entry: bring up the machine in a fixed order, then the console. */
#include "nano_core/boot.h"
#include <delos/cells.h>
#include "nano_core/console.h"
#include "nano_core/contain.h"
#include "nano_core/cpu_tables.h"
#include <delos/ctx.h>
#include <delos/display.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/mb2.h>
#include <delos/mm.h>
#include <delos/ops.h>
#include <delos/random.h>
#include <delos/platform.h>
#include "tests/kernel/selftest.h"
#include <delos/string.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "hal/cpu.h"
#include "hal/io.h"
#include "hal/uart.h"
#include "nano_core/physmap.h"
#include "nano_core/contain.h"

#define KERNEL_STACK_PAGES 8
#define QEMU_EXIT_PORT 0xf4

void kmain(uint32_t magic, uint64_t mbi_phys);
void stack_protector_init(void);
void stack_switch(uint64_t top, void (*fn)(void));

/* What the boot loader told us; written once in kmain, read-only after. */
static struct mb2_info boot_info;
static uint64_t boot_stack_top;

void ctx_boot_stack(uint64_t *lo, uint64_t *hi)
{
	*lo = boot_stack_top - KERNEL_STACK_PAGES * PAGE_SIZE;
	*hi = boot_stack_top;
}
static char cmdline[256];

void platform_rsdp(const void **rsdp, uint32_t *len)
{
	*rsdp = boot_info.acpi_rsdp;
	*len = boot_info.acpi_rsdp_len;
}

_Noreturn void halt_forever(void)
{
	for (;;) {
		cpu_cli();
		cpu_hlt();
	}
}

void qemu_exit(unsigned code)
{
	outl(QEMU_EXIT_PORT, code + 1);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	uint64_t rbp;

	cpu_cli();
	log_fatal();
	kprintf("\nPANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	__asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
	backtrace_from((uint64_t)__builtin_return_address(0), rbp);
	if (cmdline_has("panic", "exit"))
		qemu_exit(PANIC_EXIT_CODE);
	kprintf("halted.\n");
	halt_forever();
}

const char *boot_cmdline(void)
{
	return cmdline;
}

/* Copies the value of `key=` from the command line into buf; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = cmdline; *p; p++) {
		if ((p != cmdline && p[-1] != ' ') || strncmp(p, key, klen) || p[klen] != '=')
			continue;
		p += klen + 1;
		size_t n = 0;
		while (p[n] && p[n] != ' ' && n + 1 < size) {
			buf[n] = p[n];
			n++;
		}
		buf[n] = '\0';
		return true;
	}
	return false;
}

bool cmdline_has(const char *key, const char *value)
{
	char v[64];

	return cmdline_get(key, v, sizeof(v)) && strcmp(v, value) == 0;
}

static void read_boot_info(uint32_t magic, uint64_t mbi_phys)
{
	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("boot: not started by a multiboot2 loader (EAX=0x%x)", magic);
	if (mbi_phys + MB2_MAX_TOTAL > (4ull << 30) || (mbi_phys & 7))
		panic("boot: multiboot2 information at 0x%lx is outside the boot mapping", mbi_phys);
	int err = mb2_parse(phys_to_virt(mbi_phys), &boot_info, log_note, "mb2");
	if (err)
		panic("boot: bad multiboot2 information: %s", mb2_strerror(err));
	if (boot_info.cmdline) {
		size_t n = strlen(boot_info.cmdline);
		n = n < sizeof(cmdline) - 1 ? n : sizeof(cmdline) - 1;
		memcpy(cmdline, boot_info.cmdline, n);
	}
	klog(LOG_INFO, "boot: %s, command line '%s', %zu memory map entries, %zu modules",
	     boot_info.bootloader ? boot_info.bootloader : "unknown loader", cmdline,
	     boot_info.mmap_count, boot_info.module_count);
	for (size_t i = 0; i < boot_info.mmap_count; i++)
		klog(LOG_DEBUG, "boot: mem %016lx-%016lx type %u", boot_info.mmap[i].base,
		     boot_info.mmap[i].base + boot_info.mmap[i].len, boot_info.mmap[i].type);
}

/* The boot context becomes the idle task once a shell cell has the console. */
static _Noreturn void idle_forever(void)
{
	for (;;) {
		cpu_cli();
		trap_preempt_point(0);
		cpu_sti_hlt();
	}
}

/* A cell (the shell) has the console when it holds the ops slot console_owner. */
static bool shell_loaded(void)
{
	return ops_holder(OPS_CONSOLE_OWNER)[0] != '\0';
}
static _Noreturn void kmain_on_kernel_stack(void)
{
	uint64_t df = stack_alloc(4), nmi = stack_alloc(4);

	if (!df || !nmi)
		panic("boot: no memory for the interrupt stacks");
	uint64_t overflow = stack_alloc(OVERFLOW_STACK_PAGES);

	if (!overflow)
		panic("boot: no memory for the stack overflow stack");
	trap_set_overflow_stack(overflow, OVERFLOW_STACK_PAGES);
	gdt_set_ist(IST_DOUBLE_FAULT, df);
	gdt_set_ist(IST_NMI, nmi);
	cells_start(&boot_info);	/* with interrupts off: cell_init runs undisturbed */
	platform_init();
	time_calibrate();
	intc_init();
	cells_init();
	char test[32];
	if (cmdline_get("test", test, sizeof(test)) && selftest_run)
		selftest_run(test, &boot_info);
	else if (cmdline_get("test", test, sizeof(test))) {
		kprintf("test=%s: this nano_core is not the test build (nano_core-test.elf)\n", test);
		qemu_exit(2);
	}
	bool shell = shell_loaded();
	if (!shell)
		console_init();
	klog(LOG_INFO, "boot: %s after %lu us of guest time since the loader's hand-off",
	     shell ? "boot cells up, a cell has the console (ops slot console_owner),"
		   : "prompt", time_ns() / 1000);
	nmi_watchdog_init();
	cpu_sti();
	if (shell)
		idle_forever();
	console_run();
}

void kmain(uint32_t magic, uint64_t mbi_phys)
{
	uart_init(COM1_PORT, 115200);
	gdt_init();
	idt_init();
	klog(LOG_INFO, "Delos nano_core");
	read_boot_info(magic, mbi_phys);
	random_init();
	stack_protector_init();
	display_init(&boot_info);
	mm_init(&boot_info, mbi_phys, boot_info.total_size);
	uint64_t top = stack_alloc(KERNEL_STACK_PAGES);
	if (!top)
		panic("boot: no memory for the kernel stack");
	boot_stack_top = top;
	stack_switch(top, kmain_on_kernel_stack);
}
