/* A function in a COMDAT group, as C++ inline functions are emitted; every
 * cell keeps its own copy, private, so two cells do not collide. */
	.section .text.shared_helper,"axG",@progbits,shared_helper,comdat
	.globl shared_helper
	.type shared_helper, @function
shared_helper:
	movl $42, %eax
	ret
	.text
	.globl comdat_user_a
comdat_user_a:
	jmp shared_helper
