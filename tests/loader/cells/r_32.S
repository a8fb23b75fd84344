/* R_X86_64_32: zero-extended 32-bit absolute; only low addresses fit. */
	.text
	.globl get
get:
	movl $ext, %eax
	movl $data + 4, %ecx
	ret
	.section .rodata,"a"
data:
	.long ext2 + 4
	.long data
