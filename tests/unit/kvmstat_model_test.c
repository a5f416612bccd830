/* SPDX-License-Identifier: MIT */
/*
 * kvmstat's model (kvmstat/collect.c) with a scripted provider: baselines, VMs that appear and
 * vanish (totals never run backwards), the Total row counting exits only, reset, drilldown
 * ordering, the per-guest and per-vCPU views, and the regex filter (unanchored).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "kvmstat/kvmstat.h"

/* The scripted provider: each read returns the next step's samples. */
struct fake_sample {
	const char *name;
	int pid, vcpu;
	uint64_t value;
};
/* per step: the counting time of the "late" counter (it began after the open); NULL = none */
static const uint64_t *late_ns;
static const struct fake_sample *const *script;
static int step;

static int fake_open(const struct dbgfs_options *opt, void **state, char *why, size_t why_len)
{
	*state = (void *)opt;
	return 0;
}

static int fake_read(void *state, struct dbgfs_samples *out)
{
	const struct dbgfs_options *opt = state;

	for (const struct fake_sample *s = script[step]; s && s->name; s++)
		if ((!opt->want || opt->want(opt->want_opaque, s->name)) &&
		    dbgfs_samples_add(out, s->name, s->pid, s->vcpu, s->value) < 0)
			return -ENOMEM;
		else if (late_ns && strcmp(s->name, "late") == 0)
			out->v[out->n - 1].ns = late_ns[step];
	if (script[step + 1])
		step++;
	return 0;
}

static void fake_close(void *state) {}

static int fake_fields(const struct dbgfs_options *opt, struct dbgfs_samples *out, char *why, size_t why_len)
{
	return 0;
}

static const struct dbgfs_provider_ops fake_ops = { "fake", fake_open, fake_read, fake_close, fake_fields, NULL };

static void model_open(struct kvmstat_model *m, const struct fake_sample *const *steps, const char *fields, bool past)
{
	struct kvmstat_opts o = { .fields = fields, .include_past = past, .delay = 1.0 };
	char why[256];

	script = steps;
	step = 0;
	assert_int_equal(kvmstat_model_init(m, &o, why, sizeof(why)), 0);
	m->src[0].ops = &fake_ops;
	m->src[0].state = &m->dopt;
	m->src[0].since_open = false;
	m->nr_src = 1;
}

static const struct kvmstat_row *row(const struct kvmstat_model *m, const char *key)
{
	return kvmstat_model_row(m, key);
}

/* Two VMs; the second ends, a third starts; a counter of the first resets (VM restarted). */
static const struct fake_sample s0[] = { { "exits", 1, -1, 100 }, { "exits", 2, -1, 50 }, { "io_exits", 1, -1, 10 }, { 0 } };
static const struct fake_sample s1[] = { { "exits", 1, -1, 130 }, { "exits", 2, -1, 70 }, { "io_exits", 1, -1, 15 }, { 0 } };
static const struct fake_sample s2[] = { { "exits", 1, -1, 160 }, { "exits", 3, -1, 5 }, { "io_exits", 1, -1, 20 }, { 0 } };
static const struct fake_sample s3[] = { { "exits", 1, -1, 8 }, { "exits", 3, -1, 9 }, { "io_exits", 1, -1, 20 }, { 0 } };
static const struct fake_sample *const vm_steps[] = { s0, s1, s2, s3, NULL };

/* A counter that began 0.25 s before a read (a tracepoint opened in the background): its first
 * rate is over the time it counted, not the whole interval; then over whole intervals. */
static const struct fake_sample w0[] = { { "exits", 1, -1, 100 }, { 0 } };
static const struct fake_sample w1[] = { { "exits", 1, -1, 200 }, { "late", 1, -1, 50 }, { 0 } };
static const struct fake_sample w2[] = { { "exits", 1, -1, 300 }, { "late", 1, -1, 150 }, { 0 } };
static const struct fake_sample *const window_steps[] = { w0, w1, w2, NULL };
static const uint64_t window_ns[] = { 0, 250000000, 1250000000 };

