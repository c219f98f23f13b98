// The editor pages' behaviour, in plain JavaScript (no build step).
// Search: arrow keys walk the results. Article: every action calls the editor API with
// the session's CSRF token and the version the page was rendered with, then reloads;
// a refusal is shown in the alert next to the control that caused it.
"use strict";

function searchKeys() {
  const results = document.getElementById("results");
  if (!results) return;
  const links = () => [...results.querySelectorAll("a")];
  document.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const all = links();
    const at = all.indexOf(document.activeElement);
    const fromBox = document.activeElement && document.activeElement.id === "q";
    if (at < 0 && !fromBox) return;
    event.preventDefault();
    const next = at < 0 ? 0 : at + (event.key === "ArrowDown" ? 1 : -1);
    if (next < 0) document.getElementById("q").focus();
    else all[Math.min(next, all.length - 1)].focus();
  });
}

function articleEditor(root) {
  if (!root.dataset.canEdit) return; // a viewer's page has no controls
  const slug = root.dataset.slug;
  const shown = Number(root.dataset.shown);
  const list = document.getElementById("cards");
  const row = document.getElementById("change-row"); // holds the one change form
  const form = document.getElementById("change-form");
  const action = document.getElementById("change-action");
  const moveOption = document.getElementById("change-move");
  const overridesUrl = `/v1/overrides/${encodeURIComponent(slug)}`;
  const original = cards().map((card) => card.dataset.slug);
  let current = null; // the card the change form is open for
  let moved = false; // whether the cards were moved since the page loaded

  function cards() {
    return [...list.querySelectorAll(".card")];
  }

  function say(alert, text) {
    alert.textContent = text; // textContent: never HTML
  }

  // A new action, or one refused before it is sent: only its own message may show. An old
  // error elsewhere, or the last save's "Saved.", beside it would mislead.
  function fresh() {
    document.querySelectorAll("#editor .alert").forEach((other) => say(other, ""));
    say(document.getElementById("status"), "");
  }

  function expiry(input) {
    if (!input.value) return undefined;
    const moment = new Date(input.value); // the editor's local time, sent as UTC
    return Number.isNaN(moment.getTime()) ? input.value : moment.toISOString();
  }

  async function send(method, url, version, body, alert) {
    fresh();
    let response;
    try {
      response = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "If-Match": `"${version}"`,
          "X-CSRF-Token": root.dataset.csrf,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      say(alert, "The service did not answer; nothing was changed. Try again.");
      return;
    }
    if (response.ok) {
      sessionStorage.setItem("relata-status", "Saved. The list below is what readers now get.");
      location.reload();
      return;
    }
    let message = `The service refused (${response.status}).`;
    try {
      message = (await response.json()).error.message;
    } catch (error) { /* not JSON: keep the status */ }
    if (response.status === 412) message = "Someone else changed this list since you loaded it: reload the page, then try again.";
    say(alert, message);
  }

  // The marker between what readers see and the candidates, and the position numbers,
  // follow the cards as they move.
  function renumber() {
    const all = cards();
    all.forEach((card, i) => {
      card.querySelector(".rank").textContent = String(i + 1);
      card.classList.toggle("shown", i < shown);
      card.querySelector("[data-move='-1']").disabled = i === 0;
      card.querySelector("[data-move='1']").disabled = i === all.length - 1;
    });
    const fold = document.getElementById("fold");
    if (fold && all.length > shown) all[shown - 1].after(fold);
  }

  function open(card, chosen) {
    current = card;
    document.getElementById("change-title").textContent = card.dataset.title;
    card.after(row); // the form, and its errors, sit right under the card
    row.hidden = false;
    cards().forEach((other) => {
      other.querySelector("[data-change]").setAttribute("aria-expanded", String(other === card));
    });
    const position = cards().indexOf(card) + 1;
    moveOption.disabled = !moved;
    moveOption.textContent = moved ? `Move to position ${position}` : "Move (drag it or use ↑ ↓ first)";
    action.value = chosen;
    fresh();
  }

  function close() {
    row.hidden = true;
    if (current) current.querySelector("[data-change]").setAttribute("aria-expanded", "false");
    current = null;
  }

  function restore() {
    const bySlug = new Map(cards().map((card) => [card.dataset.slug, card]));
    original.forEach((name) => list.append(bySlug.get(name)));
    const fold = document.getElementById("fold");
    if (fold) list.append(fold);
    moved = false;
    renumber();
  }

  function place(card, before) {
    if (before) list.insertBefore(card, before);
    else list.append(card);
    moved = true;
    renumber();
    open(card, "move");
  }

  // One move at a time: what Apply saves is what the page shows.
  function only(card) {
    if (moved && current !== card) restore();
  }

  function step(card, delta) {
    only(card);
    const all = cards();
    const at = all.indexOf(card) + delta;
    if (at < 0 || at >= all.length) return;
    place(card, delta < 0 ? all[at] : all[at].nextElementSibling);
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const card = button.closest(".card");
    if (button.dataset.move) {
      step(card, Number(button.dataset.move));
      button.focus(); // moving the card in the page must not lose the keyboard's place
    } else if (button.hasAttribute("data-change")) {
      if (current === card && !row.hidden) close();
      else open(card, moved ? "move" : "pin");
      if (!row.hidden) action.focus();
    }
  });

  // Drag and drop: the card lands before the card it is dropped on (after it, in its
  // lower half), then the form asks for the reason.
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".card");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.slug);
    dragged.classList.add("dragging");
  });
  list.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });
  list.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest(".card")) event.preventDefault();
  });
  list.addEventListener("drop", (event) => {
    const target = event.target.closest(".card");
    if (!dragged || !target || target === dragged) return;
    event.preventDefault();
    only(dragged);
    const box = target.getBoundingClientRect();
    const lower = event.clientY > box.top + box.height / 2;
    place(dragged, lower ? target.nextElementSibling : target);
  });

  document.getElementById("change-cancel").addEventListener("click", () => {
    const card = current;
    close();
    if (moved) restore();
    if (card) card.querySelector("[data-change]").focus();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const alert = document.getElementById("change-error");
    const reason = document.getElementById("change-reason").value.trim();
    if (!reason) {
      fresh();
      say(alert, "Give a reason: it is kept in the history.");
      document.getElementById("change-reason").focus();
      return;
    }
    const target = current.dataset.slug;
    const expires_at = expiry(document.getElementById("change-expiry"));
    const position = cards().indexOf(current) + 1;
    const version = root.dataset.version;
    const target_url = `${overridesUrl}/${encodeURIComponent(target)}`;
    switch (action.value) {
      case "move":
        return send("PATCH", target_url, version, { position, reason, expires_at }, alert);
      case "pin":
        return send("POST", overridesUrl, version,
          { kind: "pin", target, position, reason, expires_at }, alert);
      case "block":
        return send("POST", overridesUrl, version, { kind: "block", target, reason, expires_at }, alert);
      case "block-everywhere":
      case "unpublish":
        return send("POST", "/v1/blocks", root.dataset.globalVersion, {
          kind: action.value === "unpublish" ? "unpublish" : "block", target, reason, expires_at,
        }, alert);
    }
  });

  document.getElementById("pin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const alert = document.getElementById("pin-error");
    const body = {
      kind: "pin",
      target: document.getElementById("pin-target").value.trim(),
      position: Number(document.getElementById("pin-position").value),
      reason: document.getElementById("pin-reason").value.trim(),
      expires_at: expiry(document.getElementById("pin-expiry")),
    };
    if (!body.target || !body.reason) {
      fresh();
      say(alert, "Give the article's slug and a reason.");
      return;
    }
    send("POST", overridesUrl, root.dataset.version, body, alert);
  });

  document.getElementById("overrides").addEventListener("click", (event) => {
    const item = event.target.closest("[data-remove]")?.closest("li");
    if (!item) return;
    send("DELETE", `${overridesUrl}/${encodeURIComponent(item.dataset.target)}`,
      root.dataset.version, undefined, item.querySelector(".alert"));
  });

  document.getElementById("global").addEventListener("click", (event) => {
    const item = event.target.closest("[data-lift]")?.closest("li");
    if (!item) return;
    send("DELETE", `/v1/blocks/${encodeURIComponent(item.dataset.target)}`,
      root.dataset.globalVersion, undefined, item.querySelector(".alert"));
  });

  const saved = sessionStorage.getItem("relata-status");
  if (saved) {
    sessionStorage.removeItem("relata-status");
    say(document.getElementById("status"), saved);
  }
  renumber();
}

searchKeys();
const editor = document.getElementById("editor");
if (editor) articleEditor(editor);
