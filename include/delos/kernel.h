/* Address-space layout and small helpers shared by all of nano_core. */
#ifndef DELOS_KERNEL_H
#define DELOS_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The one address space, top down:
 *   KERNEL_VMA   nano_core's image (physical address + KERNEL_VMA), top 2 GiB
 *   CELL_BASE    the cell window, where the loader places cells: also in the
 *                top 2 GiB so that 32-bit signed and PC-relative relocations
 *                reach nano_core; CELL_WINDOW_SIZE bytes long (set at build
 *                time with `make CELL_WINDOW_SIZE=...`, at most 768 MiB)
 *   POKE_VA      one page where text_poke maps a frame writable for the
 *                moment of a write; unmapped otherwise
 *   STACK_BASE   kernel stacks, each with an unmapped guard page below it
 *   HEAP_BASE    the kernel heap, growing up
 *   PHYSMAP_BASE all physical memory, never executable, read-only where it
 *                holds code or read-only data (nano_core/physmap.h)
 */
#define KERNEL_VMA    0xffffffff80000000ull
#define CELL_BASE     0xffffffff90000000ull
#ifndef CELL_WINDOW_SIZE
#define CELL_WINDOW_SIZE 0x30000000ull
#endif
#define CELL_LIMIT    (CELL_BASE + CELL_WINDOW_SIZE)
_Static_assert(CELL_WINDOW_SIZE % 4096 == 0 && CELL_WINDOW_SIZE >= 3 * 4096 &&
		       CELL_WINDOW_SIZE <= 0x30000000ull,
	       "CELL_WINDOW_SIZE: whole pages, at least 3 (two guards), at most 768 MiB");
#define POKE_VA       0xffffe00000000000ull
#define STACK_BASE    0xffffd00000000000ull
#define HEAP_BASE     0xffffc00000000000ull
#define PHYSMAP_BASE  0xffff800000000000ull

#define PAGE_SIZE     4096ull
#define PAGE_ALIGN_DOWN(x) ((x) & ~(PAGE_SIZE - 1))
#define PAGE_ALIGN_UP(x)   (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Linker-script symbols bounding nano_core's sections (virtual addresses). */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];
extern char __ksyms_start[], __ksyms_end[];

/* Stops the machine after printing why; for nano_core invariants only. */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Halts this CPU forever with interrupts off. */
_Noreturn void halt_forever(void);

#endif
