"""Load drivers: wrk (with a generated Lua script) or a raw-asyncio fallback.

Both keep ``connections`` HTTP/1.1 keep-alive connections busy for ``duration`` seconds,
one request in flight per connection (no pipelining), and report requests/s and
latency percentiles. ``@ID@`` and ``@PAGE@`` in a path become random values per request.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Load:
    method: str
    path: str
    body: str | None = None
    id_max: int = 1
    page_max: int = 1


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
        }


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


LUA = """
local method = {method}
local path = {path}
local body = {body}
local id_max = {id_max}
local page_max = {page_max}
local headers = {{["Content-Type"] = "application/json"}}

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local p = path:gsub("@ID@", tostring(math.random(1, id_max)))
  p = p:gsub("@PAGE@", tostring(math.random(1, page_max)))
  return wrk.format(method, p, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str,
    load: Load,
    duration: float,
    connections: int,
    cpu: str | None = None,
    threads: int = 1,
    nice: int = 0,
) -> Result:
    script = LUA.format(
        method=_lua_string(load.method),
        path=_lua_string(load.path),
        body=_lua_string(load.body) if load.body is not None else "nil",
        id_max=max(load.id_max, 1),
        page_max=max(load.page_max, 1),
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        script_path,
        base_url,
    ]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpu, *cmd]
    if nice and shutil.which("nice"):
        cmd = ["nice", "-n", str(nice), *cmd]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration + 30, check=False
        ).stdout
    finally:
        Path(script_path).unlink(missing_ok=True)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out[-2000:]}")
    data = json.loads(line[len("WRKJSON ") :])
    seconds = data["duration_us"] / 1e6
    return Result(
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
    )


# -- the asyncio fallback ----------------------------------------------------------------


def _request_bytes(host: str, load: Load, rng: random.Random) -> bytes:
    path = load.path.replace("@ID@", str(rng.randint(1, max(load.id_max, 1))))
    path = path.replace("@PAGE@", str(rng.randint(1, max(load.page_max, 1))))
    body = (load.body or "").encode()
    head = f"{load.method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if load.body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _read_chunks(reader: asyncio.StreamReader) -> None:
    """Skip a chunked body: size lines, chunks, then the empty trailer."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return
        await reader.readexactly(size + 2)


async def _connection(
    host: str, port: int, load: Load, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    rng = random.Random()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(_request_bytes(host, load, rng))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            chunked = False
            for line in head.split(b"\r\n"):
                lowered = line.lower()
                if lowered.startswith(b"content-length:"):
                    length = int(line[15:])
                elif lowered.startswith(b"transfer-encoding:") and b"chunked" in lowered:
                    chunked = True
            if chunked:
                await _read_chunks(reader)
            elif length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


async def _run_python(base_url: str, load: Load, duration: float, connections: int) -> Result:
    host_port = base_url.split("://", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(
            _connection(host, int(port), load, deadline, latencies, errors)
            for _ in range(connections)
        )
    )
    seconds = time.perf_counter() - started
    latencies.sort()
    return Result(
        requests=len(latencies),
        seconds=seconds,
        rps=len(latencies) / seconds,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        errors=len(errors),
    )


def run_python(base_url: str, load: Load, duration: float, connections: int) -> Result:
    try:
        import uvloop

        return uvloop.run(_run_python(base_url, load, duration, connections))
    except ImportError:
        return asyncio.run(_run_python(base_url, load, duration, connections))
