/* Relata's drop-in widget: fills every <div data-relata-slug="SLUG" data-limit="4"> on the
 * page with that article's related cards. No dependencies, no build step.
 *
 * Card text goes in as text (textContent, setAttribute), never as HTML; links and images
 * come only from http(s) URLs. When the call fails (network, a status other than 200, a
 * body that is not the list) nothing is rendered and the element keeps what it held.
 * Each element then gets a `relata:load` or `relata:error` event (bubbling), for sites
 * that want to react, e.g. show a heading only when there are cards.
 *
 * Attribution: once at least half of a list is on screen (IntersectionObserver) the widget
 * reports one impression, and a followed card reports a click, each with the list's `rid`
 * and the card's position, by navigator.sendBeacon to POST v1/events (a text/plain body,
 * so no preflight, and it survives the page being left). `data-relata-events` names
 * another service for them, or "off".
 *
 * Static mode (`data-relata-static` on the script or a block): lists are read from
 * `<base><slug>.json` as `relata export --static` writes them; events then go only where
 * `data-relata-events` says.
 */
(() => {
  "use strict";

  // Only set while this script first runs (null in callbacks): read it now.
  const script = document.currentScript;
  const FIELDS = "title,url,category,excerpt,image";
  const STYLE_ID = "relata-embed-style";
  // Scoped under .relata; every look is a custom property with a fallback, so a site sets
  // --relata-* on any ancestor (or :root) and the defaults never override it.
  const CSS = `
.relata{list-style:none;margin:0;padding:0;display:grid;gap:var(--relata-gap,1rem);
 grid-template-columns:repeat(auto-fill,minmax(min(100%,var(--relata-card-min-width,14rem)),1fr));
 font-family:var(--relata-font,inherit);color:var(--relata-text,inherit)}
.relata .relata-card{display:flex;flex-direction:column;gap:.4rem;margin:0;overflow:hidden;
 padding:var(--relata-padding,.75rem);background:var(--relata-background,transparent);
 border:var(--relata-border,1px solid rgba(127,127,127,.35));border-radius:var(--relata-radius,.5rem)}
.relata .relata-image{display:block;width:100%;height:auto;object-fit:cover;
 aspect-ratio:var(--relata-image-ratio,16/9);border-radius:var(--relata-image-radius,.25rem)}
.relata .relata-title{margin:0;font-size:var(--relata-title-size,1.05rem);line-height:1.3}
.relata .relata-link{color:var(--relata-link,inherit);text-decoration:none}
.relata .relata-link:hover,.relata .relata-link:focus-visible{text-decoration:underline}
.relata .relata-category{margin:0;font-size:.75rem;letter-spacing:.04em;text-transform:uppercase;
 color:var(--relata-muted,inherit)}
.relata .relata-excerpt{margin:0;font-size:.9rem;line-height:1.4;color:var(--relata-muted,inherit)}
`;

  /** The service's base URL: the element's or the script's data-relata-base, else the
   * folder this script was loaded from. */
  function baseUrl(element) {
    const own = element.getAttribute("data-relata-base");
    const configured = own || (script && script.getAttribute("data-relata-base"));
    const base = configured || new URL(".", (script && script.src) || document.baseURI).href;
    const absolute = new URL(base, document.baseURI).href;
    return absolute.endsWith("/") ? absolute : `${absolute}/`;
  }

  /** The element's or the script's value of `name`, else null. */
  function setting(element, name) {
    if (element.hasAttribute(name)) return element.getAttribute(name);
    return script && script.hasAttribute(name) ? script.getAttribute(name) : null;
  }

  function isStatic(element) {
    return setting(element, "data-relata-static") !== null;
  }

  function limitOf(element) {
    const limit = element.getAttribute("data-limit");
    return limit && /^[0-9]+$/.test(limit) ? Number(limit) : null;
  }

  function listUrl(element, slug) {
    if (isStatic(element)) return new URL(`${encodeURIComponent(slug)}.json`, baseUrl(element)).href;
    const url = new URL(`v1/related/${encodeURIComponent(slug)}`, baseUrl(element));
    const limit = limitOf(element);
    if (limit) url.searchParams.set("limit", String(limit));
    url.searchParams.set("fields", FIELDS);
    const visitor = setting(element, "data-visitor");
    if (visitor) url.searchParams.set("visitor", visitor);
    return url.href;
  }

  /** Where this block's events go: data-relata-events (a service's base URL, or "off"),
   * else the service the list came from; nowhere for a static list without one. */
  function eventsUrl(element) {
    const named = setting(element, "data-relata-events");
    if (named === "off") return null;
    if (!named && isStatic(element)) return null;
    const base = named ? new URL(named, document.baseURI).href : baseUrl(element);
    return new URL("v1/events", base.endsWith("/") ? base : `${base}/`).href;
  }

  function report(url, events) {
    const body = JSON.stringify({ events });
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
      fetch(url, { method: "POST", body, keepalive: true, mode: "no-cors", credentials: "omit" });
    } catch {
      // Counting must never disturb the page.
    }
  }

  /** One impression when at least half the list is first on screen, one click per card
   * followed (a click, or a middle click that opens it elsewhere). */
  function attribute(element, list, body, items) {
    const url = eventsUrl(element);
    if (!url || typeof body.rid !== "string" || typeof body.slug !== "string") return;
    const base = { rid: body.rid, slug: body.slug };
    if ("IntersectionObserver" in window) {
      const observer = new IntersectionObserver((entries) => {
        if (!entries.some((entry) => entry.isIntersecting)) return;
        observer.disconnect();
        report(url, [{ type: "impression", ...base, position: items.length }]);
      }, { threshold: 0.5 });
      observer.observe(list);
    }
    items.forEach((item, index) => {
      const link = list.children[index] && list.children[index].querySelector("a");
      if (!link || typeof item.slug !== "string") return;
      const position = Number.isInteger(item.position) ? item.position : index + 1;
      const click = () => report(url, [{ type: "click", ...base, target: item.slug, position }]);
      link.addEventListener("click", click);
      link.addEventListener("auxclick", (event) => { if (event.button === 1) click(); });
    });
  }

  /** `value` as an absolute http(s) URL, else null. */
  function webUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function textNode(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }

  function card(item) {
    const li = document.createElement("li");
    li.className = "relata-card";
    const image = webUrl(item.image);
    if (image) {
      const img = document.createElement("img");
      img.className = "relata-image";
      img.setAttribute("src", image);
      img.setAttribute("alt", item.title);
      img.setAttribute("loading", "lazy");
      li.appendChild(img);
    }
    const heading = document.createElement("h3");
    heading.className = "relata-title";
    const url = webUrl(item.url);
    if (url) {
      const link = textNode("a", "relata-link", item.title);
      link.setAttribute("href", url);
      heading.appendChild(link);
    } else {
      heading.textContent = item.title;
    }
    li.appendChild(heading);
    for (const field of ["category", "excerpt"]) {
      if (typeof item[field] === "string" && item[field]) {
        li.appendChild(textNode("p", `relata-${field}`, item[field]));
      }
    }
    return li;
  }

  function isCard(item) {
    return item !== null && typeof item === "object" && typeof item.title === "string";
  }

  function addStyles() {
    if (document.getElementById(STYLE_ID)) return;
    const style = document.createElement("style");
    style.id = STYLE_ID;
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  function announce(element, type, detail) {
    element.dispatchEvent(new CustomEvent(type, { bubbles: true, detail }));
  }

  async function fill(element) {
    try {
      const slug = element.getAttribute("data-relata-slug");
      const response = await fetch(listUrl(element, slug), { credentials: "omit" });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      if (!body || !Array.isArray(body.items) || !body.items.every(isCard)) {
        throw new Error("not a related list");
      }
      // A static file holds the export's --limit cards: the block may want fewer.
      const items = isStatic(element) ? body.items.slice(0, limitOf(element) || undefined) : body.items;
      if (items.length) {
        const list = document.createElement("ul");
        list.className = "relata";
        list.setAttribute("aria-label", element.getAttribute("data-label") || "Related articles");
        for (const item of items) list.appendChild(card(item));
        addStyles();
        element.replaceChildren(list); // one write: the block appears whole, once
        attribute(element, list, body, items);
      }
      announce(element, "relata:load", { count: items.length });
    } catch (error) {
      announce(element, "relata:error", { reason: String((error && error.message) || error) });
    }
  }

  function start() {
    document.querySelectorAll("[data-relata-slug]").forEach(fill);
  }

  // Loaded async, this may run before the page's blocks are parsed.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
