import threading, subprocess, multiprocessing, asyncio, sqlite3, os, sys, tempfile, json, hashlib

def work(n):
    return sum(i * i for i in range(n))

def main():
    out = []
    # threads
    res = [0] * 4
    def t(i): res[i] = work(10000 + i)
    ts = [threading.Thread(target=t, args=(i,)) for i in range(4)]
    [x.start() for x in ts]; [x.join() for x in ts]
    out.append(("threads", res))
    # subprocess
    p = subprocess.run(["/bin/sh", "-c", "echo sub; exit 3"], capture_output=True, text=True)
    out.append(("subprocess", p.stdout, p.returncode))
    # multiprocessing
    with multiprocessing.Pool(2) as pool:
        out.append(("pool", pool.map(work, [10, 100, 1000])))
    # asyncio
    async def a(i):
        await asyncio.sleep(0.01 * i)
        return i * 2
    async def amain():
        return await asyncio.gather(*(a(i) for i in range(5)))
    out.append(("asyncio", asyncio.run(amain())))
    # sqlite3
    d = tempfile.mkdtemp()
    db = sqlite3.connect(os.path.join(d, "t.db"))
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t values (?, ?)", [(i, hashlib.sha1(str(i).encode()).hexdigest()) for i in range(100)])
    db.commit()
    out.append(("sqlite", db.execute("select count(*), min(v), max(v) from t").fetchone()))
    db.close()
    print(json.dumps(out))

if __name__ == "__main__":
    main()
