/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.c - a millisecond clock for the probe guest's timeouts.
 *
 * Spin counts say nothing about time under TCG, whose speed depends on the
 * host; the 8254 PIT counts QEMU's virtual clock, on every PC machine type,
 * and needs no interrupts. Channel 0 runs as a free 16-bit down-counter at
 * 1.193182 MHz (it wraps every 55 ms); each read adds the ticks since the
 * previous one, so callers must read at least that often, which every
 * polling loop here does.
 */
#include "probe.h"

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182u
#define PIT_TICKS_PER_MS (PIT_HZ / 1000u)

static uint16_t last_count;
static uint32_t ms;
static uint32_t tick_remainder; /* ticks not yet worth a whole millisecond */

static uint16_t read_count(void) {
        uint8_t lo, hi;

        pg_outb(PIT_CMD, 0x00); /* latch channel 0 so both bytes match */
        lo = pg_inb(PIT_CH0);
        hi = pg_inb(PIT_CH0);
        return (uint16_t) (hi << 8 | lo);
}

void pg_clock_init(void) {
        /* Channel 0, lobyte/hibyte access, mode 2 (rate generator), binary;
         * a reload value of 0 means 65536, the longest period. */
        pg_outb(PIT_CMD, 0x34);
        pg_outb(PIT_CH0, 0x00);
        pg_outb(PIT_CH0, 0x00);
        last_count = read_count();
        ms = 0;
        tick_remainder = 0;
}

uint32_t pg_clock_ms(void) {
        uint16_t now = read_count();

        /* The counter counts down; uint16_t arithmetic handles the wrap. */
        tick_remainder += (uint16_t) (last_count - now);
        last_count = now;
        ms += tick_remainder / PIT_TICKS_PER_MS;
        tick_remainder %= PIT_TICKS_PER_MS;
        return ms;
}
