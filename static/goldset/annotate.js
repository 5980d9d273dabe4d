/* goldset annotate page: keyboard labeling with prefetch, an optimistic outbox, undo, skip,
 * lease renewal. Fragments come from the server already escaped; anything this script builds
 * itself uses textContent, never innerHTML with item data.
 *
 * Submits are optimistic: the next (prefetched) item is shown at once and the submit waits in
 * an outbox (also kept in localStorage) that retries network errors and 5xx with backoff and
 * THE SAME idempotency key, so a retried save never duplicates and a reload re-sends it.
 */
(function () {
  "use strict";

  const root = document.getElementById("annotate");
  if (!root) return;
  const cfg = root.dataset;
  const $ = (sel) => document.querySelector(sel);
  const stage = $("#ann-stage");
  const upcomingBox = $("#ann-upcoming");
  const emptyBox = $("#ann-empty");
  const actions = $("#ann-actions");
  const errorBox = $("#ann-error");
  const statusBox = $("#ann-status");
  const toastBox = $("#ann-toast");
  const skipDialog = $("#ann-skip");
  const helpDialog = $("#ann-help");
  const undoButton = actions.querySelector('[data-action="undo"]');

  const OUTBOX_KEY = "goldset-outbox:" + cfg.user + ":" + cfg.slug;
  const GUIDE_KEY = "goldset-guidelines-hidden";
  const REQUEST_TIMEOUT_MS = 20000;
  const RENEW_MS = 60000;
  const MAX_COMMENT = 2000;

  let current = null; // {el, itemId, key, shownAt}
  const upcoming = []; // prefetched item elements (held at most one, plus an undone item)
  let outbox = loadOutbox(); // [{key, item_id, body, tries}]
  const displayed = new Map(); // idempotency key -> element, to put an item back on a 4xx
  let lastSaved = null; // {annotation_id, item_id}
  let undoAfterSave = null; // outbox key whose save should be undone once it lands
  let prefetching = null;
  let exhausted = false;
  let flushing = false;
  let wake = null;
  let skipReason = null;
  let toastTimer = null;

  /* ---------- small helpers ---------- */

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  async function post(url, data) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": csrfToken(),
          "X-Requested-With": "fetch",
        },
        body: JSON.stringify(data),
        signal: ctrl.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function postRetrying(url, data) {
    // For undo and skip: a network error or 5xx left nothing changed, so try again briefly.
    for (let attempt = 1; ; attempt++) {
      let resp = null;
      try {
        resp = await post(url, data);
      } catch (e) {
        if (attempt >= 3) throw e;
      }
      if (resp && (resp.status < 500 || attempt >= 3)) return resp;
      await new Promise((r) => setTimeout(r, 700 * attempt));
    }
  }

  async function errorText(resp) {
    try {
      const data = await resp.json();
      if (data && data.error) return String(data.error);
    } catch (e) {
      /* not JSON */
    }
    if (resp.status === 403) return "Not allowed (403). Reload the page and log in again.";
    return "The server refused this (" + resp.status + ").";
  }

  function fragmentElement(html) {
    // Server-rendered, already-escaped fragment: safe to parse as HTML.
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    return tpl.content.querySelector(".ann-item");
  }

  function sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function toast(message) {
    toastBox.textContent = message;
    toastBox.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toastBox.hidden = true), 4000);
  }

  function setStatus(state, text) {
    statusBox.dataset.state = state;
    statusBox.textContent = text;
  }

  function statusFromOutbox() {
    if (outbox.length) setStatus("saving", "saving… (" + outbox.length + " unsent)");
    else setStatus("saved", "saved");
  }

  function loadOutbox() {
    try {
      const data = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]");
      return Array.isArray(data) ? data.filter((e) => e && e.key && e.body) : [];
    } catch (e) {
      return [];
    }
  }

  function saveOutbox() {
    try {
      if (outbox.length) localStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox));
      else localStorage.removeItem(OUTBOX_KEY);
    } catch (e) {
      /* storage full or disabled: the in-memory outbox still retries */
    }
  }

  function itemId(el) {
    return Number(el.dataset.itemId);
  }

  function heldIds() {
    const ids = [];
    if (current) ids.push(current.itemId);
    upcoming.forEach((el) => ids.push(itemId(el)));
    outbox.forEach((e) => ids.push(Number(e.item_id)));
    return Array.from(new Set(ids));
  }

  function notify() {
    document.body.dispatchEvent(new Event("goldset:saved"));
  }

  /* ---------- showing items ---------- */

  function show(el) {
    if (document.activeElement && stage.contains(document.activeElement)) {
      document.activeElement.blur();
    }
    stage.replaceChildren(el);
    current = { el: el, itemId: itemId(el), key: newKey(), shownAt: performance.now() };
    el.dataset.key = current.key;
    emptyBox.hidden = true;
    actions.hidden = false;
    window.scrollTo(0, 0);
    ensurePrefetch();
  }

  function showWaiting(text) {
    const p = document.createElement("p");
    p.className = "ann-waiting muted";
    p.textContent = text;
    stage.replaceChildren(p);
    actions.hidden = true;
  }

  function showEmpty() {
    stage.replaceChildren();
    actions.hidden = true;
    emptyBox.hidden = false;
    notify();
  }

  function advance() {
    if (upcoming.length) {
      show(upcoming.shift());
      return;
    }
    current = null;
    if (exhausted) {
      showEmpty();
    } else {
      showWaiting("Loading the next item…");
      ensurePrefetch();
    }
  }

  function keepUpcoming(el, first) {
    if (first) upcoming.unshift(el);
    else upcoming.push(el);
    upcomingBox.appendChild(el);
  }

  function ensurePrefetch() {
    if (prefetching || upcoming.length || exhausted) return;
    prefetching = prefetch().finally(() => {
      prefetching = null;
    });
  }

  async function prefetch() {
    let resp;
    try {
      resp = await post(cfg.urlNext, { exclude: heldIds() });
    } catch (e) {
      if (!current) showWaiting("Offline — waiting for the next item…");
      setTimeout(ensurePrefetch, 3000);
      return;
    }
    if (resp.status === 204) {
      exhausted = true;
      if (!current) showEmpty();
      return;
    }
    if (!resp.ok) {
      const message = await errorText(resp);
      if (!current) showWaiting(message);
      // A lease limit clears as the outbox saves; anything else is retried slowly.
      setTimeout(ensurePrefetch, resp.status === 409 ? 3000 : 15000);
      return;
    }
    const el = fragmentElement(await resp.text());
    if (!el) {
      // Not an item (e.g. a proxy's page): try again later rather than stall.
      if (!current) showWaiting("Unexpected answer from the server — retrying…");
      setTimeout(ensurePrefetch, 15000);
      return;
    }
    if (heldIds().includes(itemId(el))) return;
    keepUpcoming(el, false);
    if (!current) advance();
  }

  /* ---------- labels ---------- */

  function pressed(btn) {
    return btn.getAttribute("aria-pressed") === "true";
  }

  function press(btn, on) {
    btn.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function toggleCategory(btn) {
    const el = btn.closest(".ann-item");
    const on = !pressed(btn);
    if (on && el.dataset.multiLabel !== "1") {
      el.querySelectorAll(".ann-cat").forEach((b) => press(b, false));
    }
    press(btn, on);
    if (on) press(el.querySelector(".ann-none"), false);
  }

  function toggleNone(el) {
    const btn = el.querySelector(".ann-none");
    const on = !pressed(btn);
    press(btn, on);
    if (on) el.querySelectorAll(".ann-cat").forEach((b) => press(b, false));
  }

  function toggleUnsure(el) {
    const btn = el.querySelector(".ann-unsure");
    press(btn, !pressed(btn));
  }

  function readLabel(el) {
    return {
      categories: Array.from(el.querySelectorAll('.ann-cat[aria-pressed="true"]'), (b) =>
        Number(b.dataset.categoryId)
      ),
      none_of_these: pressed(el.querySelector(".ann-none")),
      unsure: pressed(el.querySelector(".ann-unsure")),
      comment: el.querySelector("textarea[name=comment]").value,
    };
  }

  function reveal(el) {
    const wrap = el && el.querySelector(".ann-text-wrap");
    if (wrap) wrap.classList.remove("is-blurred");
  }

  /* ---------- submit and the outbox ---------- */

  function submitCurrent() {
    if (!current) return;
    const label = readLabel(current.el);
    if (!label.categories.length && !label.none_of_these && !label.unsure) {
      showError("Choose at least one category, 0 for none of these, or U for unsure.");
      return;
    }
    if (label.comment.length > MAX_COMMENT) {
      showError("The comment is limited to " + MAX_COMMENT + " characters.");
      return;
    }
    showError("");
    const body = Object.assign({ item_id: current.itemId }, label, {
      time_spent_ms: Math.round(performance.now() - current.shownAt),
      idempotency_key: current.key,
    });
    outbox.push({ key: current.key, item_id: current.itemId, body: body, tries: 0 });
    saveOutbox();
    displayed.set(current.key, current.el);
    statusFromOutbox();
    advance();
    flush();
  }

  function backoff(tries) {
    return Math.min(30000, 1000 * Math.pow(2, Math.min(tries, 5))) + Math.random() * 500;
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      while (outbox.length) {
        const entry = outbox[0];
        let resp = null;
        try {
          resp = await post(cfg.urlSubmit, entry.body);
        } catch (e) {
          resp = null;
        }
        const data = resp && resp.ok ? await resp.json().catch(() => null) : null;
        if (data && data.annotation_id) {
          outbox.shift();
          saveOutbox();
          displayed.delete(entry.key);
          saved(entry, data);
          continue;
        }
        if (resp && (resp.status === 401 || resp.status === 403)) {
          setStatus(
            "offline",
            "not saved — log in again (" + outbox.length + " labels kept in this browser)"
          );
          showError(await errorText(resp));
          await sleep(30000);
          continue;
        }
        if (resp && resp.status >= 400 && resp.status < 500 && resp.status !== 408 &&
            resp.status !== 429) {
          const message = await errorText(resp);
          outbox.shift();
          saveOutbox();
          putBack(entry, message);
          continue;
        }
        entry.tries = (entry.tries || 0) + 1;
        saveOutbox();
        let why = "offline";
        if (resp) why = resp.ok ? "unexpected answer" : "server error " + resp.status;
        setStatus("offline", why + " — retrying (" + outbox.length + " unsent)");
        await sleep(backoff(entry.tries));
        setStatus("saving", "saving… (" + outbox.length + " unsent)");
      }
    } finally {
      flushing = false;
    }
    statusFromOutbox();
  }

  function saved(entry, data) {
    const mine = { annotation_id: data.annotation_id, item_id: data.item_id };
    lastSaved = mine;
    undoButton.disabled = false;
    setTimeout(() => {
      if (lastSaved === mine) undoButton.disabled = true; // the undo window has passed
    }, Number(cfg.undoSeconds || 120) * 1000);
    statusFromOutbox();
    toast("Saved — Z to undo");
    notify();
    if (undoAfterSave === entry.key) {
      undoAfterSave = null;
      undoLast();
    }
  }

  function putBack(entry, message) {
    // A 4xx is never dropped silently: the item goes back on screen for correction.
    showError("Not saved: " + message + " Correct the label and submit again.");
    const el = displayed.get(entry.key);
    displayed.delete(entry.key);
    if (undoAfterSave === entry.key) undoAfterSave = null;
    if (el) {
      if (current) keepUpcoming(current.el, true);
      show(el);
    } else {
      // After a reload the element is gone: ask for the item again (still leased to us).
      recoverItem(Number(entry.item_id));
    }
  }

  async function recoverItem(id) {
    try {
      const resp = await post(cfg.urlNext, { exclude: heldIds().filter((i) => i !== id) });
      if (resp.status !== 200) return;
      const el = fragmentElement(await resp.text());
      if (!el || heldIds().includes(itemId(el))) return;
      if (itemId(el) === id) {
        if (current) keepUpcoming(current.el, true);
        show(el);
      } else {
        keepUpcoming(el, false);
        if (!current) advance();
      }
    } catch (e) {
      /* the error message is already shown */
    }
  }

  /* ---------- undo, skip, renew, stop ---------- */

  async function undoLast() {
    if (outbox.length) {
      // The last submit is still on its way: undo it once it is stored.
      undoAfterSave = outbox[outbox.length - 1].key;
      toast("Undo will happen as soon as the last label is saved.");
      return;
    }
    if (!lastSaved) {
      toast("Nothing to undo.");
      return;
    }
    const target = lastSaved;
    lastSaved = null;
    undoButton.disabled = true;
    let resp;
    try {
      resp = await postRetrying(cfg.urlUndo, { annotation_id: target.annotation_id });
    } catch (e) {
      lastSaved = target;
      undoButton.disabled = false;
      showError("Could not reach the server to undo; try Z again.");
      return;
    }
    if (!resp.ok) {
      showError(await errorText(resp));
      return;
    }
    const el = fragmentElement(await resp.text());
    if (!el) return;
    showError("");
    if (current) keepUpcoming(current.el, true);
    show(el);
    toast("Undone — the item is back with your label; change it and submit again.");
    notify();
  }

  function openSkip() {
    if (!current) return;
    skipReason = null;
    skipDialog.querySelectorAll("[data-reason]").forEach((b) => press(b, false));
    skipDialog.querySelector('[data-action="skip-confirm"]').disabled = true;
    skipDialog.hidden = false;
  }

  function closeSkip() {
    skipDialog.hidden = true;
  }

  function chooseReason(index) {
    const buttons = skipDialog.querySelectorAll("[data-reason]");
    if (index < 0 || index >= buttons.length) return;
    buttons.forEach((b, i) => press(b, i === index));
    skipReason = buttons[index].dataset.reason;
    skipDialog.querySelector('[data-action="skip-confirm"]').disabled = false;
  }

  async function confirmSkip() {
    if (!current || !skipReason) return;
    const item = current;
    closeSkip();
    let resp;
    try {
      resp = await postRetrying(cfg.urlSkip, { item_id: item.itemId, reason: skipReason });
    } catch (e) {
      showError("Could not reach the server to skip; try again.");
      return;
    }
    if (!resp.ok) {
      showError(await errorText(resp));
      return;
    }
    showError("");
    if (current === item) advance();
    toast("Skipped.");
  }

  async function renew() {
    const ids = heldIds();
    if (!ids.length) {
      if (!current && exhausted) {
        exhausted = false; // look again: leases held by others may have expired
        ensurePrefetch();
      }
      return;
    }
    let resp;
    try {
      resp = await post(cfg.urlRenew, { item_ids: ids });
    } catch (e) {
      return;
    }
    if (!resp.ok) return;
    const data = await resp.json().catch(() => ({}));
    if (!Array.isArray(data.held)) return;
    const held = new Set(data.held);
    // Prefetched items whose lease ended are dropped; the current one stays (a late submit
    // is still stored).
    for (let i = upcoming.length - 1; i >= 0; i--) {
      if (!held.has(itemId(upcoming[i]))) upcoming.splice(i, 1)[0].remove();
    }
    ensurePrefetch();
  }

  async function stop() {
    const ids = [];
    if (current) ids.push(current.itemId);
    upcoming.forEach((el) => ids.push(itemId(el)));
    try {
      if (ids.length) await post(cfg.urlRelease, { item_ids: ids });
    } catch (e) {
      /* leases expire on their own */
    }
    if (outbox.length) {
      flush();
      for (let i = 0; i < 20 && outbox.length; i++) await new Promise((r) => setTimeout(r, 250));
    }
    if (outbox.length &&
        !window.confirm(outbox.length + " label(s) are not saved yet. They stay in this " +
                        "browser and are sent when you open this project again. Leave now?")) {
      return;
    }
    window.location.href = cfg.urlHome;
  }

  function toggleGuidelines(force) {
    const hidden = force === undefined ? !root.classList.contains("guidelines-hidden") : force;
    root.classList.toggle("guidelines-hidden", hidden);
    const btn = document.querySelector('[data-action="guidelines"]');
    if (btn) btn.setAttribute("aria-expanded", hidden ? "false" : "true");
    try {
      localStorage.setItem(GUIDE_KEY, hidden ? "1" : "0");
    } catch (e) {
      /* ignore */
    }
  }

  function toggleHelp(force) {
    helpDialog.hidden = force === undefined ? !helpDialog.hidden : !force;
  }

  function focusComment() {
    const box = current && current.el.querySelector("textarea[name=comment]");
    if (box) box.focus();
  }

  /* ---------- keyboard and clicks ---------- */

  function inField(target) {
    return (
      target &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
    );
  }

  function onKey(e) {
    if (e.defaultPrevented || e.isComposing) return;
    const key = e.key;
    if (!helpDialog.hidden) {
      if (key === "Escape" || key === "?") {
        e.preventDefault();
        toggleHelp(false);
      }
      return;
    }
    if (!skipDialog.hidden) {
      e.preventDefault();
      if (key === "Escape") closeSkip();
      else if (key === "Enter") confirmSkip();
      else if (/^[1-9]$/.test(key)) chooseReason(Number(key) - 1);
      return;
    }
    if (inField(e.target)) {
      if (key === "Escape") {
        e.preventDefault();
        e.target.blur();
      } else if (key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        e.target.blur();
        submitCurrent();
      }
      return;
    }
    if (e.ctrlKey || e.altKey || e.metaKey || e.repeat) return;
    if (key === "Enter") {
      e.preventDefault();
      submitCurrent();
      return;
    }
    if (key === "?") {
      e.preventDefault();
      toggleHelp(true);
      return;
    }
    if (key.length !== 1) return;
    const k = key.toLowerCase();
    if (k === "g") {
      e.preventDefault();
      toggleGuidelines();
      return;
    }
    if (k === "z") {
      e.preventDefault();
      undoLast();
      return;
    }
    if (!current) return;
    const el = current.el;
    const cat = Array.from(el.querySelectorAll(".ann-cat")).find((b) => b.dataset.hotkey === k);
    if (cat) toggleCategory(cat);
    else if (k === "0") toggleNone(el);
    else if (k === "u") toggleUnsure(el);
    else if (k === "s") openSkip();
    else if (k === "r") reveal(el);
    else if (k === cfg.commentKey) focusComment();
    else return;
    e.preventDefault();
  }

  function onClick(e) {
    const btn = e.target.closest("button");
    if (!btn) return;
    if (btn.classList.contains("ann-cat")) return toggleCategory(btn);
    if (btn.dataset.reason) {
      const all = Array.from(skipDialog.querySelectorAll("[data-reason]"));
      return chooseReason(all.indexOf(btn));
    }
    const item = btn.closest(".ann-item");
    switch (btn.dataset.action) {
      case "none":
        return toggleNone(item);
      case "unsure":
        return toggleUnsure(item);
      case "reveal":
        return reveal(item);
      case "submit":
        return submitCurrent();
      case "skip":
        return openSkip();
      case "skip-confirm":
        return confirmSkip();
      case "skip-cancel":
        return closeSkip();
      case "undo":
        return undoLast();
      case "stop":
        return stop();
      case "guidelines":
        return toggleGuidelines();
      case "help":
        return toggleHelp(true);
      case "help-close":
        return toggleHelp(false);
    }
  }

  /* ---------- start ---------- */

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
  window.addEventListener("online", () => wake && wake());
  try {
    if (localStorage.getItem(GUIDE_KEY) === "1") toggleGuidelines(true);
  } catch (e) {
    /* ignore */
  }

  const first = stage.querySelector(".ann-item");
  const unsentIds = new Set(outbox.map((e) => Number(e.item_id)));
  if (first && !unsentIds.has(itemId(first))) {
    show(first);
  } else if (first) {
    // The page re-offered an item whose submit is still in the outbox (reload before it was
    // sent): it is being saved, so move on.
    stage.replaceChildren();
    advance();
  } else {
    current = null;
    exhausted = errorBox.hidden; // no item and no error: the queue is empty for us
    if (!exhausted) ensurePrefetch();
  }
  if (outbox.length) flush();
  else setStatus("idle", "");
  setInterval(renew, RENEW_MS);
})();
