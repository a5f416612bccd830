/* SPDX-License-Identifier: MIT */
/*
 * The interactive view: draws the model's rows (kvm_stat's layout plus a history sparkline) and
 * maps keys through a table of actions that return what to do next. Colours are semantic roles;
 * NO_COLOR turns them off.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kvmstat/kvmstat.h"

enum ui_color { UI_C_NORMAL, UI_C_HEADER, UI_C_COLHDR, UI_C_HOT, UI_C_CHILD, UI_C_TOTAL, UI_C_STATUS, UI_C_SPARK, UI_C_N };

/* What an action wants next. */
enum ui_reaction { UI_OK = 0, UI_REFRESH = 1, UI_REDRAW = 2, UI_QUIT = 4 };

struct ui {
	struct kvmstat_model *m;
	double delay;
	double next;
	bool utf8, color;
	char status[256];
	char guest[64];
};

struct ui_key {
	int key;
	const char *help;
	enum ui_reaction (*fn)(struct ui *ui);
};

static void ui_set_status(struct ui *ui, const char *msg)
{
	snprintf(ui->status, sizeof(ui->status), "%s", msg);
}

static void ui_notice(void *opaque, const char *msg)
{
	ui_set_status(opaque, msg);
}

static void ui_colors(struct ui *ui)
{
	static const short fg[UI_C_N] = { -1, COLOR_CYAN, COLOR_BLACK, COLOR_YELLOW, COLOR_BLUE, COLOR_WHITE, COLOR_RED, COLOR_GREEN };
	static const short bg[UI_C_N] = { -1, -1, COLOR_CYAN, -1, -1, -1, -1, -1 };
	const char *nc = getenv("NO_COLOR");

	ui->color = has_colors() && !(nc && *nc);
	if (!ui->color)
		return;
	start_color();
	use_default_colors();
	for (int i = 1; i < UI_C_N; i++)
		init_pair((short)i, fg[i], bg[i]);
}

static chtype ui_attr(const struct ui *ui, enum ui_color c)
{
	static const chtype mono[UI_C_N] = { A_NORMAL, A_BOLD, A_STANDOUT, A_BOLD, A_NORMAL, A_BOLD, A_BOLD, A_NORMAL };

	return ui->color ? (chtype)COLOR_PAIR(c) | (c == UI_C_HEADER || c == UI_C_TOTAL ? A_BOLD : 0) : mono[c];
}

/* ---- drawing ---- */

