/* R_X86_64_32S: sign-extended 32-bit absolute (the kernel code model). */
	.text
	.globl get
get:
	movq $ext, %rax
	movq data(,%rdi,8), %rax
	movq $ext2 - 16, %rcx
	ret
	.section .rodata,"a"
	.p2align 3
data:
	.quad 1, 2, 3
