/* The narrow and size kinds: 8, 16, PC8, PC16, SIZE32, SIZE64. The PC-
 * relative ones point from a second text section back into .text, which
 * the loader places right after it. */
	.text
	.globl get
	.type get, @function
get:
	jmp near
	ret
near:
	ret
	.size get, . - get
	.section .text.near,"ax"
	.short get - .
	.byte near - .
	.section .rodata,"a"
	.byte small8
	.short small16
	.long get@SIZE
	.quad get@SIZE + 3
