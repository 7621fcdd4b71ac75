# Runs procps and busybox process tools against /proc and /sys. Run as:
# /bin/bash bash_proc_tools.sh
# Output must be deterministic: the harness compares it byte for byte with a
# native run, so every check prints a fixed word, never a pid or a size.
set -u

sleep 30 &
JOB=$!
# ps must see the job once it has exec'd sleep and gone to sleep (S: it
# waits in the kernel, or in the sentry under rvisor).
for _ in $(seq 1 50); do
    [ "$(ps -o comm=,stat= -p "$JOB" 2>/dev/null | tr -s ' ' | cut -c1-7)" = "sleep S" ] && break
    sleep 0.1
done

echo "== ps"
[ "$(ps -o comm= -p "$JOB")" = sleep ] && echo "ps comm ok"
[ "$(ps -o ppid= -p "$JOB" | tr -d ' ')" = "$$" ] && echo "ps ppid ok"
[ "$(ps -o stat= -p "$JOB" | cut -c1)" = S ] && echo "ps state ok"
[ "$(ps -o stat= -p $$ | cut -c1)" = S ] && echo "ps shell state ok"
ps -ef | awk -v p="$JOB" '$2 == p && $3 == ppid { print "ps -ef ok" }' ppid="$$"
ps aux | awk -v p="$JOB" '$2 == p { print "ps aux ok", $11 }'
ps -eo pid,comm | grep -c "^ *$JOB sleep\$"
ps -o pid= -p $$ >/dev/null && echo "ps self ok"
busybox ps | awk -v p="$JOB" '$1 == p { print "busybox ps ok" }'
ps -o args= -p "$JOB"

echo "== pgrep"
[ "$(pgrep -x sleep -P $$)" = "$JOB" ] && echo "pgrep ok"
[ "$(pgrep -f 'sleep 30' -P $$)" = "$JOB" ] && echo "pgrep -f ok"
pgrep -x nosuchproc; echo "pgrep none: $?"

echo "== /proc files"
test -r /proc/self/smaps && echo smaps
grep -c '^Rss:' /proc/self/smaps_rollup
grep -q '^Size:' /proc/self/smaps && echo "smaps size"
grep -q '^Pss:' /proc/self/smaps && echo "smaps pss"
cat /proc/self/loginuid; echo
cut -d' ' -f3 /proc/$JOB/stat
grep '^State:' /proc/$JOB/status
awk '{ print NF }' /proc/$JOB/statm
grep -c '^Max open files' /proc/self/limits
[ -d /proc/$JOB/task/$JOB ] && echo "task dir"
[ "$(cat /proc/$JOB/task/$JOB/comm)" = sleep ] && echo "task comm"
grep -c ' / ' /proc/self/mountinfo | awk '{ print ($1 > 0) ? "mountinfo" : "no mountinfo" }'
cat /proc/self/oom_score_adj
grep -q . /proc/self/cgroup && echo cgroup
grep -c '^cpu ' /proc/stat
awk '{ print NF }' /proc/loadavg
grep -c 'proc$' /proc/filesystems
grep -c '^MemTotal:' /proc/meminfo
awk '{ print NF }' /proc/uptime
[ -n "$(cat /proc/sys/kernel/hostname)" ] && echo hostname
[ "$(cat /proc/sys/kernel/osrelease)" = "$(uname -r)" ] && echo osrelease
[ "$(cat /proc/sys/kernel/pid_max)" -gt 1000 ] && echo pid_max
a=$(cat /proc/sys/kernel/random/uuid)
b=$(cat /proc/sys/kernel/random/uuid)
[ "$a" != "$b" ] && [ ${#a} = 36 ] && echo "uuid fresh"
a=$(cat /proc/sys/kernel/random/boot_id)
b=$(cat /proc/sys/kernel/random/boot_id)
[ "$a" = "$b" ] && [ ${#a} = 36 ] && echo "boot_id fixed"
grep -c '^[0-2]$' /proc/sys/vm/overcommit_memory
[ "$(cat /proc/sys/fs/file-max)" -gt 0 ] && echo file-max
grep -c '^0' /sys/devices/system/cpu/online
grep -c '^0' /sys/devices/system/cpu/possible

echo "== free, uptime, top"
free | head -1 | awk '{ print $1, $2 }'
free | awk '$1 == "Mem:" && $2 > 0 { print "free mem ok" }'
uptime | grep -c load
top -bn1 | head -1 | grep -c top
top -bn1 | grep -c '^Tasks:'
top -bn1 -p "$JOB" | awk -v p="$JOB" '$1 == p { print "top job", $NF }'

echo "== pkill"
pkill -x sleep -P $$; echo "pkill: $?"
wait "$JOB"; echo "wait: $?"
pgrep -x sleep -P $$; echo "pgrep after: $?"
