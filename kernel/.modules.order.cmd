savedcmd_/work/main/kernel/modules.order := {   echo /work/main/kernel/load_monitor.o; :; } > /work/main/kernel/modules.order
