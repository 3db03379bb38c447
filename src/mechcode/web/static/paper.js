/* mechcode reviewer page: papers list, paper view (code any selected span), codebook overlay. */
"use strict";

(function () {
  const ROLES = [["context", "Context"], ["mechanism-resource", "Mechanism (resource)"],
                 ["mechanism-reasoning", "Mechanism (reasoning)"], ["outcome", "Outcome"], ["none", "None"]];
  let paper = null;       // the paper shown in the paper view
  let selection = null;   // {start, end, text} of the selected span
  let focused = null;     // the unit clicked in the paper view

  /* ------------------------------------------------------------ papers list */
  M.renderPapers = function (data) {
    const body = M.clear(M.$("papers-body"));
    for (const p of data.papers) {
      body.append(M.el("tr", {},
        M.el("td", {}, M.el("button", { type: "button", class: "link", onclick: () => M.openPaper(p.id) }, p.title),
             p.label && p.label !== p.title ? M.el("div", { class: "muted" }, p.label) : null),
        M.el("td", { class: "progress-cell" }, M.bar(p.units ? p.coded / p.units : 0)),
        M.el("td", {}, `${p.coded} / ${p.units}`),
        M.el("td", {}, M.el("button", { type: "button", class: "small", onclick: () => {
          M.showView("queue");
          M.setMode("paper", { paper: p.id });
        } }, "Code in order"))));
    }
    if (!data.papers.length) body.append(M.el("tr", {}, M.el("td", { colspan: "4", class: "muted" }, "No papers yet: add PDFs with `mechcode ingest`.")));
  };

  /* ------------------------------------------------------------ paper view */
  function unitsIn(passage) {
    return paper.units.filter((u) => (u.code || u.hidden) && u.start < passage.end && u.end > passage.start);
  }

  function codeLabel(code) {
    const names = (code.mechanisms || []).map((id) => {
      const m = M.S.codebook.mechanisms.find((x) => x.id === id);
      return m ? m.name : id;
    });
    const bits = [names.join(", ") || "no mechanism", code.role || "", code.polarity || ""].filter(Boolean);
    const whose = code.visibility === "own" ? "your blind code" : `${code.action} by ${code.reviewer}`;
    return `${bits.join(" · ")} (${whose})`;
  }

  /** A body passage as segments, each a <span data-off> of document offset; coded ones coloured. */
  function renderPassage(p) {
    const tag = p.kind === "heading" ? "h3" : p.kind === "title" ? "h2" : "p";
    const node = M.el(tag, { class: `passage-${p.kind}${p.kind === "heading" ? " heading" : ""}`,
                             dataset: { start: String(p.start), page: String(p.page || ""), section: p.section || "" } });
    const coded = unitsIn(p);
    const cuts = new Set([p.start, p.end]);
    for (const u of coded) { cuts.add(Math.max(p.start, u.start)); cuts.add(Math.min(p.end, u.end)); }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const text = p.text.slice(a - p.start, b - p.start);
      const cover = coded.filter((u) => u.code && u.start <= a && u.end >= b);
      const seg = M.el("span", { dataset: { off: String(a) } }, text);
      const hidden = coded.find((u) => u.hidden && u.start <= a && u.end >= b);
      if (hidden && !cover.length) {
        seg.className = "not-codable";
        seg.setAttribute("title", `${hidden.hidden} (not in the queues; click to code it anyway)`);
      }
      if (cover.length) {
        const code = cover[cover.length - 1].code;
        const mech = (code.mechanisms || [])[0];
        seg.className = "coded";
        seg.style.background = mech ? `${M.colour(mech)}40` : "#e4e7eb";
        seg.style.boxShadow = mech ? `inset 0 -2px 0 ${M.colour(mech)}` : "inset 0 -2px 0 #9aa5b1";
        seg.setAttribute("title", cover.map((u) => codeLabel(u.code)).join("\n"));
      }
      node.append(seg);
    }
    return node;
  }

  function renderPaper() {
    M.$("paper-title").textContent = paper.title || paper.file_name || `Paper ${paper.id}`;
    const legend = M.clear(M.$("legend"));
    for (const m of M.S.mechs) {
      const sw = M.el("span", { class: "swatch" });
      sw.style.background = M.colour(m.id);
      legend.append(M.el("span", {}, sw, m.name));
    }
    const box = M.clear(M.$("paper-text"));
    let page = null;
    for (const p of paper.passages) {
      if (p.kind === "title") continue;
      if (p.page !== page && p.page) { page = p.page; box.append(M.el("span", { class: "page" }, `page ${page}`)); }
      if (p.start === null || p.start === undefined) {
        box.append(M.el("p", { class: "other", title: p.kind }, p.text));
      } else {
        box.append(renderPassage(p));
      }
    }
    renderSpanPanel();
    renderJump();
  }

  /* The section and page lists of the paper's tool bar (go to; reject a section). */
  function renderJump() {
    const sections = [...new Set(paper.passages.map((p) => p.section).filter(Boolean))];
    const pages = [...new Set(paper.passages.map((p) => p.page).filter(Boolean))];
    M.clear(M.$("jump-section")).append(M.el("option", { value: "" }, "Go to section…"),
      ...sections.map((s) => M.el("option", { value: s, title: s }, s)));
    M.clear(M.$("jump-page")).append(M.el("option", { value: "" }, "Go to page…"),
      ...pages.map((n) => M.el("option", { value: String(n) }, `page ${n}`)));
    M.$("reject-section").disabled = true;
    M.$("reject-page").disabled = true;
  }

  function scrollToBlock(pred) {
    const node = [...M.$("paper-text").querySelectorAll("[data-start]")].find(pred);
    if (node) node.scrollIntoView({ block: "start" });
    return node;
  }

  function scrollToUnit(unitId) {
    const u = paper.units.find((x) => x.id === unitId);
    if (!u) return;
    const segs = [...M.$("paper-text").querySelectorAll("span[data-off]")];
    const seg = segs.filter((s) => Number(s.dataset.off) <= u.start).pop() || segs[0];
    if (!seg) return;
    seg.scrollIntoView({ block: "center" });
    seg.classList.add("flash");
    focused = u;
    renderSpanPanel();
  }

  M.openPaper = async function (id, opts) {
    try {
      paper = await M.api(`/api/papers/${encodeURIComponent(id)}?reviewer=${encodeURIComponent(M.S.reviewer)}`);
      selection = null;
      focused = null;
      M.showView("paper");
      renderPaper();
      if (opts && opts.unit) scrollToUnit(opts.unit);
    } catch (err) {
      M.toast(err.message, "error");
    }
  };

  /* Reject the chosen section (or page) as not evidence: one decision per uncoded unit, one Undo. */
  async function rejectRange(byPage) {
    const section = M.$("jump-section").value;
    const page = Number(M.$("jump-page").value);
    if (!paper || (byPage ? !page : !section)) return;
    const what = byPage ? `page ${page}` : `"${section}"`;
    if (!window.confirm(`Reject every unit of ${what} you have not coded as not evidence?`)) return;
    const body = byPage ? { document_id: paper.id, page_from: page, page_to: page, reviewer: M.S.reviewer }
                        : { document_id: paper.id, section, reviewer: M.S.reviewer };
    try {
      const r = await M.api("/api/reject-range", { method: "POST", body });
      const bar = M.clear(M.$("batch-bar"));
      bar.hidden = false;
      bar.append(`Rejected ${r.rejected} units of ${what}` + (r.already_coded ? ` (${r.already_coded} already coded)` : "") + ". ");
      if (r.batch) {
        bar.append(M.el("button", { type: "button", class: "small", id: "undo-batch", onclick: async () => {
          try {
            const u = await M.api(`/api/batches/${encodeURIComponent(r.batch)}/undo`, { method: "POST", body: { reviewer: M.S.reviewer } });
            await M.openPaper(paper.id);  // the paper shows the undo before the bar says so
            bar.textContent = `Undone: ${u.undone} rejections.`;
            bar.hidden = false;
            M.refreshCounts();
          } catch (err) { M.toast(err.message, "error"); }
        } }, "Undo"));
      }
      await M.openPaper(paper.id);
      M.$("batch-bar").hidden = false;
      M.refreshCounts();
    } catch (err) { M.toast(err.message, "error"); }
  }

  /** Document offset of a DOM point inside a body passage, or null. */
  function offsetOf(node, offset) {
    const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const block = el && el.closest("[data-start]");
    if (!block || !M.$("paper-text").contains(block)) return null;
    const range = document.createRange();
    range.setStart(block, 0);
    range.setEnd(node, offset);
    return Number(block.dataset.start) + range.toString().length;
  }

  function onSelect() {
    if (M.S.view !== "paper" || !paper) return;
    const sel = window.getSelection();
    if (!sel || !sel.rangeCount) return;
    const r = sel.getRangeAt(0);
    if (sel.isCollapsed) {  // a click: the unit under it
      const off = offsetOf(r.startContainer, r.startOffset);
      if (off === null) return;
      const hits = paper.units.filter((u) => u.start <= off && off < u.end);
      const unit = hits.find((u) => u.kind === "span") || hits[0];
      if (unit && (!focused || focused.id !== unit.id)) { focused = unit; selection = null; renderSpanPanel(); }
      return;
    }
    const a = offsetOf(r.startContainer, r.startOffset);
    const b = offsetOf(r.endContainer, r.endOffset);
    if (a === null || b === null || b <= a) return;
    if (selection && selection.start === a && selection.end === b) return;  // e.g. a click in the panel
    selection = { start: a, end: b, text: sel.toString() };
    renderSpanPanel();
  }

  function renderSpanPanel() {
    const panel = M.clear(M.$("span-panel"));
    if (focused && !selection) {
      const p = paper.passages.find((x) => x.start !== null && x.start <= focused.start && focused.end <= x.end);
      const text = p ? p.text.slice(focused.start - p.start, focused.end - p.start) : "";
      panel.append(M.el("h3", {}, focused.kind === "span" ? "Selected span" : "Sentence"),
        M.el("div", { class: "sel", id: "focused-text" }, text),
        focused.hidden ? M.el("p", { class: "muted" }, `${focused.hidden}: not in the queues.`) : null,
        focused.code ? M.el("p", { class: "muted" }, codeLabel(focused.code)) : null,
        M.el("button", { type: "button", class: "primary", id: "code-focused", onclick: () => M.openUnit(focused.id) },
             "Code it in the coding view"),
        M.el("p", { class: "muted" }, "Or select text with the mouse to code a span."));
      return;
    }
    panel.append(M.el("h3", {}, "Code a span"));
    if (!selection) {
      panel.append(M.el("p", { class: "muted" }, "Select any text in the paper with the mouse to code it. " +
        "Coloured text is already coded (hover to see the codes)."));
      return;
    }
    panel.append(M.el("div", { class: "sel" }, selection.text));
    const checks = M.S.mechs.map((m) => {
      const box = M.el("input", { type: "checkbox", value: m.id });
      const sw = M.el("span", { class: "swatch" });
      sw.style.background = M.colour(m.id);
      return [box, M.el("label", { class: "check" }, box, sw, m.name)];
    });
    const role = M.el("select", {}, M.el("option", { value: "" }, "(no role)"),
                      ROLES.map(([v, l]) => M.el("option", { value: v }, l)));
    const pol = M.el("select", {}, M.el("option", { value: "" }, "(no polarity)"),
                     M.el("option", { value: "+" }, "+ present / works"), M.el("option", { value: "-" }, "- absent / fails"));
    const note = M.el("input", { maxlength: "4000", placeholder: "Optional note" });
    const save = M.el("button", { type: "button", class: "primary", onclick: async () => {
      const body = { document_id: paper.id, start: selection.start, end: selection.end, reviewer: M.S.reviewer,
                     mechanisms: checks.filter(([b]) => b.checked).map(([b]) => b.value),
                     role: role.value || null, polarity: pol.value || null, note: note.value.trim() || null };
      try {
        const r = await M.api("/api/spans", { method: "POST", body });
        window.getSelection().removeAllRanges();
        await M.openPaper(paper.id);
        M.toast(r.sentence ? "Sentence coded." : "Span coded (it stands for the sentences it covers).", "good");
        M.refreshCounts();
      } catch (err) { M.toast(err.message, "error"); }
    } }, "Save span");
    panel.append(M.el("div", { class: "field" }, checks.map(([, l]) => l)),
                 M.el("label", { class: "field" }, "Role", role), M.el("label", { class: "field" }, "Polarity", pol),
                 M.el("label", { class: "field" }, "Note", note), save);
  }

  /* ------------------------------------------------------------ codebook overlay */
  M.renderCodebook = function (cb) {
    const body = M.clear(M.$("codebook-body"));
    body.append(M.el("p", { class: "muted" }, `${cb.name} · version ${cb.version}`));
    for (const m of cb.mechanisms) {
      const sw = M.el("span", { class: "swatch" });
      sw.style.background = M.colour(m.id);
      body.append(M.el("div", { class: "cb-mech" },
        M.el("div", { class: "head" }, m.key ? M.el("kbd", {}, m.key) : null, sw, m.name,
             M.el("span", { class: "id" }, m.id), m.status !== "active" ? M.el("span", { class: "status" }, m.status) : null),
        m.description ? M.el("p", {}, m.description) : null));
    }
    body.append(M.el("h3", {}, "Roles"));
    for (const r of cb.roles) body.append(M.el("div", { class: "cb-mech" }, M.el("div", { class: "head" }, r.name), M.el("p", {}, r.description)));
    body.append(M.el("h3", {}, "Polarity"));
    for (const p of cb.polarity) body.append(M.el("div", { class: "cb-mech" }, M.el("div", { class: "head" }, `${p.id} ${p.name}`), M.el("p", {}, p.description)));
  };

  M.toggleCodebook = function (show) {
    const ov = M.$("codebook");
    ov.hidden = show === undefined ? !ov.hidden : !show;
    if (!ov.hidden) ov.querySelector(".sheet").focus();  // arrows / PageDown scroll the codebook
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("mouseup", () => setTimeout(onSelect, 0));
    M.$("back-papers").addEventListener("click", () => M.showView("papers"));
    M.$("jump-section").addEventListener("change", (ev) => {
      ev.target.blur();
      M.$("reject-section").disabled = !ev.target.value;
      if (ev.target.value) scrollToBlock((n) => n.dataset.section === ev.target.value);
    });
    M.$("jump-page").addEventListener("change", (ev) => {
      ev.target.blur();
      M.$("reject-page").disabled = !ev.target.value;
      if (ev.target.value) scrollToBlock((n) => n.dataset.page === ev.target.value);
    });
    M.$("reject-section").addEventListener("click", () => rejectRange(false));
    M.$("reject-page").addEventListener("click", () => rejectRange(true));
    M.$("codebook-close").addEventListener("click", () => M.toggleCodebook(false));
    M.$("codebook").addEventListener("click", (ev) => { if (ev.target === M.$("codebook")) M.toggleCodebook(false); });
  });
})();
