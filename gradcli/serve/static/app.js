// The page of `gradcli serve`: it reads what the student types, asks the local gradcli server (the
// /api/v1 endpoints of docs/serve.md) and shows the answers. Everything it draws comes from the server's
// JSON through textContent or a checked MathML copy; nothing the server or the student sends becomes HTML.
"use strict";

(() => {
  const API = "/api/v1/";
  const PREVIEW_DELAY = 150; // ms after the last keystroke before the reading is asked for
  const ANALYSE_DELAY = 350; // ms after a good reading before the derivative, table and graph are asked for
  const POINT_DELAY = 120; // ms after the point moves before the table is asked for again
  const CLIENT_TIMEOUT = 35000; // the server answers within 30 s at most; past this it is not answering
  const SAMPLES = 201;
  const MATHML = "http://www.w3.org/1998/Math/MathML";
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const state = {
    reading: null, // the last /validate answer that parsed
    point: {}, // variable -> number
    plot: null, // the last /plot answer, with its range
    tangent: null, // {at, f, slope}
  };
  const timers = {};
  const inFlight = {};

  // ------------------------------------------------------------ talking to the server

  function token() {
    const found = /(?:^|[#&?])token=([^&]+)/.exec(location.hash + "&" + location.search);
    return found ? decodeURIComponent(found[1]) : null;
  }

  // One request per channel at a time: a newer question cancels the older one's answer.
  async function api(channel, path, body) {
    if (inFlight[channel]) inFlight[channel].abort();
    const controller = new AbortController();
    inFlight[channel] = controller;
    const timer = setTimeout(() => controller.abort("timeout"), CLIENT_TIMEOUT);
    const headers = { "Content-Type": "application/json" };
    const secret = token();
    if (secret) headers.Authorization = "Bearer " + secret;
    try {
      const response = await fetch(API + path, {
        method: "POST", headers, body: JSON.stringify(body), signal: controller.signal,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (_) {
        data = { message: "the server's answer could not be read (HTTP " + response.status + ")" };
      }
      return { ok: response.ok, status: response.status, data };
    } catch (error) {
      if (controller.signal.aborted && controller.signal.reason !== "timeout") return { aborted: true };
      if (controller.signal.reason === "timeout") return { ok: false, timeout: true };
      return { ok: false, network: true };
    } finally {
      clearTimeout(timer);
      if (inFlight[channel] === controller) delete inFlight[channel];
    }
  }

  function failureText(reply) {
    if (reply.timeout) return "This took too long: the server did not answer in time. Try a simpler expression.";
    if (reply.network) return "The gradcli server is not answering. Is `gradcli serve` still running?";
    return (reply.data && reply.data.message) || "the server refused this request";
  }

  function later(name, delay, fn) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, delay);
  }

  // ------------------------------------------------------------ small DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  function fill(container, ...children) {
    container.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
  }

  function problem(text) {
    return el("p", { class: "problem", role: "alert", text });
  }

  // MathML from the server is copied element by element: only MathML presentation tags and a few
  // harmless attributes survive, so a bug on the server cannot put a script on the page.
  const MATH_TAGS = new Set([
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt",
    "mroot", "mfenced", "mstyle", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mpadded",
    "mphantom", "semantics", "annotation",
  ]);
  const MATH_ATTRS = new Set([
    "display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace", "accent",
    "linethickness", "open", "close", "separators", "displaystyle", "scriptlevel", "largeop", "movablelimits",
    "encoding",
  ]);

  function mathFrom(markup) {
    if (typeof markup !== "string" || !markup.trim().startsWith("<math")) return null;
    const parsed = new DOMParser().parseFromString(markup, "text/html").body.firstElementChild;
    if (!parsed || parsed.localName !== "math") return null;
    const copy = (node) => {
      if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.data);
      if (node.nodeType !== Node.ELEMENT_NODE || !MATH_TAGS.has(node.localName)) return null;
      const clean = document.createElementNS(MATHML, node.localName);
      for (const attr of node.attributes) if (MATH_ATTRS.has(attr.name)) clean.setAttribute(attr.name, attr.value);
      for (const child of node.childNodes) {
        const c = copy(child);
        if (c) clean.append(c);
      }
      return clean;
    };
    return copy(parsed);
  }

  // ------------------------------------------------------------ numbers in words a student reads

  function num(value) {
    if (value === null || value === undefined) return "none";
    if (Array.isArray(value)) return "[" + value.map(num).join(", ") + "]";
    if (typeof value === "string") return { nan: "not a number", inf: "∞", "-inf": "−∞" }[value] || value;
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
    const text = Math.abs(value) >= 1e-4 && Math.abs(value) < 1e10 ? String(+value.toPrecision(10)) : value.toExponential(6);
    return text.replace("-", "−");
  }

  function short(value) {
    return typeof value === "number" ? String(+value.toPrecision(4)).replace("-", "−") : num(value);
  }

  function pointText(at) {
    return Object.entries(at || {}).map(([k, v]) => `${k} = ${num(v)}`).join(", ");
  }

  const ORDINAL = { 1: "", 2: "²", 3: "³" };

  function order() {
    return Number($("order").value);
  }

  function derivativeName(variable, many) {
    const o = order();
    const d = many ? "∂" : "d";
    return o === 1 ? `${d}f/${d}${variable}` : `${d}${ORDINAL[o]}f/${d}${variable}${ORDINAL[o]}`;
  }

  function primes() {
    return "′".repeat(order());
  }

  // ------------------------------------------------------------ the preview (POST /validate)

  async function preview() {
    const text = $("expression").value;
    if (!text.trim()) {
      state.reading = null;
      fill($("preview"), el("p", { class: "muted", text: "The preview of how gradcli reads your function appears here as you type." }));
      showResults(false);
      return;
    }
    const reply = await api("validate", "validate", { expression: text, latex: $("latex").checked });
    if (reply.aborted) return;
    if (!reply.ok) {
      fill($("preview"), ...invalid(text, reply));
      markStale();
      return;
    }
    const reading = reply.data;
    const changed = !state.reading || state.reading.expression !== reading.expression;
    state.reading = reading;
    renderPreview(reading);
    if (changed || !$("results").dataset.ready) later("analyse", ANALYSE_DELAY, analyse);
    else unmarkStale();
  }

  function invalid(text, reply) {
    const parts = [problem("gradcli cannot read this: " + failureText(reply))];
    const position = reply.data && Number.isInteger(reply.data.position) ? reply.data.position : null;
    if (position !== null && position >= 0 && position <= text.length) {
      parts.push(el("pre", { class: "caret", "aria-hidden": "true", text: text + "\n" + " ".repeat(position) + "^" }));
      parts.push(el("p", { class: "muted", text: `The problem is at character ${position + 1}.` }));
    }
    return parts;
  }

  function renderPreview(reading) {
    const math = mathFrom(reading.mathml);
    const lines = [
      el("p", { class: "label", text: "gradcli reads this as" }),
      math ? el("div", { class: "math", "aria-hidden": "true", tabindex: "-1" }, math) : null,
      el("p", { class: "reading" }, "f = ", el("code", { text: reading.expression })),
    ];
    const vars = reading.variables || [];
    lines.push(el("p", { class: "muted", text: vars.length ? "variables: " + vars.join(", ") : "no variables: a constant" }));
    const notes = reading.reading || [];
    if (notes.length) lines.push(el("ul", { class: "notes" }, ...notes.map((n) => el("li", { class: "note", text: "note: " + n.message }))));
    fill($("preview"), ...lines);
  }

  function markStale() {
    if (!$("results").dataset.ready) return;
    $("results").classList.add("stale");
  }

  function unmarkStale() {
    $("results").classList.remove("stale");
  }

  function showResults(visible) {
    for (const id of ["derivative-card", "point-card", "graph-card", "check-card"]) $(id).hidden = !visible;
    if (!visible) delete $("results").dataset.ready;
  }

  // ------------------------------------------------------------ the derivative, the table and the graph

  function analyse() {
    const reading = state.reading;
    if (!reading) return;
    unmarkStale();
    $("results").dataset.ready = "1";
    showResults(true);
    const vars = reading.variables || [];
    buildPointInputs(vars);
    $("answer-label").textContent = vars.length === 1 ? `your derivative f${primes()}(${vars[0]}) =` : "your derivative =";
    derivative();
    if (vars.length) pointTable();
    else fill($("table-out"), el("p", { class: "muted", text: "A constant has no variable to put a point in; its derivative is 0." }));
    $("graph-card").hidden = vars.length !== 1;
    $("slider-row").hidden = vars.length !== 1;
    if (vars.length === 1) plot();
  }

  async function derivative() {
    const reading = state.reading;
    fill($("derivative"), el("p", { class: "muted", text: "working out the derivative…" }));
    fill($("steps-out"));
    const body = { expression: reading.expression, at: null, wrt: null, order: order(), steps: $("steps").checked };
    const reply = await api("derivative", "grad", body);
    if (reply.aborted) return;
    if (!reply.ok) return fill($("derivative"), problem("No derivative: " + failureText(reply)));
    const result = reply.data;
    const rows = Object.entries(result.derivative || {});
    const many = rows.length > 1;
    const list = el("dl", { class: "formula" });
    for (const [variable, formula] of rows) {
      const markup = result.mathml && typeof result.mathml === "object" ? result.mathml[variable] : rows.length === 1 ? result.mathml : null;
      const math = mathFrom(markup);
      list.append(el("dt", { text: derivativeName(variable, many) + " =" }));
      list.append(el("dd", {}, math ? el("span", { class: "math", "aria-hidden": "true", tabindex: "-1" }, math) : null, el("code", { text: formula })));
      const factored = result.factored && result.factored[variable];
      if (factored) list.append(el("dd", { class: "muted" }, "factored: ", el("code", { text: factored })));
    }
    fill($("derivative"), list, verdictLine(result), notesList(result.notes || []));
    renderSteps(result.steps);
  }

  function verdictLine(result) {
    const checked = (result.checked_at || []).length;
    const text = {
      agree: `Checked against GradientTape at ${checked} sample point${checked === 1 ? "" : "s"}, with finite differences: they agree.`,
      disagree: "At some sample points the three methods disagree: see the notes.",
      "not checked": "gradcli found no sample point where the function is real and finite, so this formula was not checked.",
    }[result.status];
    return text ? el("p", { class: "status status-" + result.status.replace(" ", "-"), text }) : null;
  }

  function renderSteps(steps) {
    if (!Array.isArray(steps) || !steps.length) return fill($("steps-out"));
    const list = el("ol", { class: "steps" }, ...steps.map((s) => el("li", {}, el("code", { text: s.text }))));
    fill($("steps-out"), el("h3", { text: "Steps" }), list);
  }

  const SEVERITY = { undefined: "The derivative does not exist here", wrong: "Why the methods disagree", info: "Note" };

  function notesList(notes) {
    if (!notes.length) return null;
    return el("ul", { class: "notes" }, ...notes.map((n) =>
      el("li", { class: "note note-" + n.severity }, el("strong", { text: (SEVERITY[n.severity] || "Note") + ": " }), n.message)));
  }

  function buildPointInputs(vars) {
    const box = $("point-inputs");
    const have = [...box.querySelectorAll("input")].map((i) => i.dataset.variable);
    if (have.join(",") === vars.join(",")) return;
    const point = {};
    for (const v of vars) point[v] = v in state.point ? state.point[v] : 1;
    state.point = point;
    fill(box, ...vars.map((v) => {
      const input = el("input", { id: "at-" + v, type: "number", step: "any", inputmode: "decimal", value: String(point[v]) });
      input.dataset.variable = v;
      input.addEventListener("input", () => {
        const value = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(value)) return;
        state.point[v] = value;
        if (vars.length === 1) pointMovedTo(value, false);
        later("point", POINT_DELAY, pointTable);
      });
      return el("span", { class: "point-input" }, el("label", { for: "at-" + v, text: v + " =" }), input);
    }));
  }

  async function pointTable() {
    const reading = state.reading;
    if (!reading) return;
    const at = { ...state.point };
    const reply = await api("point", "grad", { expression: reading.expression, at, wrt: null, order: order() });
    if (reply.aborted) return;
    if (!reply.ok) return fill($("table-out"), problem("No table at this point: " + failureText(reply)));
    const result = reply.data;
    const point = (result.results || [])[0];
    if (!point) return fill($("table-out"), problem("The server's answer had no result for this point."));
    fill($("table-out"), witnessTable(result, point), pointStatus(result, point), notesList(point.notes || []));
    const vars = Object.keys(point.gradient || {});
    if (vars.length === 1 && order() === 1) {
      const row = point.gradient[vars[0]];
      const slope = typeof row.exact === "number" ? row.exact : row.tape;
      const value = point.value;
      const x = at[vars[0]];
      const exists = point.differentiable !== false && typeof slope === "number" && typeof value === "number";
      setTangent(exists ? { at: x, f: value, slope } : null, x); // no tangent where the derivative does not exist
    }
  }

  function witnessTable(result, point) {
    const many = Object.keys(point.gradient).length > 1;
    const head = ["", "GradientTape", "sympy's derivative", "its exact value", "finite differences", "agree"];
    const table = el("table", { class: "witnesses" },
      el("caption", { text: `At ${pointText(point.at)}: f = ${num(point.value)}` }),
      el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { scope: "col", text: i ? h : "derivative" })))));
    const body = el("tbody");
    for (const [variable, row] of Object.entries(point.gradient)) {
      const bound = row.finite_difference_error;
      const fd = el("td", { title: row.finite_difference_method || null, text: num(row.finite_difference) });
      if (bound !== undefined && bound !== null) fd.append(el("span", { class: "error", text: `± ${short(bound)}` }));
      body.append(el("tr", {},
        el("th", { scope: "row", text: derivativeName(variable, many) }),
        el("td", { text: row.tape === null ? "None (not watched)" : num(row.tape) }),
        el("td", {}, el("code", { text: row.symbolic })),
        el("td", { text: num(row.exact) }),
        fd,
        el("td", { class: row.agree ? "yes" : "no", text: row.agree ? "yes" : "no" })));
    }
    table.append(body);
    return el("div", { class: "table-wrap", role: "region", "aria-label": "the three methods at the point", tabindex: "0" }, table);
  }

  function pointStatus(result, point) {
    const tol = result.tolerance || {};
    const rtol = (t) => (t && t.rtol !== undefined ? ` within rtol ${t.rtol}` : "");
    let text;
    if (point.differentiable === false) text = "Not differentiable here: the derivative does not exist or is not finite at this point (see below).";
    else if (result.status === "agree") text = `All three methods agree (tape vs exact${rtol(tol.tape)}; finite differences${rtol(tol.finite_difference)}).`;
    else text = "The methods disagree at this point: the note below says which one is the odd one out.";
    return el("p", { class: "status status-" + (point.differentiable === false ? "undefined" : result.status), text });
  }

  // ------------------------------------------------------------ the graph (POST /plot, drawn here as SVG)

  function range() {
    let lo = Number($("range-lo").value);
    let hi = Number($("range-hi").value);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo >= hi) [lo, hi] = [-5, 5];
    const x = state.point[(state.reading.variables || [])[0]];
    if (Number.isFinite(x) && (x < lo || x > hi)) {
      const half = (hi - lo) / 2;
      [lo, hi] = [x - half, x + half];
      $("range-lo").value = String(+lo.toPrecision(6));
      $("range-hi").value = String(+hi.toPrecision(6));
    }
    return [lo, hi];
  }

  async function plot() {
    const reading = state.reading;
    const variable = reading.variables[0];
    const [lo, hi] = range();
    fill($("graph"), el("p", { class: "muted", text: "drawing the graph…" }));
    const reply = await api("plot", "plot", { expression: reading.expression, range: [lo, hi], at: state.point[variable], n: SAMPLES });
    if (reply.aborted) return;
    if (!reply.ok) {
      state.plot = null;
      fill($("graph"), problem("No graph: " + failureText(reply)));
      fill($("graph-summary"));
      fill($("graph-notes"));
      return;
    }
    state.plot = { ...reply.data, lo, hi, variable };
    const slider = $("slider");
    slider.max = String(state.plot.x.length - 1);
    slider.value = String(nearestIndex(state.point[variable]));
    updateSliderText();
    const x = state.point[variable];
    if (state.tangentAt !== x) state.tangent = reply.data.tangent || localTangent(nearestIndex(x));
    fill($("graph-notes"), ...(reply.data.notes || []).map((n) => el("li", { class: "note", text: n.message })));
    draw();
  }

  function nearestIndex(x) {
    const xs = state.plot.x;
    const step = (state.plot.hi - state.plot.lo) / (xs.length - 1);
    return Math.max(0, Math.min(xs.length - 1, Math.round((x - state.plot.lo) / step)));
  }

  function localTangent(i) {
    const p = state.plot;
    return p.f[i] === null || p.df[i] === null ? null : { at: p.x[i], f: p.f[i], slope: p.df[i] };
  }

  function setTangent(tangent, at) {
    state.tangent = tangent;
    state.tangentAt = at;
    drawTangent();
  }

  // The point moved (slider, drag or the number box): the tangent follows at once from the sampled
  // curve, and the table (with the exact tangent) follows when the server answers.
  function pointMovedTo(x, fromGraph) {
    const variable = state.reading.variables[0];
    state.point[variable] = x;
    const box = $("at-" + variable);
    if (fromGraph && box) box.value = String(x);
    if (!state.plot) return;
    const i = nearestIndex(x);
    if (fromGraph) {
      $("slider").value = String(i);
      state.tangent = localTangent(i);
    } else if (x < state.plot.lo || x > state.plot.hi) {
      later("replot", ANALYSE_DELAY, plot);
    }
    updateSliderText();
    drawTangent();
  }

  function updateSliderText() {
    const variable = state.reading.variables[0];
    const text = `${variable} = ${num(state.point[variable])}`;
    $("slider-value").textContent = text;
    $("slider").setAttribute("aria-valuetext", text);
  }

  function viewRange(values) {
    const finite = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
    if (!finite.length) return [-1, 1];
    // Near a pole the curve runs off to infinity: scale to the bulk of the samples, not the extremes.
    const at = (q) => finite[Math.min(finite.length - 1, Math.max(0, Math.round(q * (finite.length - 1))))];
    let [lo, hi] = finite.length > 20 ? [at(0.03), at(0.97)] : [finite[0], finite[finite.length - 1]];
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
    if (hi - lo < 1e-12) [lo, hi] = [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.08;
    return [lo - pad, hi + pad];
  }

  function ticks(lo, hi, count) {
    const raw = (hi - lo) / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) || raw;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }

  // The axes and curves are drawn once per /plot answer; the tangent layer is redrawn as the point moves.
  function draw() {
    const p = state.plot;
    if (!p) return;
    // Drawn at the width it is shown at, so that its labels stay readable on a phone.
    const W = Math.round(Math.max(300, Math.min(860, $("graph").clientWidth || 640)));
    const H = Math.round(Math.max(260, Math.min(420, W * 0.6))), L = 48, R = 12, T = 12, B = 56;
    const [ylo, yhi] = viewRange([...p.f, ...p.df]);
    const sx = (x) => L + ((x - p.lo) / (p.hi - p.lo)) * (W - L - R);
    const sy = (y) => T + ((yhi - y) / (yhi - ylo)) * (H - T - B);
    state.scale = { sx, sy, ylo, yhi, W };
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "graph-title graph-desc", class: "plot" });
    const title = svg("title", { id: "graph-title" });
    title.textContent = `Graph of f and f′ for ${p.variable} from ${short(p.lo)} to ${short(p.hi)}`;
    root.append(title, svg("desc", { id: "graph-desc" }));
    const clip = svg("clipPath", { id: "plot-area" });
    clip.append(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B }));
    root.append(clip);
    const axes = svg("g", { class: "axes", "aria-hidden": "true" });
    for (const t of ticks(p.lo, p.hi, 8)) {
      axes.append(svg("line", { x1: sx(t), x2: sx(t), y1: T, y2: H - B, class: "grid" }));
      const label = svg("text", { x: sx(t), y: H - B + 18, "text-anchor": "middle" });
      label.textContent = short(t);
      axes.append(label);
    }
    for (const t of ticks(ylo, yhi, 6)) {
      axes.append(svg("line", { x1: L, x2: W - R, y1: sy(t), y2: sy(t), class: "grid" }));
      const label = svg("text", { x: L - 6, y: sy(t) + 4, "text-anchor": "end" });
      label.textContent = short(t);
      axes.append(label);
    }
    if (ylo < 0 && yhi > 0) axes.append(svg("line", { x1: L, x2: W - R, y1: sy(0), y2: sy(0), class: "axis" }));
    if (p.lo < 0 && p.hi > 0) axes.append(svg("line", { x1: sx(0), x2: sx(0), y1: T, y2: H - B, class: "axis" }));
    root.append(axes);
    const curves = svg("g", { "clip-path": "url(#plot-area)", "aria-hidden": "true" });
    curves.append(svg("path", { d: pathOf(p.x, p.f, sx, sy, ylo, yhi), class: "curve-f", "data-curve": "f" }));
    curves.append(svg("path", { d: pathOf(p.x, p.df, sx, sy, ylo, yhi), class: "curve-df", "data-curve": "df" }));
    curves.append(svg("g", { id: "tangent-layer" }));
    root.append(curves);
    const legend = svg("g", { class: "legend", "aria-hidden": "true" });
    [["f", "curve-f"], ["f′", "curve-df"], [W < 480 ? "tangent" : "tangent at the point", "tangent"]].forEach(([name, cls], i) => {
      const x = L + i * (W < 480 ? 70 : 120);
      legend.append(svg("line", { x1: x, x2: x + 28, y1: H - 12, y2: H - 12, class: cls }));
      const label = svg("text", { x: x + 34, y: H - 8 });
      label.textContent = name;
      legend.append(label);
    });
    root.append(legend);
    root.addEventListener("pointerdown", (event) => drag(event, root));
    fill($("graph"), root);
    drawTangent();
  }

  function drawTangent() {
    const p = state.plot;
    const layer = document.getElementById("tangent-layer");
    if (!p || !layer) return;
    const { sx, sy, ylo, yhi } = state.scale;
    const t = state.tangent;
    const parts = [];
    if (t && Number.isFinite(t.f) && Number.isFinite(t.slope)) {
      const y = (x) => t.f + t.slope * (x - t.at);
      parts.push(svg("line", { x1: sx(p.lo), y1: sy(y(p.lo)), x2: sx(p.hi), y2: sy(y(p.hi)), class: "tangent", "data-slope": String(t.slope) }));
      parts.push(svg("circle", { cx: sx(t.at), cy: sy(t.f), r: 6, class: "point", "data-at": String(t.at) }));
    }
    layer.replaceChildren(...parts);
    const text = summary(ylo, yhi);
    $("graph-desc").textContent = text;
    $("graph-summary").textContent = text;
  }

  function pathOf(xs, ys, sx, sy, ylo, yhi) {
    const span = yhi - ylo;
    let d = "";
    let open = false;
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i];
      if (y === null || !Number.isFinite(y)) {
        open = false;
        continue;
      }
      // Across a pole the samples jump from far above to far below: lift the pen instead of drawing the jump.
      const prev = i ? ys[i - 1] : null;
      const mid = (ylo + yhi) / 2;
      if (open && prev !== null && Math.abs(y - prev) > 2 * span && Math.sign(y - mid) !== Math.sign(prev - mid)) open = false;
      const clamped = Math.max(ylo - 10 * span, Math.min(yhi + 10 * span, y));
      d += (open ? "L" : "M") + sx(xs[i]).toFixed(2) + " " + sy(clamped).toFixed(2);
      open = true;
    }
    return d;
  }

  function summary(ylo, yhi) {
    const p = state.plot;
    const name = state.reading.expression;
    let text = `f = ${name} (solid line) and its derivative f′ (dashed line), for ${p.variable} from ${short(p.lo)} to ${short(p.hi)}; the vertical axis shows ${short(ylo)} to ${short(yhi)}.`;
    const t = state.tangent;
    if (t && Number.isFinite(t.f) && Number.isFinite(t.slope)) {
      text += ` At ${p.variable} = ${short(t.at)} (the dot), f = ${short(t.f)} and the tangent (dotted line) has slope ${short(t.slope)}.`;
    } else {
      text += " At the chosen point there is no tangent: the derivative does not exist or is not finite there.";
    }
    const notes = p.notes || [];
    if (notes.length) text += ` ${notes.length} mark${notes.length === 1 ? "" : "s"} where the derivative does not exist, listed below.`;
    return text;
  }

  function drag(event, root) {
    const p = state.plot;
    const { sx, W } = state.scale;
    const move = (e) => {
      const box = root.getBoundingClientRect();
      const px = (e.clientX - box.left) * (W / box.width);
      const x0 = sx(p.lo), x1 = sx(p.hi);
      const i = Math.max(0, Math.min(p.x.length - 1, Math.round(((px - x0) / (x1 - x0)) * (p.x.length - 1))));
      pointMovedTo(p.x[i], true);
      later("point", POINT_DELAY, pointTable);
    };
    move(event);
    root.setPointerCapture(event.pointerId);
    root.addEventListener("pointermove", move);
    root.addEventListener("pointerup", () => root.removeEventListener("pointermove", move), { once: true });
  }

  // ------------------------------------------------------------ check my answer (POST /check)

  const VERDICT = {
    correct: "Correct",
    wrong: "Not correct",
    undecided: "Undecided",
    "not differentiable": "Not differentiable here",
  };

  async function check(event) {
    event.preventDefault();
    const reading = state.reading;
    const answer = $("answer").value;
    if (!reading) return fill($("check-out"), problem("First type a function gradcli can read."));
    if (!answer.trim()) return fill($("check-out"), problem("Type your answer first, then check it."));
    const at = $("check-at").checked ? { ...state.point } : null;
    fill($("check-out"), el("p", { class: "muted", text: "checking…" }));
    const reply = await api("check", "check", { expression: reading.expression, answer, at, wrt: null, order: order() });
    if (reply.aborted) return;
    if (!reply.ok) return fill($("check-out"), problem("gradcli cannot check this: " + failureText(reply)));
    fill($("check-out"), ...verdict(reply.data));
  }

  function verdict(r) {
    const tooLong = r.verdict === "undecided" && /took too long/i.test(r.feedback || r.reason || "");
    const heading = tooLong ? "Undecided: this took too long" : VERDICT[r.verdict] || r.verdict;
    const out = [el("p", { class: "verdict verdict-" + r.verdict.replace(" ", "-"), text: heading })];
    if (r.feedback) out.push(el("p", { class: "feedback", text: r.feedback }));
    if (tooLong) out.push(el("p", { text: "gradcli could not decide in the time allowed. Try again, or write the answer more simply." }));
    const facts = el("dl", { class: "facts" });
    const fact = (term, value) => value !== undefined && value !== null && value !== "" && facts.append(el("dt", { text: term }), el("dd", {}, el("code", { text: Array.isArray(value) ? value.join(", ") : String(value) })));
    fact("your answer", r.answer);
    fact("the derivative", r.derivative);
    if (r.reason) facts.append(el("dt", { text: "how gradcli decided" }), el("dd", { text: (r.method ? r.method + ": " : "") + r.reason }));
    if (r.tolerance && r.tolerance.rule) facts.append(el("dt", { text: "judged by" }), el("dd", { text: policy(r.tolerance) }));
    out.push(facts);
    const c = r.counterexample;
    if (c) out.push(el("p", { class: "counterexample", text: `At ${pointText(c.at)} your answer gives ${num(c.answer)}; the derivative is ${num(c.derivative)}.` }));
    if (r.mistake && r.mistake.message) {
      const words = r.mistake.message.replace(/^likely mistake:\s*/i, "");
      out.push(el("p", { class: "mistake" }, el("strong", { text: "Likely mistake: " }), words));
    }
    return out;
  }

  function policy(t) {
    switch (t.rule) {
      case "decimals": return `equal to the ${t.decimals} decimal${t.decimals === 1 ? "" : "s"} you wrote`;
      case "significant figures": return `equal to ${t.sig_figs} significant figures`;
      case "relative": return `equal within a relative tolerance of ${t.rtol}`;
      case "exact": return "exactly equal (sympy, then numbers at sample points)";
      default: return t.rule;
    }
  }

  // ------------------------------------------------------------ wiring

  function start() {
    const input = $("expression");
    input.addEventListener("input", () => later("preview", PREVIEW_DELAY, preview));
    $("latex").addEventListener("change", () => later("preview", 0, preview));
    $("order").addEventListener("change", () => state.reading && analyse());
    $("steps").addEventListener("change", () => state.reading && derivative());
    $("expression-form").addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timers.preview);
      preview();
    });
    $("slider").addEventListener("input", () => {
      if (!state.plot) return;
      pointMovedTo(state.plot.x[Number($("slider").value)], true);
      later("point", POINT_DELAY, pointTable);
    });
    for (const id of ["range-lo", "range-hi"]) $(id).addEventListener("change", () => state.reading && plot());
    $("check-form").addEventListener("submit", check);
    let width = $("graph").clientWidth;
    window.addEventListener("resize", () => later("resize", 200, () => {
      if ($("graph").clientWidth !== width) {
        width = $("graph").clientWidth;
        draw();
      }
    }));
    if (input.value.trim()) preview();
    document.documentElement.dataset.ready = "1";
  }

  start();
})();
