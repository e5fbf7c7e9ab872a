// One subscription's (or one correlation's) events across every topic, as they happened;
// fetched again whenever the live stream says something new was read.
"use strict";

const [, kind, rawId] = window.location.pathname.split("/");
const id = decodeURIComponent(rawId || "");
const bySubscription = kind === "subscriptions";
const api = `/api/${kind}/${encodeURIComponent(id)}/timeline`;

document.getElementById("timeline-title").replaceChildren(
  bySubscription ? "Subscription " : "Correlation ",
  el("span", { className: "id", text: id })
);
document.title = `${id} · CSP pipeline dashboard`;

function renderEvents(events) {
  const list = document.getElementById("timeline");
  list.replaceChildren(
    ...events.map((e, index) =>
      el(
        "li",
        { className: `event ${serviceOf(e.topic)}`, "data-type": e.type, "data-index": index },
        el("div", { className: "when", text: formatTime(e.occurredAt) }),
        el(
          "div",
          { className: "what" },
          el("span", { className: "type", text: e.type }),
          el("span", { className: `chip ${serviceOf(e.topic)}`, text: `${e.topic} ${e.partition}:${e.offset}` })
        ),
        el(
          "div",
          { className: "ids" },
          `event ${e.eventId}`,
          e.causationId ? ` · caused by ${e.causationId}` : "",
          " · correlation ",
          el("a", { href: `/correlations/${encodeURIComponent(e.correlationId)}`, text: e.correlationId }),
          bySubscription ? "" : " · subscription ",
          bySubscription ? "" : subscriptionLink(e.subscriptionId)
        ),
        payloadDetails(e.payload)
      )
    )
  );
}

let shownVersion = null;

async function load(version) {
  shownVersion = version;
  const note = document.getElementById("timeline-note");
  const answer = await fetch(api);
  const body = await answer.json();
  if (!answer.ok) {
    note.textContent = `${body.error ? body.error.message : answer.status}; the page shows them as they arrive.`;
    renderEvents([]);
  } else {
    note.textContent =
      `${body.events.length} events, in the order they happened (occurredAt, then topic and offset).` +
      (body.evicted ? ` Not all: ${body.message}.` : "");
    renderEvents(body.events);
  }
  document.body.dataset.version = version;
  if (bySubscription) {
    const state = await fetch(`/api/subscriptions/${encodeURIComponent(id)}/state`);
    const parts = state.ok ? (await state.json()).parts : {};
    document.getElementById("state-section").hidden = !Object.keys(parts).length;
    document.getElementById("state").replaceChildren(
      ...Object.entries(parts).map(([part, latest]) =>
        el(
          "div",
          { className: "state-part", "data-part": part },
          el("h3", { text: `${part} · as of ${formatTime(latest.occurredAt)}` }),
          el("pre", { text: JSON.stringify(latest.state, null, 2) })
        )
      )
    );
    const letters = await (await fetch(`/api/dead-letters?subscriptionId=${encodeURIComponent(id)}`)).json();
    const section = document.getElementById("timeline-dead-letters-section");
    section.hidden = !letters.totalCount;
    replaceRows(
      document.querySelector("#timeline-dead-letters tbody"),
      (letters.items || []).map((letter) => deadLetterRow(letter, false)),
      "none",
      6
    );
  }
}

load(null);
followStream((data) => {
  if (data.version !== shownVersion) load(data.version);
});
