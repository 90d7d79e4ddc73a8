// SPDX-License-Identifier: GPL-2.0
/*
 * oopsd: send a kernel oops to the armed capture kernel.
 *
 * By default an oops in process context kills the task and the kernel goes on;
 * a dump is only taken with panic_on_oops=1, which also panics machines that
 * have no capture kernel. This module panics on an oops only while a capture
 * kernel is loaded (kexec_crash_loaded()), after writing a breadcrumb with the
 * oops' own registers into a page it owns. Kernel/BREADCRUMB.md describes the
 * record; its physical address is in /sys/module/oopsd/parameters/breadcrumb_phys.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/crc32.h>
#include <linux/debugfs.h>
#include <linux/elf.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kdebug.h>
#include <linux/kexec.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/panic.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#define OOPSD_BC_MAGIC		"OOPSDBRC"
#define OOPSD_BC_VERSION	1
#define OOPSD_BC_STR_LEN	64

/* The breadcrumb; layout documented in BREADCRUMB.md, checked below. */
struct oopsd_breadcrumb {
	char magic[8];
	u16 version;
	u16 size;
	u32 crc32;
	u32 event;
	s32 trapnr;
	s32 signr;
	u32 cpu;
	u64 err;
	u64 taint;
	u64 realtime_ns;
	u64 clock_ns;
	u32 oops_count;
	s32 pid;
	s32 tgid;
	u16 arch;
	u16 regs_size;
	char comm[TASK_COMM_LEN];
	char str[OOPSD_BC_STR_LEN];
	struct pt_regs regs;
};

static_assert(offsetof(struct oopsd_breadcrumb, event) == 16);
static_assert(offsetof(struct oopsd_breadcrumb, err) == 32);
static_assert(offsetof(struct oopsd_breadcrumb, oops_count) == 64);
static_assert(offsetof(struct oopsd_breadcrumb, comm) == 80);
static_assert(offsetof(struct oopsd_breadcrumb, str) == 96);
static_assert(offsetof(struct oopsd_breadcrumb, regs) == 160);
static_assert(sizeof(struct oopsd_breadcrumb) == 160 + sizeof(struct pt_regs));
static_assert(sizeof(struct oopsd_breadcrumb) <= PAGE_SIZE);
#ifdef CONFIG_X86_64
static_assert(sizeof(struct pt_regs) == 21 * 8);
static_assert(offsetof(struct pt_regs, ip) == 16 * 8);
static_assert(offsetof(struct pt_regs, sp) == 19 * 8);
#endif

static bool on_oops = true;
module_param(on_oops, bool, 0644);
MODULE_PARM_DESC(on_oops, "Enter the armed capture kernel on any kernel oops (DIE_OOPS)");

#ifdef CONFIG_X86
static bool on_gpf;
module_param(on_gpf, bool, 0644);
MODULE_PARM_DESC(on_gpf, "Enter it already at a kernel general protection fault (DIE_GPF)");

static bool on_trap;
module_param(on_trap, bool, 0644);
MODULE_PARM_DESC(on_trap, "Enter it already at a kernel-mode trap such as BUG() (DIE_TRAP)");
#endif

static bool enable_triggers;
module_param(enable_triggers, bool, 0644);
MODULE_PARM_DESC(enable_triggers, "Allow writes to debugfs oopsd/trigger (null, bug, gpf) to oops the kernel");

static struct oopsd_breadcrumb *breadcrumb;
static atomic_t breadcrumb_taken = ATOMIC_INIT(0);
static struct dentry *debug_dir;

/* Counted under the architecture's die lock, which serialises DIE_OOPS. */
static unsigned int oops_count;

