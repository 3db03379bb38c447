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
    info.removeAttribute("title");
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
    if (st.model_error) M.$("model-version").setAttribute("title", st.model_error);
    if (M.S.version !== undefined && st.model_version && st.model_version !== M.S.version) {
      M.toast(`New model ${st.model_version} is now suggesting.`, "good");
      // untouched current unit: show it (or the new first pick) with the new model's suggestion
      M.loadQueue(true, !M.S.dirty && M.$("note").value.trim() === "");
    }
    M.S.version = st.model_version;
  }

  function statusUrl() {
    return M.S.reviewer ? `/api/status?reviewer=${encodeURIComponent(M.S.reviewer)}` : "/api/status";
  }

  async function pollStatus() {
    try { renderStatus(await M.api(statusUrl())); } catch (err) { /* keep polling */ }
  }

  function progressLine(label, coded, total) {
    return M.el("div", { class: "line" },
      M.el("div", { class: "label" }, M.el("span", {}, label), M.el("span", {}, `${coded} / ${total}`)),
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
      M.renderPapers && M.renderPapers(data);
    } catch (err) { /* shown elsewhere */ }
  }

  M.reloadCodebook = reloadCodebook;
  M.renderStatus = renderStatus;
  M.pollStatus = pollStatus;
  M.refreshProgress = refreshProgress;
})();
