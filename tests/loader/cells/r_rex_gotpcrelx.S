/* R_X86_64_REX_GOTPCRELX: relaxable GOT loads with REX (never relaxed). */
	.text
	.globl get
get:
	movq ext@GOTPCREL(%rip), %rax
	addq ext2@GOTPCREL(%rip), %rcx
	movq local_obj@GOTPCREL(%rip), %rdx
	ret
	.section .rodata,"a"
local_obj:
	.quad 42
