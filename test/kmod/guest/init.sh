#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the load_monitor test guest (busybox-static initramfs).
# Everything the host needs is printed on the serial console:
#   @@LM BEGIN <name>@@ ... @@LM END <name>@@   a captured file
#   @@LM PASS <check>  /  @@LM FAIL <check>: <why>
#   @@LM DONE@@                                  the scenario finished

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp

KO=/lm/load_monitor.ko
PARAMS=/sys/module/load_monitor/parameters
PROCF=/proc/load_monitor
NVFORK=40
NTHREADS=2000

pass() { echo "@@LM PASS $*"; }
fail() { echo "@@LM FAIL $*"; }
check() {
	_d=$1
	shift
	if "$@"; then pass "$_d"; else fail "$_d"; fi
}
section() {
	echo "@@LM BEGIN $1@@"
	cat "$2"
	echo "@@LM END $1@@"
}
info() { echo "@@LM INFO $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
nsnaps() { grep -c '^snapshot ' "$PROCF" 2>/dev/null; }
loaded() { grep -q '^load_monitor ' /proc/modules; }

# wait_snaps N TIMEOUT: until /proc/load_monitor holds >= N snapshots
wait_snaps() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		[ "$(nsnaps)" -ge "$1" ] && return 0
		sleep 1
		_i=$((_i + 1))
	done
	return 1
}

# the tids of idle kernel threads (state I = TASK_IDLE) right now
idle_tids() {
	for f in /proc/[0-9]*/task/[0-9]*/stat; do
		read -r s 2>/dev/null <"$f" || continue	# a builtin: no fork
		case "${s##*) }" in
		I*) t=${f%/stat}; echo "${t##*/}" ;;
		esac
	done
}

echo
info "kernel $(uname -r) cpus $(grep -c ^processor /proc/cpuinfo)"

# ---- 1. invalid parameters must make insmod fail -------------------------
for bad in threshold=abc threshold=1.234 threshold=-1 interval_ms=0 \
	   interval_ms=10001 cooldown_s=86401 depth=1000 depth=0 last_seq=5 \
	   max_tasks=0 max_tasks=65537 keep=0 keep=65 printk=2; do
	if insmod "$KO" "$bad" 2>/dev/null; then
		fail "insmod $bad: accepted"
		rmmod load_monitor
	else
		pass "insmod $bad rejected"
	fi
done

# ---- 2. kprobe resolution path, header-only file before any capture -----
if insmod "$KO" force_kprobe=1 threshold=100000; then
	pass "insmod force_kprobe=1"
	cat "$PROCF" >/tmp/empty.txt
	section load_monitor-empty /tmp/empty.txt
	check "header-only file before a capture" \
		[ "$(cat /tmp/empty.txt)" = "load_monitor 1" ]
	check "rmmod after force_kprobe" rmmod load_monitor
else
	fail "insmod force_kprobe=1: $(dmesg | grep load_monitor | tail -1)"
fi
dmesg | grep 'load_monitor: stack_trace_save_tsk' | tail -2 >/tmp/resolve.txt
section resolve /tmp/resolve.txt

# ---- 3. the load -------------------------------------------------------
: >/tmp/fixtures.txt
i=0
while [ $i -lt $NVFORK ]; do
	/lm/lm-fixture vfork 600 >>/tmp/fixtures.txt &
	i=$((i + 1))
done
/lm/lm-fixture vfork 600 'x) R (y z' >>/tmp/fixtures.txt &
/lm/lm-fixture vfork 600 "$(printf 'b\\s p\t\303\251')" >>/tmp/fixtures.txt &
/lm/lm-fixture thread-vfork 600 >>/tmp/fixtures.txt &
/lm/lm-fixture busy >>/tmp/fixtures.txt &
/lm/lm-fixture busy >>/tmp/fixtures.txt &
/lm/lm-fixture threads $NTHREADS >>/tmp/fixtures.txt &
i=0
while [ "$(grep -c . /tmp/fixtures.txt)" -lt $((NVFORK + 6)) ] && [ $i -lt 60 ]; do
	sleep 1
	i=$((i + 1))
done
section fixtures /tmp/fixtures.txt
info "fixtures up at $(uptime_s)s: $(grep -c . /tmp/fixtures.txt) lines, load $(cat /proc/loadavg)"

# ---- 4. main capture run: threshold 1, cooldown 3 s ----------------------
idle_tids >/tmp/idle-before.txt
if insmod "$KO" threshold=1 interval_ms=10 cooldown_s=3 depth=20 \
	max_tasks=512 keep=4; then
	pass "insmod threshold=1 interval_ms=10 cooldown_s=3"
else
	fail "insmod main: $(dmesg | tail -1)"
fi
check "/proc/load_monitor mode 0400" \
	[ "$(stat -c %a $PROCF)" = 400 ]
