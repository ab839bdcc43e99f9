#include <linux/module.h>
#include <linux/export-internal.h>
#include <linux/compiler.h>

MODULE_INFO(name, KBUILD_MODNAME);

__visible struct module __this_module
__section(".gnu.linkonce.this_module") = {
	.name = KBUILD_MODNAME,
	.init = init_module,
#ifdef CONFIG_MODULE_UNLOAD
	.exit = cleanup_module,
#endif
	.arch = MODULE_ARCH_INIT,
};



static const struct modversion_info ____versions[]
__used __section("__versions") = {
	{ 0xc60d0620, "__num_online_cpus" },
	{ 0x8d522714, "__rcu_read_lock" },
	{ 0xd2450a5e, "init_task" },
	{ 0x2644e51c, "__get_task_comm" },
	{ 0x65487097, "__x86_indirect_thunk_rax" },
	{ 0x2469810f, "__rcu_read_unlock" },
	{ 0x4dfa8d4b, "mutex_lock" },
	{ 0x3213f038, "mutex_unlock" },
	{ 0xf5edea2e, "___ratelimit" },
	{ 0x661601de, "sprint_symbol" },
	{ 0xa12d2260, "kmalloc_caches" },
	{ 0xc25f21b, "__kmalloc_cache_noprof" },
	{ 0x31f2a14c, "__kvmalloc_node_noprof" },
	{ 0x7aa1756e, "kvfree" },
	{ 0x37a0cba, "kfree" },
	{ 0x135bb7ec, "hrtimer_forward" },
	{ 0xd4c14632, "system_unbound_wq" },
	{ 0xc5b6f236, "queue_work_on" },
	{ 0x2529ebe1, "seq_printf" },
	{ 0x7abf3182, "seq_putc" },
	{ 0x4950f8ea, "stack_trace_save_tsk" },
	{ 0x52c5c991, "__kmalloc_noprof" },
	{ 0xdc679947, "proc_create" },
	{ 0xea82d349, "hrtimer_init" },
	{ 0xc0b7c197, "hrtimer_start_range_ns" },
	{ 0x102fe6de, "hrtimer_cancel" },
	{ 0x3c12dfe, "cancel_work_sync" },
	{ 0xca25e87b, "proc_remove" },
	{ 0xf99f317e, "seq_read" },
	{ 0x993ee334, "seq_lseek" },
	{ 0x768bc98e, "single_release" },
	{ 0x266d7b2d, "param_ops_bool" },
	{ 0xbdfb6dbb, "__fentry__" },
	{ 0x5b8239ca, "__x86_return_thunk" },
	{ 0x96848186, "scnprintf" },
	{ 0x3b6c41ea, "kstrtouint" },
	{ 0xf0fdf6cb, "__stack_chk_fail" },
	{ 0x581a7cd, "single_open" },
	{ 0x3f66a26e, "register_kprobe" },
	{ 0xbb10e61d, "unregister_kprobe" },
	{ 0x4531ab62, "copy_from_kernel_nofault" },
	{ 0x122c3a7e, "_printk" },
	{ 0xb43f9365, "ktime_get" },
	{ 0xc4f0da12, "ktime_get_with_offset" },
	{ 0xf1e98c74, "avenrun" },
	{ 0x5002fa32, "module_layout" },
};

MODULE_INFO(depends, "");

