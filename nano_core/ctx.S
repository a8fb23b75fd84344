/*
 * void ctx_switch(uint64_t next_rsp)
 * Pushes the callee-saved registers, leaves the stack pointer in
 * ctx_saved_rsp, loads next_rsp and pops the registers saved there.
 * A stack made by ctx_prepare "returns" into ctx_task_entry.
 */
	.text
	.globl ctx_switch, ctx_task_entry
ctx_switch:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, ctx_saved_rsp(%rip)
	movq %rdi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* First code of a new task: r12 points at its struct task_start on its stack. */
ctx_task_entry:
	xorl %ebp, %ebp
	pushq $0			/* end of the frame chain; aligns the call */
	movq %r12, %rdi
	call ctx_task_main
	ud2
