savedcmd_/work/main/kernel/load_monitor.mod := printf '%s\n'   load_monitor.o | awk '!x[$$0]++ { print("/work/main/kernel/"$$0) }' > /work/main/kernel/load_monitor.mod
