/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvme.c - proves an NVMe controller works end to end: registers through
 * its BAR, then one admin IDENTIFY CONTROLLER completed by DMA into guest
 * memory, the part that needs a working IOMMU mapping when passed through.
 *
 * Everything is polled: no interrupts, one admin queue pair in static
 * page-aligned memory (identity-mapped, so a pointer is the bus address).
 */
#include "probe.h"

/* Controller registers (NVMe 1.4, section 3.1). */
#define NVME_CAP 0x00 /* 64-bit, read as two halves */
#define NVME_VS 0x08
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_DOORBELLS 0x1000

#define CC_EN 0x1u
#define CC_IOSQES (6u << 16) /* 64-byte submission entries */
#define CC_IOCQES (4u << 20) /* 16-byte completion entries */
#define CSTS_RDY 0x1u
#define CSTS_CFS 0x2u

#define OPC_IDENTIFY 0x06
#define CNS_CONTROLLER 1
#define QUEUE_ENTRIES 8
#define IDENTIFY_TIMEOUT_MS 5000

struct nvme_sqe {
        uint32_t cdw0; /* opcode, flags, command id */
        uint32_t nsid;
        uint32_t cdw2, cdw3;
        uint64_t mptr;
        uint64_t prp1, prp2;
        uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
        uint32_t result;
        uint32_t reserved;
        uint32_t sq_head_id;
        uint32_t cid_phase_status; /* cid 15:0, phase 16, status 31:17 */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "submission entry layout");
_Static_assert(sizeof(struct nvme_cqe) == 16, "completion entry layout");

static struct nvme_sqe admin_sq[QUEUE_ENTRIES] __attribute__((aligned(4096)));
static struct nvme_cqe admin_cq[QUEUE_ENTRIES] __attribute__((aligned(4096)));
static uint8_t identify_data[4096] __attribute__((aligned(4096)));

struct ctrl {
        struct pg_pci_dev *pci;
        uint32_t bar;
        uint32_t cap_lo, cap_hi;
        uint32_t ready_timeout_ms; /* CAP.TO */
        uint32_t doorbell_stride;  /* bytes, from CAP.DSTRD */
        uint16_t status;           /* of the failed command, if any */
};

static uint32_t reg_read(const struct ctrl *c, uint32_t off) {
        return pg_mmio_read32(c->bar + off);
}

static void reg_write(const struct ctrl *c, uint32_t off, uint32_t v) {
        pg_mmio_write32(c->bar + off, v);
}

/* Waits for CSTS.RDY to equal @ready; NULL when it does, else why not. */
static const char *wait_ready(const struct ctrl *c, bool ready) {
        uint32_t start = pg_clock_ms();

        for (;;) {
                uint32_t csts = reg_read(c, NVME_CSTS);

                if (csts == 0xffffffffu)
                        return "device-gone"; /* reads of a vanished device */
                if (ready && (csts & CSTS_CFS))
                        return "controller-fatal";
                if (!!(csts & CSTS_RDY) == ready)
                        return NULL;
                if (pg_clock_ms() - start > c->ready_timeout_ms)
                        return ready ? "timeout-enable" : "timeout-disable";
        }
}

/* Reset, point the controller at our admin queues, enable it. */
static const char *enable(struct ctrl *c) {
        const char *r;

        if (reg_read(c, NVME_CC) & CC_EN)
                reg_write(c, NVME_CC, 0);
        r = wait_ready(c, false);
        if (r)
                return r;

        memset(admin_sq, 0, sizeof(admin_sq));
        memset(admin_cq, 0, sizeof(admin_cq)); /* phase 0: nothing posted yet */
        reg_write(c, NVME_AQA, (QUEUE_ENTRIES - 1) << 16 | (QUEUE_ENTRIES - 1));
        reg_write(c, NVME_ASQ, (uint32_t) (uintptr_t) admin_sq);
        reg_write(c, NVME_ASQ + 4, 0);
        reg_write(c, NVME_ACQ, (uint32_t) (uintptr_t) admin_cq);
        reg_write(c, NVME_ACQ + 4, 0);
        pg_barrier();
        /* CSS=0 (NVM), MPS=0 (4 KiB pages), round-robin arbitration. */
        reg_write(c, NVME_CC, CC_IOSQES | CC_IOCQES | CC_EN);
        return wait_ready(c, true);
}

static const char *identify(struct ctrl *c) {
        const volatile struct nvme_cqe *cqe = &admin_cq[0];
        const uint16_t cid = 1;
        uint32_t start, dw3;

        memset(identify_data, 0, sizeof(identify_data));
        admin_sq[0] = (struct nvme_sqe) {
                .cdw0 = OPC_IDENTIFY | (uint32_t) cid << 16,
                .prp1 = (uintptr_t) identify_data, /* 4 KiB, page-aligned: one PRP */
                .cdw10 = CNS_CONTROLLER,
        };
        pg_barrier();
        reg_write(c, NVME_DOORBELLS, 1); /* SQ 0 tail */

        start = pg_clock_ms();
        while (!((dw3 = cqe->cid_phase_status) & (1u << 16))) /* phase flips to 1 */
                if (pg_clock_ms() - start > IDENTIFY_TIMEOUT_MS)
                        return "timeout-completion";
        pg_barrier();
        reg_write(c, NVME_DOORBELLS + c->doorbell_stride, 1); /* CQ 0 head */

        if ((dw3 & 0xffff) != cid)
                return "wrong-command-id";
        c->status = (uint16_t) ((dw3 >> 17) & 0x7ff); /* SCT and SC */
        return c->status ? "status" : NULL;
}

/* Copies an ASCII identify field without its padding, quote-safe. */
static void field_string(char *out, const uint8_t *field, unsigned len) {
        unsigned start = 0, n = 0;

        while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == 0))
                len--;
        while (start < len && field[start] == ' ')
                start++;
        for (unsigned i = start; i < len; i++) {
                uint8_t ch = field[i];
                out[n++] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? (char) ch : '?';
        }
        out[n] = '\0';
}

static void disable(const struct ctrl *c) {
        /* Leave the controller quiet so the queues can be reused for the
         * next one; a failure here changes nothing already proven. */
        reg_write(c, NVME_CC, 0);
        (void) wait_ready(c, false);
}

bool pg_nvme_probe(struct pg_pci_dev *d) {
        struct ctrl c = { .pci = d };
        const char *reason = NULL;
        char sn[21], mn[41];

        c.bar = pg_pci_map_bar(d, 0, &reason);
        if (c.bar == 0)
                goto fail;
        pg_pci_write16(d, PG_PCI_COMMAND,
                       pg_pci_read16(d, PG_PCI_COMMAND) | PG_PCI_COMMAND_MEMORY |
                               PG_PCI_COMMAND_MASTER | PG_PCI_COMMAND_INTX_DISABLE);

        c.cap_lo = reg_read(&c, NVME_CAP);
        c.cap_hi = reg_read(&c, NVME_CAP + 4);
        pg_printf("PROBE nvme dev=%02x:%02x.%x cap=0x%08x%08x vs=0x%08x\n", d->bus, d->dev, d->fn,
                  c.cap_hi, c.cap_lo, reg_read(&c, NVME_VS));

        c.ready_timeout_ms = ((c.cap_lo >> 24) & 0xff) * 500;
        if (c.ready_timeout_ms == 0)
                c.ready_timeout_ms = 500;
        c.doorbell_stride = 4u << (c.cap_hi & 0xf);
        if ((c.cap_hi >> 16) & 0xf) { /* CAP.MPSMIN: our queues are 4 KiB pages */
                reason = "no-4k-pages";
                goto fail;
        }
        if (!((c.cap_hi >> 5) & 1)) { /* CAP.CSS bit 0: NVM command set */
                reason = "no-nvm-command-set";
                goto fail;
        }

        reason = enable(&c);
        if (!reason)
                reason = identify(&c);
        disable(&c);
        if (reason)
                goto fail;

        field_string(sn, identify_data + 4, 20);
        field_string(mn, identify_data + 24, 40);
        pg_printf("PROBE nvme dev=%02x:%02x.%x identify=ok vid=%04x sn=\"%s\" mn=\"%s\"\n", d->bus,
                  d->dev, d->fn, identify_data[0] | identify_data[1] << 8, sn, mn);
        return true;

fail:
        pg_printf("PROBE nvme dev=%02x:%02x.%x identify=fail reason=%s", d->bus, d->dev, d->fn,
                  reason);
        if (c.status)
                pg_printf(" sct=0x%x sc=0x%02x", c.status >> 8, c.status & 0xff);
        pg_printf("\n");
        return false;
}