check "3 captures within 60 s" wait_snaps 3 60
info "load $(cat /proc/loadavg) at $(uptime_s)s"

# run-time parameter writes
check "write threshold=1.5" sh -c "echo 1.5 > $PARAMS/threshold"
check "read threshold 1.50" [ "$(cat $PARAMS/threshold)" = 1.50 ]
check "write threshold=abc rejected" \
	sh -c "! echo abc > $PARAMS/threshold 2>/dev/null"
check "threshold unchanged after bad write" \
	[ "$(cat $PARAMS/threshold)" = 1.50 ]
check "write interval_ms=0 rejected" \
	sh -c "! echo 0 > $PARAMS/interval_ms 2>/dev/null"
check "write interval_ms=20" sh -c "echo 20 > $PARAMS/interval_ms"
check "read interval_ms 20" [ "$(cat $PARAMS/interval_ms)" = 20 ]
check "write cooldown_s=-1 rejected" \
	sh -c "! echo -1 > $PARAMS/cooldown_s 2>/dev/null"
check "write printk=2 rejected" \
	sh -c "! echo 2 > $PARAMS/printk 2>/dev/null"
check "depth is read-only (0444)" \
	[ "$(stat -c %a $PARAMS/depth)" = 444 ]
check "max_tasks is read-only (0444)" \
	[ "$(stat -c %a $PARAMS/max_tasks)" = 444 ]
check "write printk=1" sh -c "echo 1 > $PARAMS/printk"
check "write threshold=1" sh -c "echo 1 > $PARAMS/threshold"
check "4 captures within 30 s" wait_snaps 4 30
sleep 4
cat "$PROCF" >/tmp/main.txt
idle_tids >/tmp/idle-after.txt
section load_monitor-main /tmp/main.txt
cat /tmp/idle-before.txt /tmp/idle-after.txt | sort -n | uniq >/tmp/idle.txt
section idle-tids /tmp/idle.txt
check "printk=1 logs the seed layout" \
	sh -c "dmesg | grep -q 'load_monitor: dump uninterrupted task.'"
# small read() calls must give the same text as one big read
echo 100000 >$PARAMS/threshold
sleep 1
cat "$PROCF" >/tmp/big.txt
dd if="$PROCF" of=/tmp/small.txt bs=37 2>/dev/null
check "reads of 37 bytes give the same text" cmp -s /tmp/big.txt /tmp/small.txt
check "last_seq is the newest snapshot's seq" \
	[ "$(cat $PARAMS/last_seq)" = "$(grep '^end seq=' /tmp/big.txt | tail -1 | cut -d= -f2)" ]
check "last_seq is read-only (0444)" [ "$(stat -c %a $PARAMS/last_seq)" = 444 ]
check "printk=1 logs the seed banner (30 '!')" \
	sh -c "dmesg | grep -q 'load_monitor: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\$'"
check "the walking worker does not capture itself" \
	sh -c "! grep -q '^frame lm_capture' /tmp/big.txt"
check "rmmod main" rmmod load_monitor
check "/proc/load_monitor gone after rmmod" [ ! -e "$PROCF" ]

# ---- 4b. loadmon: watch leaves the parameters kmod load set ---------------
# `watch` used to write its defaults (threshold 3, interval 10 ms, cooldown
# 20 s) into the module, undoing `kmod load`; it must write only what was typed.
lm() { LD_LIBRARY_PATH=/lm/lib /lm/node /lm/loadmon/dist/cli/main.js "$@"; }
# bounded: a watch that never sees a capture is killed (busybox timeout runs programs, not functions)
lm_bounded() { timeout 240 env LD_LIBRARY_PATH=/lm/lib /lm/node /lm/loadmon/dist/cli/main.js "$@"; }
params() { echo "$(cat $PARAMS/threshold) $(cat $PARAMS/interval_ms) $(cat $PARAMS/cooldown_s)"; }
if [ -x /lm/node ] && [ -f /lm/loadmon/dist/cli/main.js ]; then
	info "loadmon in the guest at $(uptime_s)s (each node start takes seconds under TCG)"
	if lm kmod load --ko "$KO" --threshold 1.5 --interval 20ms --cooldown 1s >/tmp/lm-load.txt 2>&1; then
		pass "loadmon kmod load --threshold 1.5 --interval 20ms --cooldown 1s"
	else
		fail "loadmon kmod load: $(tail -1 /tmp/lm-load.txt)"
	fi
	check "kmod load set threshold 1.50 interval_ms 20 cooldown_s 1" \
		[ "$(params)" = "1.50 20 1" ]
	lm_bounded watch --source kmod --count 1 --json >/tmp/lm-watch.json 2>/tmp/lm-watch.err
	section loadmon-watch /tmp/lm-watch.json
	section loadmon-watch-stderr /tmp/lm-watch.err
	check "loadmon watch --source kmod reported a module capture" \
		grep -Eq '"source": ?"kmod"' /tmp/lm-watch.json
	info "parameters after watch: $(params)"
	check "watch without options keeps threshold 1.50 interval_ms 20 cooldown_s 1" \
		[ "$(params)" = "1.50 20 1" ]
	lm_bounded watch --source kmod --threshold 1.25 --count 1 --quiet \
		>/dev/null 2>/tmp/lm-watch2.err
	info "parameters after watch --threshold 1.25: $(params)"
	check "watch --threshold 1.25 writes only the threshold" \
		[ "$(params)" = "1.25 20 1" ]
