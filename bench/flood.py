# usage: bench/flood.py PORT KEYS...  (RELIABILITY.md, issue 21)
# POST /run with KEYS metadata keys to a server on 127.0.0.1:PORT, a 404 on another
# connection meanwhile, then a plain /run; prints the status and time of each.
import http.client, json, sys, threading, time
port = int(sys.argv[1])
def post(path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.time()
    c.request("POST", path, body, {"Content-Type": "application/json"})
    r = c.getresponse(); data = r.read(); c.close()
    return r.status, data, time.time() - t
for keys in map(int, sys.argv[2:]):
    body = '{"value":{}' + ''.join(',"k%d":%d' % (i, i) for i in range(keys)) + '}'
    out = {}
    th = threading.Thread(target=lambda: out.update(run=post("/run", body)))
    th.start(); time.sleep(0.02)
    s404, _, t404 = post("/nowhere", "")
    th.join()
    s, data, t = out["run"]
    sp, _, tp = post("/run", '{"value":{},"activation_id":"plain"}')
    print("%7d keys (%d bytes): %d in %.3f s; a 404 meanwhile %d in %.3f s; next plain /run %d in %.3f s"
          % (keys, len(body), s, t, s404, t404, sp, tp))
