/* goldset case page: decide by keyboard.
 * Category hotkeys toggle categories, 0 none of these (exclusive with categories; single-label
 * projects keep one category), R focuses the rationale, G the guideline reference, Esc leaves
 * a text field, Enter (outside a text field) or Ctrl/Cmd+Enter anywhere decides, S skips to the
 * next case, ? opens the key help; on a likely label error U confirms and relabels with the
 * suggested label and Shift+D dismisses it. The script only toggles inputs and submits the
 * server forms: it never builds markup from item data.
 */
(function () {
  "use strict";

  const form = document.getElementById("adjudicate");
  if (!form) return;
  const labels = form.querySelector(".adj-labels");
  const single = labels && labels.dataset.single === "1";
  const boxes = Array.from(form.querySelectorAll("input[data-hotkey]"));
  const none = form.querySelector('input[name="none_of_these"]');
  const rationale = document.getElementById("adj-rationale");
  const ref = document.getElementById("adj-ref");
  const skip = document.getElementById("adj-skip");
  const help = document.querySelector(".adj-help");
  // A likely label error (learning app): U accepts the suggested label, Shift+D dismisses.
  const accept = document.getElementById("accept-suggestion");
  const dismissForm = document.querySelector("form.adj-dismiss");

  function send(target) {
    if (typeof target.requestSubmit === "function") target.requestSubmit();
    else target.submit();
  }

  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type !== "checkbox"));
  }

  function exclusive(changed) {
    if (!changed.checked) return;
    if (changed === none) {
      boxes.forEach((b) => { if (b !== none) b.checked = false; });
    } else {
      if (none) none.checked = false;
      if (single) boxes.forEach((b) => { if (b !== changed && b !== none) b.checked = false; });
    }
  }

  function decide() {
    if (rationale && !rationale.value.trim()) {
      rationale.focus();
      rationale.setAttribute("aria-invalid", "true");
      return;
    }
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  boxes.forEach((b) => b.addEventListener("change", () => exclusive(b)));

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      decide();
      return;
    }
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (event.shiftKey && key === "d" && accept && dismissForm) {
      event.preventDefault();
      send(dismissForm);
      return;
    }
    if (key === "enter") {
      const tag = event.target && event.target.tagName;
      if (tag === "A" || tag === "BUTTON" || tag === "SUMMARY") return; // their own action
      event.preventDefault();
      decide();
      return;
    }
    const box = boxes.find((b) => b.dataset.hotkey.toLowerCase() === key);
    if (box) {
      event.preventDefault();
      box.checked = !box.checked;
      exclusive(box);
      return;
    }
    if (key === "u" && accept) {
      event.preventDefault();
      send(accept);
    } else if (key === "r" && rationale) {
      event.preventDefault();
      rationale.focus();
    } else if (key === "g" && ref) {
      event.preventDefault();
      ref.focus();
    } else if (key === "s" && skip) {
      event.preventDefault();
      window.location.assign(skip.href);
    } else if (key === "?" && help) {
      help.open = !help.open;
    }
  });

  // Focus nothing in particular: hotkeys work at once after the page loads.
  if (document.activeElement && typing(document.activeElement)) document.activeElement.blur();
})();
