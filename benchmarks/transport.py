"""What one live frame's transport costs: an HTTP request per frame against one message on a WebSocket.

A small Starlette app (served by uvicorn, as Streamlit serves the app) answers a page in Chromium with a frame's
worth of bytes, ~17 times a second, first over HTTP (``fetch`` per frame, the server's gzip middleware on the
way, as the app's route had) and then over one WebSocket (one message asks, one answers, as the live view's
frame socket does, ``ui/liveview/fast.py``), the two alternated. Prints, per frame: Chromium's CPU time by
process kind, the server's CPU time, and the ratio of the two transports measured in the same run.

    python benchmarks/transport.py [--seconds 8] [--kb 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from load import _kind_ticks, chromium_pids  # noqa: E402
from tests.browser.support import CpuMeter, free_port, launch_chromium  # noqa: E402

APP = textwrap.dedent('''
    import os
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route, WebSocketRoute

    BODY = os.urandom(int(os.environ["FRAME_BYTES"]))  # already compressed, as a gzipped frame is
    PAGE = """<html><body><script>
    window.n = 0; window.mode = null;
    async function http() {
      while (window.mode === "http") {
        const r = await fetch("/f?d=10", {cache: "no-store"}); await r.arrayBuffer(); window.n++;
        await new Promise(r => setTimeout(r, 50));
      }
    }
    function ws() {
      const w = new WebSocket("ws://" + location.host + "/w"); w.binaryType = "arraybuffer";
      w.onopen = () => w.send("d=10");
      w.onmessage = () => { window.n++; if (window.mode !== "ws") { w.close(); return; }
                            setTimeout(() => w.send("d=10"), 50); };
    }
    </script></body></html>"""

    async def page(request):
        return HTMLResponse(PAGE)

    async def frame(request):
        return Response(BODY, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})

    async def sock(websocket):
        await websocket.accept()
        try:
            while True:
                await websocket.receive_text()
                await websocket.send_bytes(BODY)
        except Exception:
            pass

    app = Starlette(routes=[Route("/", page), Route("/f", frame), WebSocketRoute("/w", sock)],
                    middleware=[Middleware(GZipMiddleware)])
''')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window per transport and round")
    parser.add_argument("--kb", type=float, default=30.0, help="frame size in KB (a gzipped Playground frame: ~30)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (http, ws)")
    args = parser.parse_args(argv)
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "transport_app.py").write_text(APP)
        port = free_port()
        env = dict(os.environ, FRAME_BYTES=str(int(args.kb * 1024)))
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "transport_app:app", "--port", str(port),
                                   "--log-level", "warning"], cwd=folder, env=env)
        results: dict[str, list[dict]] = {"http": [], "ws": []}
        try:
            time.sleep(2.0)
            with launch_chromium() as browser:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                for mode in ("http", "ws") * args.rounds:
                    page.evaluate(f"() => {{ window.mode = '{mode}'; {mode}(); }}")
                    time.sleep(1.0)
                    k0, n0, meter = _kind_ticks(chromium_pids()), page.evaluate("window.n"), CpuMeter(server.pid)
                    meter.start()
                    time.sleep(args.seconds)
                    k1, n1, cpu = _kind_ticks(chromium_pids()), page.evaluate("window.n"), meter.stop()
                    n = max(n1 - n0, 1)
                    server_cores = cpu["by_root"].get(server.pid)
                    kinds = {k: round(1000 * (k1[k] - k0.get(k, 0)) / hz / n, 2) for k in k1}
                    row = {"frames_per_s": round(n / cpu["seconds"], 1),
                           "chromium_ms_per_frame": round(sum(kinds.values()), 2), "by_kind": kinds,
                           "server_ms_per_frame": round(1000 * server_cores * cpu["seconds"] / n, 2)}
                    results[mode].append(row)
                    print(f"[{mode:4}] {row['frames_per_s']:5.1f} frames/s  Chromium "
                          f"{row['chromium_ms_per_frame']:6.2f} ms/frame {kinds}  server "
                          f"{row['server_ms_per_frame']:.2f} ms/frame", flush=True)
                    page.evaluate("() => { window.mode = null; }")
                    time.sleep(0.5)
        finally:
            server.kill()
            server.wait()

    def best(mode: str, key: str) -> float:
        return min(r[key] for r in results[mode])
    summary = {k: {"http": best("http", k), "ws": best("ws", k),
                   "ws_over_http": round(best("ws", k) / best("http", k), 2)}
               for k in ("chromium_ms_per_frame", "server_ms_per_frame")}
    print(json.dumps({"kb": args.kb, "seconds": args.seconds, "results": results, "summary": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