static void test_late_counter_window(void **state)
{
	struct kvmstat_model m;

	model_open(&m, window_steps, NULL, false);
	late_ns = window_ns;
	assert_int_equal(kvmstat_model_refresh(&m, 1.0), 0);
	assert_null(row(&m, "late"));	/* not counting yet: no row, not a 0 */
	assert_int_equal(kvmstat_model_refresh(&m, 2.0), 0);
	assert_int_equal(row(&m, "late")->delta, 50);
	assert_true(row(&m, "late")->rate > 199.9 && row(&m, "late")->rate < 200.1);
	assert_true(row(&m, "late")->window > 0.249 && row(&m, "late")->window < 0.251);
	assert_true(row(&m, "exits")->rate > 99.9 && row(&m, "exits")->rate < 100.1);
	assert_int_equal(kvmstat_model_refresh(&m, 3.0), 0);
	assert_int_equal(row(&m, "late")->delta, 100);
	assert_true(row(&m, "late")->rate > 99.9 && row(&m, "late")->rate < 100.1);
	late_ns = NULL;
	kvmstat_model_free(&m);
}

static void test_vms_come_and_go(void **state)
{
	struct kvmstat_model m;

	model_open(&m, vm_steps, NULL, false);
	assert_int_equal(kvmstat_model_refresh(&m, 10.0), 0);
	assert_int_equal(row(&m, "exits")->total, 0);		/* relative to the start */
	assert_int_equal(kvmstat_model_refresh(&m, 11.0), 0);
	assert_int_equal(row(&m, "exits")->total, 50);
	assert_int_equal(row(&m, "exits")->delta, 50);
	assert_true(row(&m, "exits")->rate > 49.9 && row(&m, "exits")->rate < 50.1);
	/* VM 2 gone (its 20 stay), VM 3 new (counted from 0: all 5 happened while watched) */
	assert_int_equal(kvmstat_model_refresh(&m, 12.0), 0);
	assert_int_equal(row(&m, "exits")->total, 60 + 20 + 5);
	assert_int_equal(row(&m, "exits")->delta, 35);
	/* VM 1's counter went back to 8: a new VM reusing the key, counted anew, never negative */
	assert_int_equal(kvmstat_model_refresh(&m, 13.0), 0);
	assert_int_equal(row(&m, "exits")->total, 60 + 8 + 20 + 9);
	assert_int_equal(row(&m, "exits")->delta, 12);
	assert_string_equal(m.exit_signal, "exits");
	kvmstat_model_free(&m);
}

static void test_include_past(void **state)
{
	struct kvmstat_model m;

	model_open(&m, vm_steps, NULL, true);
	assert_int_equal(kvmstat_model_refresh(&m, 1.0), 0);
	assert_int_equal(row(&m, "exits")->total, 150);
	kvmstat_model_free(&m);
}

/* The Total row counts exits, not the sum of every event. */
static const struct fake_sample t0[] = { { "kvm_exit", 0, -1, 0 }, { "kvm_userspace_exit", 0, -1, 0 }, { "kvm_pio", 0, -1, 0 },
					 { "kvm_emulate_insn", 0, -1, 0 }, { 0 } };
static const struct fake_sample t1[] = { { "kvm_exit", 0, -1, 0 }, { "kvm_userspace_exit", 0, -1, 1000 }, { "kvm_pio", 0, -1, 990 },
					 { "kvm_emulate_insn", 0, -1, 700000 }, { 0 } };
static const struct fake_sample *const total_steps[] = { t0, t1, NULL };

static void test_total_counts_exits(void **state)
{
	struct kvmstat_model m;

	model_open(&m, total_steps, NULL, false);
	m.src[0].since_open = true;
	assert_int_equal(kvmstat_model_refresh(&m, 1.0), 0);
	assert_int_equal(kvmstat_model_refresh(&m, 2.0), 0);
	/* kvm_exit never fires on this kind of host: the first exit counter that counts is used */
	assert_string_equal(m.exit_signal, "kvm_userspace_exit");
	assert_int_equal(m.exit_total, 1000);
	assert_int_equal(m.exit_delta, 1000);
	kvmstat_model_reset(&m);
	assert_int_equal(m.exit_total, 0);
	assert_int_equal(row(&m, "kvm_pio")->total, 0);
	kvmstat_model_free(&m);
}

/* Children follow their parent; rows sort by rate, then total. */
static const struct fake_sample d0[] = { { "kvm_exit", 0, -1, 0 }, { "kvm_exit(HLT)", 0, -1, 0 }, { "kvm_exit(IO_INSTRUCTION)", 0, -1, 0 },
					 { "kvm_pio", 0, -1, 0 }, { 0 } };
static const struct fake_sample d1[] = { { "kvm_exit", 0, -1, 300 }, { "kvm_exit(HLT)", 0, -1, 100 }, { "kvm_exit(IO_INSTRUCTION)", 0, -1, 200 },
					 { "kvm_pio", 0, -1, 500 }, { 0 } };
