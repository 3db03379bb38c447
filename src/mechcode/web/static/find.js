/* mechcode reviewer page: the Find view (full-text search over every paper's units). */
"use strict";

(function () {
  async function search(ev) {
    if (ev) ev.preventDefault();
    const q = M.$("find-q").value.trim();
    if (!q) return;
    M.$("find-q").blur();
    const params = new URLSearchParams({ q, limit: "50" });
    if (M.$("find-paper").value) params.set("paper", M.$("find-paper").value);
    try {
      const data = await M.api(`/api/search?${params}`);
      M.$("find-count").textContent = `${data.total} unit${data.total === 1 ? "" : "s"} match` +
        (data.total > data.hits.length ? ` (the best ${data.hits.length} shown)` : "");
      const list = M.clear(M.$("find-hits"));
      for (const h of data.hits) {
        const where = [h.document_label, h.section ? `§ ${h.section}` : "", h.page ? `page ${h.page}` : ""].filter(Boolean).join(" · ");
        list.append(M.el("li", { class: "hit", dataset: { unit: String(h.id) } },
          M.el("div", { class: "hit-text" }, M.marked(h.text, M.termRanges(h.text, data.terms), "b", "term")),
          M.el("div", { class: "muted" }, where, h.hidden ? ` · ${h.hidden}` : ""),
          M.el("div", { class: "row-actions" },
            M.el("button", { type: "button", class: "small primary", onclick: () => M.openUnit(h.id) }, "Code it"),
            M.el("button", { type: "button", class: "small", onclick: () => M.openPaper(h.document_id, { unit: h.id }) },
                 "Show in paper"))));
      }
    } catch (err) { M.toast(err.message, "error"); }
  }

  M.focusFind = function () {
    setTimeout(() => M.$("find-q").focus(), 0);
  };

  document.addEventListener("DOMContentLoaded", () => {
    M.$("find-form").addEventListener("submit", search);
  });
})();
