/* R_X86_64_GOTPCREL (assembled with -mrelax-relocations=no): GOT slots for
 * imports, shared by repeated references, and for an own global. */
	.text
	.globl get, helper
get:
	movq ext@GOTPCREL(%rip), %rax
	movq ext2@GOTPCREL(%rip), %rcx
	movq ext@GOTPCREL(%rip), %rdx
	movq helper@GOTPCREL(%rip), %rax
	ret
helper:
	ret
	.section .rodata,"a"
	.long ext2@GOTPCREL
