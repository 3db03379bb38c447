/* mechcode reviewer page: the coding queue, status polling and keyboard. */
"use strict";

const ROLE_KEYS = { c: "context", r: "mechanism-resource", e: "mechanism-reasoning", o: "outcome", n: "none" };
const ROLE_LABELS = { context: "Context", "mechanism-resource": "Resource", "mechanism-reasoning": "Reasoning",
                      outcome: "Outcome", none: "None" };
const MECH_KEYS = "1234567890";
const POLL_MS = 4000;
const CONTEXT_CHARS = 220;  // paragraph text shown on each side of the unit (w shows it all)
const MODES = ["paper", "uncertain", "mechanism", "adjudicate", "recode"];
const VIEWS = ["queue", "papers", "paper", "history", "find"];

const S = {
  codebook: null, mechs: [], reviewer: "", mode: "paper", mechanism: "", paper: null,
  queue: [], cur: null, sel: null, history: [], done: new Set(), busy: false,
  version: undefined, view: "queue", loading: false, dirty: false, signedIn: null, cbVersion: null,
  wholeParagraph: false,
};
M.S = S;

/* ---------------------------------------------------------------- current unit */
function freshSelection(item) {
  const team = M.teamSelection(item);
  if (team) return team;
  // nothing pre-selected: the suggestion is shown (a accepts it), Enter saves only what was set;
  // a unit re-opened from the history starts from the reviewer's own code
  const own = item && item.own && ["accept", "correct", "adjudicate"].includes(item.own.action) ? item.own : null;
  return { mechanisms: new Set(own ? own.mechanisms : []), role: own ? own.role : null,
           polarity: own ? own.polarity : null, note: "" };
}

function orderedMechs(set) {
  return S.mechs.map((m) => m.id).filter((id) => set.has(id));
}

function sameAsSuggested() {
  const sg = S.cur && S.cur.suggestion ? S.cur.suggestion.suggested : null;
  if (!sg) return false;
  const a = orderedMechs(S.sel.mechanisms).join(",");
  const b = orderedMechs(new Set(sg.mechanisms)).join(",");
  return a === b && (sg.role || null) === (S.sel.role || null) && (sg.polarity || null) === (S.sel.polarity || null);
}

function renderProvenance(item) {
  const prov = M.clear(M.$("prov"));
  prov.append(M.el("span", { class: "title" }, item.document_title || item.document_label || `Paper ${item.document_id}`));
  if (item.section) prov.append(M.el("span", {}, `§ ${item.section}`));
  if (item.page) prov.append(M.el("span", {}, `page ${item.page}`));
  if (item.kind === "span") prov.append(M.el("span", {}, "selected span"));
  if (item.hidden) prov.append(M.el("span", { class: "chip-reason" }, item.hidden));
  if (item.own) prov.append(M.el("span", { class: "chip-reason" }, `your code: ${item.own.action}`));
  if (item.reason) prov.append(M.el("span", { class: "chip-reason", title: "why this unit is in the queue" },
                                    item.reason.replace(":", ": ")));
}

/* At most ``n`` characters of context next to the sentence, cut at a space, with an ellipsis. */
function clip(text, n, fromEnd) {
  if (text.length <= n) return text;
  if (fromEnd) {
    const part = text.slice(text.length - n);
    return `… ${part.slice(Math.max(0, part.indexOf(" ") + 1))}`;
  }
  const part = text.slice(0, n);
  return `${part.slice(0, part.lastIndexOf(" ") > 0 ? part.lastIndexOf(" ") : n)} …`;
}

