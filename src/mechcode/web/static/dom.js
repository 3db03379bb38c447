/* mechcode reviewer page: DOM and API helpers.
 * Text from papers is untrusted: it only ever reaches the page as text nodes
 * (textContent / append of strings), never as markup. */
"use strict";

const M = (window.M = window.M || {});

M.PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
             "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#8cd17d", "#86bcb6", "#d37295"];

/** Create an element: props (class, text, dataset, style, on<event>, attributes) and children. */
M.el = function (tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

M.clear = function (node) {
  node.replaceChildren();
  return node;
};

M.$ = (id) => document.getElementById(id);

M.pct = (p) => `${Math.round(100 * (Number(p) || 0))}%`;

M.bar = function (fraction, cls) {
  const fill = M.el("div", { class: "fill" });
  fill.style.width = `${Math.max(0, Math.min(1, Number(fraction) || 0)) * 100}%`;
  return M.el("div", { class: `bar ${cls || ""}` }, fill);
};

/** Colour of a mechanism (by its position in the codebook). */
M.colour = function (mechanismId) {
  const ids = (M.codebookIds || []);
  const i = ids.indexOf(mechanismId);
  return i < 0 ? "#9aa5b1" : M.PALETTE[i % M.PALETTE.length];
};

M.time = function (iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
};

/** Call the JSON API (cookie auth, same origin); throws Error(message) on a non-2xx answer. */
M.api = async function (path, options) {
  const opts = { method: (options && options.method) || "GET", credentials: "same-origin",
                 headers: { Accept: "application/json" } };
  if (options && options.body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = new Error((data && data.error) || `request failed (HTTP ${res.status})`);
    err.status = res.status;
    throw err;
  }
  return data;
};

M.toast = function (message, kind) {
  const box = M.$("toasts");
  const node = M.el("div", { class: `toast ${kind || ""}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(node);
  while (box.children.length > 4) box.firstChild.remove();
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 3500);
};

/** Ranges [start, end) where any of ``terms`` occurs in ``text`` (case-insensitive, whole words). */
M.termRanges = function (text, terms) {
  const lower = text.toLowerCase();
  const isWord = (ch) => /[\p{L}\p{N}]/u.test(ch || "");
  const ranges = [];
  for (const term of terms || []) {
    const t = String(term).toLowerCase().trim();
    if (t.length < 2) continue;
    let at = lower.indexOf(t);
    while (at >= 0) {
      const end = at + t.length;
      if (!isWord(lower[at - 1]) && !isWord(lower[end])) ranges.push([at, end]);
      at = lower.indexOf(t, at + 1);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
};

/** ``text`` as nodes, with ``ranges`` wrapped in <tag class=cls> (all as text nodes). */
M.marked = function (text, ranges, tag, cls) {
  const frag = document.createDocumentFragment();
  let pos = 0;
  for (const [a, b] of ranges) {
    if (a > pos) frag.append(document.createTextNode(text.slice(pos, a)));
    frag.append(M.el(tag, { class: cls }, text.slice(a, b)));
    pos = b;
  }
  if (pos < text.length) frag.append(document.createTextNode(text.slice(pos)));
  return frag;
};

M.isTyping = function (target) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
};
