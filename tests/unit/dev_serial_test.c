/* SPDX-License-Identifier: MIT */
/* 8250/16550A UART with no backend: registers, DLAB, interrupts, loopback, FIFO, rx thread. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"

#define COM1 0x3f8
#define IRQ 4
enum { THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct fixture {
	struct emu_vm *vm;
	struct emu_serial *s;
	int out[2], in[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || pipe(f->out) < 0 || pipe(f->in) < 0)
		return -1;
	fcntl(f->out[0], F_SETFL, O_NONBLOCK);
	f->vm = devtest_vm_new();
	if (emu_serial_create(f->vm, COM1, IRQ, f->out[1], f->in[0], &f->s) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	emu_serial_destroy(f->s);
	devtest_vm_free(f->vm);
	for (int i = 0; i < 2; i++) {
		close(f->out[i]);
		if (f->in[i] >= 0)
			close(f->in[i]);
	}
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg) { return (uint8_t)devtest_in(f->vm, COM1 + reg, 1); }
static void wr(struct fixture *f, unsigned reg, uint8_t v) { devtest_out(f->vm, COM1 + reg, 1, v); }

static void test_reset_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, LSR), 0x60);	/* THRE | TEMT */
	assert_int_equal(rd(f, IIR), 0x01);	/* no interrupt */
	assert_int_equal(rd(f, MSR), 0xb0);	/* DCD | DSR | CTS */
	assert_int_equal(rd(f, LCR), 0x03);
	assert_int_equal(rd(f, IER), 0x00);
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 0);
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	char buf[8] = { 0 };

	for (const char *p = "Hi!\n"; *p; p++)
		wr(f, THR, (uint8_t)*p);
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "Hi!\n");
	assert_int_equal(rd(f, LSR) & 0x60, 0x60);
}

static void test_dlab_and_scratch(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	wr(f, LCR, 0x83);
	wr(f, 0, 0x01);
	wr(f, 1, 0x02);
	assert_int_equal(rd(f, 0), 0x01);
	assert_int_equal(rd(f, 1), 0x02);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0x00);		/* the divisor write did not touch IER */
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), -1);	/* nor transmit */
	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
}

static void test_thr_empty_interrupt(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x02);
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 1);
	assert_int_equal(rd(f, IIR), 0x02);
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 0);	/* reading IIR acknowledged it */
	assert_int_equal(rd(f, IIR), 0x01);
	wr(f, THR, 'x');
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 1);
	wr(f, IER, 0x00);
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 0);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	wr(f, MCR, 0x10 | 0x03);		/* LOOP | RTS | DTR */
	assert_int_equal(rd(f, MSR), 0x30 | 0x08);	/* CTS | DSR; DCD dropped: its delta */
	assert_int_equal(rd(f, MSR), 0x30);	/* deltas clear on read */
	wr(f, MCR, 0x10 | 0x0c);		/* OUT1, OUT2 -> RI, DCD */
	assert_int_equal(rd(f, MSR) & 0xf0, 0xc0);
	wr(f, IER, 0x01);
	wr(f, THR, 'L');
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), -1);	/* nothing left the UART */
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 1);
	assert_int_equal(rd(f, IIR), 0x04);
	assert_int_equal(rd(f, THR), 'L');
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 0);
}

static void test_fifo_trigger_and_overrun(void **state)
{
	struct fixture *f = *state;

	wr(f, MCR, 0x10);
	wr(f, FCR, 0xc7);			/* FIFO on, clear, trigger 14 */
	wr(f, IER, 0x05);			/* RDI | RLSI */
	assert_int_equal(rd(f, IIR), 0xc1);
	for (int i = 0; i < 13; i++)
		wr(f, THR, (uint8_t)('a' + i));
	assert_int_equal(rd(f, IIR), 0xcc);	/* below the trigger: character timeout */
	wr(f, THR, 'n');
	assert_int_equal(rd(f, IIR), 0xc4);	/* at the trigger level */
	wr(f, THR, 'o');
	wr(f, THR, 'p');
	wr(f, THR, 'q');			/* the 17th byte overruns */
	assert_int_equal(rd(f, IIR), 0xc6);	/* line status outranks data */
	assert_int_equal(rd(f, LSR) & 0x03, 0x03);
	assert_int_equal(rd(f, LSR) & 0x02, 0);	/* OE clears on read */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(f, THR), 'a' + i);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, IIR), 0xc1);
	wr(f, FCR, 0x00);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_receive_from_pipe(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	assert_int_equal(write(f->in[1], "ok", 2), 2);
	assert_int_equal(devtest_wait_irq_raises(f->vm, IRQ, 1, 10), 1);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, THR), 'o');
	/* No FIFO: the reader thread delivers the next byte once RBR is free. */
	assert_int_equal(devtest_wait_irq_raises(f->vm, IRQ, 2, 10), 2);
	assert_int_equal(rd(f, THR), 'k');
	assert_int_equal(devtest_irq_level(f->vm, IRQ), 0);
}

