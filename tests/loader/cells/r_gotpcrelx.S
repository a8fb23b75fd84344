/* R_X86_64_GOTPCRELX: relaxable GOT loads without REX (never relaxed). */
	.text
	.globl get
get:
	movl ext@GOTPCREL(%rip), %eax
	call *ext2@GOTPCREL(%rip)
	jmp *ext@GOTPCREL(%rip)
