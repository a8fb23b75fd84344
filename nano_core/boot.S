/*
 * Entry from a multiboot2 loader: 32-bit protected mode, paging off,
 * EAX = magic, EBX = physical address of the boot information.
 * Builds early page tables (identity and physmap of the first 4 GiB, the
 * kernel image at KERNEL_VMA), enters long mode and calls
 * kmain(magic, mbi_phys) in the higher half on the boot stack.
 */
#define KERNEL_VMA    0xffffffff80000000
#define MB2_MAGIC     0xe85250d6
#define MB2_ARCH_I386 0
#define PTE_P_W       0x3
#define PTE_PS        0x80

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* Module alignment: modules start on page boundaries. */
	.balign 8
	.short 6, 0
	.long 8
	/*
	 * Framebuffer request, optional (flag 1): any size at 32 bits per pixel
	 * where the loader sets a graphics mode (UEFI's GOP, VBE when grub.cfg
	 * asks for one), and the EGA text screen where it keeps text mode.
	 */
	.balign 8
	.short 5, 1
	.long 20
	.long 0, 0, 32
	/* End tag. */
	.balign 8
	.short 0, 0
	.long 8
mb2_header_end:

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %edi
	movl %ebx, %esi
	rdtsc
	movl %eax, boot_tsc_lo
	movl %edx, boot_tsc_hi
	movl $(boot_stack_top - KERNEL_VMA), %esp

	call check_cpu
	call build_page_tables

	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $(1 << 5), %eax		/* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx		/* EFER: long mode enable, no-execute enable */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16)), %eax	/* PG, WP */
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $0x08, $long_mode_entry

/* Refuses to go on without long mode or NX, saying so on COM1 and VGA. */
check_cpu:
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode
	testl $(1 << 20), %edx
	jz no_long_mode
	ret
no_long_mode:
	movl $no_lm_msg, %esi
	movl $0xb8000, %edi
1:	lodsb
	testb %al, %al
	jz 2f
	movw $0x3f8, %dx
	outb %al, %dx
	movb $0x4f, %ah
	stosw
	jmp 1b
2:	cli
	hlt
	jmp 2b

/*
 * PML4[0] and PML4[256] share one PDPT mapping the first 4 GiB with 2 MiB
 * pages (identity and physmap); PML4[511] -> PDPT[510] maps the first GiB
 * at KERNEL_VMA.
 */
build_page_tables:
	movl $boot_pdpt_low, %eax
	orl $PTE_P_W, %eax
	movl %eax, boot_pml4
	movl %eax, boot_pml4 + 256 * 8
	movl $boot_pdpt_high, %eax
	orl $PTE_P_W, %eax
	movl %eax, boot_pml4 + 511 * 8

	xorl %ecx, %ecx
1:	movl %ecx, %eax			/* four PDPT entries -> four PDs */
	shll $12, %eax
	addl $boot_pd, %eax
	orl $PTE_P_W, %eax
	movl %eax, boot_pdpt_low(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b
	movl $boot_pd, %eax
	orl $PTE_P_W, %eax
	movl %eax, boot_pdpt_high + 510 * 8

	xorl %ecx, %ecx			/* 2048 PD entries of 2 MiB = 4 GiB */
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P_W | PTE_PS), %eax
	movl %eax, boot_pd(, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax
	movl %eax, boot_pd + 4(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b
	ret

	.code64
long_mode_entry:
	movabsq $higher_half, %rax
	jmp *%rax

	.section .boot.data, "aw"
no_lm_msg:
	.asciz "Delos needs an x86_64 CPU with long mode and NX; halting."
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_ptr:
	.short boot_gdt_ptr - boot_gdt - 1
	.long boot_gdt

	.section .boot.bss, "aw", @nobits
	.balign 4096
boot_pml4:	.skip 4096
boot_pdpt_low:	.skip 4096
boot_pdpt_high:	.skip 4096
boot_pd:	.skip 4 * 4096

	.text
	.code64
higher_half:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	/* edi = magic, esi = mbi (both zero-extended by the 32-bit moves). */
	call kmain
	ud2

	.data
	.globl boot_tsc
	.balign 8
boot_tsc:
boot_tsc_lo = boot_tsc - KERNEL_VMA
boot_tsc_hi = boot_tsc - KERNEL_VMA + 4
	.quad 0

	.bss
	.balign 4096
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip 16384
boot_stack_top:

/*
 * void stack_switch(uint64_t top, void (*fn)(void))
 * Continues on a new stack by calling fn there; fn must not return.
 */
	.text
	.globl stack_switch
stack_switch:
	movq %rdi, %rsp
	xorl %ebp, %ebp
	call *%rsi
	ud2