function renderPassage(item) {
  const box = M.clear(M.$("passage"));
  const terms = item.suggestion ? item.suggestion.rationale : [];
  const sentence = M.el("mark", { class: "unit" }, M.marked(item.text, M.termRanges(item.text, terms), "b", "rationale"));
  const cs = item.context_start;
  if (item.context && cs >= 0) {
    const n = S.wholeParagraph ? Infinity : CONTEXT_CHARS;
    const before = clip(item.context.slice(0, cs), n, true);
    const after = clip(item.context.slice(cs + item.text.length), n, false);
    box.append(M.el("p", {}, M.el("span", { class: "ctx" }, before), sentence, M.el("span", { class: "ctx" }, after)));
    if (item.context.length > item.text.length + 2 * CONTEXT_CHARS) {
      box.append(M.el("button", { type: "button", class: "small link", id: "toggle-paragraph",
                                  onclick: (ev) => { ev.currentTarget.blur(); toggleParagraph(); } },
                      S.wholeParagraph ? "Shorter context" : "Whole paragraph", " ", M.el("kbd", {}, "w")));
    }
  } else {
    box.append(M.el("p", {}, sentence));
  }
  const why = M.clear(M.$("why"));
  const sg = item.suggestion;
  if (!sg) {
    why.append("No model suggestion for this unit: choose the codes yourself.");
    return;
  }
  why.append(`Suggested by model ${sg.model_version}`);
  if (sg.rationale && sg.rationale.length) why.append(" · highlighted words drove the suggestion");
  for (const ev of sg.evidence || []) why.append(M.el("div", {}, "Closest definition: ", M.el("q", {}, ev)));
}

function toggleParagraph() {
  S.wholeParagraph = !S.wholeParagraph;
  if (S.cur) renderPassage(S.cur);
}

function renderMechanisms() {
  const list = M.clear(M.$("mechanisms"));
  const probs = S.cur && S.cur.suggestion ? S.cur.suggestion.mechanisms : {};
  const suggested = new Set(S.cur && S.cur.suggestion ? S.cur.suggestion.suggested.mechanisms : []);
  const candidates = M.recodeCandidates(S.cur);
  S.mechs.forEach((m, i) => {
    const p = probs[m.id] || 0;
    const cls = ["mech", S.sel.mechanisms.has(m.id) ? "selected" : "", suggested.has(m.id) ? "suggested" : "",
                 candidates.has(m.id) ? "candidate" : ""];
    const swatch = M.el("span", { class: "swatch" });
    swatch.style.background = M.colour(m.id);
    list.append(M.el("li", { class: cls.join(" "), title: m.description ? `${m.name}: ${m.description}` : m.name,
                             dataset: { mech: m.id },
                             onclick: () => toggleMechanism(m.id) },
      M.el("kbd", {}, i < MECH_KEYS.length ? MECH_KEYS[i] : "·"),
      M.el("span", { class: "name" }, swatch, m.name),
      M.bar(p), M.el("span", { class: "pct" }, S.cur && S.cur.suggestion ? M.pct(p) : "")));
  });
}

function renderChips(boxId, options, probs, suggestedValue, selected, onPick) {
  const box = M.clear(M.$(boxId));
  for (const [value, label, key] of options) {
    const cls = ["chip", selected === value ? "selected" : "", suggestedValue === value ? "suggested" : ""];
    const btn = M.el("button", { type: "button", class: cls.join(" "), dataset: { value },
                                 onclick: (ev) => { ev.currentTarget.blur(); onPick(value, true); } },
      M.el("kbd", {}, key), " ", label, probs && value in probs ? M.el("span", { class: "p" }, M.pct(probs[value])) : null);
    box.append(btn);
  }
}

function renderCodes() {
  if (!S.cur) return;
  renderMechanisms();
  const sg = S.cur.suggestion;
  const roleOpts = Object.entries(ROLE_KEYS).map(([k, r]) => [r, ROLE_LABELS[r], k]);
  renderChips("roles", roleOpts, sg ? sg.role : null, sg ? sg.suggested.role : null, S.sel.role, setRole);
  renderChips("polarity", [["+", "Present", "+"], ["-", "Absent", "-"]], sg ? sg.polarity : null,
              sg ? sg.suggested.polarity : null, S.sel.polarity, setPolarity);
  M.$("btn-accept").disabled = !sg;
}

function showCurrent() {
  const card = M.$("unit-card");
  const decide = M.$("decide");
  M.renderTeam(S.cur);
  if (!S.cur) {
    M.clear(M.$("prov"));
    M.clear(M.$("why"));
    M.clear(M.$("passage")).append(M.el("div", { class: "done" },
      S.loading ? "Preparing suggestions… (the first time can take a minute)"
                : "Nothing left to code in this queue. Pick another queue or paper above."));
    decide.hidden = true;
    M.$("actions").hidden = true;
    return;
  }
  decide.hidden = false;
  M.$("actions").hidden = false;
  M.$("prompt").textContent = "";
  card.dataset.unit = String(S.cur.id);
  renderProvenance(S.cur);
  renderPassage(S.cur);
  M.$("note").value = S.sel.note;
  renderCodes();
}

