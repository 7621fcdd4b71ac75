# Exercises the Debian busybox-static applets. Run as: /bin/busybox sh busybox_tools.sh
# Output must be deterministic: the harness compares it byte for byte with a
# native run. Everything happens inside a fresh mktemp -d under /tmp.
set -eu

BB=/bin/busybox
WORK=$($BB mktemp -d /tmp/rvt-bb.XXXXXX)
trap '$BB rm -rf "$WORK"' EXIT
cd "$WORK"

# Every tool below is busybox itself, reached through argv[0] symlinks.
$BB mkdir bin
for applet in sh ls cat grep sed awk find sort wc head tail cp mv rm ln tar gzip \
    gunzip zcat xargs seq env id date sleep mkdir echo printf tr cut uniq md5sum \
    basename dirname test true false expr chmod stat touch; do
    $BB ln -s "$BB" "bin/$applet"
done
PATH="$WORK/bin"
export PATH

echo "== seq/wc/head/tail"
seq 1 100 > nums
wc -l < nums
head -n 3 nums
tail -n 2 nums
seq 5 -2 1 | tr '\n' ' '
echo

echo "== cat/grep/sed/awk"
printf 'alpha 3\nbeta 1\ngamma 2\ndelta 10\n' > words
cat words | grep -c a
grep -n 'mm' words
grep -v a words || echo "no lines without a"
sed -e 's/a/A/g' -e '/beta/d' words
sed -n '2,3p' words
awk '{ sum += $2 } END { print "sum", sum, "rows", NR }' words
awk -F' ' '$2 > 2 { printf "%s=%d\n", $1, $2 * 2 }' words

echo "== sort/uniq/cut"
sort words
sort -k2 -n words
sort -r words | head -n 1
printf 'b\na\nb\nc\na\n' | sort | uniq -c
cut -d' ' -f1 words | tr 'a-z' 'A-Z'

echo "== files: cp/mv/rm/ln/ls/find"
mkdir -p tree/sub/deeper
echo one > tree/one.txt
echo two > tree/sub/two.txt
echo three > tree/sub/deeper/three.log
cp tree/one.txt tree/copy.txt
mv tree/copy.txt tree/moved.txt
ln -s one.txt tree/link.txt
ln tree/one.txt tree/hard.txt
ls tree
ls -1 tree/sub
cat tree/link.txt
find tree -type f | sort
find tree -name '*.log'
find tree -type l
rm tree/moved.txt
test -e tree/moved.txt || echo "moved.txt removed"
chmod 640 tree/one.txt
stat -c '%a %h %s %n' tree/one.txt

echo "== tar/gzip"
tar -cf tree.tar tree
gzip -9 tree.tar
test -f tree.tar.gz && echo "gzip made tree.tar.gz"
mkdir unpacked
gunzip -c tree.tar.gz | tar -xf - -C unpacked
find unpacked | sort
cat unpacked/tree/sub/deeper/three.log
echo "hello gzip" | gzip | zcat
md5sum tree/sub/two.txt | cut -d' ' -f1
cmp_out=$(cat unpacked/tree/one.txt)
echo "roundtrip: $cmp_out"

echo "== xargs/env/id/date/expr"
seq 1 6 | xargs -n 2 echo
printf 'x\ny\n' | xargs -I{} echo "item {}"
env -i FOO=bar sh -c 'echo "FOO=$FOO"'
env FOO=baz env | grep '^FOO='
id -u
id -g
date -u -d @0 '+%Y-%m-%d %H:%M:%S %Z'
date -u -d @1000000000 '+%s %A'
expr 6 \* 7
basename /a/b/c.txt .txt
dirname /a/b/c.txt

echo "== sh features"
count=0
for i in $(seq 1 10); do count=$((count + i)); done
echo "count=$count"
f() { echo "f got $# args: $*"; return 3; }
f a b c || echo "f returned $?"
sh -c 'exit 7' || echo "child exit $?"
out=$(echo nested | sed 's/n/N/')
echo "$out"
case "$out" in Ne*) echo "case matched" ;; *) echo "no match" ;; esac
sleep 0.1
sleep 0 && echo "slept"
true && echo "true ok"
false || echo "false ok"
echo "done"
