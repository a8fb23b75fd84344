/* CPU exceptions and interrupts: frames, reports, and catching expected faults. */
#ifndef DELOS_TRAP_H
#define DELOS_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Laid out by isr.S: pushed registers, then vector and error code, then the CPU's frame. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap_frame matches isr.S");

/* What a caught fault was. */
struct trap_info {
	uint64_t vector, error, rip, cr2;
};

/*
 * Interrupt lines: 0-15 are the ISA IRQs (through the IOAPIC or the 8259s),
 * IRQ_LAPIC_TIMER the local APIC timer (APIC mode only). Line n arrives on
 * vector IRQ_VECTOR_BASE + n.
 */
#define IRQ_LINES        17
#define IRQ_LAPIC_TIMER  16
#define IRQ_VECTOR_BASE  0x20
#define SPURIOUS_VECTOR  0xff

typedef void irq_handler_fn(uint8_t irq);

/* Called by isr.S for every vector. */
void trap_dispatch(struct trap_frame *f);
/*
 * With interrupts off: lets the tasks cell switch to a task that became
 * ready (its interrupt-exit hook), as at the end of every interrupt. The
 * idle loop calls it before each halt, so that a task made ready without an
 * interrupt (at boot, the shell's) runs at once instead of at the next one.
 */
void trap_preempt_point(uint64_t irq);
/*
 * Forgets the catch points (trap_catch, trap_contain) left on the stack
 * whose top is `top`, whose frames are about to be overwritten or unmapped
 * (a task prepared again on it, or its stack freed) instead of returned
 * through.
 */
void trap_forget_stack(uint64_t top);

/* Routes line `irq` to a nano_core handler and unmasks the line. */
void irq_set_handler(uint8_t irq, irq_handler_fn *fn);

/* Unmask or mask a line at the IOAPIC, the local APIC timer or the 8259 (grant `irq`). */
void irq_unmask(uint64_t irq);
void irq_mask(uint64_t irq);

const char *trap_name(uint64_t vector);
/*
 * True while an interrupt handler (an IRQ route, nano_core's own handlers)
 * runs on this CPU, on top of whatever it interrupted (grant `core`).
 */
bool trap_in_interrupt(void);

/* Prints a full report of the exception in `f`: registers, CR2, symbolized RIP, backtrace. */
void trap_report(const struct trap_frame *f);

/*
 * Runs fn(arg). If fn raises a CPU exception (other than a double fault or
 * NMI), the exception is not reported: execution resumes here with the
 * caller's RFLAGS as they were at the call (interrupt flag included, whatever
 * fn had done to it), `info` (if not NULL) describes it, and the result is
 * the vector + 1. Returns 0 when fn
 * returns normally. Used by built-in tests to prove that a page is not
 * writable, executable or mapped; nano_core state touched by fn is not
 * rolled back.
 */
int trap_catch(void (*fn)(void *), void *arg, struct trap_info *info);

/*
 * Writes "<symbol+0xoff>" (nano_core) or "<cell:symbol+0xoff>" for addr into
 * buf, or "<?>"; returns whether it was found. Grant `core`.
 */
bool addr_symbolize(uint64_t addr, char *buf, size_t cap);
/* Prints "  #N ADDR <symbol+off>" for each frame of the rbp chain. */
void backtrace_from(uint64_t rip, uint64_t rbp);

#endif