/* Replace the selection (e.g. with one coder's codes in adjudicate mode). */
M.setSelection = function (sel) {
  if (!S.cur) return;
  S.sel = { ...sel, note: M.$("note").value };
  S.dirty = true;
  renderCodes();
};

/* Open one unit (from the history, a search hit or the paper view) in the coding view. */
M.openUnit = async function (id) {
  try {
    const item = await M.api(`/api/units/${encodeURIComponent(id)}/item?reviewer=${encodeURIComponent(S.reviewer)}`);
    if (S.cur && S.cur.id !== item.id) S.queue.unshift(S.cur);
    S.queue = S.queue.filter((u) => u.id !== item.id);
    S.done.delete(item.id);
    showView("queue");
    setCurrent(item);
  } catch (err) { M.toast(err.message, "error"); }
};

function setCurrent(item) {
  S.cur = item || null;
  S.sel = freshSelection(S.cur);
  S.dirty = false;
  showCurrent();
}

/* ---------------------------------------------------------------- edits */
function toggleMechanism(id) {
  if (!S.cur) return;
  if (S.sel.mechanisms.has(id)) S.sel.mechanisms.delete(id); else S.sel.mechanisms.add(id);
  S.dirty = true;
  renderCodes();
}
M.toggleMechanism = toggleMechanism;
/* Keys set a value; clicking a chip that is already selected clears it. */
function setRole(role, toggle) {
  if (!S.cur) return;
  S.sel.role = toggle && S.sel.role === role ? null : role;
  if (S.sel.role === "none") S.sel.polarity = null;
  S.dirty = true;
  renderCodes();
}
function setPolarity(p, toggle) {
  if (!S.cur) return;
  S.sel.polarity = toggle && S.sel.polarity === p ? null : p;
  S.dirty = true;
  renderCodes();
}

/* ---------------------------------------------------------------- decisions */
async function decide(kind) {
  if (!S.cur || S.busy) return;
  const item = S.cur;
  const sg = item.suggestion;
  S.sel.note = M.$("note").value.trim();
  const body = { unit_id: item.id, reviewer: S.reviewer, note: S.sel.note || null, action: kind };
  if (sg) body.model_version = sg.model_version;
  if (kind === "accept") {
    if (!sg) { showPrompt("No suggestion to accept here: choose codes and press Enter, or x to reject."); return; }
    Object.assign(body, { mechanisms: sg.suggested.mechanisms, role: sg.suggested.role, polarity: sg.suggested.polarity });
  } else if (kind === "save") {
    const mechs = orderedMechs(S.sel.mechanisms);
    if (!mechs.length && !S.sel.role) {
      showPrompt("Nothing set yet: choose a mechanism (1–9) or a role (c r e o n) first, a to accept the suggestion, or x to reject.");
      return;
    }
    Object.assign(body, { action: sameAsSuggested() ? "accept" : "correct", mechanisms: mechs,
                          role: S.sel.role, polarity: S.sel.role === "none" ? null : S.sel.polarity });
  }
  if (item.codings && kind !== "skip") {  // adjudicate mode: the decision is the final code
    if (kind === "reject") Object.assign(body, { mechanisms: [], role: "none", polarity: null });
    body.action = "adjudicate";
  }
  S.busy = true;
  try {
    const d = await M.api("/api/decisions", { method: "POST", body });
    S.history.push({ id: d.id, item, action: d.action });
    S.done.add(item.id);
    M.toast(`${d.action === "skip" ? "Skipped" : d.action === "adjudicate" ? "Adjudicated" : "Saved"} (${d.action})`, "good");
    await advance();
    M.refreshCounts();
  } catch (err) {
    M.toast(err.message, "error");
  } finally {
    S.busy = false;
  }
}

/* After a reload the page has no undo chain: the newest decision not yet undone, from the server. */
async function lastServerDecision() {
  const data = await M.api(`/api/history?limit=50&reviewer=${encodeURIComponent(S.reviewer)}`);
  const row = data.items.find((r) => !r.undone);
  if (!row) return null;
  const item = await M.api(`/api/units/${row.unit_id}/item?reviewer=${encodeURIComponent(S.reviewer)}`);
  return { id: row.id, item, action: row.action };
}

