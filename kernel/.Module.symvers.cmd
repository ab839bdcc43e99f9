savedcmd_/work/main/kernel/Module.symvers :=  scripts/mod/modpost -M -m       -o /work/main/kernel/Module.symvers -T /work/main/kernel/modules.order -i Module.symvers -e 
