// vhtqdm preview: polls /state.json and draws the status as Valohai's execution view would.
// Plain script, no build step, no request to anywhere but this server. Status lines are parsed
// by the rules of vhtqdm/_cli/render.py (parseLine below mirrors parse_line): a line that is not a
// well-formed text, gauge or sparkline element is shown as plain text. Every string from a
// status reaches the page through textContent, never as markup.
"use strict";

(function () {
  const POLL_MS = 500;
  const RETRY_MS = 2000;
  const HISTORY = 12;
  const NAMED = { good: "c-good", bad: "c-bad", warn: "c-warn" };
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  let run = null;
  let since = 0;
  let history = []; // newest first: {seq, at, status}
  let offset = 0; // server clock minus ours, in ms
  let state = null;
  let online = true;

  // -- parsing (the rules of render.parse_line) -------------------------------------------

  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

  function parseLine(line) {
    const plain = { type: "plain", text: line.trim() };
    const stripped = line.trim();
    if (!stripped.startsWith("{")) return plain;
    let el;
    try {
      el = JSON.parse(stripped);
    } catch (e) {
      return plain;
    }
    if (el === null || typeof el !== "object" || Array.isArray(el)) return plain;
    const color = typeof el.color === "string" && el.color.trim() ? el.color.trim() : null;
    if (el.type === "text") {
      return typeof el.text === "string" ? { type: "text", text: el.text, color } : plain;
    }
    if (el.type === "gauge") {
      const min = "min" in el ? el.min : 0;
      const max = "max" in el ? el.max : 1;
      const label = "label" in el ? el.label : "";
      if (!isNumber(el.value) || !isNumber(min) || !isNumber(max) || typeof label !== "string") {
        return plain;
      }
      return { type: "gauge", value: el.value, min, max, label, color };
    }
    if (el.type === "sparkline") {
      if (!Array.isArray(el.values) || !el.values.every(isNumber)) return plain;
      return { type: "sparkline", values: el.values, color };
    }
    return plain;
  }

  function parse(status) {
    if (!status) return [];
    return status.split(/\r\n|\r|\n/).filter((l) => l.trim()).map(parseLine);
  }

  function fraction(g) {
    const span = g.max - g.min;
    if (!(span > 0)) return g.value >= g.max ? 1 : 0;
    return Math.min(Math.max((g.value - g.min) / span, 0), 1);
  }

  // -- drawing --------------------------------------------------------------------------------

  function node(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function paint(n, color, cssProperty) {
    if (!color) return;
    const named = NAMED[color.toLowerCase()];
    if (named) n.classList.add(named);
    else n.style.setProperty(cssProperty, color); // the browser ignores what is not a color
  }

  function formatValue(v) {
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  }

  function drawGauge(g) {
    const box = node("div", "vh-gauge");
    const share = fraction(g);
    box.dataset.value = String(g.value);
    box.dataset.min = String(g.min);
    box.dataset.max = String(g.max);
    box.dataset.fraction = share.toFixed(4);
    const head = node("div", "vh-gauge-head");
    head.append(node("span", "vh-gauge-label", g.label));
    head.append(node("span", "vh-gauge-percent", `${Math.round(share * 100)}%`));
    const track = node("div", "vh-gauge-track");
    const fill = node("div", "vh-gauge-fill");
    fill.style.width = `${(share * 100).toFixed(2)}%`;
    track.append(fill);
    box.append(head, track);
    paint(box, g.color, "--accent");
    return box;
  }

  function drawSparkline(s) {
    const box = node("div", "vh-sparkline");
    box.dataset.count = String(s.values.length);
    const width = 300;
    const height = 40;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    const low = Math.min(...s.values);
    const high = Math.max(...s.values);
    const n = s.values.length;
    const points = s.values.map((v, i) => {
      const x = n > 1 ? (i / (n - 1)) * width : width / 2;
      const y = high > low ? height - ((v - low) / (high - low)) * height : height / 2;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (n) {
      const area = document.createElementNS(SVG, "polygon");
      const first = points[0].split(",")[0];
      const last = points[n - 1].split(",")[0];
      area.setAttribute("points", `${first},${height} ${points.join(" ")} ${last},${height}`);
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", n > 1 ? points.join(" ") : `0,${height / 2} ${width},${height / 2}`);
      svg.append(area, line);
    }
    svg.setAttribute("aria-label", `sparkline of ${n} values`);
    box.append(svg);
    const extent = n ? `${formatValue(s.values[0])} → ${formatValue(s.values[n - 1])}` : "no values";
    box.append(node("span", "vh-sparkline-extent", extent));
    paint(box, s.color, "--accent");
    return box;
  }

  function drawElement(el) {
    if (el.type === "gauge") return drawGauge(el);
    if (el.type === "sparkline") return drawSparkline(el);
    if (el.type === "text") {
      const n = node("div", "vh-text", el.text);
      paint(n, el.color, "color");
      return n;
    }
    return node("div", "vh-plain", el.text);
  }

  function drawStatus(status) {
    const box = $("status");
    const elements = parse(status);
    if (!elements.length) {
      box.replaceChildren(node("p", "empty", status === null ? "Waiting for the first status update…" : "(empty status)"));
    } else {
      box.replaceChildren(...elements.map(drawElement));
    }
    $("raw").textContent = status || "";
  }

  function summary(status) {
    const elements = parse(status);
    const gauges = elements.filter((e) => e.type === "gauge").length;
    const charts = elements.filter((e) => e.type === "sparkline").length;
    const firstText = elements.find((e) => e.type === "text" || e.type === "plain");
    const gauge = elements.find((e) => e.type === "gauge");
    const parts = [];
    if (gauges) parts.push(`${gauges} gauge${gauges > 1 ? "s" : ""}`);
    if (charts) parts.push(`${charts} sparkline${charts > 1 ? "s" : ""}`);
    if (gauge && gauge.label) parts.push(gauge.label);
    else if (firstText) parts.push(firstText.text);
    return parts.join(" · ") || "(empty status)";
  }

  const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });

  function ago(seconds) {
    if (seconds < 1) return "just now";
    if (seconds < 90) return `${seconds.toFixed(0)} s ago`;
    return `${Math.round(seconds / 60)} min ago`;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const m = Math.floor(s / 60);
    return m ? `${m} min ${s % 60} s` : `${s} s`;
  }

  function drawHistory() {
    const list = $("history");
    list.replaceChildren(
      ...history.map((u, i) => {
        const li = node("li");
        const previous = history[i + 1];
        li.append(node("span", "seq", `#${u.seq}`));
        li.append(node("span", "time", clock(u.at)));
        li.append(node("span", "gap", previous ? `+${(u.at - previous.at).toFixed(2)} s` : ""));
        li.append(node("span", "what", summary(u.status)));
        return li;
      })
    );
  }

  const LEVELS = { error: "c-bad", warn: "c-warn", info: "c-info" };

  function drawAlerts(alerts) {
    const list = $("alerts");
    if (!alerts.length) {
      list.replaceChildren(node("li", "empty", "No alert yet."));
      return;
    }
    list.replaceChildren(
      ...alerts.slice().reverse().map((a) => {
        const li = node("li");
        li.dataset.event = a.event;
        li.append(node("span", "time", clock(a.at)));
        const event = node("span", `event ${LEVELS[a.level] || ""}`, a.event);
        const what = node("div", "what");
        what.append(node("div", "title", a.title));
        for (const line of a.lines) what.append(node("div", "line", line));
        li.append(event, what);
        return li;
      })
    );
  }

  function drawClock() {
    if (!state) return;
    const now = (Date.now() + offset) / 1000;
    $("last-update").textContent = history.length
      ? `${clock(history[0].at)} (${ago(now - history[0].at)})`
      : "none yet";
    const end = state.ended !== null ? state.ended : online ? now : null;
    if (end !== null) $("duration").textContent = duration(end - state.started);
  }

  function drawState() {
    const pill = $("state");
    const word = online || state.exit_code !== null ? state.status : "disconnected";
    pill.dataset.state = online || state.exit_code !== null ? state.status : "offline";
    pill.textContent = state.exit_code !== null && state.exit_code !== 0 ? `${word} (exit ${state.exit_code})` : word;
    $("command").textContent = state.command;
    $("command").title = state.command;
    $("count").textContent = String(state.count) + (state.rejected ? ` (${state.rejected} refused)` : "");
    $("status").classList.toggle("stale", !online);
  }

  // -- polling --------------------------------------------------------------------------------

  function apply(next) {
    if (next.run !== run) {
      // A new `vhtqdm preview` took over this port: start afresh.
      run = next.run;
      history = [];
      if (since > 0) {
        since = 0;
        return true; // ask again from the start
      }
    }
    state = next;
    offset = next.now * 1000 - Date.now();
    if (next.updates.length) {
      history = next.updates.slice().reverse().concat(history).slice(0, HISTORY);
      since = next.updates[next.updates.length - 1].seq;
      drawStatus(history[0].status);
      drawHistory();
    } else if (!history.length) {
      drawStatus(null);
    }
    drawAlerts(next.alerts || []);
    drawState();
    drawClock();
    return false;
  }

  async function poll() {
    let again = false;
    try {
      const answer = await fetch(`/state.json?since=${since}`, { cache: "no-store" });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      online = true;
      again = apply(await answer.json());
    } catch (e) {
      online = false;
      if (state) drawState();
    }
    setTimeout(poll, again ? 0 : online ? POLL_MS : RETRY_MS);
  }

  setInterval(drawClock, 250);
  poll();
})();
