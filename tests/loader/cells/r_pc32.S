/* R_X86_64_PC32: 32-bit PC-relative, in code and in data. */
	.text
	.globl get
get:
	leaq ext(%rip), %rax
	movl data(%rip), %eax
	leaq ext2+100(%rip), %rcx
	ret
	.section .rodata,"a"
data:
	.long ext - .
	.long get - .
