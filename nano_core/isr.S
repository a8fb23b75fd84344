/*
 * Interrupt and exception entry. Every vector pushes its number (and a zero
 * where the CPU pushes no error code), then all general registers, making a
 * struct trap_frame (include/delos/trap.h) that trap_dispatch() receives and
 * may modify before it is restored.
 */
	.text
	.code64

.macro STUB vec, has_error
	.globl isr_\vec
isr_\vec:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

/* Vectors with a CPU error code: 8, 10-14, 17, 21, 29, 30. */
.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	STUB \v, 0
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
	STUB \v, 1
.endr
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,255
	STUB \v, 0
.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
trap_frame_ready:		/* rsp: a whole struct trap_frame */
	cld
	movq %rsp, %rdi
	/* A frame pointer link so backtraces continue into the interrupted code. */
	pushq 17*8(%rsp)	/* the interrupted RIP, as a return address */
	pushq %rbp
	movq %rsp, %rbp
	movq %rsp, %rbx
	andq $-16, %rsp
	call trap_dispatch
	.globl trap_dispatch_return
trap_dispatch_return:		/* stack walkers recognise an interrupt frame by this */
	movq %rbx, %rsp
	addq $16, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector and error code */
	iretq

/*
 * _Noreturn void trap_redo(struct trap_frame *f): handles the trap whose frame
 * f is (a copy, on another stack, 16-byte aligned) from that stack, as if it
 * had been taken there: trap_dispatch(f), then the return through f.
 */
	.globl trap_redo
trap_redo:
	movq %rdi, %rsp
	jmp trap_frame_ready

	.section .rodata
	.globl isr_table
	.balign 8
isr_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_\v
.endr
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48
	.quad isr_\v
.endr
	.globl isr_spurious
	.set isr_spurious, isr_255
