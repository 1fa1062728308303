/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * start.S - multiboot (v1) header and entry point of the probe guest.
 *
 * A multiboot loader (QEMU -kernel, GRUB) enters _start in 32-bit protected
 * mode with paging off, EAX = 0x2BADB002 and EBX = the multiboot information
 * structure. It promises nothing about the GDT or the stack, so both are set
 * up here before calling pg_main(magic, info).
 */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000002 /* bit 1: fill in the memory fields of the info */

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .text
        .globl _start
        .type _start, @function
_start:
        cli
        cld
        movl %eax, %esi /* the zeroing below clobbers EAX, ECX and EDI */

        lgdt gdt_desc
        ljmp $0x08, $1f
1:      movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
        movw %ax, %ss

        /* Zero .bss ourselves rather than trust each loader to do it. */
        movl $__bss_start, %edi
        movl $__bss_end, %ecx
        subl %edi, %ecx
        xorl %eax, %eax
        rep stosb

        movl $stack_top, %esp
        pushl %ebx /* multiboot info */
        pushl %esi /* magic */
        call pg_main

        /* pg_main does not return, but never run off into garbage. */
2:      cli
        hlt
        jmp 2b
        .size _start, . - _start

/*
 * Interrupt stubs for acpi.c (it installs them only when asked to wait for
 * the power button). Any vector but the SCI's: acknowledged at both PICs.
 * The SCI: its status bits are cleared (write one to clear), so the level
 * interrupt drops; a power button press among them is noted for the loop.
 */
        .globl pg_acpi_ignore_stub
        .type pg_acpi_ignore_stub, @function
pg_acpi_ignore_stub:
        pushl %eax
        movb $0x20, %al
        outb %al, $0xa0
        outb %al, $0x20
        popl %eax
        iret
        .size pg_acpi_ignore_stub, . - pg_acpi_ignore_stub

        .globl pg_acpi_sci_stub
        .type pg_acpi_sci_stub, @function
pg_acpi_sci_stub:
        pushl %eax
        pushl %edx
        movw pg_acpi_pm1_sts_port, %dx
        inw %dx, %ax
        outw %ax, %dx
        testw $0x0100, %ax
        jz 1f
        movl $1, pg_acpi_button
1:      movb $0x20, %al
        outb %al, $0xa0
        outb %al, $0x20
        popl %edx
        popl %eax
        iret
        .size pg_acpi_sci_stub, . - pg_acpi_sci_stub

        .section .rodata
        .balign 8
gdt:    .quad 0                  /* null descriptor */
        .quad 0x00cf9a000000ffff /* 0x08: code, base 0, limit 4 GiB, 32-bit */
        .quad 0x00cf92000000ffff /* 0x10: data, base 0, limit 4 GiB */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .long gdt

        .section .bss
        .balign 16
stack:  .skip 16384
stack_top:

        /* No executable stack: keeps the linker from warning. */
        .section .note.GNU-stack, "", @progbits
