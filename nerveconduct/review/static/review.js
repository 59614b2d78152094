// The review page. It draws what the server sends (traces in ms/mV, the records of the one
// analysis core, the verdicts) and sends marker changes back; it computes no clinical value.
"use strict";
(() => {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  // marker kind, keys, colour, label
  const KINDS = [
    ["onset", ["o", "1"], "#1f77b4", "onset"],
    ["negative_peak", ["n", "2"], "#d62728", "negative peak"],
    ["negative_end", ["e", "3"], "#2ca02c", "end of negative phase"],
    ["positive_peak", ["p", "4"], "#9467bd", "positive peak"],
  ];
  const KIND = Object.fromEntries(KINDS.map((k) => [k[0], k]));
  const W = 580, LEFT = 92, RIGHT = W - 14, ROW_H = 80, TOP = 8;
  let S = null;        // the state the server sent last (traces kept from the first one)
  let sel = null;      // {nerve, site, kind}
  let geo = {};        // per nerve: drawing geometry
  let drag = null;     // {nerve, site, kind, x0, moved}
  let busy = 0;

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const num = (v) => typeof v === "number" && isFinite(v);
  const fmt = (v, d) => (num(v) ? v.toFixed(d) : "\u2013");

  function status(text, error) {
    const el = $("status");
    el.textContent = text || "";
    el.className = error ? "error" : "";
  }

  function setBusy(delta) {
    busy += delta;
    if (busy === 0 && Object.keys(pending).length) {
      pending = {};
      if (S) render();
    }
    document.body.dataset.busy = String(busy);
  }

  let chain = Promise.resolve();
  function api(path, body) {
    setBusy(1);
    chain = chain.then(async () => {
      const t0 = performance.now();
      const init = { method: body === undefined ? "GET" : "POST", headers: { "X-Review-Token": TOKEN } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const r = await fetch(path, init);
      const obj = await r.json().catch(() => ({ error: `the server answered ${r.status}` }));
      if (!r.ok) {
        status(obj.error || `the server answered ${r.status}`, true);
        return;
      }
      S = Object.assign({}, S || {}, obj);
      render();
      const ms = Math.round(performance.now() - t0);
      status(obj.saved ? `saved to ${obj.saved}` : path === "/api/state" ? `loaded in ${ms} ms` : `updated in ${ms} ms`);
    }).catch((e) => status(`the review server did not answer (${e.message}); is it still running?`, true))
      .finally(() => setBusy(-1));
    return chain;
  }

  // ---------------------------------------------------------------- helpers on the state
  const sourceField = (field) => field.replace(/_(mv_ms|m_s|ms|mv|pct|mm)$/, "") + "_source";
  // provenance as the analysis wrote it: a value's own *_source field, or its name among the
  // record's hand_set_values (every value derived from a hand-set marker)
  const isHandSet = (obj, field) => !!obj && (obj[sourceField(field)] === "hand-set" ||
    (Array.isArray(obj.hand_set_values) && obj.hand_set_values.includes(field)));
  const handMarker = (i, j, kind) => (S.markers || []).find((m) => m.nerve === i && m.site === j && m.marker === kind);
  // times sent but not yet answered: nudges and drags build on them, the drawing shows them
  let pending = {};
  const markerTime = (i, j, kind) => {
    const key = `${i}/${j}/${kind}`;
    return key in pending ? pending[key] : S.nerves[i].record.sites[j][S.landmark_fields[kind]];
  };

  function geometry(i) {
    const tr = S.traces[i], rec = S.nerves[i].record;
    const n = tr.mv[0].length;
    const tmin = Math.max(tr.t0_ms, -1), tmax = tr.t0_ms + (n - 1) * tr.dt_ms;
    const base = rec.sites.map((s, j) => {
      if (num(s.baseline_mv)) return s.baseline_mv;
      const pre = tr.mv[j].slice(0, Math.max(1, Math.round(-tr.t0_ms / tr.dt_ms))).filter(num).sort((a, b) => a - b);
      return pre.length ? pre[pre.length >> 1] : 0;
    });
    let amps = [];
    rec.sites.forEach((s) => { if (s.present) amps.push(s.peak_to_peak_amplitude_mv, s.negative_peak_amplitude_mv); });
    amps = amps.filter((a) => num(a) && a > 0);
    let extent = amps.length ? Math.max(...amps) : 0;
    if (!extent) {
      tr.mv.forEach((row, j) => row.forEach((v) => { if (num(v)) extent = Math.max(extent, Math.abs(v - base[j])); }));
      extent = extent || 1;
    }
    return { tmin, tmax, base, mvpp: (extent * 1.15) / ROW_H, n, t0: tr.t0_ms, dt: tr.dt_ms, rows: rec.sites.length };
  }
  const xOf = (g, t) => LEFT + ((t - g.tmin) / (g.tmax - g.tmin)) * (RIGHT - LEFT);
  const tOf = (g, x) => g.tmin + ((x - LEFT) / (RIGHT - LEFT)) * (g.tmax - g.tmin);
  const baseY = (j) => TOP + ROW_H * (j + 0.85);
  const yOf = (g, j, v) => baseY(j) + (v - g.base[j]) / g.mvpp; // negative up
  const snap = (g, t) => Math.min(g.tmax, Math.max(0, g.t0 + Math.round((t - g.t0) / g.dt) * g.dt));
  function valueAt(i, j, t) {
    const g = geo[i], row = S.traces[i].mv[j];
    const k = Math.max(0, Math.min(g.n - 1, Math.round((t - g.t0) / g.dt)));
    return num(row[k]) ? row[k] : g.base[j];
  }

  // ---------------------------------------------------------------- drawing
  function symbol(kind, x, y) {
    const p = (pts) => `<polygon class="sym" points="${pts.map((q) => q.join(",")).join(" ")}" fill="${KIND[kind][2]}" stroke="${KIND[kind][2]}"/>`;
    if (kind === "onset") return p([[x - 5, y - 13], [x + 5, y - 13], [x, y - 4]]);
    if (kind === "negative_end") return p([[x - 5, y + 13], [x + 5, y + 13], [x, y + 4]]);
    if (kind === "positive_peak") return p([[x, y + 4], [x + 5, y + 9], [x, y + 14], [x - 5, y + 9]]);
    return `<circle class="sym" cx="${x}" cy="${y}" r="4.5" fill="${KIND[kind][2]}" stroke="${KIND[kind][2]}"/>`;
  }

  function svgHtml(i) {
    const g = (geo[i] = geometry(i));
    const rec = S.nerves[i].record, tr = S.traces[i];
    const h = TOP + ROW_H * g.rows + 26;
    const out = [`<svg class="traces" id="svg-${i}" data-nerve="${i}" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}">`];
    rec.sites.forEach((s, j) => {
      const selected = sel && sel.nerve === i && sel.site === j ? " selected" : "";
      out.push(`<rect class="row${selected}" data-nerve="${i}" data-site="${j}" x="0" y="${TOP + ROW_H * j}" width="${W}" height="${ROW_H}"/>`);
      out.push(`<text class="label" x="4" y="${baseY(j) - 18}">${esc(s.name)}</text>`);
      out.push(`<text class="label" x="4" y="${baseY(j) - 4}">${num(s.cumulative_distance_mm) ? s.cumulative_distance_mm + " mm" : "? mm"}</text>`);
      const step = Math.max(1, Math.floor(g.n / 1500)), pts = [];
      for (let k = 0; k < g.n; k += step) {
        const t = g.t0 + k * g.dt, v = tr.mv[j][k];
        if (t >= g.tmin && num(v)) pts.push(`${xOf(g, t).toFixed(1)},${yOf(g, j, v).toFixed(1)}`);
      }
      out.push(`<polyline class="trace" data-nerve="${i}" data-site="${j}" points="${pts.join(" ")}"/>`);
      const absentHand = handMarker(i, j, "absent");
      if (!s.present) out.push(`<text class="absent" x="${RIGHT - 130}" y="${baseY(j) - 20}">absent${absentHand ? " (hand-set *)" : ""}</text>`);
      if (s.flag_names && s.flag_names.length) {
        const review = (S.to_review || []).find((r) => r.nerve === i && r.site === j);
        if (review) out.push(`<text class="flag" x="${LEFT}" y="${TOP + ROW_H * j + 12}">&#9873; ${esc(review.flags.join(", "))}</text>`);
      }
      for (const [kind] of KINDS) {
        const t = markerTime(i, j, kind);
        if (!num(t)) continue;
        const x = xOf(g, t), y = yOf(g, j, valueAt(i, j, t));
        const src = handMarker(i, j, kind) || isHandSet(s, S.landmark_fields[kind]) ? "hand-set" : "detected";
        const cls = sel && sel.nerve === i && sel.site === j && sel.kind === kind ? " selected" : "";
        out.push(`<g class="marker${cls}" data-nerve="${i}" data-site="${j}" data-kind="${kind}" data-source="${src}" data-time="${t}">` +
          `<title>${esc(KIND[kind][3])} ${t.toFixed(2)} ms (${src})</title>` +
          `<line x1="${x}" x2="${x}" y1="${TOP + ROW_H * j + 4}" y2="${TOP + ROW_H * (j + 1) - 4}" stroke="${KIND[kind][2]}"/>` +
          `<rect x="${x - 7}" y="${y - 16}" width="14" height="32" fill="transparent"/>` + symbol(kind, x, y) + "</g>");
      }
    });
    // time axis
    const yAxis = TOP + ROW_H * g.rows + 4;
    out.push(`<line x1="${LEFT}" x2="${RIGHT}" y1="${yAxis}" y2="${yAxis}" stroke="#888"/>`);
    const span = g.tmax - g.tmin, tick = [1, 2, 5, 10, 20, 50].find((s) => span / s <= 12) || 100;
    for (let t = Math.ceil(g.tmin / tick) * tick; t <= g.tmax; t += tick) {
      out.push(`<line x1="${xOf(g, t)}" x2="${xOf(g, t)}" y1="${yAxis}" y2="${yAxis + 4}" stroke="#888"/><text class="label" x="${xOf(g, t) - 6}" y="${yAxis + 16}">${t}</text>`);
    }
    out.push(`<text class="label" x="${RIGHT - 20}" y="${yAxis + 16}">ms</text></svg>`);
    return out.join("");
  }

  function cell(obj, field, digits, extraClass) {
    const hs = isHandSet(obj, field);
    const cls = [extraClass || "", hs ? "handset" : ""].join(" ").trim();
    return `<td data-field="${field}"${cls ? ` class="${cls}"` : ""}>${fmt(obj[field], digits)}${hs ? '<span class="hs">*</span>' : ""}</td>`;
  }

  function verdictCell(v, rid, attr) {
    if (!v) return `<td class="text" ${attr}="${rid}">\u2013</td>`;
    const cls = !v.level || v.level === "none" || v.level === "not-met" ? "verdict-none"
      : v.level === "not-assessable" ? "verdict-na" : "verdict-met";
    return `<td class="text ${cls}" ${attr}="${esc(rid)}" data-level="${esc(v.level)}">${esc(v.label || v.level)}</td>`;
  }

  function nerveVerdictCell(v, rid) {
    if (!v) return verdictCell(v, rid, "data-nerve-verdict");
    const met = Object.entries(v.items || {}).filter(([, it]) => it.met);
    const why = met.flatMap(([, it]) => it.reasons || []).join("\n");
    const cls = !v.level || v.level === "none" || v.level === "not-met" ? "verdict-none" : v.level === "not-assessable" ? "verdict-na" : "verdict-met";
    return `<td class="text ${cls}" data-nerve-verdict="${esc(rid)}" data-level="${esc(v.level)}" title="${esc(why)}">${esc(v.label || v.level)}` +
      (met.length ? `<br><small>items met: ${met.map(([k, it]) => `<span data-item="${esc(k)}" title="${esc(it.label || k)}">${esc(k)}</span>`).join(", ")}</small>` : "") + "</td>";
  }

  function tablesHtml(i) {
    const rec = S.nerves[i].record, crit = S.criteria;
    const lim = (key) => (rec.limits && rec.limits[key] && rec.limits[key].abnormal ? "abnormal" : "");
    const o = [`<div class="tables"><table class="sites" data-nerve="${i}"><tr><th class="text">Site</th><th>Dist mm</th><th>Onset ms</th><th>Peak ms</th><th>Amp mV</th><th>Dur ms</th><th>Area mV\u00b7ms</th><th class="text">Flags</th></tr>`];
    rec.sites.forEach((s, j) => {
      o.push(`<tr data-site="${j}"><td class="text">${esc(s.name)}${s.present ? "" : " (absent)"}</td><td>${fmt(s.distance_mm, 0)}</td>` +
        cell(s, "onset_latency_ms", 2) + cell(s, "negative_peak_latency_ms", 2) + cell(s, "negative_peak_amplitude_mv", 2) +
        cell(s, "negative_peak_duration_ms", 2) + cell(s, "negative_peak_area_mv_ms", 1) +
        `<td class="text flags">${esc((s.flag_names || []).join(", ").toLowerCase().replace(/_/g, " "))}</td></tr>`);
    });
    o.push("</table>");
    if (rec.segments && rec.segments.length) {
      o.push(`<table class="segments" data-nerve="${i}"><tr><th class="text">Segment</th><th>CV m/s</th><th>Amp drop %</th><th>Area drop %</th><th>Dur incr %</th></tr>`);
      rec.segments.forEach((g, k) => {
        o.push(`<tr data-segment="${k}"><td class="text">${esc(g.segment)}</td>` + cell(g, "conduction_velocity_m_s", 1) +
          cell(g, "amplitude_drop_pct", 1) + cell(g, "area_drop_pct", 1) + cell(g, "duration_increase_pct", 1) + "</tr>");
      });
      o.push("</table>");
    }
    o.push(`<table class="nerve-values" data-nerve="${i}"><tr><th>DML ms</th><th>Distal amp mV</th><th>TLI</th><th>Residual latency ms</th></tr><tr>` +
      cell(rec, "distal_motor_latency_ms", 2, lim("distal_motor_latency")) + cell(rec, "distal_amplitude_mv", 2, lim("distal_amplitude")) +
      cell(rec, "terminal_latency_index", 3) + cell(rec, "residual_latency_ms", 2) + "</tr></table>");
    if (crit.length) {
      o.push(`<table class="verdicts" data-nerve="${i}"><tr><th class="text">Rule set</th><th class="text">This nerve</th><th class="text">Segments</th></tr>`);
      for (const r of crit) {
        const segs = (rec.segments || []).map((g, k) => {
          const v = g.verdicts && g.verdicts[r];
          return v ? `<span data-segment="${k}" data-level="${esc(v.level)}">${esc(g.segment)}: ${esc(v.label || v.level)}</span>` : "";
        }).filter(Boolean).join("<br>");
        o.push(`<tr><td class="text">${esc(r)}</td>${nerveVerdictCell(rec.verdicts && rec.verdicts[r], r)}<td class="text" data-segment-verdicts="${esc(r)}">${segs || "\u2013"}</td></tr>`);
      }
      o.push("</table>");
    }
    if (rec.flags && rec.flags.length) o.push(`<p class="note">${rec.flags.map(esc).join("; ")}</p>`);
    o.push("</div>");
    return o.join("");
  }

  function render() {
    const c = S.case || {};
    const who = [c.patient_name, c.patient_id].filter(Boolean).join(", ");
    $("case").textContent = [`case ${c.case_id || "not given"}`, who, c.study_date, c.reviewer ? `reviewer ${c.reviewer}` : ""].filter(Boolean).join(" \u00b7 ");
    $("unsaved").hidden = !S.dirty;
    $("save").title = `Write the markers file ${S.markers_file || ""} (Ctrl+S)`;
    document.body.dataset.dirty = S.dirty ? "1" : "0";
    $("undo").disabled = !S.can_undo;
    $("patient-verdicts").innerHTML = `<table><tr><th class="text">Rule set</th><th class="text">Patient-level result</th></tr>` +
      S.criteria.map((r) => `<tr><td class="text">${esc(r)}</td>${verdictCell(S.patient[r], r, "data-patient-verdict")}</tr>`).join("") + "</table>";
    const list = S.to_review || [];
    $("to-review").hidden = !list.length;
    $("review-list").innerHTML = list.map((r) => `<li><a href="#nerve-${r.nerve}" data-nerve="${r.nerve}" data-site="${r.site}">${esc(S.nerves[r.nerve].title)} \u2014 ${esc(S.nerves[r.nerve].record.sites[r.site].name)}</a>: ${esc(r.flags.join(", "))}</li>`).join("");
    const flagged = new Set(list.map((r) => r.nerve));
    $("nerves").innerHTML = S.order.map((i) => `<section class="nerve${flagged.has(i) ? " flagged" : ""}" id="nerve-${i}" data-nerve="${i}"><h2>${esc(S.nerves[i].title)}</h2><div class="nerve-body">${svgHtml(i)}${tablesHtml(i)}</div></section>`).join("");
  }

  // ---------------------------------------------------------------- actions
  function setMarker(i, j, kind, t) {
    const time = Math.round(t * 1e6) / 1e6;
    pending[`${i}/${j}/${kind}`] = time;
    render();
    return api("/api/markers", { set: [{ nerve: i, site: j, marker: kind, time_ms: time }] });
  }
  function select(i, j, kind) {
    sel = { nerve: i, site: j, kind: kind || (sel && sel.kind) || "onset" };
    if (S) render();
  }
  function nudge(samples) {
    if (!sel) return status("select a marker first (click it)", true);
    const g = geo[sel.nerve], t = markerTime(sel.nerve, sel.site, sel.kind);
    if (!num(t)) return status(`no ${KIND[sel.kind][3]} on this trace: click on the trace to place it`, true);
    setMarker(sel.nerve, sel.site, sel.kind, snap(g, t + samples * g.dt));
  }
  function toggleAbsent() {
    if (!sel) return status("select a trace first (click it)", true);
    if (handMarker(sel.nerve, sel.site, "absent")) api("/api/detected", { nerve: sel.nerve, site: sel.site, marker: "absent" });
    else api("/api/markers", { set: [{ nerve: sel.nerve, site: sel.site, marker: "absent" }] });
  }

  function svgX(svg, clientX) {
    const r = svg.getBoundingClientRect();
    return ((clientX - r.left) * W) / r.width;
  }

  document.addEventListener("pointerdown", (e) => {
    const svg = e.target.closest && e.target.closest("svg.traces");
    if (!svg) return;
    const i = Number(svg.dataset.nerve);
    const mk = e.target.closest(".marker");
    if (mk) {
      const j = Number(mk.dataset.site), kind = mk.dataset.kind;
      sel = { nerve: i, site: j, kind };
      drag = { nerve: i, site: j, kind, x0: svgX(svg, e.clientX), moved: false, el: mk, svg };
      svg.setPointerCapture(e.pointerId);
      svg.querySelectorAll(".marker.selected").forEach((m) => m.classList.remove("selected"));
      mk.classList.add("selected");
      e.preventDefault();
      return;
    }
    const row = e.target.closest(".row") || e.target.closest(".trace");
    if (!row) return;
    const j = Number(row.dataset.site);
    if (sel && sel.nerve === i && sel.site === j) {
      setMarker(i, j, sel.kind, snap(geo[i], tOf(geo[i], svgX(svg, e.clientX))));
    } else {
      select(i, j);
    }
  });
  document.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = svgX(drag.svg, e.clientX) - drag.x0;
    if (Math.abs(dx) >= 2) drag.moved = true;
    if (drag.moved) drag.el.setAttribute("transform", `translate(${dx},0)`);
  });
  document.addEventListener("pointerup", (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!d.moved) return render();
    const g = geo[d.nerve];
    const t0 = markerTime(d.nerve, d.site, d.kind);
    const t = snap(g, t0 + ((svgX(d.svg, e.clientX) - d.x0) * (g.tmax - g.tmin)) / (RIGHT - LEFT));
    setMarker(d.nerve, d.site, d.kind, t);
  });

  document.addEventListener("keydown", (e) => {
    if (!S || e.target.closest("input, textarea, select")) return;
    const key = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && key === "s") { e.preventDefault(); return save(); }
    if ((e.ctrlKey || e.metaKey) && key === "z") { e.preventDefault(); return api("/api/undo", {}); }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      return nudge((e.key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1));
    }
    if ((e.key === "ArrowUp" || e.key === "ArrowDown") && sel) {
      e.preventDefault();
      const j = sel.site + (e.key === "ArrowUp" ? -1 : 1);
      if (j >= 0 && j < S.nerves[sel.nerve].record.sites.length) select(sel.nerve, j, sel.kind);
      return;
    }
    const kind = KINDS.find((k) => k[1].includes(key));
    if (kind && sel) return select(sel.nerve, sel.site, kind[0]);
    if (key === "a") return toggleAbsent();
    if (key === "r" && sel) return api("/api/detected", { nerve: sel.nerve, site: sel.site, marker: sel.kind });
    if (key === "u") return api("/api/undo", {});
    if (e.key === "Escape" && sel) { sel = null; render(); }
  });

  function save() { return api("/api/save", {}); }
  $("undo").addEventListener("click", () => api("/api/undo", {}));
  $("reset-all").addEventListener("click", () => api("/api/detected", {}));
  $("save").addEventListener("click", save);
  $("print").addEventListener("click", () => window.open(`/report?token=${encodeURIComponent(TOKEN)}`, "_blank"));
  $("review-list").addEventListener("click", (e) => {
    const a = e.target.closest("a");
    if (a) select(Number(a.dataset.nerve), Number(a.dataset.site), "onset");
  });
  window.addEventListener("beforeunload", (e) => {
    if (S && S.dirty) { e.preventDefault(); e.returnValue = ""; }
  });

  document.body.dataset.busy = "0";
  api("/api/state").then(() => { document.body.dataset.ready = "1"; });
})();
