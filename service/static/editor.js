// The editor page's actions: each one calls the editor API, then reloads the page.
"use strict";

const root = document.getElementById("editor");
const slug = root.dataset.slug;
const status = document.getElementById("status");

function say(text) {
  status.textContent = text;  // textContent: never HTML
}

function reason() {
  const value = document.getElementById("reason").value.trim();
  if (!value) {
    say("Please give a reason first.");
    document.getElementById("reason").focus();
  }
  return value;
}

async function call(method, url, version, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      "If-Match": `"${version}"`,
      "X-CSRF-Token": root.dataset.csrf,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.ok) {
    location.reload();
    return;
  }
  const error = (await response.json()).error;
  say(response.status === 412 ? "Someone else changed this list; reloading…" : error.message);
  if (response.status === 412) setTimeout(() => location.reload(), 1500);
}

const overridesUrl = `/v1/overrides/${encodeURIComponent(slug)}`;

function shownOrder() {
  return [...document.querySelectorAll("#cards .card")].map((card) => card.dataset.slug);
}

document.getElementById("cards").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const card = button.closest(".card");
  const target = card.dataset.slug;
  const why = reason();
  if (!why) return;
  const order = shownOrder();
  const at = order.indexOf(target);
  switch (button.dataset.action) {
    case "pin":
      return call("POST", overridesUrl, root.dataset.version,
        { kind: "pin", target, position: at + 1, reason: why });
    case "block":
      return call("POST", overridesUrl, root.dataset.version, { kind: "block", target, reason: why });
    case "unpublish":
      return call("POST", "/v1/blocks", root.dataset.globalVersion,
        { kind: "unpublish", target, reason: why });
    case "up":
    case "down": {
      const other = button.dataset.action === "up" ? at - 1 : at + 1;
      [order[at], order[other]] = [order[other], order[at]];
      return call("PUT", `${overridesUrl}/order`, root.dataset.version,
        { slugs: order.slice(0, Math.max(at, other) + 1), reason: why });
    }
  }
});

document.getElementById("pin-add").addEventListener("click", () => {
  const why = reason();
  if (!why) return;
  const target = document.getElementById("pin-target").value.trim();
  const position = Number(document.getElementById("pin-position").value);
  call("POST", overridesUrl, root.dataset.version, { kind: "pin", target, position, reason: why });
});

document.getElementById("overrides").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action=remove]");
  if (!button) return;
  const target = button.closest("li").dataset.target;
  call("DELETE", `${overridesUrl}/${encodeURIComponent(target)}`, root.dataset.version);
});

document.getElementById("global").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action=lift]");
  if (!button) return;
  const target = button.closest("li").dataset.target;
  call("DELETE", `/v1/blocks/${encodeURIComponent(target)}`, root.dataset.globalVersion);
});
