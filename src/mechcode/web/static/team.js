/* mechcode reviewer page: team coding (adjudication panel, re-coding choices, the unit's current code). */
"use strict";

(function () {
  const ROLE_NAMES = { context: "Context", "mechanism-resource": "Mechanism (resource)",
                       "mechanism-reasoning": "Mechanism (reasoning)", outcome: "Outcome", none: "None" };
  const TAKE_KEYS = ["[", "]"];

  function mechName(id) {
    const cb = M.S.codebook;
    const m = cb ? cb.mechanisms.find((x) => x.id === id) : null;
    return m ? m.name : id;
  }

  function mechChip(id, cls) {
    const sw = M.el("span", { class: "swatch" });
    sw.style.background = M.colour(id);
    return M.el("span", { class: `mech-chip ${cls || ""}`, title: id }, sw, mechName(id));
  }

  /** The codes a unit starts with in a team queue (null: start from the model's suggestion). */
  M.teamSelection = function (item) {
    if (!item) return null;
    if (item.agreed && item.codings) {  // adjudicate: what both coders share
      const a = item.agreed;
      return { mechanisms: new Set(a.mechanisms || []), role: a.role || null, polarity: a.polarity || null, note: "" };
    }
    if (item.recode && item.recode.code) {  // recode: the code as it stands, the split codes to choose
      const c = item.recode.code;
      return { mechanisms: new Set(c.mechanisms || []), role: c.role || null, polarity: c.polarity || null, note: "" };
    }
    return null;
  };

  /** Mechanism ids offered as re-coding choices for the current unit. */
  M.recodeCandidates = function (item) {
    const out = new Set();
    for (const p of (item && item.recode ? item.recode.pending : [])) for (const c of p.candidates) out.add(c);
    return out;
  };

  function codingCard(c, i) {
    const reject = c.action === "reject";
    const mechs = reject ? [] : (c.mechanisms || []);
    const take = M.el("button", { type: "button", class: "small", dataset: { take: String(i) },
                                  onclick: (ev) => { ev.currentTarget.blur(); M.takeCoding(i); } },
      "Use these codes ", M.el("kbd", {}, TAKE_KEYS[i] || "·"));
    return M.el("div", { class: "coding", dataset: { reviewer: c.reviewer } },
      M.el("div", { class: "coder" }, M.el("b", {}, c.reviewer), M.el("span", { class: "muted" }, ` ${c.action}`)),
      M.el("dl", {},
        M.el("dt", {}, "Mechanisms"),
        M.el("dd", { class: "mechanisms" }, mechs.length ? mechs.map((m) => mechChip(m)) : M.el("span", { class: "muted" }, reject ? "none (rejected)" : "none")),
        M.el("dt", {}, "Role"), M.el("dd", { class: "role" }, reject ? "none" : (ROLE_NAMES[c.role] || c.role || "–")),
        M.el("dt", {}, "Polarity"), M.el("dd", { class: "polarity" }, c.polarity || "–"),
        M.el("dt", {}, "Note"), M.el("dd", { class: "note" }, c.note || "–")),
      i < TAKE_KEYS.length ? take : null);
  }

  function renderAdjudication(item) {
    const box = M.clear(M.$("adjudication"));
    box.hidden = !(item && item.codings);
    if (box.hidden) return;
    box.append(M.el("h3", {}, "The coders disagree ",
      M.el("small", {}, "your codes below become the final code: Enter saves the adjudication")));
    box.append(M.el("div", { class: "codings" }, item.codings.map(codingCard)));
  }

  function renderRecode(item) {
    const box = M.clear(M.$("recode"));
    box.hidden = !(item && item.recode);
    if (box.hidden) return;
    box.append(M.el("h3", {}, "Re-code after a codebook change"));
    for (const p of item.recode.pending) {
      box.append(M.el("p", {}, M.el("b", {}, p.from), ` was ${p.op === "split" ? "split" : "merged"} in codebook v${p.version} into `,
        p.candidates.map((c) => M.el("button", { type: "button", class: "small candidate", dataset: { mech: c },
                                                  onclick: (ev) => { ev.currentTarget.blur(); M.toggleMechanism(c); } },
                                     mechChip(c))),
        ": choose the code(s) this unit shows, then press Enter."));
    }
  }

  function renderCurrentCode(item) {
    const box = M.clear(M.$("current-code"));
    const code = item ? item.code : null;
    box.hidden = !code;
    if (!code) return;
    const who = code.visibility === "own" ? "Your code (blind: the other coder cannot see it)"
      : code.visibility === "final" ? `Final code (${code.action} by ${code.reviewer})`
      : code.reviewer === M.S.reviewer ? `Your code (${code.action})` : `Coded by ${code.reviewer} (${code.action})`;
    const mechs = code.action === "reject" ? [] : (code.mechanisms || []);
    const pending = (code.pending || []).map((p) => M.el("span", { class: "mech-chip pending", title: `${p.op} in v${p.version}` },
                                                          `${p.from} → ${p.candidates.join(" / ")}?`));
    box.append(M.el("span", { class: "label" }, who), ...mechs.map((m) => mechChip(m)), ...pending,
               code.role ? M.el("span", {}, ROLE_NAMES[code.role] || code.role) : null,
               code.polarity ? M.el("span", {}, code.polarity) : null);
  }

  M.renderTeam = function (item) {
    renderAdjudication(item);
    renderRecode(item);
    renderCurrentCode(item);
  };

  /** Copy coding ``i``'s codes into the selection (adjudicate mode). */
  M.takeCoding = function (i) {
    const item = M.S.cur;
    if (!item || !item.codings || !item.codings[i]) return false;
    const c = item.codings[i];
    const reject = c.action === "reject";
    M.setSelection({ mechanisms: new Set(reject ? [] : c.mechanisms || []), role: reject ? "none" : c.role || null,
                     polarity: reject ? null : c.polarity || null });
    M.toast(`Codes of ${c.reviewer} taken: change them or press Enter.`);
    return true;
  };

  M.teamKey = function (key) {
    const i = TAKE_KEYS.indexOf(key);
    return i >= 0 ? M.takeCoding(i) : false;
  };

  /** Status bar: stale model and team counts. */
  M.renderTeamStatus = function (st) {
    const stale = M.$("stale");
    stale.hidden = !st.model_stale;
    stale.textContent = st.model_stale ? `Model out of date (${st.model_stale}): ${st.retrain_running ? "retraining now…" : "a retrain is due"}` : "";
    const team = M.$("team-info");
    const bits = [];
    if (st.double_coded) bits.push(`${st.double_coded} double-coded`);
    if (st.to_adjudicate) bits.push(`${st.to_adjudicate} to adjudicate`);
    if (st.to_recode) bits.push(`${st.to_recode} to re-code`);
    team.hidden = !bits.length;
    team.textContent = bits.join(" · ");
  };
})();
