/* mechcode reviewer page: views and the keyboard (functions of app.js are shared globals). */
"use strict";

/* ---------------------------------------------------------------- views and keys */
function showView(view) {
  S.view = view;
  for (const v of VIEWS) M.$(`view-${v}`).hidden = v !== view;
  M.$("tab-queue").classList.toggle("active", view === "queue");
  M.$("tab-papers").classList.toggle("active", view === "papers" || view === "paper");
  M.$("tab-history").classList.toggle("active", view === "history");
  M.$("tab-find").classList.toggle("active", view === "find");
  if (view === "papers") M.refreshProgress();
  if (view === "history") M.loadHistory(false);
  if (view === "find") M.focusFind();
}
M.showView = showView;

function onKey(ev) {
  if (ev.key === "Escape") {
    if (!M.$("codebook").hidden) M.toggleCodebook(false);
    if (M.isTyping(ev.target)) ev.target.blur();
    return;
  }
  if (M.isTyping(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "?" || ev.key === "k") { M.toggleCodebook(); ev.preventDefault(); return; }
  if (!M.$("codebook").hidden) return;
  if (ev.key === "p") { showView("papers"); return; }
  if (ev.key === "q") { showView("queue"); return; }
  if (ev.key === "h") { showView("history"); return; }
  if (ev.key === "/") { showView("find"); ev.preventDefault(); return; }
  if (S.view !== "queue") return;
  if (ev.key === "Enter" && ev.target && ev.target.tagName === "BUTTON") return;
  const key = ev.key;
  let handled = true;
  if (M.teamKey(key)) handled = true;
  else if (key === "a") decide("accept");
  else if (key === "Enter") decide("save");
  else if (key === "x") decide("reject");
  else if (key === "s") decide("skip");
  else if (key === "u") undo();
  else if (key === "t") M.$("note").focus();
  else if (key === "w") toggleParagraph();
  else if (key in ROLE_KEYS) setRole(ROLE_KEYS[key]);
  else if (key === "+" || key === "=") setPolarity("+");
  else if (key === "-" || key === "_") setPolarity("-");
  else if (MECH_KEYS.includes(key) && MECH_KEYS.indexOf(key) < S.mechs.length) toggleMechanism(S.mechs[MECH_KEYS.indexOf(key)].id);
  else handled = false;
  if (handled) ev.preventDefault();
}

function bind() {
  document.addEventListener("keydown", onKey);
  const click = (id, fn) => M.$(id).addEventListener("click", (ev) => { ev.currentTarget.blur(); fn(); });
  click("btn-accept", () => decide("accept"));
  click("btn-save", () => decide("save"));
  click("btn-reject", () => decide("reject"));
  click("btn-skip", () => decide("skip"));
  click("btn-undo", undo);
  click("tab-queue", () => showView("queue"));
  click("tab-papers", () => showView("papers"));
  click("tab-history", () => showView("history"));
  click("tab-find", () => showView("find"));
  click("tab-codebook", () => M.toggleCodebook(true));
  click("retrain-now", async () => {
    try {
      const r = await M.api("/api/retrain", { method: "POST" });
      M.toast(r.started ? "Retraining started in the background." : "A retrain is running; another one is queued.");
      M.pollStatus();
    } catch (err) { M.toast(err.message, "error"); }
  });
  M.$("note").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); ev.stopPropagation(); ev.target.blur(); decide("save"); }
  });
  M.$("mode").addEventListener("change", (ev) => { ev.target.blur(); setMode(ev.target.value, { paper: null }); });
  M.$("mode-mechanism").addEventListener("change", (ev) => { ev.target.blur(); S.mechanism = ev.target.value; setMode("mechanism"); });
  M.$("reviewer").addEventListener("change", (ev) => {
    const name = ev.target.value.trim();
    if (!name || ev.target.readOnly) { ev.target.value = S.reviewer; return; }
    S.reviewer = name;
    localStorage.setItem("mechcode.reviewer", name);
    S.history = [];
    setMode(S.mode);
  });
}

