/* R_X86_64_PLT32: calls and jumps; no PLT is made, S+A-P as ld.lld does. */
	.text
	.globl get, helper
get:
	call ext@PLT
	call ext2
	call helper@PLT
	jmp ext@PLT
helper:
	ret
