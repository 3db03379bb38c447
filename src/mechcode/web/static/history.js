/* mechcode reviewer page: the History view (your decisions, newest first; re-open, undo). */
"use strict";

(function () {
  const ACTION_NAMES = { accept: "accepted", correct: "corrected", reject: "rejected", skip: "skipped",
                         adjudicate: "adjudicated" };
  let next = null;  // ?before= of the next page

  function mechName(id) {
    const m = (M.S.codebook ? M.S.codebook.mechanisms : []).find((x) => x.id === id);
    return m ? m.name : id;
  }

  function codesText(c) {
    if (!c) return "—";
    if (c.action === "reject") return "no evidence";
    const bits = [(c.mechanisms || []).map(mechName).join(", "), c.role || "", c.polarity || ""].filter(Boolean);
    return bits.join(" · ") || "—";
  }

  function historyUrl(before) {
    const q = new URLSearchParams({ limit: "50", reviewer: M.S.reviewer });
    for (const [key, id] of [["paper", "history-paper"], ["mechanism", "history-mechanism"], ["action", "history-action"]]) {
      if (M.$(id).value) q.set(key, M.$(id).value);
    }
    if (before) q.set("before", String(before));
    return `/api/history?${q}`;
  }

  async function undo(row, batch) {
    try {
      const path = batch ? `/api/batches/${encodeURIComponent(batch)}/undo` : `/api/decisions/${row.id}/undo`;
      const r = await M.api(path, { method: "POST", body: { reviewer: M.S.reviewer } });
      M.toast(batch ? `Undone: ${r.undone} decisions of that group` : `Undone: ${ACTION_NAMES[row.action] || row.action}`, "good");
      M.S.done.delete(row.unit_id);
      await loadHistory(false);
      M.refreshCounts();
      M.loadQueue(true);
    } catch (err) { M.toast(err.message, "error"); }
  }

  function renderRow(row) {
    const where = [row.document_label, row.section ? `§ ${row.section}` : "", row.page ? `p. ${row.page}` : ""]
      .filter(Boolean).join(" · ");
    const decision = M.el("td", {}, ACTION_NAMES[row.action] || row.action,
      row.undone ? M.el("span", { class: "badge undone", title: `undone ${M.time(row.undone_at)}` }, "undone") : null,
      row.batch ? M.el("span", { class: "badge", title: "rejected with its section or page range" }, "group") : null);
    const buttons = M.el("td", { class: "row-actions" },
      M.el("button", { type: "button", class: "small", onclick: () => M.openUnit(row.unit_id) }, "Open"),
      !row.undone ? M.el("button", { type: "button", class: "small", onclick: () => undo(row) }, "Undo") : null,
      row.batch && !row.undone ? M.el("button", { type: "button", class: "small", onclick: () => undo(row, row.batch) },
                                      "Undo group") : null);
    return M.el("tr", { class: row.undone ? "undone" : "", dataset: { decision: String(row.id), unit: String(row.unit_id) } },
      M.el("td", { title: row.created_at }, M.time(row.created_at)),
      decision,
      M.el("td", { class: "unit-text" }, M.el("div", { class: "clamp", title: row.text }, row.text),
           M.el("div", { class: "muted", title: where }, where)),
      M.el("td", {}, M.el("span", { class: "muted" }, codesText(row.before)), " → ",
           M.el("span", {}, codesText({ ...row.after, action: row.action }))),
      M.el("td", { class: "muted" }, row.suggestion ? codesText(row.suggestion) : "—"),
      buttons);
  }

  async function loadHistory(more) {
    try {
      const data = await M.api(historyUrl(more ? next : null));
      const body = M.$("history-body");
      if (!more) M.clear(body);
      for (const row of data.items) body.append(renderRow(row));
      if (!body.children.length) body.append(M.el("tr", {}, M.el("td", { colspan: "6", class: "muted" }, "No decisions yet.")));
      next = data.next_before;
      M.$("history-more").hidden = !next;
    } catch (err) { M.toast(err.message, "error"); }
  }

  /* The paper and mechanism filters (from the papers list and the codebook). */
  M.fillFilters = function (papers) {
    for (const id of ["history-paper", "find-paper"]) {
      const sel = M.$(id);
      const keep = sel.value;
      sel.replaceChildren(sel.options[0]);
      for (const p of papers) sel.append(M.el("option", { value: String(p.id), title: p.title }, p.label || p.title));
      sel.value = keep;
    }
    const mech = M.$("history-mechanism");
    const keep = mech.value;
    mech.replaceChildren(mech.options[0]);
    for (const m of M.S.mechs) mech.append(M.el("option", { value: m.id }, m.name));
    mech.value = keep;
  };

  M.loadHistory = loadHistory;
  document.addEventListener("DOMContentLoaded", () => {
    for (const id of ["history-paper", "history-mechanism", "history-action"]) {
      M.$(id).addEventListener("change", (ev) => { ev.target.blur(); loadHistory(false); });
    }
    M.$("history-more").addEventListener("click", () => loadHistory(true));
  });
})();