static const struct fake_sample *const drill_steps[] = { d0, d1, NULL };

static void test_drilldown_order(void **state)
{
	struct kvmstat_model m;

	model_open(&m, drill_steps, NULL, false);
	m.src[0].since_open = true;
	m.dopt.drilldown = true;
	assert_int_equal(kvmstat_model_refresh(&m, 1.0), 0);
	assert_int_equal(kvmstat_model_refresh(&m, 2.0), 0);
	kvmstat_model_sort(&m, true);
	assert_int_equal(m.nr_shown, 4);
	assert_string_equal(m.shown[0]->key, "kvm_pio");
	assert_string_equal(m.shown[1]->key, "kvm_exit");
	assert_string_equal(m.shown[2]->label, "(IO_INSTRUCTION)");
	assert_int_equal(m.shown[2]->depth, 1);
	assert_string_equal(m.shown[3]->key, "kvm_exit(HLT)");
	m.dopt.drilldown = false;
	kvmstat_model_sort(&m, true);
	assert_int_equal(m.nr_shown, 2);
	kvmstat_model_free(&m);
}

/* Per-guest and per-vCPU views. */
static const struct fake_sample v0[] = { { "exits", 7, -1, 0 }, { "exits", 7, 0, 0 }, { "exits", 7, 1, 0 }, { "io_exits", 7, 1, 0 },
					 { "exits", 8, -1, 0 }, { 0 } };
static const struct fake_sample v1[] = { { "exits", 7, -1, 30 }, { "exits", 7, 0, 10 }, { "exits", 7, 1, 20 }, { "io_exits", 7, 1, 4 },
					 { "exits", 8, -1, 3 }, { 0 } };
static const struct fake_sample v2[] = { { "exits", 7, -1, 35 }, { "exits", 7, 0, 12 }, { "exits", 7, 1, 23 }, { "io_exits", 7, 1, 5 },
					 { "exits", 8, -1, 3 }, { 0 } };
static const struct fake_sample *const view_steps[] = { v0, v1, v2, NULL };

static void test_views(void **state)
{
	struct kvmstat_model m;

	model_open(&m, view_steps, NULL, false);
	assert_int_equal(kvmstat_model_refresh(&m, 1.0), 0);
	assert_int_equal(kvmstat_model_refresh(&m, 2.0), 0);
	assert_int_equal(row(&m, "exits")->total, 33);		/* vCPU samples are not added twice */
	kvmstat_model_set_view(&m, KVMSTAT_VIEW_GUESTS);
	assert_int_equal(row(&m, "pid 7")->total, 30);
	assert_int_equal(row(&m, "pid 8")->total, 3);
	kvmstat_model_set_view(&m, KVMSTAT_VIEW_VCPUS);
	assert_int_equal(row(&m, "vcpu1")->total, 20);
	assert_int_equal(row(&m, "vcpu1/io_exits")->total, 4);
	/* rows built for another view carry the last interval's delta, not their total */
	assert_int_equal(kvmstat_model_refresh(&m, 3.0), 0);
	kvmstat_model_set_view(&m, KVMSTAT_VIEW_GUESTS);
	assert_int_equal(row(&m, "pid 7")->total, 35);
	assert_int_equal(row(&m, "pid 7")->delta, 5);
	assert_true(row(&m, "pid 7")->rate > 4.99 && row(&m, "pid 7")->rate < 5.01);
	assert_int_equal(row(&m, "pid 8")->delta, 0);
	kvmstat_model_free(&m);
}

static void test_filter_unanchored(void **state)
{
	struct kvmstat_model m;

	model_open(&m, total_steps, "exit|pio", false);
	assert_true(kvmstat_model_is_wanted(&m, "kvm_userspace_exit"));
	assert_true(kvmstat_model_is_wanted(&m, "kvm_pio"));
	assert_false(kvmstat_model_is_wanted(&m, "kvm_emulate_insn"));
	kvmstat_model_free(&m);
}

static void test_regex_check(void **state)
{
	char why[256];

	assert_int_equal(kvmstat_regex_check("exit|pio", why, sizeof(why)), 0);
	assert_int_equal(kvmstat_regex_check("exit((", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "is not a valid regular expression"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vms_come_and_go),
		cmocka_unit_test(test_late_counter_window),
		cmocka_unit_test(test_include_past),
		cmocka_unit_test(test_total_counts_exits),
		cmocka_unit_test(test_drilldown_order),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_filter_unanchored),
		cmocka_unit_test(test_regex_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