static void ui_sparkline(const struct ui *ui, const struct kvmstat_row *r, char *out, size_t len)
{
	static const char *const bars[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = " .:-=+*#@";
	float max = 0;
	size_t n = 0;

	for (int i = 0; i < KVMSTAT_HIST; i++)
		max = r->hist[i] > max ? r->hist[i] : max;
	for (int i = 0; i < KVMSTAT_HIST && n + 4 < len; i++) {
		int lvl = max > 0 ? (int)lroundf(r->hist[i] / max * 8.0f) : 0;

		if (lvl == 0 && r->hist[i] > 0)
			lvl = 1;
		if (ui->utf8) {
			size_t l = strlen(bars[lvl]);
			memcpy(out + n, bars[lvl], l);
			n += l;
		} else {
			out[n++] = ascii[lvl];
		}
	}
	out[n] = 0;
}

static void ui_header(struct ui *ui)
{
	struct kvmstat_model *m = ui->m;
	char title[160];
	static const char *const views[] = { "", " [by guest]", " [by vCPU]" };

	if (m->opt.pid)
		snprintf(title, sizeof(title), "kvm statistics - pid %d%s%.48s%s", m->opt.pid, ui->guest[0] ? " (" : "",
			 ui->guest, ui->guest[0] ? ")" : "");
	else
		snprintf(title, sizeof(title), "kvm statistics - summary");
	attron(ui_attr(ui, UI_C_HEADER));
	mvprintw(0, 0, "%s%s", title, views[m->view]);
	attroff(ui_attr(ui, UI_C_HEADER));
	if (m->guest_gone) {
		attron(ui_attr(ui, UI_C_STATUS) | A_BLINK);
		printw("  Guest is DEAD");
		attroff(ui_attr(ui, UI_C_STATUS) | A_BLINK);
	}
	mvprintw(0, COLS > 30 ? COLS - 30 : 0, "%29.29s", m->src_names);
	if (m->has_re)
		mvprintw(1, 17, "regex filter: %.44s", m->re_text);
	attron(ui_attr(ui, UI_C_COLHDR));
	mvprintw(2, 0, "%-40s %10s%7s %8s  %-*s", m->view == KVMSTAT_VIEW_GUESTS ? "Guest Name" : "Event", "Total", "%Total",
		 "CurAvg/s", KVMSTAT_HIST, "History");
	attroff(ui_attr(ui, UI_C_COLHDR));
}

/* %Total: a parent against the sum of parents, a child against its parent. */
static double ui_percent(const struct kvmstat_model *m, unsigned i, uint64_t parents_total, const struct kvmstat_row *parent)
{
	const struct kvmstat_row *r = m->shown[i];
	uint64_t whole = r->depth ? (parent ? parent->total : 0) : parents_total;

	return whole ? 100.0 * (double)r->total / (double)whole : 0.0;
}

static void ui_rows(struct ui *ui)
{
	struct kvmstat_model *m = ui->m;
	const struct kvmstat_row *parent = NULL;
	uint64_t parents_total = 0;
	char spark[KVMSTAT_HIST * 4 + 1], label[64];
	int y = 3;

	for (unsigned i = 0; i < m->nr_shown; i++)
		if (!m->shown[i]->depth)
			parents_total += m->shown[i]->total;
	for (unsigned i = 0; i < m->nr_shown && y < LINES - 2; i++, y++) {
		const struct kvmstat_row *r = m->shown[i];
		enum ui_color c = r->depth ? UI_C_CHILD : r->delta ? UI_C_HOT : UI_C_NORMAL;

		if (!r->depth)
			parent = r;
		snprintf(label, sizeof(label), "%*s%s", r->depth * 2, "", r->label);
		attron(ui_attr(ui, c));
		mvprintw(y, 0, "%-40.40s %10llu%7.1f %8.0f  ", label, (unsigned long long)r->total,
			 ui_percent(m, i, parents_total, parent), r->rate);
		attroff(ui_attr(ui, c));
		ui_sparkline(ui, r, spark, sizeof(spark));
		attron(ui_attr(ui, UI_C_SPARK));
		printw("%s", spark);
		attroff(ui_attr(ui, UI_C_SPARK));
	}
	if (!m->nr_shown)
		mvprintw(4, 0, "%s", m->refreshes < 2 ? "Collecting data..." : "No matching events reported yet");
	attron(ui_attr(ui, UI_C_TOTAL));
	if (m->exit_signal[0])
		mvprintw(y, 0, "%-40.40s %10llu%7s %8.0f", "Total exits", (unsigned long long)m->exit_total, "", m->exit_rate);
	attroff(ui_attr(ui, UI_C_TOTAL));
	if (m->exit_signal[0])
		printw("  (counted by %s)", m->exit_signal);
}

static void ui_draw(struct ui *ui)
{
	erase();
	kvmstat_model_sort(ui->m, true);
	ui_header(ui);
	ui_rows(ui);
	attron(ui_attr(ui, UI_C_STATUS));
	mvprintw(LINES - 1, 0, "%.*s", COLS - 1, ui->status);
	attroff(ui_attr(ui, UI_C_STATUS));
	refresh();
}

/* ---- prompts ---- */

static void ui_prompt(struct ui *ui, const char *const lines[], int n, const char *ask, char *out, int len)
{
	erase();
	ui_header(ui);
	for (int i = 0; i < n; i++)
		mvprintw(3 + i, 0, "%s", lines[i]);
	mvprintw(4 + n, 0, "%s", ask);
	clrtoeol();
	echo();
	curs_set(1);
	nocbreak();
	cbreak();
	timeout(-1);
	getnstr(out, len - 1);
	noecho();
	curs_set(0);
}

static enum ui_reaction ui_key_filter(struct ui *ui)
{
	char cur[300], err[300] = "", in[256], why[512];
	const char *lines[] = { "Show statistics for events matching a regex.", cur, err };

	snprintf(cur, sizeof(cur), "Current regex: %s", ui->m->re_text);
	for (;;) {
		ui_prompt(ui, lines, 3, "New regex: ", in, sizeof(in));
		if (kvmstat_regex_check(in[0] ? in : ".", why, sizeof(why)) == 0)
			break;
		snprintf(err, sizeof(err), "\"%s\": Not a valid regular expression", in);
	}
	if (kvmstat_model_set_filter(ui->m, in, why, sizeof(why)) < 0)
		ui_set_status(ui, why);
	else
		ui_set_status(ui, in[0] ? "filter set" : "filter cleared");
	return UI_REFRESH;
}

static int ui_pick_guest(struct ui *ui, const char *in, char *why, size_t why_len)
{
	char *end;
	long pid = strtol(in, &end, 10);
	int pids[4];

	if (!*end && end != in) {
		if (pid != 0 && !kvmstat_pid_is_alive(ui->m->opt.proc_root, (int)pid)) {
			snprintf(why, why_len, "\"%s\": Not a running process", in);
			return -ESRCH;
		}
		return (int)pid;
	}
	int n = kvmstat_find_guests(ui->m->opt.proc_root, in, pids, 4);
	if (n != 1) {
		snprintf(why, why_len, n ? "\"%s\": Multiple matches found, use pid filter instead" : "\"%s\": Not an active guest", in);
		return -ENOENT;
	}
	return pids[0];
}

static enum ui_reaction ui_key_guest(struct ui *ui)
{
	static char list[16][96];
	char names[16][64], in[64], why[512];
	const char *lines[18] = { "Show statistics for specific guest or pid.", "Pid   Guest Name" };
	int pids[16], n = kvmstat_list_guests(ui->m->opt.proc_root, pids, names, 16), pid;

	for (int i = 0; i < n; i++) {
		snprintf(list[i], sizeof(list[i]), "%-5d %s", pids[i], names[i]);
		lines[2 + i] = list[i];
	}
	ui_prompt(ui, lines, 2 + (n > 0 ? n : 0), "Guest or pid [ENTER exits, 0 for all]: ", in, sizeof(in));
	if (!in[0])
		return UI_REDRAW;
	pid = ui_pick_guest(ui, in, why, sizeof(why));
	if (pid < 0) {
		ui_set_status(ui, why);
		return UI_REDRAW;
	}
	if (kvmstat_model_set_pid(ui->m, pid, why, sizeof(why)) < 0)
		ui_set_status(ui, why);
	ui->guest[0] = 0;
	if (pid)
		kvmstat_guest_name(ui->m->opt.proc_root, pid, ui->guest, sizeof(ui->guest));
	return UI_REFRESH;
}

static enum ui_reaction ui_key_delay(struct ui *ui)
{
	char cur[96], in[32], *end;
	const char *lines[] = { "Set update interval (defaults to 3.0s).", cur };
	double d;

	snprintf(cur, sizeof(cur), "Current delay: %.1fs", ui->delay);
	ui_prompt(ui, lines, 2, "Change delay to: ", in, sizeof(in));
	d = in[0] ? strtod(in, &end) : KVMSTAT_DEFAULT_DELAY;
	if (in[0] && (*end || d < 0.1 || d > 25.5))
		ui_set_status(ui, "the delay must be between 0.1 and 25.5 seconds");
	else
		ui->delay = d;
	return UI_REDRAW;
}

static enum ui_reaction ui_key_help(struct ui *ui);

static enum ui_reaction ui_key_guests(struct ui *ui)
{
	bool split = false;

	for (size_t i = 0; i < ui->m->cur.n; i++)
		split |= ui->m->cur.v[i].pid > 0;
	if (!split && ui->m->view != KVMSTAT_VIEW_GUESTS) {
		ui_set_status(ui, "by-guest view: these sources do not split by VM (use -d or --qmp, or -p PID)");
		return UI_REDRAW;
	}
	kvmstat_model_set_view(ui->m, ui->m->view == KVMSTAT_VIEW_GUESTS ? KVMSTAT_VIEW_EVENTS : KVMSTAT_VIEW_GUESTS);
	return UI_REDRAW;
}

static enum ui_reaction ui_key_vcpus(struct ui *ui)
{
	char why[512];

	if (!ui->m->dopt.per_vcpu) {
		ui->m->dopt.per_vcpu = true;
		if (kvmstat_model_set_pid(ui->m, ui->m->opt.pid, why, sizeof(why)) < 0)
			ui_set_status(ui, why);
	}
	kvmstat_model_set_view(ui->m, ui->m->view == KVMSTAT_VIEW_VCPUS ? KVMSTAT_VIEW_EVENTS : KVMSTAT_VIEW_VCPUS);
	if (ui->m->view == KVMSTAT_VIEW_VCPUS && !ui->m->opt.pid && !ui->m->opt.qmp)
		ui_set_status(ui, "per-vCPU view: tracepoints need a pid (p); debugfs and QMP split by vCPU");
	return UI_REFRESH;
}

static enum ui_reaction ui_key_clear(struct ui *ui)
{
	char why[512];

	ui->m->opt.pid = ui->m->dopt.pid = 0;
	ui->guest[0] = 0;
	if (kvmstat_model_set_filter(ui->m, NULL, why, sizeof(why)) < 0)
		ui_set_status(ui, why);
	return UI_REFRESH;
}

static enum ui_reaction ui_key_sort(struct ui *ui)
{
	ui->m->sort = ui->m->sort == KVMSTAT_SORT_RATE ? KVMSTAT_SORT_TOTAL : KVMSTAT_SORT_RATE;
	ui_set_status(ui, ui->m->sort == KVMSTAT_SORT_RATE ? "sorted by CurAvg/s" : "sorted by Total");
	return UI_REDRAW;
}

static enum ui_reaction ui_key_reset(struct ui *ui)
{
	kvmstat_model_reset(ui->m);
	ui_set_status(ui, "counters reset");
	return UI_REDRAW;
}

static enum ui_reaction ui_key_drill(struct ui *ui)
{
	char why[512];

	if (kvmstat_model_set_drilldown(ui->m, !ui->m->dopt.drilldown, why, sizeof(why)) < 0)
		ui_set_status(ui, why);
	else
		ui_set_status(ui, ui->m->dopt.drilldown ? "drilldown on" : "drilldown off");
	return UI_REFRESH;
}

static enum ui_reaction ui_key_quit(struct ui *ui)
{
	return UI_QUIT;
}

static const struct ui_key ui_keys[] = {
	{ 'b', "toggle the per-guest view", ui_key_guests },
	{ 'c', "clear the regex and pid filters", ui_key_clear },
	{ 'f', "filter events by a regex", ui_key_filter },
	{ 'g', "filter by guest name or pid", ui_key_guest },
	{ 'h', "this help", ui_key_help },
	{ 'o', "toggle sorting by CurAvg/s or Total", ui_key_sort },
	{ 'p', "filter by guest name or pid", ui_key_guest },
	{ 'q', "quit", ui_key_quit },
	{ 'r', "reset the counters", ui_key_reset },
	{ 's', "set the update interval", ui_key_delay },
	{ 'v', "toggle the per-vCPU view", ui_key_vcpus },
	{ 'x', "toggle per-exit-reason children (drilldown)", ui_key_drill },
};

static enum ui_reaction ui_key_help(struct ui *ui)
{
	erase();
	attron(ui_attr(ui, UI_C_HEADER));
	mvprintw(0, 0, "Interactive commands reference");
	attroff(ui_attr(ui, UI_C_HEADER));
	for (size_t i = 0; i < sizeof(ui_keys) / sizeof(ui_keys[0]); i++)
		mvprintw(2 + (int)i, 2, "%c     %s", ui_keys[i].key, ui_keys[i].help);
	mvprintw(3 + (int)(sizeof(ui_keys) / sizeof(ui_keys[0])), 2, "any other key refreshes");
	mvprintw(5 + (int)(sizeof(ui_keys) / sizeof(ui_keys[0])), 0, "Press any key to exit");
	refresh();
	timeout(-1);
	getch();
	return UI_REDRAW;
}

static enum ui_reaction ui_dispatch(struct ui *ui, int key)
{
	if (key == KEY_RESIZE)
		return UI_REDRAW;
	for (size_t i = 0; i < sizeof(ui_keys) / sizeof(ui_keys[0]); i++)
		if (ui_keys[i].key == key)
			return ui_keys[i].fn(ui);
	return UI_REFRESH;
}

static void ui_refresh_model(struct ui *ui)
{
	kvmstat_model_refresh(ui->m, kvmstat_now());
	ui->next = kvmstat_now() + ui->delay;
}

int kvmstat_ui_run(struct kvmstat_model *m)
{
	struct ui ui = { .m = m, .delay = m->opt.delay };
	const char *lang;

	setlocale(LC_ALL, "");
	lang = setlocale(LC_CTYPE, NULL);
	ui.utf8 = lang && (strstr(lang, "UTF-8") || strstr(lang, "utf8"));
	if (!initscr())
		return 1;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	ui_colors(&ui);
	m->on_notice = ui_notice;
	m->notice_opaque = &ui;
	snprintf(ui.status, sizeof(ui.status), "reading %s%s%s", m->src_names, m->notice[0] ? "; " : "", m->notice);
	if (m->opt.pid)
		kvmstat_guest_name(m->opt.proc_root, m->opt.pid, ui.guest, sizeof(ui.guest));
	ui_refresh_model(&ui);
	ui.next = kvmstat_now() + 0.25;	/* the first interval is short, as in kvm_stat */
	for (;;) {
		ui_draw(&ui);
		int wait = (int)((ui.next - kvmstat_now()) * 1000);
		timeout(wait > 0 ? wait : 0);
		int key = getch();
		enum ui_reaction r = key == ERR ? UI_REFRESH : ui_dispatch(&ui, key);

		if (r & UI_QUIT)
			break;
		if (r & UI_REFRESH || kvmstat_now() >= ui.next)
			ui_refresh_model(&ui);
	}
	endwin();
	return 0;
}
