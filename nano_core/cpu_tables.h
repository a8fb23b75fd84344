/* GDT with a TSS, and the IDT. */
#ifndef DELOS_CPU_TABLES_H
#define DELOS_CPU_TABLES_H

#include <stdint.h>

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define TSS_SEL   0x18

/* Interrupt stack table slots. */
#define IST_DOUBLE_FAULT 1
#define IST_NMI          2

/* Loads nano_core's GDT and TSS (all IST slots empty until gdt_set_ist). */
void gdt_init(void);
/* Points IST slot `ist` (1-7) at the stack whose top is `top`. */
void gdt_set_ist(int ist, uint64_t top);
/* Sets the TSS's ring-0 stack (used when later rings exist; kept for completeness). */
void gdt_set_rsp0(uint64_t top);

/* Fills the IDT with the exception and IRQ stubs from isr.S and loads it. */
void idt_init(void);

#endif
