# A Label Studio ML backend stand-in: /health, /setup, /predict (choices for each task), with
# knobs set through POST /config and counters read through GET /stats. Training events to
# /webhook and /train are recorded whole in stats["events"] as {"path", "body"}; with
# {"no_webhook": true} /webhook answers 404, as label-studio-ml 1.x backends do.
import http.server, json, sys, threading, time
lock = threading.Lock()
conf = {"version": "fake-1", "shape": "results", "fail_first": 0, "delay": 0.05,
        "short": False, "error_for": None, "no_webhook": False}
stats = {"predict_calls": 0, "batches": [], "inflight": 0, "max_inflight": 0, "setup": 0,
         "failed": 0, "events": []}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(n) or b"{}")
    def do_GET(self):
        if self.path == "/health":
            self.answer(200, {"status": "UP", "model_class": "FakeModel"})
        elif self.path == "/stats":
            with lock:
                self.answer(200, stats)
        else:
            self.answer(404, {})
    def do_POST(self):
        req = self.body()
        if self.path == "/config":
            with lock:
                conf.update(req)
                if req.get("reset"):
                    stats.update(predict_calls=0, batches=[], max_inflight=0, failed=0)
            return self.answer(200, conf)
        if self.path == "/setup":
            with lock:
                stats["setup"] += 1
            assert "schema" in req and "project" in req
            return self.answer(200, {"model_version": conf["version"]})
        if self.path in ("/webhook", "/train"):
            if self.path == "/webhook" and conf["no_webhook"]:
                return self.answer(404, {"error": "not found"})
            with lock:
                stats["events"].append({"path": self.path, "body": req})
            return self.answer(201, {})
        if self.path != "/predict":
            return self.answer(404, {})
        with lock:
            stats["predict_calls"] += 1
            if conf["fail_first"] > 0:
                conf["fail_first"] -= 1
                stats["failed"] += 1
                return self.answer(503, {"error": "warming up"})
            stats["inflight"] += 1
            stats["max_inflight"] = max(stats["max_inflight"], stats["inflight"])
            stats["batches"].append(len(req["tasks"]))
        time.sleep(conf["delay"])
        assert req["label_config"].startswith("<View") and "." in req["project"]
        out = []
        for t in req["tasks"]:
            lab = "positive" if "good" in t["data"]["text"] else "negative"
            item = {"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                "value": {"choices": [lab]}, "score": 0.8}],
                    "score": 0.8, "model_version": conf["version"]}
            if conf["error_for"] and conf["error_for"] in t["data"]["text"]:
                item = {"result": [], "error": "cannot read this one"}
            out.append(item)
        if conf["short"]:
            out = out[:-1]
        with lock:
            stats["inflight"] -= 1
        self.answer(200, out if conf["shape"] == "list" else {"results": out})
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
with open(sys.argv[1], "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()
