/* The site table (cells/swifi/sites.h), as rodata of swifi@1; SITES_BIN names the blob. */
	.section .rodata
	.balign 8
	.globl swifi_sites_blob
	.hidden swifi_sites_blob
swifi_sites_blob:
	.incbin SITES_BIN
	.globl swifi_sites_end
	.hidden swifi_sites_end
swifi_sites_end:
