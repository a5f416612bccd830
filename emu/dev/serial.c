/* SPDX-License-Identifier: MIT */
/*
 * serial.c — an 8250/16550A UART, as QEMU's serial device behaves (the oracle the test guests
 * run under): transmission is instantaneous (THRE and TEMT stay set), the IRQ line follows IIR
 * without OUT2 gating, MCR loopback feeds THR back into the receiver and MCR into MSR.
 * Received bytes come from in_fd (a terminal, pipe or socket) through a reader thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu/dev/dev.h"
#include "emu/dev/dev-local.h"
#include "emu/dev/trace-events.h"

enum {
	REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7, SERIAL_NR_REGS = 8,
};

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* transmitter holding register empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */
#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_CTI		0x0c	/* character timeout (FIFO mode) */
#define IIR_FIFO_ON	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRORS	0x1e
#define MSR_DELTAS	0x0f
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_TERI	0x04

#define FIFO_SIZE	16

struct emu_serial {
	struct emu_vm *vm;
	unsigned irq;
	int out_fd, in_fd;
	pthread_mutex_t lock;
	pthread_cond_t room;		/* the reader waits here while the rx FIFO is full */
	pthread_t reader;
	bool has_reader, stopping;
	int wake_pipe[2];

	uint16_t divider;
	uint8_t ier, iir, fcr, lcr, mcr, lsr, msr, scr;
	bool thr_ipending, irq_level;
	uint8_t rx[FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint64_t tx_bytes, tx_dropped, rx_overruns;
};

static const uint8_t fifo_trigger[4] = { 1, 4, 8, 14 };

static unsigned rx_capacity(const struct emu_serial *s)
{
	return (s->fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

/* The highest-priority pending source, as IIR reports it. */
static uint8_t serial_pending(const struct emu_serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count) {
		if (!(s->fcr & FCR_ENABLE) || s->rx_count >= fifo_trigger[s->fcr >> 6])
			return IIR_RDI;
		return IIR_CTI;	/* below the trigger level: report the timeout at once */
	}
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Recomputes IIR and drives the IRQ line when its level changes. Called with the lock held. */
static void serial_update_irq(struct emu_serial *s)
{
	uint8_t p = serial_pending(s);
	bool level = p != IIR_NO_INT;

	s->iir = (uint8_t)(p | ((s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0));
	if (level != s->irq_level) {
		s->irq_level = level;
		emu_vm_set_irq(s->vm, s->irq, level);
	}
}

/* Puts one received byte in the FIFO, or flags an overrun when it is full. */
static void serial_rx_push(struct emu_serial *s, uint8_t byte)
{
	trace_serial_rx(byte);
	if (s->rx_count >= rx_capacity(s)) {
		s->lsr |= LSR_OE;
		s->rx_overruns++;
	} else {
		s->rx[(s->rx_head + s->rx_count++) % FIFO_SIZE] = byte;
		s->lsr |= LSR_DR;
	}
}

static uint8_t serial_rx_pop(struct emu_serial *s)
{
	uint8_t byte = 0;

	if (s->rx_count) {
		byte = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % FIFO_SIZE;
		s->rx_count--;
	}
	if (!s->rx_count)
		s->lsr &= (uint8_t)~LSR_DR;
	pthread_cond_signal(&s->room);
	return byte;
}

static void serial_rx_clear(struct emu_serial *s)
{
	s->rx_head = s->rx_count = 0;
	s->lsr &= (uint8_t)~LSR_DR;
	pthread_cond_signal(&s->room);
}

static void serial_tx(struct emu_serial *s, uint8_t byte)
{
	trace_serial_tx(byte);
	if (s->mcr & MCR_LOOP) {
		serial_rx_push(s, byte);
		return;
	}
	if (s->out_fd < 0)
		return;
	for (;;) {
		ssize_t n = write(s->out_fd, &byte, 1);
		if (n == 1) {
			s->tx_bytes++;
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {	/* a non-blocking output: wait, as flow control would */
			struct pollfd pfd = { .fd = s->out_fd, .events = POLLOUT };
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		s->tx_dropped++;	/* a closed or failing output does not stop the guest */
		return;
	}
}

/* MSR in loopback mirrors MCR (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD), with delta bits. */
static void serial_update_msr(struct emu_serial *s)
{
	uint8_t lines;

	if (s->mcr & MCR_LOOP)
		lines = (uint8_t)(((s->mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
				  ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
	else
		lines = MSR_DCD | MSR_DSR | MSR_CTS;
	uint8_t changed = (uint8_t)((s->msr ^ lines) & 0xf0);
	uint8_t deltas = (uint8_t)(changed >> 4);

	if (changed & MSR_RI)		/* TERI: only the trailing edge of RI */
		deltas = (uint8_t)((deltas & ~MSR_TERI) | ((lines & MSR_RI) ? 0 : MSR_TERI));
	s->msr = (uint8_t)(lines | (s->msr & MSR_DELTAS) | deltas);
}

static void serial_write_fcr(struct emu_serial *s, uint8_t v)
{
	if ((v ^ s->fcr) & FCR_ENABLE)		/* toggling the FIFO mode clears both FIFOs */
		v |= FCR_CLEAR_RX | FCR_CLEAR_TX;
	if (v & FCR_CLEAR_RX)
		serial_rx_clear(s);
	s->fcr = v & 0xc9;	/* trigger level, DMA mode, enable */
}

static void serial_write_reg(struct emu_serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->divider = (uint16_t)((s->divider & 0xff00) | v);
			return;
		}
		serial_tx(s, v);
		s->thr_ipending = true;		/* sent at once: THR is empty again */
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->divider = (uint16_t)((s->divider & 0x00ff) | v << 8);
			return;
		}
		/* Enabling THRI while THR is empty raises it (as the 16550 and QEMU do). */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		break;
	case REG_IIR_FCR:
		serial_write_fcr(s, v);
		break;
	case REG_LCR:
		s->lcr = v;
		return;
	case REG_MCR:
		s->mcr = v & 0x1f;
		serial_update_msr(s);
		break;
	case REG_LSR:
	case REG_MSR:
		return;			/* read-only (factory test writes ignored) */
	case REG_SCR:
		s->scr = v;
		return;
	}
	serial_update_irq(s);
}

static uint8_t serial_read_reg(struct emu_serial *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return (uint8_t)s->divider;
		v = serial_rx_pop(s);
		break;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? (uint8_t)(s->divider >> 8) : s->ier;
	case REG_IIR_FCR:
		v = s->iir;
		if ((v & 0x0f) == IIR_THRI)	/* reading IIR acknowledges THRI */
			s->thr_ipending = false;
		break;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr;
		s->lsr &= (uint8_t)~LSR_ERRORS;	/* error bits clear on read */
		break;
	case REG_MSR:
		v = s->msr;
		s->msr &= (uint8_t)~MSR_DELTAS;
		break;
	default:
		return s->scr;
	}
	serial_update_irq(s);
	return v;
}

static uint64_t serial_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_serial *s = opaque;
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = serial_read_reg(s, (unsigned)offset % SERIAL_NR_REGS);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void serial_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, (unsigned)offset % SERIAL_NR_REGS, (uint8_t)value);
	pthread_mutex_unlock(&s->lock);
}

static const struct emu_io_ops serial_ops = {
	.read = serial_io_read,
	.write = serial_io_write,
};

/* Reads as many bytes as the FIFO has room for; false at EOF or on error. */
static bool serial_reader_fill(struct emu_serial *s)
{
	uint8_t buf[FIFO_SIZE];
	unsigned room;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping && s->rx_count >= rx_capacity(s))
		pthread_cond_wait(&s->room, &s->lock);
	room = rx_capacity(s) - s->rx_count;
	bool stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	if (stopping)
		return false;

	ssize_t n = read(s->in_fd, buf, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	pthread_mutex_lock(&s->lock);
	for (ssize_t i = 0; i < n; i++)
		serial_rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return true;
}

static void *serial_reader_main(void *opaque)
{
	struct emu_serial *s = opaque;
	struct pollfd fds[2] = {
		{ .fd = s->in_fd, .events = POLLIN },
		{ .fd = s->wake_pipe[0], .events = POLLIN },
	};

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)		/* emu_serial_destroy */
			break;
		if (fds[0].revents && !serial_reader_fill(s))
			break;
	}
	return NULL;
}

static bool serial_input_is_usable(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	return isatty(fd) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

static int serial_start_reader(struct emu_serial *s)
{
	int err;

	if (!serial_input_is_usable(s->in_fd))
		return 0;
	if (pipe2(s->wake_pipe, O_CLOEXEC) < 0)
		return -errno;
	err = emu_dev_thread_create(&s->reader, serial_reader_main, s);
	if (err) {
		close(s->wake_pipe[0]);
		close(s->wake_pipe[1]);
		return err;
	}
	s->has_reader = true;
	return 0;
}

static void serial_reset(struct emu_serial *s)
{
	s->divider = 12;		/* 9600 baud */
	s->lcr = 0x03;			/* 8N1 */
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->iir = IIR_NO_INT;
}

int emu_serial_create(struct emu_vm *vm, uint16_t base, unsigned irq, int out_fd, int in_fd,
		      struct emu_serial **out)
{
	struct emu_serial *s;
	int err;

	if (irq > 15 || base > 0x10000 - SERIAL_NR_REGS)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct emu_serial){ .vm = vm, .irq = irq, .out_fd = out_fd, .in_fd = in_fd,
				  .wake_pipe = { -1, -1 } };
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->room, NULL);
	serial_reset(s);
	err = emu_io_register(vm, EMU_IO_PIO, base, SERIAL_NR_REGS, "serial", &serial_ops, s);
	if (!err)
		err = serial_start_reader(s);
	if (err) {
		/* A failed create ends the VM's creation: nothing dispatches to s any more. */
		emu_serial_destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

void emu_serial_destroy(struct emu_serial *s)
{
	if (!s)
		return;
	if (s->has_reader) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->room);
		pthread_mutex_unlock(&s->lock);
		ssize_t r = write(s->wake_pipe[1], "x", 1);
		(void)r;
		pthread_join(s->reader, NULL);
		close(s->wake_pipe[0]);
		close(s->wake_pipe[1]);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->room);
	free(s);
}