static int param_set_readonly(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static int param_get_breadcrumb_phys(char *buf, const struct kernel_param *kp)
{
	phys_addr_t phys = breadcrumb ? virt_to_phys(breadcrumb) : 0;

	return sysfs_emit(buf, "0x%llx\n", (unsigned long long)phys);
}

static const struct kernel_param_ops breadcrumb_phys_ops = {
	.set = param_set_readonly,
	.get = param_get_breadcrumb_phys,
};
module_param_cb(breadcrumb_phys, &breadcrumb_phys_ops, NULL, 0444);
MODULE_PARM_DESC(breadcrumb_phys, "Physical address of the breadcrumb page (read-only)");

static const struct kernel_param_ops oops_count_ops = {
	.set = param_set_readonly,
	.get = param_get_uint,
};
module_param_cb(oops_count, &oops_count_ops, &oops_count, 0444);
MODULE_PARM_DESC(oops_count, "Kernel oopses seen since the module was loaded (read-only)");

static u64 taint_mask(void)
{
	u64 mask = 0;
	int flag;

	for (flag = 0; flag < TAINT_FLAGS_COUNT; flag++)
		if (test_taint(flag))
			mask |= BIT_ULL(flag);
	return mask;
}

/* Fill the breadcrumb once; a second CPU oopsing at the same time leaves it alone. */
static void record_breadcrumb(unsigned long event, const struct die_args *args)
{
	struct oopsd_breadcrumb *bc = breadcrumb;

	if (atomic_cmpxchg(&breadcrumb_taken, 0, 1) != 0)
		return;

	bc->event = event;
	bc->trapnr = args->trapnr;
	bc->signr = args->signr;
	bc->cpu = raw_smp_processor_id();
	bc->err = args->err;
	bc->taint = taint_mask();
	bc->realtime_ns = ktime_get_real_fast_ns();
	bc->clock_ns = local_clock();
	bc->oops_count = oops_count;
	bc->pid = task_pid_nr(current);
	bc->tgid = task_tgid_nr(current);
	bc->arch = ELF_ARCH;
	bc->regs_size = sizeof(bc->regs);
	memcpy(bc->comm, current->comm, sizeof(bc->comm));
	bc->comm[sizeof(bc->comm) - 1] = '\0';
	strscpy_pad(bc->str, args->str ? args->str : "", sizeof(bc->str));
	memcpy(&bc->regs, args->regs, sizeof(bc->regs));

	memcpy(bc->magic, OOPSD_BC_MAGIC, sizeof(bc->magic));
	bc->version = OOPSD_BC_VERSION;
	bc->size = sizeof(*bc);
	bc->crc32 = crc32_le(~0U, (const u8 *)bc + 16, sizeof(*bc) - 16) ^ ~0U;
}

static bool policy_wants(unsigned long event)
{
	switch (event) {
	case DIE_OOPS:
		return READ_ONCE(on_oops);
#ifdef CONFIG_X86
	case DIE_GPF:
		return READ_ONCE(on_gpf);
	case DIE_TRAP:
		return READ_ONCE(on_trap);
#endif
	default:
		return false;
	}
}

static int oopsd_die(struct notifier_block *nb, unsigned long event, void *data)
{
	struct die_args *args = data;

	if (!args->regs)
		return NOTIFY_DONE;
	if (event == DIE_OOPS)
		oops_count++;
	else if (user_mode(args->regs))
		return NOTIFY_DONE;
	if (!policy_wants(event) || !kexec_crash_loaded())
		return NOTIFY_DONE;

	record_breadcrumb(event, args);
	panic("oopsd: %s (die event %lu), entering the capture kernel", args->str, event);
}

static struct notifier_block oopsd_die_nb = {
	.notifier_call = oopsd_die,
};

/* Each trigger faults in this task, so the oops happens in process context. */
static noinline void trigger_null(void)
{
	int *ptr = NULL;

	OPTIMIZER_HIDE_VAR(ptr);
	pr_info("trigger: NULL pointer read\n");
	pr_info("trigger: read %d\n", READ_ONCE(*ptr));
}

static noinline void trigger_bug(void)
{
	pr_info("trigger: BUG()\n");
	BUG();
}

static noinline int trigger_gpf(void)
{
#ifdef CONFIG_X86_64
	/* Bit 63 set, bits 47..62 clear: not canonical, so the load raises #GP. */
	unsigned long *ptr = (unsigned long *)0x8000000000000000UL;

	OPTIMIZER_HIDE_VAR(ptr);
	pr_info("trigger: non-canonical address read\n");
	pr_info("trigger: read %lu\n", READ_ONCE(*ptr));
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

static ssize_t trigger_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char kind[8];
	int ret = 0;

	if (!READ_ONCE(enable_triggers))
		return -EPERM;
	if (len == 0 || len >= sizeof(kind))
		return -EINVAL;
	if (copy_from_user(kind, ubuf, len))
		return -EFAULT;
	kind[len] = '\0';
	strim(kind);

	if (!strcmp(kind, "null"))
		trigger_null();
	else if (!strcmp(kind, "bug"))
		trigger_bug();
	else if (!strcmp(kind, "gpf"))
		ret = trigger_gpf();
	else
		ret = -EINVAL;
	return ret ? ret : len;
}

static const struct file_operations trigger_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = trigger_write,
};

/*
 * Test-only: corrupt one VMCOREINFO value of the crashing kernel, as a bad
 * memory word would, to prove that the capture saves a dump anyway. Inert
 * unless enable_triggers is set and "KEY=VALUE" is written to debugfs
 * oopsd/vmcoreinfo: only then a kretprobe on crash_save_vmcoreinfo() is
 * registered. crash_save_vmcoreinfo() rebuilds the note from its saved copy at
 * the crash (appending CRASHTIME), so the value is replaced right after it
 * returns, in the note the capture kernel reads (paddr_vmcoreinfo_note()).
 */
