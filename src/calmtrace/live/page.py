"""The live page served by :mod:`calmtrace.live.server`: one HTML document, script and style inline.

It opens ``/stream`` (server-sent events) and draws each snapshot: heart rate, last RR, lnRMSSD of
the last minute, the RR trace of the last minute (canvas), the connection state (a banner while the
strap is away: the capture goes on and records the gap), the pacer (a bar that fills while inhaling
and empties while exhaling, timed from the capture clock), the events written and the open marks,
the recovery forecast, and buttons that mark events as the keys do. Nothing is loaded from
anywhere else.
"""

__all__ = ["PAGE_HTML"]

PAGE_HTML = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>calmtrace live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1rem;background:#fafafa;color:#222}
h1{font-size:1.1rem;margin:0 0 .5rem}
.row{display:flex;gap:1rem;flex-wrap:wrap}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;min-width:8rem}
.big{font-size:2rem;font-variant-numeric:tabular-nums}
.lab{font-size:.8rem;color:#666}
#banner{display:none;background:#b00020;color:#fff;padding:.5rem .8rem;border-radius:6px;margin:.5rem 0}
#banner.show{display:block}
#pacerbox{width:22rem;height:1.4rem;border:1px solid #999;border-radius:4px;background:#eee;position:relative}
#pacerfill{position:absolute;left:0;top:0;bottom:0;background:#3a7bd5;border-radius:4px}
button{font-size:1rem;margin:.2rem;padding:.4rem .8rem}
button.open{background:#ffd54f}
ul{margin:.2rem 0;padding-left:1.2rem;max-height:12rem;overflow:auto}
canvas{background:#fff;border:1px solid #ddd;border-radius:6px}
</style></head>
<body>
<h1>calmtrace live <span id="elapsed" class="lab"></span></h1>
<div id="banner" role="alert"></div>
<div class="row">
 <div class="card"><div class="lab">heart rate, bpm</div><div id="hr" class="big">-</div></div>
 <div class="card"><div class="lab">last RR, ms</div><div id="rr" class="big">-</div></div>
 <div class="card"><div class="lab">lnRMSSD, last minute</div><div id="lnrmssd" class="big">-</div></div>
 <div class="card"><div class="lab">strap</div><div id="state" class="big">-</div><div id="gaps" class="lab"></div></div>
</div>
<p><canvas id="trace" width="720" height="160" aria-label="RR intervals of the last minute"></canvas></p>
<div class="card"><div class="lab">pacer <span id="pacerrate"></span></div>
 <div id="pacerbox"><div id="pacerfill"></div></div><div id="pacer" class="lab">no pacer</div>
 <button id="pacertoggle" type="button">start / stop pacer</button></div>
<p id="marks">
 <button data-kind="baseline" type="button">baseline (b)</button>
 <button data-kind="stressor" type="button">stressor (s)</button>
 <button data-kind="recovery" type="button">recovery (r)</button>
 <button data-kind="intervention" type="button">intervention (i)</button>
 <button data-kind="note" type="button">note (n)</button>
</p>
<div class="row">
 <div class="card"><div class="lab">recovery forecast</div><div id="forecast">none (after a stressor ends, from 60 s of recovery on)</div></div>
 <div class="card"><div class="lab">events</div><ul id="events"></ul></div>
</div>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const q = token ? "token=" + encodeURIComponent(token) : "";
const $ = id => document.getElementById(id);
const fmt = (x, d) => (x === null || x === undefined) ? "-" : Number(x).toFixed(d);
let snap = null, snapAt = 0, ended = false;
function banner(text){ const b = $("banner"); b.textContent = text || ""; b.classList.toggle("show", !!text); }
function draw(s){
  $("elapsed").textContent = new Date(s.t_s * 1000).toISOString().substr(11, 8);
  $("hr").textContent = fmt(s.hr_bpm, 0);
  $("rr").textContent = fmt(s.last_rr_ms, 0);
  $("lnrmssd").textContent = fmt(s.ln_rmssd, 2);
  $("state").textContent = s.state;
  $("gaps").textContent = s.n_gaps + " gaps (" + fmt(s.gap_s, 0) + " s)";
  if (s.state !== "connected") banner("strap connection lost (" + s.state + "): reconnecting; the gap is recorded");
  else banner("");
  for (const b of document.querySelectorAll("#marks button"))
    b.classList.toggle("open", s.open_marks.includes(b.dataset.kind));
  const ul = $("events"); ul.textContent = "";
  for (const e of s.events) { const li = document.createElement("li");
    li.textContent = fmt(e.onset_s, 0) + " s  " + e.kind + ": " + e.label + (e.duration_s ? " (" + fmt(e.duration_s, 0) + " s)" : "");
    ul.appendChild(li); }
  const f = s.forecast;
  $("forecast").textContent = f ? ("after " + f.stressor + ", " + fmt(f.elapsed_s, 0) + " s in: t50 " + fmt(f.t50_s, 0) +
      " s (" + fmt(f.t50_low_s, 0) + "-" + fmt(f.t50_high_s, 0) + "), back to baseline at " + fmt(f.time_to_baseline_s, 0) +
      " s (" + fmt(f.ttb_low_s, 0) + "-" + fmt(f.ttb_high_s, 0) + "), " + fmt(f.recovered_pct, 0) + " % recovered" +
      (f.course ? "; " + f.course + " (earlier median t50 " + fmt(f.usual_t50_s, 0) + " s over " + f.n_earlier + " recoveries)" : ""))
      : "none (after a stressor ends, from 60 s of recovery on)";
  const c = $("trace"), g = c.getContext("2d"); g.clearRect(0, 0, c.width, c.height);
  if (s.rr.length > 1) {
    const t1 = s.rr[s.rr.length - 1][0], t0 = t1 - 60;
    const ys = s.rr.map(p => p[1]); const lo = Math.min(...ys) - 20, hi = Math.max(...ys) + 20;
    g.strokeStyle = "#3a7bd5"; g.lineWidth = 2; g.beginPath();
    s.rr.forEach((p, i) => { const x = (p[0] - t0) / 60 * c.width, y = c.height - (p[1] - lo) / (hi - lo) * c.height;
      i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke(); g.fillStyle = "#666"; g.fillText(fmt(hi, 0) + " ms", 4, 12); g.fillText(fmt(lo, 0) + " ms", 4, c.height - 4);
  }
}
function tickPacer(){
  if (snap && snap.pacer) {
    const p = snap.pacer, t = snap.t_s + (performance.now() - snapAt) / 1000 * (snap.speed || 1);
    const r = ((t - p.t0_s) % p.period_s + p.period_s) % p.period_s;
    const inh = r < p.inhale_s, frac = inh ? r / p.inhale_s : 1 - (r - p.inhale_s) / (p.period_s - p.inhale_s);
    $("pacerfill").style.width = (100 * frac).toFixed(1) + "%";
    $("pacer").textContent = (inh ? "breathe in " : "breathe out ") + fmt(inh ? p.inhale_s - r : p.period_s - r, 1) + " s";
    $("pacerrate").textContent = fmt(p.rate_bpm, 1) + " breaths/min";
  } else if (snap) { $("pacerfill").style.width = "0"; $("pacer").textContent = "no pacer"; $("pacerrate").textContent = ""; }
  requestAnimationFrame(tickPacer);
}
function connect(){
  const es = new EventSource("/stream" + (q ? "?" + q : ""));
  es.onmessage = m => { snap = JSON.parse(m.data); snapAt = performance.now(); draw(snap); };
  es.addEventListener("end", () => { ended = true; es.close(); banner("the capture has ended"); });
  es.onerror = () => { if (!ended) banner("lost the connection to calmtrace; retrying"); };
}
async function post(path){
  const r = await fetch(path + (q ? (path.includes("?") ? "&" : "?") + q : ""), {method: "POST", headers: {"X-Calmtrace": "1"}});
  if (!r.ok) banner("mark refused: " + await r.text());
}
for (const b of document.querySelectorAll("#marks button")) b.addEventListener("click", () => post("/mark?kind=" + b.dataset.kind));
$("pacertoggle").addEventListener("click", () => post("/pacer"));
document.addEventListener("keydown", e => { const k = {b:"baseline", s:"stressor", r:"recovery", i:"intervention", n:"note"}[e.key];
  if (k && !e.ctrlKey && !e.metaKey) post("/mark?kind=" + k); });
connect(); requestAnimationFrame(tickPacer);
</script></body></html>
"""