else
	fail "loadmon kmod load + watch: no node or dist/ in the guest (npm run build on the host)"
fi
loaded && rmmod load_monitor

# ---- 4c. the native waiter (watch/record's trigger) on this kernel --------
# loadmon-wait wakes loadmon once per load-average update and waits for PSI
# events; it must work on every kernel loadmon supports. A busy loop makes
# the averages change at each update (an idle guest's stay at 0.00).
WAITER=/lm/loadmon/dist/native/loadmon-wait
if [ -x "$WAITER" ]; then
	(while :; do :; done) &
	busy=$!
	(echo "psi t1 cpu some 150000 2000000"; sleep 14; echo quit) |
		timeout 40 env LD_LIBRARY_PATH=/lm/lib "$WAITER" >/tmp/lm-wait.txt 2>&1
	kill "$busy"
	section loadmon-wait /tmp/lm-wait.txt
	check "loadmon-wait starts (ready 1)" grep -q '^ready 1$' /tmp/lm-wait.txt
	check "loadmon-wait reports a load-average update within 14 s" \
		grep -Eq '^load [0-9]+[.][0-9]+ [0-9]+[.][0-9]+ [0-9]+[.][0-9]+ [0-9]+[.][0-9]+$' /tmp/lm-wait.txt
	if [ -e /proc/pressure/cpu ]; then
		info "PSI: /proc/pressure present"
		check "loadmon-wait arms a PSI trigger" grep -q '^ok psi t1$' /tmp/lm-wait.txt
	else
		info "PSI: no /proc/pressure (CONFIG_PSI off, or psi=0 / default-disabled without psi=1)"
		check "loadmon-wait refuses a PSI trigger without /proc/pressure, saying why" \
			grep -q '^err psi t1 ' /tmp/lm-wait.txt
	fi
else
	fail "loadmon-wait: no dist/native/loadmon-wait in the guest (npm run build on the host)"
fi

# ---- 5. small max_tasks: dropped > 0 ----------------------------------
if insmod "$KO" threshold=1 cooldown_s=1 max_tasks=5 keep=2; then
	pass "insmod max_tasks=5 keep=2"
	check "capture with max_tasks=5" wait_snaps 2 30
	cat "$PROCF" >/tmp/max.txt
	section load_monitor-maxtasks /tmp/max.txt
	check "keep=2 keeps 2 snapshots" [ "$(grep -c '^snapshot ' /tmp/max.txt)" = 2 ]
	check "rmmod max_tasks" rmmod load_monitor
else
	fail "insmod max_tasks=5"
fi

# ---- 6. benchmark: module walk vs procfs scan (same guest, same load) -----
if insmod "$KO" threshold=0 cooldown_s=1 keep=8; then
	wait_snaps 6 40
	cat "$PROCF" >/tmp/bench-lm.txt
	rmmod load_monitor
fi
grep '^snapshot ' /tmp/bench-lm.txt >/tmp/bench.txt
/lm/lm-procscan 6 >>/tmp/bench.txt
section bench /tmp/bench.txt

# ---- 7. unload while captures are in flight ------------------------------
for round in 1 2 3; do
	if ! insmod "$KO" threshold=0 cooldown_s=0 interval_ms=1 printk=$((round == 3)); then
		fail "insmod stress round $round"
		continue
	fi
	(while loaded; do cat "$PROCF" >/dev/null 2>&1; done) &
	reader=$!
	sleep 2
	n=$(grep -c '^snapshot ' "$PROCF")
	check "stress round $round: a read shows <= keep snapshots ($n)" \
		[ "$n" -ge 1 -a "$n" -le 4 ]
	check "stress round $round: rmmod during captures" \
		rmmod load_monitor
	wait $reader
done
check "module gone" sh -c "! loaded"

# ---- 8. kernel log ------------------------------------------------------
dmesg >/tmp/dmesg.txt
section dmesg /tmp/dmesg.txt
if grep -E 'BUG:|WARNING:|Oops|rcu_sched self-detected|rcu: INFO|stall|soft lockup|hard LOCKUP|scheduling while atomic|blocked for more than|Call Trace' /tmp/dmesg.txt >/tmp/bad.txt; then
	fail "dmesg clean: $(head -1 /tmp/bad.txt)"
else
	pass "dmesg clean"
fi

echo "@@LM DONE@@"
sync
poweroff -f
