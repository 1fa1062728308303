/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libc.c - the four functions GCC and Clang may call even in freestanding
 * code (struct copies, zeroing), since there is no libc to link.
 *
 * They are written with string instructions rather than C loops so that the
 * compiler cannot recognise the loop and turn it back into a call to itself.
 */
#include "probe.h"

void *memset(void *s, int c, size_t n) {
        void *d = s;

        __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
        return s;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
        void *d = dst;

        __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
        return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
        if ((uintptr_t) dst <= (uintptr_t) src || (uintptr_t) dst >= (uintptr_t) src + n)
                return memcpy(dst, src, n);

        /* Overlapping with dst above src: copy backwards, from the last byte. */
        const uint8_t *s = (const uint8_t *) src + n - 1;
        uint8_t *d = (uint8_t *) dst + n - 1;
        __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
        return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
        const volatile uint8_t *x = a, *y = b; /* volatile: stays a loop */

        for (size_t i = 0; i < n; i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}
