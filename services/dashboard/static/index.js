// The main page: funnel, stuck subscriptions, rates, lag and dead letters, kept live.
"use strict";

// The width through CSSOM: the page's CSP refuses style attributes.
function bar(percent) {
  const node = el("div", { className: "bar" });
  node.style.width = `${percent}%`;
  return node;
}

function renderFunnel(funnel, window_) {
  const stages = funnel.stages;
  const most = Math.max(1, ...stages.map((s) => s.reached));
  document.getElementById("funnel").replaceChildren(
    ...stages.map((stage) =>
      el(
        "div",
        { className: "stage", "data-stage": stage.key, title: `marked by ${stage.eventTypes.join(", ")}` },
        el("div", { className: "stage-label", text: stage.label }),
        el(
          "div",
          { className: "bar-track" },
          bar((100 * stage.reached) / most)
        ),
        el("div", { className: "stage-count", "data-testid": `funnel-${stage.key}`, text: stage.reached }),
        el("div", { className: "stage-now", text: `${stage.inStage} here now` })
      )
    )
  );
  const w = window_ || {};
  const held = w.subscriptionsEvicted
    ? ` Details (timeline, state) are held for the ${w.maxSubscriptions} most recently active subscriptions;` +
      ` ${w.subscriptionsEvicted} older ones were evicted and stay in these counts.`
    : "";
  document.getElementById("funnel-note").textContent =
    `${funnel.ended} ended (cancelled or expired). A stage counts every subscription that reached it or a later one.${held}`;
  document.getElementById("stuck-threshold").textContent = funnel.stuckAfterSeconds;
  document.getElementById("stuck-count").textContent = funnel.stuckCount;
  const labels = Object.fromEntries(stages.map((s) => [s.key, s.label]));
  replaceRows(
    document.querySelector("#stuck tbody"),
    funnel.stuck.map((s) =>
      el(
        "tr",
        {},
        el("td", {}, subscriptionLink(s.subscriptionId)),
        el("td", { text: labels[s.stage] || s.stage }),
        el("td", { text: formatTime(s.since) }),
        el("td", { className: "num", text: formatAge(s.ageSeconds) })
      )
    ),
    "none stuck",
    4
  );
}

function sparkline(series) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 150, height = 28, gap = 1;
  const step = width / series.length;
  const most = Math.max(1, ...series);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `events per 10 s: ${series.join(", ")}`);
  series.forEach((count, i) => {
    const h = count ? Math.max(2, (height * count) / most) : 0;
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", i * step);
    bar.setAttribute("y", height - h);
    bar.setAttribute("width", Math.max(1, step - gap));
    bar.setAttribute("height", h);
    svg.append(bar);
  });
  return svg;
}

function renderTopics(topics) {
  replaceRows(
    document.querySelector("#topics tbody"),
    topics.map((t) =>
      el(
        "tr",
        { "data-topic": t.topic },
        el("td", {}, el("span", { className: `chip ${serviceOf(t.topic)}`, text: t.topic })),
        el("td", { className: "num", text: t.total }),
        el("td", { className: "num", text: t.lastMinute }),
        el("td", { className: "num", text: t.perSecond.toFixed(2) }),
        el("td", {}, sparkline(t.series))
      )
    ),
    "no topics yet",
    5
  );
}

function renderLag(groups) {
  replaceRows(
    document.querySelector("#lag tbody"),
    groups.map((g) =>
      el(
        "tr",
        { "data-group": g.group, className: g.lag > 0 ? "behind" : "" },
        el("td", { text: g.group }),
        el("td", { text: g.topic }),
        el("td", { className: "num", text: g.known ? g.lag : "…" }),
        el(
          "td",
          { className: "partitions" },
          g.partitions.map((p) => `${p.partition}: ${p.committed ?? "–"} / ${p.highWatermark}`).join("  ")
        )
      )
    ),
    "no consumer groups",
    4
  );
}

function renderDeadLetters(deadLetters) {
  document.getElementById("dlq-count").textContent = deadLetters.totalCount;
  document.getElementById("dlq-note").textContent = deadLetters.dropped
    ? `The newest ${deadLetters.totalCount} are held; ${deadLetters.dropped} older ones were dropped (the topics still have them).`
    : "";
  replaceRows(
    document.querySelector("#dead-letters tbody"),
    deadLetters.items.map((letter) => deadLetterRow(letter, true)),
    "no dead letters",
    7
  );
}

function render(data) {
  renderFunnel(data.funnel, data.window);
  renderTopics(data.topics);
  renderLag(data.lag);
  renderDeadLetters(data.deadLetters);
  document.body.dataset.version = data.version;
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const kind = document.getElementById("search-kind").value;
  const id = document.getElementById("search-id").value.trim();
  if (id) window.location.assign(`/${kind}/${encodeURIComponent(id)}`);
});

fetch("/api/overview").then((r) => (r.ok ? r.json() : null)).then((data) => data && render(data));
followStream(render);
