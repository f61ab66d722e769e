// airlock console: the only script. It follows the audit stream on the
// Activity page and copies a new token. Every page works without it.
"use strict";

(function () {
  var TYPES = ["statement", "session", "request", "grant", "alert", "token", "user", "undo", "system"];

  // describe mirrors describe() in render.go.
  function describe(ev) {
    var d = ev.detail || {};
    var v = { what: "", code: false, note: "", verdict: "" };
    var by = ev.actor && ev.actor !== ev.user ? " by " + ev.actor : "";
    switch (ev.type) {
      case "statement":
        v.what = ev.text || "";
        v.code = true;
        if (ev.decision === "denied") {
          v.verdict = "denied";
          v.note = (ev.rule || "") + ": " + (ev.reason || "");
        } else if (ev.error) {
          v.verdict = "failed";
          v.note = ev.error;
        } else if (ev.action === "started") {
          v.verdict = "allowed";
          v.note = "started";
        } else {
          v.verdict = "allowed";
          if (ev.rows === 1) v.note = "1 row";
          else if (ev.rows > 1) v.note = ev.rows + " rows";
        }
        if (ev.warnings && ev.warnings.length) v.note = (v.note + " warning: " + ev.warnings.join("; ")).trim();
        break;
      case "alert":
        v.verdict = "alert";
        v.what = "alert " + (ev.rule || "");
        v.note = ev.reason || "";
        break;
      case "session":
        if (ev.action === "opened") v.what = "session opened at " + d.level + " level";
        else if (ev.action === "level") v.what = "session level " + d.from + " → " + d.to;
        else if (ev.action === "killed") v.what = "session killed by " + ev.actor;
        else if (ev.action === "closed") { v.what = "session closed"; v.note = d.reason || ""; }
        else v.what = "session " + ev.action;
        break;
      case "request":
        v.what = "request " + ev.action + ": " + d.level + " for " + shortDuration(d.duration || "") + by;
        v.note = d.decision_reason || d.reason || "";
        break;
      case "grant":
        v.what = "grant " + ev.action + ": " + d.level + " until " + d.expires_at + by;
        break;
      default:
        v.what = ev.type + " " + ev.action + by;
        v.note = ev.ref || "";
    }
    if (d.on_behalf_of) {
      v.note = (v.note + " (agent, for " + d.on_behalf_of + ")").trim();
    } else if (d.agent === "true") {
      v.note = (v.note + " (agent)").trim();
    }
    return v;
  }

  // shortDuration mirrors shortDuration in render.go: "1h0m0s" → "1h".
  function shortDuration(s) {
    return s.replace(/^(.*[hm])0s$/, "$1").replace(/^(.*h)0m$/, "$1");
  }

  var BADGES = {
    denied: ["bad", "✕", "Denied"],
    alert: ["warn", "⚠", "Alert"],
    failed: ["fail", "!", "Failed"],
    allowed: ["ok", "✓", "Allowed"]
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function cell(label) {
    var td = el("td");
    td.setAttribute("data-label", label);
    return td;
  }

  function fmtTime(iso) {
    var t = new Date(iso);
    if (isNaN(t)) return iso;
    return t.toISOString().replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "") + " UTC";
  }

  function row(ev) {
    var v = describe(ev);
    var tr = el("tr", "ev fresh" + (v.verdict ? " v-" + v.verdict : ""));
    tr.id = "ev-" + ev.id;
    var t = cell("Time");
    var time = el("time", "", fmtTime(ev.time));
    time.setAttribute("datetime", ev.time);
    t.appendChild(time);
    tr.appendChild(t);
    tr.appendChild(cell("User")).textContent = ev.user || "";
    tr.appendChild(cell("Database")).textContent = ev.database || "";
    var what = cell("Event");
    what.className = "what";
    what.appendChild(v.code ? el("code", "sql", v.what) : el("span", "", v.what));
    if (v.note) what.appendChild(el("div", "note", v.note));
    if (ev.session_id) {
      var meta = el("div", "meta");
      var a = el("a", "", ev.session_id);
      a.href = "/sessions/" + encodeURIComponent(ev.session_id);
      meta.appendChild(a);
      what.appendChild(meta);
    }
    tr.appendChild(what);
    var dec = cell("Decision");
    var b = BADGES[v.verdict];
    if (b) {
      var badge = el("span", "badge " + b[0]);
      var icon = el("span", "", b[1]);
      icon.setAttribute("aria-hidden", "true");
      badge.appendChild(icon);
      badge.appendChild(document.createTextNode(" " + b[2]));
      dec.appendChild(badge);
    } else {
      dec.appendChild(el("span", "muted", "—"));
    }
    tr.appendChild(dec);
    return tr;
  }

  function follow(tbody) {
    var status = document.getElementById("live");
    var max = parseInt(tbody.getAttribute("data-max"), 10) || 300;
    var es = new EventSource(tbody.getAttribute("data-stream"));
    function set(state, text) {
      if (!status) return;
      status.setAttribute("data-state", state);
      status.textContent = text;
    }
    set("retry", "Connecting…");
    es.onopen = function () { set("on", "Live: new events appear at the top."); };
    es.onerror = function () { set("retry", "Connection lost; reconnecting…"); };
    function onEvent(m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev.type === "statement" && ev.action === "started") return;
      if (document.getElementById("ev-" + ev.id)) return;
      var empty = document.getElementById("empty");
      if (empty) empty.remove();
      tbody.insertBefore(row(ev), tbody.firstChild);
      while (tbody.rows.length > max) tbody.deleteRow(tbody.rows.length - 1);
    }
    TYPES.forEach(function (t) { es.addEventListener(t, onEvent); });
    es.onmessage = onEvent;
    window.addEventListener("pagehide", function () { es.close(); });
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var src = document.getElementById(btn.getAttribute("data-copy"));
        if (!src || !navigator.clipboard) return;
        navigator.clipboard.writeText(src.textContent).then(function () {
          btn.textContent = "Copied";
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var tbody = document.getElementById("events");
    if (tbody && tbody.getAttribute("data-stream") && window.EventSource) follow(tbody);
    copyButtons();
  });
})();
