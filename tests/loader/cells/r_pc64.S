/* R_X86_64_PC64: 64-bit PC-relative. */
	.text
local_fn:
	ret
	.section .rodata,"a"
	.p2align 3
	.quad ext - .
	.quad local_fn - .
	.quad ext2 + 12 - .
