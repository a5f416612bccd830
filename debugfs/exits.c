/* SPDX-License-Identifier: MIT */
/* Built-in exit-reason tables: the fallback when the running kernel's kvm_exit format has no
 * __print_symbolic table (names as the kernel prints them; taken from a 6.18 kernel's format). */
#include <stdio.h>
#include <string.h>

#include "debugfs/debugfs.h"

static struct dbgfs_symbol exits_vmx[] = {
	{ 0, "EXCEPTION_NMI" }, { 1, "EXTERNAL_INTERRUPT" }, { 2, "TRIPLE_FAULT" }, { 3, "INIT_SIGNAL" },
	{ 4, "SIPI_SIGNAL" }, { 7, "INTERRUPT_WINDOW" }, { 8, "NMI_WINDOW" }, { 9, "TASK_SWITCH" },
	{ 10, "CPUID" }, { 12, "HLT" }, { 13, "INVD" }, { 14, "INVLPG" }, { 15, "RDPMC" },
	{ 16, "RDTSC" }, { 18, "VMCALL" }, { 19, "VMCLEAR" }, { 20, "VMLAUNCH" }, { 21, "VMPTRLD" },
	{ 22, "VMPTRST" }, { 23, "VMREAD" }, { 24, "VMRESUME" }, { 25, "VMWRITE" }, { 26, "VMOFF" },
	{ 27, "VMON" }, { 28, "CR_ACCESS" }, { 29, "DR_ACCESS" }, { 30, "IO_INSTRUCTION" },
	{ 31, "MSR_READ" }, { 32, "MSR_WRITE" }, { 33, "INVALID_STATE" }, { 34, "MSR_LOAD_FAIL" },
	{ 36, "MWAIT_INSTRUCTION" }, { 37, "MONITOR_TRAP_FLAG" }, { 39, "MONITOR_INSTRUCTION" },
	{ 40, "PAUSE_INSTRUCTION" }, { 41, "MCE_DURING_VMENTRY" }, { 43, "TPR_BELOW_THRESHOLD" },
	{ 44, "APIC_ACCESS" }, { 45, "EOI_INDUCED" }, { 46, "GDTR_IDTR" }, { 47, "LDTR_TR" },
	{ 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" }, { 50, "INVEPT" }, { 51, "RDTSCP" },
	{ 52, "PREEMPTION_TIMER" }, { 53, "INVVPID" }, { 54, "WBINVD" }, { 55, "XSETBV" },
	{ 56, "APIC_WRITE" }, { 57, "RDRAND" }, { 58, "INVPCID" }, { 59, "VMFUNC" }, { 60, "ENCLS" },
	{ 61, "RDSEED" }, { 62, "PML_FULL" }, { 63, "XSAVES" }, { 64, "XRSTORS" }, { 67, "UMWAIT" },
	{ 68, "TPAUSE" }, { 74, "BUS_LOCK" }, { 75, "NOTIFY" }, { 77, "TDCALL" }, { 84, "MSR_READ_IMM" },
	{ 85, "MSR_WRITE_IMM" },
};

static struct dbgfs_symbol exits_svm[] = {
	{ 0, "read_cr0" }, { 2, "read_cr2" }, { 3, "read_cr3" }, { 4, "read_cr4" }, { 8, "read_cr8" },
	{ 16, "write_cr0" }, { 18, "write_cr2" }, { 19, "write_cr3" }, { 20, "write_cr4" },
	{ 24, "write_cr8" }, { 32, "read_dr0" }, { 33, "read_dr1" }, { 34, "read_dr2" },
	{ 35, "read_dr3" }, { 36, "read_dr4" }, { 37, "read_dr5" }, { 38, "read_dr6" },
	{ 39, "read_dr7" }, { 48, "write_dr0" }, { 49, "write_dr1" }, { 50, "write_dr2" },
	{ 51, "write_dr3" }, { 52, "write_dr4" }, { 53, "write_dr5" }, { 54, "write_dr6" },
	{ 55, "write_dr7" }, { 64, "DE_excp" }, { 65, "DB_excp" }, { 67, "BP_excp" }, { 68, "OF_excp" },
	{ 69, "BR_excp" }, { 70, "UD_excp" }, { 71, "NM_excp" }, { 72, "DF_excp" }, { 74, "TS_excp" },
	{ 75, "NP_excp" }, { 76, "SS_excp" }, { 77, "GP_excp" }, { 78, "PF_excp" }, { 80, "MF_excp" },
	{ 81, "AC_excp" }, { 82, "MC_excp" }, { 83, "XF_excp" }, { 96, "interrupt" }, { 97, "nmi" },
	{ 98, "smi" }, { 99, "init" }, { 100, "vintr" }, { 101, "cr0_sel_write" }, { 102, "read_idtr" },
	{ 103, "read_gdtr" }, { 104, "read_ldtr" }, { 105, "read_rt" }, { 106, "write_idtr" },
	{ 107, "write_gdtr" }, { 108, "write_ldtr" }, { 109, "write_rt" }, { 110, "rdtsc" },
	{ 111, "rdpmc" }, { 112, "pushf" }, { 113, "popf" }, { 114, "cpuid" }, { 115, "rsm" },
	{ 116, "iret" }, { 117, "swint" }, { 118, "invd" }, { 119, "pause" }, { 120, "hlt" },
	{ 121, "invlpg" }, { 122, "invlpga" }, { 123, "io" }, { 124, "msr" }, { 125, "task_switch" },
	{ 126, "ferr_freeze" }, { 127, "shutdown" }, { 128, "vmrun" }, { 129, "hypercall" },
	{ 130, "vmload" }, { 131, "vmsave" }, { 132, "stgi" }, { 133, "clgi" }, { 134, "skinit" },
	{ 135, "rdtscp" }, { 136, "icebp" }, { 137, "wbinvd" }, { 138, "monitor" }, { 139, "mwait" },
	{ 141, "xsetbv" }, { 143, "write_efer_trap" }, { 144, "write_cr0_trap" },
	{ 148, "write_cr4_trap" }, { 152, "write_cr8_trap" }, { 162, "invpcid" }, { 165, "buslock" },
	{ 166, "idle-halt" }, { 1024, "npf" }, { 1025, "avic_incomplete_ipi" },
	{ 1026, "avic_unaccelerated_access" }, { 1027, "vmgexit" },
};

static struct dbgfs_symbol exits_userspace[] = {
	{ 0, "UNKNOWN" }, { 1, "EXCEPTION" }, { 2, "IO" }, { 3, "HYPERCALL" }, { 4, "DEBUG" },
	{ 5, "HLT" }, { 6, "MMIO" }, { 7, "IRQ_WINDOW_OPEN" }, { 8, "SHUTDOWN" }, { 9, "FAIL_ENTRY" },
	{ 10, "INTR" }, { 11, "SET_TPR" }, { 12, "TPR_ACCESS" }, { 13, "S390_SIEIC" },
	{ 14, "S390_RESET" }, { 15, "DCR" }, { 16, "NMI" }, { 17, "INTERNAL_ERROR" }, { 18, "OSI" },
	{ 19, "PAPR_HCALL" }, { 20, "S390_UCONTROL" }, { 21, "WATCHDOG" }, { 22, "S390_TSCH" },
	{ 23, "EPR" }, { 24, "SYSTEM_EVENT" }, { 25, "S390_STSI" }, { 26, "IOAPIC_EOI" },
	{ 27, "HYPERV" }, { 28, "ARM_NISV" }, { 29, "X86_RDMSR" }, { 30, "X86_WRMSR" },
	{ 31, "DIRTY_RING_FULL" }, { 32, "AP_RESET_HOLD" }, { 33, "X86_BUS_LOCK" }, { 34, "XEN" },
	{ 35, "RISCV_SBI" }, { 36, "RISCV_CSR" }, { 37, "NOTIFY" }, { 38, "LOONGARCH_IOCSR" },
	{ 39, "MEMORY_FAULT" },
};

#define EXITS_TAB(field_, arr) { field_, arr, sizeof(arr) / sizeof(arr[0]) }
static const struct dbgfs_symtab exits_tables[] = {
	[DBGFS_EXITS_VMX] = EXITS_TAB("exit_reason", exits_vmx),
	[DBGFS_EXITS_SVM] = EXITS_TAB("exit_reason", exits_svm),
	[DBGFS_EXITS_USERSPACE] = EXITS_TAB("reason", exits_userspace),
};

const struct dbgfs_symtab *dbgfs_builtin_exits(enum dbgfs_exit_table which)
{
	return &exits_tables[which];
}

bool dbgfs_cpu_is_svm(const char *cpuinfo_path)
{
	char line[256];
	bool svm = false;
	FILE *f = fopen(cpuinfo_path, "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "vendor_id", 9) == 0) {
			svm = strstr(line, "AuthenticAMD") || strstr(line, "HygonGenuine");
			break;
		}
	}
	fclose(f);
	return svm;
}
