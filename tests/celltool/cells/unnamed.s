# Spills state that no symbol names: celltool must name the section.
	.data
	.quad 42

	.text
	.globl unnamed
unnamed:
	ret
