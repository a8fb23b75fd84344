/*
 * The context switch (include/delos/ctx.h). A saved context, from its saved
 * rsp up: r15 r14 r13 r12 rbx rbp ret flags, where rbp and ret form a
 * frame-pointer record and flags is the RFLAGS value whose interrupt flag
 * is restored on resume.
 */
#define CTX_RESUMED 1
#define RFLAGS_IF   0x200
#define CTX_VOL_RING_MASK 7	/* watchdog.c's CTX_VOL_RING - 1 */
#define CTX_FRAME_BYTES 64	/* enum ctx_frame_word: CTX_FRAME_WORDS words */
#define CTX_RET_AT 48		/* CTX_RET * 8 */

	.text
	.globl ctx_block, ctx_switch, ctx_restart, ctx_task_entry, ctx_resume_load, ctx_refuse_rdi

/*
 * int ctx_block(uint64_t next_rsp, uint64_t flags)
 * Entered by a call or a tail call (jmp) with the return address on top.
 * The return address moves down a word so that the flags can sit above it:
 * rbp and ret stay adjacent, a frame record like any other.
 */
ctx_block:
	popq %rax
	pushq %rsi
	pushq %rax
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, ctx_saved_rsp(%rip)
	/* A switch not made by preemption is noted for the hang watchdog (nano_core/watchdog.c). */
	cmpb $0, ctx_preempting(%rip)
	jne 3f
	movq ctx_vol_count(%rip), %rax
	andq $CTX_VOL_RING_MASK, %rax
	leaq ctx_vol_ring(%rip), %rdx
	movq %rsp, (%rdx,%rax,8)
	incq ctx_vol_count(%rip)
3:	testq %rdi, %rdi
	jz 2f
/*
 * The resume point in rdi is checked before it is taken (ctx.c,
 * ctx_resume_on): its saved context lies, 8-byte aligned, inside the stack
 * the tasks cell named for it, and its return address is in code, nano_core's
 * text or the cell window (ctx_code). Else ctx_refused, still on the stack
 * this runs on. A few compares: this is every switch's path.
 */
ctx_take:
	testb $7, %dil
	jnz ctx_refuse_rdi
	cmpq ctx_next_lo(%rip), %rdi
	jb ctx_refuse_rdi
	leaq CTX_FRAME_BYTES(%rdi), %rax
	cmpq ctx_next_hi(%rip), %rax
	ja ctx_refuse_rdi
ctx_resume_load:			/* a #PF here (the stack named is not mapped) is refused too: trap.c */
	movq CTX_RET_AT(%rdi), %rax
	cmpq ctx_code(%rip), %rax
	jb ctx_refuse_rdi
	cmpq ctx_code+8(%rip), %rax
	jb 4f
	cmpq ctx_code+16(%rip), %rax
	jb ctx_refuse_rdi
	cmpq ctx_code+24(%rip), %rax
	jae ctx_refuse_rdi
4:	movq ctx_next_lo(%rip), %rax	/* the stack the task that runs now is on (contain.c) */
	movq %rax, ctx_run_lo(%rip)
	movq ctx_next_hi(%rip), %rax
	movq %rax, ctx_run_hi(%rip)
	movq %rdi, %rsp
/* Resumes the context at rsp: pops it, sets the interrupt flag as saved, returns past the flags. */
ctx_resume:
	movb $0, ctx_preempting(%rip)
	movb $0, fault_ending(%rip)	/* a faulted task's end is over (nano_core/contain.c) */
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	movl $CTX_RESUMED, %eax
	testl $RFLAGS_IF, 8(%rsp)
	jz 1f
	sti				/* takes effect after the ret */
1:	ret $8
/* Nothing to run: halt below the saved context until the tasks cell names one. */
2:	andq $-16, %rsp
	call ctx_idle
	ud2

/* void ctx_switch(uint64_t next_rsp): ctx_block with the current flags. */
ctx_switch:
	pushfq
	popq %rsi
	jmp ctx_block

/* _Noreturn void ctx_restart(uint64_t rsp): resumes rsp, saving nothing. */
ctx_restart:
	jmp ctx_take

/* A resume point refused: handled on the stack this runs on, aligned as after a call. */
ctx_refuse_rdi:
	andq $-16, %rsp
	call ctx_refused
	ud2

/* uint64_t irq_save(void): the flags, then interrupts off. */
	.globl irq_save, irq_restore
irq_save:
	pushfq
	popq %rax
	cli
	ret

/*
 * void irq_restore(uint64_t flags): interrupts on if flags says so. The sti
 * comes last, right before the ret, so that an interrupt waiting for it is
 * taken after the ret, in the caller. Taken before (in C: after the epilogue
 * popped rbp), the caller's return address would be only at the top of the
 * stack, outside the frame chain, and a task preempted there would hide from
 * swap's frame walk the cell it is in.
 */
irq_restore:
	pushq %rbp
	movq %rsp, %rbp
	testl $RFLAGS_IF, %edi
	popq %rbp
	jz 1f
	sti
1:	ret

/* First code of a new task: r12 points at its struct task_start on its stack. */
ctx_task_entry:
	xorl %ebp, %ebp
	pushq $0			/* end of the frame chain; aligns the call */
	movq %r12, %rdi
	call ctx_task_main
	ud2