static void test_receive_fifo_and_eof(void **state)
{
	struct fixture *f = *state;

	wr(f, FCR, 0x01);
	wr(f, IER, 0x01);
	assert_int_equal(write(f->in[1], "xyz", 3), 3);
	close(f->in[1]);
	f->in[1] = -1;
	assert_true(devtest_wait_irq_raises(f->vm, IRQ, 1, 10) >= 1);
	char got[4] = { 0 };
	for (int i = 0; i < 3; i++) {
		while (!(rd(f, LSR) & 0x01))	/* the rest may still be on its way */
			devtest_wait_irq_raises(f->vm, IRQ, devtest_irq_raises(f->vm, IRQ) + 1, 1);
		got[i] = (char)rd(f, THR);
	}
	assert_string_equal(got, "xyz");
}

static void test_closed_output_is_not_fatal(void **state)
{
	struct fixture *f = *state;

	signal(SIGPIPE, SIG_IGN);
	close(f->out[0]);
	f->out[0] = open("/dev/null", O_RDONLY);
	wr(f, THR, 'a');			/* EPIPE: dropped, the guest carries on */
	assert_int_equal(rd(f, LSR) & 0x60, 0x60);
}

struct tx_job {
	struct fixture *f;
	const char *text;
};

static void *tx_thread(void *opaque)
{
	struct tx_job *j = opaque;

	for (const char *p = j->text; *p; p++)
		wr(j->f, THR, (uint8_t)*p);
	return NULL;
}

/* A full non-blocking output makes the transmitter wait for room, not drop bytes. */
static void test_full_nonblocking_output_waits(void **state)
{
	struct fixture *f = *state;
	char junk[4096], tail[8] = { 0 };
	struct tx_job job = { f, "end" };
	pthread_t t;
	size_t got = 0;

	memset(junk, 'j', sizeof(junk));
	fcntl(f->out[1], F_SETFL, O_NONBLOCK);
	while (write(f->out[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(pthread_create(&t, NULL, tx_thread, &job), 0);
	for (;;) {				/* drain until the 3 bytes behind the junk show up */
		char buf[4096];
		ssize_t n = read(f->out[0], buf, sizeof(buf));
		if (n <= 0) {
			struct pollfd p = { .fd = f->out[0], .events = POLLIN };
			assert_true(poll(&p, 1, 20000) == 1);
			continue;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != 'j' && got < 3)
				tail[got++] = buf[i];
		if (got >= 3)
			break;
	}
	pthread_join(t, NULL);
	assert_string_equal(tail, "end");
}

static void test_create_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct emu_serial *s2 = NULL;

	assert_int_equal(emu_serial_create(f->vm, 0x2f8, 16, -1, -1, &s2), -EINVAL);
	assert_int_equal(emu_serial_create(f->vm, 0xfffc, 3, -1, -1, &s2), -EINVAL);
	assert_int_equal(emu_serial_create(f->vm, 0x3fc, 3, -1, -1, &s2), -EEXIST);
	assert_int_equal(emu_serial_create(f->vm, 0x2f8, 3, -1, -1, &s2), 0);	/* COM2, no output */
	devtest_out(f->vm, 0x2f8, 1, 'q');
	assert_int_equal(devtest_in(f->vm, 0x2f8 + LSR, 1), 0x60);
	emu_serial_destroy(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_and_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thr_empty_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_trigger_and_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_from_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fifo_and_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_output_is_not_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_nonblocking_output_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects_bad_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
