/*
 * int trap_catch_enter(void (*fn)(void *), void *arg, uint64_t *rsp_slot)
 * Saves the callee-saved registers, records the stack pointer in *rsp_slot
 * and calls fn(arg), returning 0. If fn faults, trap.c
 * resumes at trap_catch_landing with that stack pointer and RAX = vector + 1.
 */
	.text
	.globl trap_catch_enter, trap_catch_landing
trap_catch_enter:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp			/* keep the call 16-byte aligned */
	movq %rsp, (%rdx)		/* the catch point's rsp */
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
	xorl %eax, %eax
trap_catch_landing:
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
