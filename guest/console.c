/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * console.c - the probe guest's output: COM1 and a printf subset.
 *
 * Every byte goes to the 16550 UART at 0x3f8 (what the lab reads through
 * QEMU's -serial) and to the debugcon port 0xe9, for harnesses that use
 * -debugcon instead; writing 0xe9 without that device is harmless. Lines end
 * in a bare "\n" so the output parses the same whether or not a tty is in the
 * way.
 */
#include <stdarg.h>

#include "probe.h"

#define COM1 0x3f8
#define DEBUGCON 0xe9

#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch, high byte (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void pg_console_init(void) {
        pg_outb(COM1 + UART_IER, 0x00); /* we poll, never take interrupts */
        pg_outb(COM1 + UART_LCR, 0x80); /* DLAB on to set the divisor */
        pg_outb(COM1 + UART_DLL, 0x01); /* 115200 baud */
        pg_outb(COM1 + UART_DLM, 0x00);
        pg_outb(COM1 + UART_LCR, 0x03); /* 8N1, DLAB off */
        pg_outb(COM1 + UART_FCR, 0x07); /* enable and clear the FIFOs */
        pg_outb(COM1 + UART_MCR, 0x03); /* DTR and RTS */
}

static void put_char(char c) {
        /* Bounded: a missing UART reads 0xff (THRE set), a stuck one
         * must not hang the probe. */
        for (unsigned i = 0; i < 100000; i++)
                if (pg_inb(COM1 + UART_LSR) & UART_LSR_THRE)
                        break;
        pg_outb(COM1 + UART_THR, (uint8_t) c);
        pg_outb(DEBUGCON, (uint8_t) c);
}

static void put_padded(const char *s, unsigned len, unsigned width, char pad) {
        for (; width > len; width--)
                put_char(pad);
        while (len--)
                put_char(*s++);
}

/* Formats without 64-bit division, which -m32 would take from libgcc. */
static void put_number(uint64_t v, bool hex, unsigned width, char pad) {
        char buf[24];
        unsigned n = 0;

        if (hex) {
                do {
                        buf[sizeof(buf) - ++n] = "0123456789abcdef"[v & 0xf];
                        v >>= 4;
                } while (v);
        } else {
                uint32_t u = (uint32_t) v; /* decimals are small counts */
                do {
                        buf[sizeof(buf) - ++n] = (char) ('0' + u % 10);
                        u /= 10;
                } while (u);
        }
        put_padded(buf + sizeof(buf) - n, n, width, pad);
}

void pg_printf(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        for (; *fmt; fmt++) {
                char pad = ' ';
                unsigned width = 0, longs = 0;
                uint64_t v;

                if (*fmt != '%') {
                        put_char(*fmt);
                        continue;
                }
                fmt++;
                if (*fmt == '0')
                        pad = '0', fmt++;
                while (*fmt >= '0' && *fmt <= '9')
                        width = width * 10 + (unsigned) (*fmt++ - '0');
                while (*fmt == 'l')
                        longs++, fmt++;

                switch (*fmt) {
                case 's': {
                        const char *s = va_arg(ap, const char *);
                        unsigned len = 0;
                        while (s[len])
                                len++;
                        put_padded(s, len, width, ' ');
                        break;
                }
                case 'c':
                        put_char((char) va_arg(ap, int));
                        break;
                case 'd': {
                        int i = va_arg(ap, int);
                        uint32_t u = (uint32_t) i;
                        if (i < 0) {
                                put_char('-');
                                u = 0u - u; /* well defined for INT_MIN too */
                        }
                        put_number(u, false, width, pad);
                        break;
                }
                case 'u':
                case 'x':
                        /* long is 32 bits on i386, so only ll needs 64 */
                        if (longs >= 2)
                                v = va_arg(ap, unsigned long long);
                        else if (longs == 1)
                                v = va_arg(ap, unsigned long);
                        else
                                v = va_arg(ap, unsigned);
                        put_number(v, *fmt == 'x', width, pad);
                        break;
                case '%':
                        put_char('%');
                        break;
                default: /* unknown: show it rather than guess */
                        put_char('%');
                        if (!*fmt)
                                goto out;
                        put_char(*fmt);
                        break;
                }
        }
out:
        va_end(ap);
}
