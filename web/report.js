// soy's report charts: uPlot plots drawn from the page's data (#soy-data), all on one time
// axis (seconds from the load's start) with one cursor and one zoom; phases and alerts as
// bands, actions and scaling changes as markers; a tooltip with each series' value in its
// unit. Units follow the rules of src/report/units.rs.
(function () {
  "use strict";

  function sig3(v) {
    const a = Math.abs(v);
    if (a >= 100 || a === 0 || (v === Math.round(v) && a < 1e15)) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toFixed(Math.min(Math.floor(-Math.log10(a)) + 3, 6));
  }

  function si(v, unit) {
    const prefixes = ["", "k", "M", "G", "T"];
    let x = v, i = 0;
    while (Math.abs(x) >= 999.5 && i + 1 < prefixes.length) { x /= 1000; i++; }
    return sig3(x) + (unit ? " " : "") + prefixes[i] + unit;
  }

  function duration(s) {
    const a = Math.abs(s);
    if (a === 0) return "0 s";
    if (a < 1e-3) return sig3(s * 1e6) + " µs";
    if (a < 1) return sig3(s * 1e3) + " ms";
    if (a < 120) return sig3(s) + " s";
    if (a < 7200) return sig3(s / 60) + " min";
    return sig3(s / 3600) + " h";
  }

  // A value in its unit: {kind, label} as serialized by units::Unit.
  function fmt(v, unit) {
    if (v == null || Number.isNaN(v)) return "–";
    if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
    const label = (unit.label || "").trim();
    switch (unit.kind) {
      case "seconds": return duration(v);
      case "millis": return duration(v / 1e3);
      case "bytes": return si(v, "B");
      case "bytes_per_second": return si(v, "B/s");
      case "ratio": return (v * 100).toFixed(2) + " %";
      case "percent": return v.toFixed(2) + " %";
      case "cores": return sig3(v) + " cores";
      case "rate": return si(v, "") + (label.startsWith("/") ? label : " " + label);
      default: return si(v, "") + (label ? " " + label : "");
    }
  }

  // Seconds from the load's start as m:ss.
  function clock(x) {
    const sign = x < 0 ? "-" : "";
    const s = Math.abs(x);
    const m = Math.floor(s / 60);
    const r = s - m * 60;
    return sign + m + ":" + (r < 10 ? "0" : "") + (Number.isInteger(r) ? r : r.toFixed(1));
  }

  const el = document.getElementById("soy-data");
  if (!el || typeof uPlot === "undefined") return;
  const data = JSON.parse(el.textContent);
  // Evenly spaced x values come as a start, a step and a count.
  for (const p of data.plots) {
    if (!p.x) p.x = Array.from({ length: p.xs.n }, (_, i) => p.xs.start + i * p.xs.step);
  }
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
  const BAND = { phase: "rgba(255,236,170,0.45)", pending: "rgba(255,200,120,0.4)", firing: "rgba(235,120,120,0.35)" };
  // Warm-up and cool-down in two colours, as the static charts draw them.
  let phases = 0;
  for (const b of data.bands) b.color = b.kind === "phase" ? (phases++ % 2 ? "rgba(190,215,245,0.45)" : BAND.phase) : BAND[b.kind];
  const plots = [];
  let syncing = false;
  let active = null;

  let xMin = 0, xMax = 1;
  for (const p of data.plots) for (const x of p.x) { if (x < xMin) xMin = x; if (x > xMax) xMax = x; }
  for (const b of data.bands) if (b.end > xMax) xMax = b.end;

  function when(x) {
    let t = "+" + clock(x);
    if (data.origin != null) t += " · " + new Date((data.origin + x) * 1000).toLocaleTimeString();
    return t;
  }

  function drawBands(u) {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    for (const b of data.bands) {
      const x0 = u.valToPos(b.start, "x", true), x1 = u.valToPos(b.end, "x", true);
      ctx.fillStyle = b.color;
      ctx.fillRect(x0, bbox.top, Math.max(x1 - x0, 1), bbox.height);
    }
    ctx.restore();
  }

  function drawMarks(u, p) {
    const { ctx, bbox } = u;
    const dpr = devicePixelRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    ctx.lineWidth = dpr;
    ctx.strokeStyle = "#555";
    for (const m of data.marks) {
      const x = Math.round(u.valToPos(m.at, "x", true));
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
    }
    ctx.strokeStyle = "#888";
    ctx.fillStyle = "#555";
    ctx.font = 11 * dpr + "px sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    for (const [name, value] of p.levels) {
      const y = Math.round(u.valToPos(value, "y", true));
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.fillText(name + " " + fmt(value, p.unit), bbox.left + 4 * dpr, y - 3 * dpr);
    }
    ctx.restore();
  }

  function tooltip(u, p, tip) {
    const i = u.cursor.idx;
    // The chart under the mouse has the tooltip; the others follow with their cursor only.
    if (i == null || u.cursor.left < 0 || u !== active) { tip.style.display = "none"; return; }
    const x = u.data[0][i];
    tip.replaceChildren();
    const head = document.createElement("div");
    head.className = "soy-tip-time";
    head.textContent = when(x);
    tip.appendChild(head);
    u.series.forEach((s, k) => {
      if (k === 0 || !s.show) return;
      const row = document.createElement("div");
      const dot = document.createElement("span");
      dot.className = "soy-dot";
      dot.style.background = s.stroke();
      row.appendChild(dot);
      row.appendChild(document.createTextNode(s.label + ": " + fmt(u.data[k][i], p.unit)));
      tip.appendChild(row);
    });
    const near = (u.scales.x.max - u.scales.x.min) / 100;
    for (const m of data.marks) {
      if (Math.abs(m.at - x) <= near) {
        const row = document.createElement("div");
        row.className = "soy-tip-event";
        row.textContent = "▍ " + m.label;
        tip.appendChild(row);
      }
    }
    for (const b of data.bands) {
      if (b.kind !== "phase" && x >= b.start && x <= b.end) {
        const row = document.createElement("div");
        row.className = "soy-tip-event";
        row.textContent = "■ " + b.name;
        tip.appendChild(row);
      }
    }
    tip.style.display = "block";
    const left = u.cursor.left + 14;
    tip.style.left = (left + tip.offsetWidth > u.over.clientWidth ? u.cursor.left - tip.offsetWidth - 14 : left) + "px";
    tip.style.top = Math.max(0, u.cursor.top - 10) + "px";
  }

  function zoomAll(min, max, from) {
    if (syncing) return;
    syncing = true;
    for (const o of plots) if (o !== from) o.setScale("x", { min, max });
    syncing = false;
  }

  function make(p, host) {
    const tip = document.createElement("div");
    tip.className = "soy-tip";
    const opts = {
      title: p.title,
      width: Math.max(host.clientWidth, 320),
      height: 240,
      cursor: { sync: { key: "soy" }, drag: { x: true, y: false }, bind: { dblclick: () => null } },
      scales: {
        // The y range holds the levels (a target, the replica limits) as well as the data.
        y: {
          range: (u, min, max) => {
            for (const [, v] of p.levels) { min = Math.min(min, v); max = Math.max(max, v); }
            return uPlot.rangeNum(Math.min(min, 0), max, 0.1, true);
          },
        },
        x: { time: false, range: (u, min, max) => (min == null || !Number.isFinite(min) || max <= min ? [xMin, xMax] : [min, max]) } },
      legend: { live: true },
      axes: [
        { values: (u, ticks) => ticks.map(clock), incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200] },
        Object.assign(
          { values: (u, ticks) => ticks.map((v) => fmt(v, p.unit)), size: 78 },
          // Counts (users, replicas) tick at whole numbers.
          p.unit.kind === "count" ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9] } : {}
        ),
      ],
      series: [{ label: "time", value: (u, v) => (v == null ? "–" : when(v)) }].concat(
        p.series.map((s, i) => ({
          label: s.name,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: false,
          paths: p.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
          value: (u, v) => fmt(v, p.unit),
        }))
      ),
      hooks: {
        drawClear: [(u) => drawBands(u)],
        draw: [(u) => drawMarks(u, p)],
        setCursor: [(u) => tooltip(u, p, tip)],
        setScale: [(u, key) => { if (key === "x") zoomAll(u.scales.x.min, u.scales.x.max, u); }],
      },
    };
    const u = new uPlot(opts, [p.x].concat(p.series.map((s) => s.values)), host);
    u.over.appendChild(tip);
    u.over.addEventListener("mouseenter", () => { active = u; });
    u.over.addEventListener("mouseleave", () => { tip.style.display = "none"; if (active === u) active = null; });
    u.over.addEventListener("dblclick", () => {
      u.setScale("x", { min: xMin, max: xMax });
    });
    u.soyPlot = p;
    syncing = true;
    u.setScale("x", { min: xMin, max: xMax });
    syncing = false;
    return u;
  }

  function key() {
    const host = document.getElementById("soy-key");
    if (!host) return;
    const seen = new Set();
    for (const b of data.bands) {
      if (seen.has(b.name)) continue;
      seen.add(b.name);
      const item = document.createElement("span");
      item.className = "soy-key-item";
      const sw = document.createElement("span");
      sw.className = "soy-swatch";
      sw.style.background = b.color;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(b.name));
      host.appendChild(item);
    }
    if (data.marks.length) {
      const item = document.createElement("span");
      item.className = "soy-key-item";
      item.textContent = "┆ events (actions, scaling changes)";
      host.appendChild(item);
    }
  }

  const t0 = performance.now();
  for (const p of data.plots) {
    const host = document.getElementById("plot-" + p.id);
    if (host) plots.push(make(p, host));
  }
  key();
  // Each chart as wide as its place, now that the page (and its scrollbar) is laid out.
  const fit = () => {
    for (const u of plots) u.setSize({ width: Math.max(u.root.parentNode.clientWidth, 320), height: 240 });
  };
  window.addEventListener("resize", fit);
  fit();
  window.soy = { plots, fmt, clock, ready: true, buildMs: performance.now() - t0, readyMs: performance.now() };
})();
