/work/main/kernel/load_monitor.o