async function undo() {
  if (S.busy) return;
  S.busy = true;
  let last = S.history.pop();
  try {
    if (!last) last = await lastServerDecision();
  } catch (err) { M.toast(err.message, "error"); }
  S.busy = false;
  if (!last) { M.toast("Nothing to undo: you have no decision left to undo."); return; }
  S.busy = true;
  try {
    const r = await M.api(`/api/decisions/${last.id}/undo`, { method: "POST", body: { reviewer: S.reviewer } });
    S.done.delete(last.item.id);
    if (S.cur) S.queue.unshift(S.cur);
    setCurrent(M.restoredItem(last.item, r.restored));
    M.toast(`Undone: ${last.action}`);
    M.refreshCounts();
  } catch (err) {
    S.history.push(last);
    M.toast(err.message, "error");
  } finally {
    S.busy = false;
  }
}

/* The unit as it stands after an undo: the reviewer's previous codes pre-selected (if any). */
M.restoredItem = function (item, restored) {
  const own = restored && restored.source === "previous" ? restored : null;
  return { ...item, own };
};

function showPrompt(text) {
  M.$("prompt").textContent = text;
  M.toast(text);
}

async function advance() {
  setCurrent(S.queue.shift());
  if (S.queue.length < 3) await loadQueue(true);
}

/* ---------------------------------------------------------------- queue */
function queueUrl() {
  const q = new URLSearchParams({ mode: S.mode, limit: "20", reviewer: S.reviewer });
  if (S.mode === "mechanism" && S.mechanism) q.set("mechanism", S.mechanism);
  if (S.mode === "paper" && S.paper) q.set("paper", String(S.paper));
  return `/api/queue?${q}`;
}

/* Fetch the queue. keepCurrent: the unit on screen stays; refresh: ...unless the reviewer has not
 * touched it, then it is replaced by its fresh copy (new model's suggestion) when the queue has it. */
async function loadQueue(keepCurrent, refresh) {
  S.loading = true;
  if (!keepCurrent || !S.cur) { S.cur = null; showCurrent(); }
  try {
    const data = await M.api(queueUrl());
    const curId = keepCurrent && S.cur ? S.cur.id : null;
    const fresh = refresh && curId !== null ? data.units.find((u) => u.id === curId) : null;
    S.queue = data.units.filter((u) => u.id !== curId && !S.done.has(u.id));
    if (fresh) setCurrent(fresh);
    else if (!keepCurrent || !S.cur) setCurrent(S.queue.shift());
  } catch (err) {
    M.toast(err.message, "error");
  } finally {
    S.loading = false;
    if (!S.cur) showCurrent();
    if (!keepCurrent) M.refreshProgress();
  }
}

function setMode(mode, opts) {
  S.mode = mode;
  if (opts && "paper" in opts) S.paper = opts.paper;
  M.$("mode").value = mode;
  M.$("mode-mechanism").hidden = mode !== "mechanism";
  if (mode === "mechanism" && !S.mechanism) S.mechanism = M.$("mode-mechanism").value;
  localStorage.setItem("mechcode.mode", mode);
  const sel = M.$("mode");
  sel.title = sel.options[sel.selectedIndex] ? sel.options[sel.selectedIndex].text : "";
  S.queue = [];
  loadQueue(false).then(() => M.pollStatus());
}
M.setMode = setMode;
M.loadQueue = loadQueue;

async function init() {
  bind();
  try {
    const st = await M.api("/api/status");
    await M.reloadCodebook();
    S.signedIn = st.signed_in || null;
    // a personal token fixes the reviewer; with the server token the name can be chosen here
    // with named reviewers the server token codes only as the server's --reviewer
    const fixed = S.signedIn || (st.named_reviewers ? st.reviewer : null);
    S.reviewer = fixed || localStorage.getItem("mechcode.reviewer") || st.reviewer || "reviewer";
    const input = M.$("reviewer");
    input.value = S.reviewer;
    input.readOnly = !!fixed;
    if (S.signedIn) input.title = "Signed in with your personal token";
    else if (fixed) input.title = "This review has named reviewers: each codes with their personal token";
    M.renderStatus(st);
    const mode = localStorage.getItem("mechcode.mode");
    setMode(MODES.includes(mode) ? mode : "paper");
    M.refreshProgress();
    M.startPolling(POLL_MS);
  } catch (err) {
    M.toast(err.message, "error");
  }
}

document.addEventListener("DOMContentLoaded", init);
