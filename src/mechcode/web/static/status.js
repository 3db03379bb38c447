/* mechcode reviewer page: the status bar (model, retrains, team counts), progress and codebook reloads. */
"use strict";

(function () {
  const METRIC_NAMES = { mechanism_macro_f1: "mechanism F1", role_macro_f1: "role F1", polarity_macro_f1: "polarity F1" };

  function metricsText(metrics) {
    if (!metrics || typeof metrics !== "object") return "";
    const which = metrics.holdout ? "holdout" : metrics.training ? "training" : null;
    const figures = which ? metrics[which] : metrics;
    const parts = [];
    for (const [k, v] of Object.entries(figures || {})) {
      if (typeof v === "number" && (METRIC_NAMES[k] || !which)) parts.push(`${METRIC_NAMES[k] || k} ${v.toFixed(2)}`);
    }
    return parts.length ? `${which ? `${which}: ` : ""}${parts.slice(0, 4).join(" · ")}` : "";
  }

  async function reloadCodebook() {
    const cb = await M.api("/api/codebook");
    M.S.codebook = cb;
    M.S.cbVersion = cb.version;
    M.codebookIds = cb.mechanisms.map((m) => m.id);
    M.S.mechs = cb.mechanisms.filter((m) => m.status !== "merged" && m.status !== "retired");
    const sel = M.clear(M.$("mode-mechanism"));
    for (const m of M.S.mechs) sel.append(M.el("option", { value: m.id }, m.name));
    if (M.S.mechanism && M.S.mechs.some((m) => m.id === M.S.mechanism)) sel.value = M.S.mechanism;
    else M.S.mechanism = "";
    M.renderCodebook(cb);
  }

  function renderStatus(st) {
    M.renderTeamStatus(st);
    if (M.S.cbVersion !== null && st.codebook_version !== M.S.cbVersion) {
      M.S.cbVersion = st.codebook_version;
      M.toast(`The codebook changed to version ${st.codebook_version}.`);
      reloadCodebook().then(() => M.loadQueue(false)).catch((err) => M.toast(err.message, "error"));
    }
    M.$("model-version").textContent = st.model_version || "none yet (zeroshot on first use)";
    M.$("labelled").textContent = String(st.labelled + (st.seed_units ? ` (+${st.seed_units} seed)` : ""));
    M.$("coded").textContent = String(st.coded);
    M.$("units").textContent = String(st.units);
    const info = M.$("retrain-info");
    const r = st.last_retrain;
    info.className = "stat";
    if (st.retrain_running || (r && r.status === "running")) {
      info.textContent = "Retraining in the background…";
      info.classList.add("running");
    } else if (!r) {
      info.textContent = st.retrain_every ? `No retrain yet (every ${st.retrain_every} decisions)` : "No retrain yet (retrains when asked)";
    } else if (r.status === "failed") {
      info.textContent = `Last retrain failed at ${M.time(r.finished_at)}: ${r.error || "unknown error"} (old model kept)`;
      info.classList.add("failed");
      info.setAttribute("title", r.error || "");
    } else {
      const m = metricsText(r.metrics);
      info.textContent = `Last retrain ${M.time(r.finished_at)} on ${r.labelled} units${m ? ` · ${m}` : ""}`;
    }
    info.setAttribute("title", info.textContent);  // the full line on hover when it is cut
    M.$("model-version").setAttribute("title", st.model_error || st.model_version || "");
    renderStop(st.stop);
    M.S.retraining = !!(st.retrain_running || (r && r.status === "running"));
    if (M.S.version !== undefined && st.model_version && st.model_version !== M.S.version) {
      M.toast(`New model ${st.model_version} is now suggesting.`, "good");
      // untouched current unit: show it (or the new first pick) with the new model's suggestion
      M.loadQueue(true, !M.S.dirty && M.$("note").value.trim() === "");
    }
    M.S.version = st.model_version;
  }

  function statusUrl() {
    const q = new URLSearchParams({ mode: M.S.mode || "paper" });
    if (M.S.reviewer) q.set("reviewer", M.S.reviewer);
    if (M.S.mode === "mechanism" && M.S.mechanism) q.set("mechanism", M.S.mechanism);
    const paper = M.S.mode === "paper" ? (M.S.cur ? M.S.cur.document_id : M.S.paper) : null;
    if (paper) q.set("paper", String(paper));
    return `/api/status?${q}`;
  }

  async function pollStatus() {
    try { renderStatus(await M.api(statusUrl())); } catch (err) { /* keep polling */ }
  }

  /* The stop signal of the current queue: evidence found, estimated left, the stopping hint. */
  function renderStop(stop) {
    const box = M.clear(M.$("stop"));
    if (!stop) return;
    const mech = stop.mechanism ? M.S.mechs.find((m) => m.id === stop.mechanism) : null;
    const scope = stop.mechanism ? `for ${mech ? mech.name : stop.mechanism}` : stop.paper ? "in this paper" : "in all papers";
    const left = stop.remaining === null ? "?" : `~${Math.round(stop.remaining)}`;
    const recall = stop.recall !== null ? ` · estimated recall ${Math.round(100 * stop.recall)}%` : "";
    const rule = `Rule: stop when the estimated recall reaches ${Math.round(100 * stop.rule.recall)}% ` +
                 `and the last ${stop.rule.streak} decisions found no evidence`;
    box.append(
      M.el("div", { class: "figures" },
        M.el("span", { title: "codable units you coded" }, "Coded ", M.el("b", { id: "stop-coded" }, String(stop.coded))),
        M.el("span", { title: "coded units that are evidence" }, "Evidence ", M.el("b", { id: "stop-found" }, String(stop.found))),
        M.el("span", { title: "sum of the model's probabilities over the uncoded units" }, "Left ",
             M.el("b", { id: "stop-left" }, left))),
      M.el("div", { class: "muted" }, `${scope}${recall} · ${stop.streak} in a row without evidence`),
      M.el("p", { class: `hint${stop.stop ? " stop" : ""}`, id: "stop-hint", title: rule }, stop.hint));
  }

  /* Poll the status every ``ms`` (every second while a retrain runs, so a new model shows at once). */
  function startPolling(ms) {
    const tick = async () => {
      await pollStatus();
      setTimeout(tick, M.S.retraining ? 1000 : ms);
    };
    setTimeout(tick, ms);
  }

  /* After a decision: the status bar, the stop signal and the progress panel, together. */
  function refreshCounts() {
    return Promise.all([pollStatus(), refreshProgress()]);
  }

  function progressLine(label, coded, total) {
    return M.el("div", { class: "line" },
      M.el("div", { class: "label" }, M.el("span", { title: label }, label), M.el("span", {}, `${coded} / ${total}`)),
      M.bar(total ? coded / total : 0));
  }

  async function refreshProgress() {
    try {
      const data = await M.api(`/api/papers?reviewer=${encodeURIComponent(M.S.reviewer)}`);
      const box = M.clear(M.$("progress"));
      box.append(progressLine("All papers", data.total.coded, data.total.units));
      box.append(progressLine("Coded by you", data.total.coded_by_you, data.total.units));
      const docId = M.S.cur ? M.S.cur.document_id : M.S.paper;
      const paper = data.papers.find((p) => p.id === docId);
      if (paper) box.append(progressLine(`This paper: ${paper.title}`, paper.coded, paper.units));
      M.renderPapers(data);
      M.fillFilters(data.papers);
    } catch (err) { /* shown elsewhere */ }
  }

  M.reloadCodebook = reloadCodebook;
  M.renderStatus = renderStatus;
  M.pollStatus = pollStatus;
  M.startPolling = startPolling;
  M.refreshCounts = refreshCounts;
  M.refreshProgress = refreshProgress;
})();
