#!/bin/bash
# Real programs from Debian packages: gcc+make, sqlite3, perl, git.
set -e
d=$(mktemp -d)
cd "$d"
# A multi-file C program built with make -j2.
mkdir src
cat > src/add.c <<'C'
int add(int a, int b) { return a + b; }
C
cat > src/mul.c <<'C'
int mul(int a, int b) { return a * b; }
C
cat > src/main.c <<'C'
#include <stdio.h>
int add(int, int);
int mul(int, int);
int main(void) { printf("add=%d mul=%d\n", add(2, 3), mul(4, 5)); return 0; }
C
cat > Makefile <<'M'
OBJS = src/add.o src/mul.o src/main.o
prog: $(OBJS)
	gcc -o $@ $(OBJS)
%.o: %.c
	gcc -O1 -c -o $@ $<
M
make -j2 -s
./prog
# sqlite3 shell running a script.
sqlite3 t.db <<'S'
create table fruit (name text, n integer);
insert into fruit values ('apple', 3), ('pear', 5), ('fig', 7);
select name, n * 2 from fruit order by n desc;
select count(*), sum(n) from fruit;
S
# perl one-liners.
printf 'a 1\nb 2\nc 3\n' | perl -lane 'print "$F[0]:", $F[1] * 10'
perl -e 'my %h = map { $_ => length } qw(x yy zzz); print join(",", map {"$_=$h{$_}"} sort keys %h), "\n"'
# git in a tmpfs directory.
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' HOME="$d"
git init -q -b main repo
cd repo
echo hello > f.txt
git add f.txt
git commit -q -m first
echo more >> f.txt
git commit -q -am second
git log --format='%s %H'
git show --stat HEAD | tail -2
cd /
rm -rf "$d"
echo done
