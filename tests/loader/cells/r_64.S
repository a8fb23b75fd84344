/* R_X86_64_64: absolute 64-bit, to an import, a local and an own global. */
	.text
local_fn:
	ret
	.section .rodata,"a"
	.globl table
	.p2align 3
table:
	.quad ext + 8
	.quad local_fn
	.quad table + 16
	.quad ext2 - 3