static char corrupt_key[48];
static char corrupt_value[48];
static DEFINE_MUTEX(corrupt_lock);
static bool corrupt_armed;

/* Replace KEY's value in the ELF note at @note (header, "VMCOREINFO\0" padded, text), fixing its n_descsz. */
static void corrupt_vmcoreinfo_note(u8 *note)
{
	struct elf_note *hdr = (struct elf_note *)note;
	size_t name_bytes = ALIGN(hdr->n_namesz, 4);
	char *text = (char *)note + sizeof(*hdr) + name_bytes;
	size_t size = hdr->n_descsz, key_len = strlen(corrupt_key);
	size_t value_len = strlen(corrupt_value), room, start, end, new_size;
	char *line = text;

	if (sizeof(*hdr) + name_bytes + size > VMCOREINFO_NOTE_SIZE - sizeof(*hdr))
		return;
	room = VMCOREINFO_NOTE_SIZE - sizeof(*hdr) * 2 - name_bytes;
	while (line < text + size) {
		char *newline = memchr(line, '\n', text + size - line);

		if (!newline)
			return;
		if ((size_t)(newline - line) > key_len && !memcmp(line, corrupt_key, key_len) && line[key_len] == '=')
			break;
		line = newline + 1;
	}
	if (line >= text + size)
		return;
	start = line - text + key_len + 1;
	end = (char *)memchr(line, '\n', text + size - line) - text;
	new_size = size - (end - start) + value_len;
	if (new_size > room)
		return;
	memmove(text + start + value_len, text + end, size - end);
	memcpy(text + start, corrupt_value, value_len);
	hdr->n_descsz = new_size;
	/* The terminating empty note after the (4-byte aligned) text. */
	memset(text + ALIGN(new_size, 4), 0, sizeof(*hdr));
}

static int corrupt_after_save(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	corrupt_vmcoreinfo_note(phys_to_virt(paddr_vmcoreinfo_note()));
	return 0;
}

static struct kretprobe corrupt_probe = {
	.handler = corrupt_after_save,
	.kp.symbol_name = "crash_save_vmcoreinfo",
	.maxactive = 1,
};

static ssize_t vmcoreinfo_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char line[sizeof(corrupt_key) + sizeof(corrupt_value)];
	char *equals;
	int ret = 0;

	if (!READ_ONCE(enable_triggers))
		return -EPERM;
	if (len == 0 || len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';
	strim(line);
	equals = strchr(line, '=');
	if (!equals || equals == line || (size_t)(equals - line) >= sizeof(corrupt_key) ||
	    strlen(equals + 1) >= sizeof(corrupt_value) || strchr(equals + 1, '\n'))
		return -EINVAL;

	mutex_lock(&corrupt_lock);
	*equals = '\0';
	strscpy(corrupt_key, line, sizeof(corrupt_key));
	strscpy(corrupt_value, equals + 1, sizeof(corrupt_value));
	if (!corrupt_armed) {
		ret = register_kretprobe(&corrupt_probe);
		corrupt_armed = ret == 0;
	}
	mutex_unlock(&corrupt_lock);
	if (ret)
		return ret;
	pr_info("test: VMCOREINFO %s will read %s in the dump\n", corrupt_key, corrupt_value);
	return len;
}

static const struct file_operations vmcoreinfo_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vmcoreinfo_write,
};

static int __init oopsd_init(void)
{
	int ret;

	breadcrumb = (struct oopsd_breadcrumb *)get_zeroed_page(GFP_KERNEL);
	if (!breadcrumb)
		return -ENOMEM;

	ret = register_die_notifier(&oopsd_die_nb);
	if (ret) {
		free_page((unsigned long)breadcrumb);
		return ret;
	}

	/*
	 * The unsafe variant keeps debugfs' removal protection out of the way: a
	 * trigger never returns, and the protected variant would then block removal
	 * forever. The open file pins the module through .owner instead.
	 */
	debug_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file_unsafe("trigger", 0200, debug_dir, NULL, &trigger_fops);
	debugfs_create_file("vmcoreinfo", 0200, debug_dir, NULL, &vmcoreinfo_fops);

	pr_info("breadcrumb at 0x%llx, capture kernel %s\n",
		(unsigned long long)virt_to_phys(breadcrumb),
		kexec_crash_loaded() ? "armed" : "not armed");
	return 0;
}

static void __exit oopsd_exit(void)
{
	debugfs_remove(debug_dir);
	if (corrupt_armed)
		unregister_kretprobe(&corrupt_probe);
	unregister_die_notifier(&oopsd_die_nb);
	free_page((unsigned long)breadcrumb);
}

module_init(oopsd_init);
module_exit(oopsd_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("oopsd developers");
MODULE_DESCRIPTION("Enter the armed capture kernel on a kernel oops, leaving a breadcrumb");
