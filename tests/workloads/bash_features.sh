# Exercises bash and GNU coreutils from the host. Run as: /bin/bash bash_features.sh
# Output must be deterministic: the harness compares it byte for byte with a
# native run. Everything happens inside a fresh mktemp -d under /tmp.
set -u

WORK=$(mktemp -d /tmp/rvt-bash.XXXXXX)
MAIN=$BASHPID
# A freshly forked subshell can briefly still carry this trap, so only the
# main shell may clean up.
cleanup() { if [ "$BASHPID" = "$MAIN" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT
cd "$WORK" || exit 1

echo "== pipes and redirections"
seq 1 20 | sort -rn | head -n 3 | tr '\n' ','
echo
seq 1 5 > five.txt
seq 6 8 >> five.txt
wc -l < five.txt
cat < five.txt | tail -n 2
{ echo out; echo err >&2; } 2> err.txt > out.txt
cat out.txt err.txt
ls /nonexistent-rvt-path 2>/dev/null || echo "ls failed with $?"
exec 3> fd3.txt
echo "via fd 3" >&3
exec 3>&-
cat fd3.txt
echo "appended" &>> out.txt
cat out.txt

echo "== here-docs and here-strings"
name=world
cat <<EOT
hello $name
sum: $((2 + 3))
EOT
cat <<'EOT'
literal $name
EOT
tr a-z A-Z <<< "here string"
while read -r a b; do echo "[$a|$b]"; done <<EOT
one two
three four five
EOT

echo "== subshells and command substitution"
x=outer
(x=inner; echo "in subshell: $x")
echo "after subshell: $x"
n=$(seq 1 10 | wc -l)
echo "n=$n"
nested=$(echo "$(echo "$(echo deep)")")
echo "$nested"
(cd / && pwd)
[ "$(pwd)" = "$WORK" ] && echo "cwd unchanged"
echo "$( (exit 4); echo "status $?")"

echo "== loops and conditionals"
for i in 1 2 3; do printf '%s ' "i$i"; done; echo
i=0; while [ $i -lt 3 ]; do i=$((i + 1)); done; echo "while i=$i"
until [ $i -eq 0 ]; do i=$((i - 1)); done; echo "until i=$i"
for ((j = 0; j < 3; j++)); do printf '%d' $j; done; echo
arr=(zero one two three)
echo "len=${#arr[@]} second=${arr[1]} slice=${arr[*]:2}"
declare -A map=([b]=2 [a]=1)
for k in $(printf '%s\n' "${!map[@]}" | sort); do echo "$k=${map[$k]}"; done
s="Hello, World"
echo "${s,,} ${s^^} ${#s} ${s/World/There} ${s:7}"
if [[ $s == Hello* && $s =~ W(or)ld ]]; then echo "match ${BASH_REMATCH[1]}"; fi
case $s in *World) echo "case ok" ;; esac

echo "== functions"
add() { local a=$1 b=$2; echo $((a + b)); }
echo "add: $(add 19 23)"
fact() { if [ "$1" -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }
echo "fact 10: $(fact 10)"
ret() { return "$1"; }
ret 5; echo "ret=$?"
counter=0
bump() { counter=$((counter + 1)); }
bump; bump; echo "counter=$counter"

echo "== exit codes"
true; echo "true=$?"
false; echo "false=$?"
bash -c 'exit 42'; echo "bash -c=$?"
(exit 300); echo "wrapped=$?"
false | true; echo "pipe=$?"
set -o pipefail
false | true; echo "pipefail=$?"
set +o pipefail
! false; echo "negated=$?"
{ bash -c 'kill -TERM $$'; } 2>/dev/null; echo "killed=$?"

echo "== set -e"
bash -c 'set -e; echo before; false; echo never'; echo "set -e status=$?"
bash -c 'set -e; false || echo "handled"; if false; then :; fi; echo survived'
bash -c 'set -e; f() { false; echo "in f"; }; f || echo "f failed"; echo end'

echo "== traps"
bash -c 'trap "echo exit trap ran" EXIT; echo body; exit 3'; echo "status=$?"
bash -c 'trap "echo got USR1" USR1; kill -USR1 $$; echo after signal'
bash -c 'trap "echo cleanup on TERM; exit 9" TERM; kill -TERM $$; echo not reached'; echo "status=$?"
bash -c 'trap "" INT; kill -INT $$; echo ignored INT'
bash -c 'f() { echo "err trap at $1"; }; trap "f \$LINENO" ERR; false; echo continuing'

echo "== background jobs and wait"
(sleep 0.2; echo "job A") > a.txt &
pa=$!
(echo "job B"; exit 6) > b.txt &
pb=$!
wait $pb; echo "wait B=$?"
wait $pa; echo "wait A=$?"
cat a.txt b.txt
for k in 1 2 3; do (sleep 0.0$k; echo "bg $k" > "bg$k.txt") & done
wait
cat bg1.txt bg2.txt bg3.txt
mkfifo ready
(echo up > ready; exec sleep 5) &
victim=$!
read -r state < ready
echo "job is $state"
kill $victim
wait $victim 2>/dev/null; echo "killed job=$?"

echo "== coreutils"
printf 'b,2\na,1\nc,3\na,1\n' > data.csv
sort data.csv | uniq
sort -t, -k2 -nr data.csv | head -n 1
uniq -d <(sort data.csv)
cut -d, -f2 data.csv | tr -d '\n'; echo
cut -c1 data.csv | sort -u | tr '\n' ' '; echo
wc -l -w -c < data.csv
echo $(( $(seq -s+ 1 10) ))
seq -w 8 11 | tr '\n' ' '; echo
head -c 5 data.csv; echo
tail -n +3 data.csv
mkdir -p d1/d2/d3
touch d1/f1 d1/d2/f2
ls -R d1
ls -la d1/d2 | awk '{print $1, $NF}' | tail -n +2 | grep -v '^total'
rm -r d1/d2
ls d1
cat -n data.csv | tail -n 1
echo "abc" | tr 'a-c' 'x-z'
echo "a  b   c" | tr -s ' '
printf '%05.1f|%-4s|%x\n' 3.14159 ab 255
echo "done"
