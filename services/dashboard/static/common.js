// Helpers of both pages. Everything read from the topics goes in as text (textContent),
// never as HTML: payloads and errors are whatever producers wrote.
"use strict";

const SERVICE_OF_TOPIC = { ordering: "ordering", provisioning: "provisioning", billing: "billing" };

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function serviceOf(topic) {
  return SERVICE_OF_TOPIC[String(topic).split(".")[0]] || "other";
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  // Milliseconds shown: one purchase's events often share a second.
  return isNaN(date) ? String(iso) : date.toISOString().replace("T", " ");
}

function formatAge(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function payloadDetails(payload) {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload, null, 2);
  return el("details", { className: "payload" }, el("summary", { text: "payload" }), el("pre", { text }));
}

function replaceRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(
    ...(rows.length ? rows : [el("tr", { className: "empty" }, el("td", { colspan: columns, text: emptyText }))])
  );
}

function subscriptionLink(id) {
  return el("a", { href: `/subscriptions/${encodeURIComponent(id)}`, className: "id", text: id });
}

function deadLetterRow(letter, withSubscription) {
  return el(
    "tr",
    { "data-offset": `${letter.partition}:${letter.offset}` },
    el("td", { text: formatTime(letter.time) }),
    el("td", { text: letter.topic }),
    el("td", { text: letter.type || "(unreadable)" }),
    withSubscription ? el("td", {}, letter.subject ? subscriptionLink(letter.subject) : "") : null,
    el("td", { text: letter.consumer }),
    el("td", { className: "error", text: letter.error }),
    el("td", {}, payloadDetails(letter.payload))
  );
}

// The live stream: `onOverview(data)` on every message; the badge says how it goes.
function followStream(onOverview) {
  const badge = document.getElementById("feed-status");
  const source = new EventSource("/api/stream");
  source.addEventListener("overview", (message) => {
    const data = JSON.parse(message.data);
    const feed = data.feed || {};
    badge.textContent = !feed.brokerConnected
      ? "broker unreachable"
      : feed.caughtUp ? "live" : "reading the topics…";
    badge.className = "badge " + (feed.brokerConnected ? (feed.caughtUp ? "ok" : "busy") : "bad");
    onOverview(data);
  });
  source.addEventListener("error", () => {
    badge.textContent = "reconnecting…";
    badge.className = "badge bad";
  });
  return source;
}
