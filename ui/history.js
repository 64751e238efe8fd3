// The window's two tabs (Settings, History) and the History view: balances over
// time and spending by category, drawn with uPlot (ui/vendor/uplot, loaded before
// this module as the global `uPlot`). Like app.js it only lays out what the core
// gives: each amount comes twice, a decimal string to draw and a text to read
// (already formatted, "£•••" in privacy mode), and each day or month comes as text
// too. Nothing is asked for until the History tab opens; while it is open, a
// person, a range or a new snapshot ("snapshot-changed") asks again. No timers.
//
// What a test can read (WebDriver: execute a script in the window). The object
// and its arrays are replaced on each redraw; the instances of an earlier draw are
// destroyed.
//   window.monzoCharts.balances[k]   uPlot, one per currency, in the core's order
//   window.monzoCharts.spending[k]   uPlot, one per currency, in the core's order
// On every instance u:
//   u.monzo.kind                 "balances" | "spending"
//   u.monzo.currency             "GBP", ...
//   u.monzo.privacy              the view's `privacy` (y-axis labels are all "")
//   u.monzo.person               the person asked for (null: everyone)
//   u.series[0].label            "Day" | "Month"
//   u.series[i].label (i >= 1)   a balance series' label as sent ("Dana · Current
//                                Account", "… (rebuilt)") | a category's label ("Groceries")
//   u.series[i].dash             [8, 5] on a "pot_rebuilt" series (drawn dashed)
//   u.series[i].stroke / .fill   uPlot's colour functions (u.series[i].stroke() is the colour)
//   u.data[0]                    balances: the core's x (unix seconds);
//                                spending: month indexes 0 … months.length - 1
//   u.data[i] (i >= 1)           balances: Number(values[j]), null kept;
//                                spending: Number(value) of category i - 1 per month,
//                                null kept: the category's own amounts, NOT the
//                                cumulative sums the bars are drawn from
//   u.cursor.idx                 the point the cursor (mouse or keys) is on, or null
//   u.legend.values[i]._         the text the legend shows for series i at that point
//   u.root.parentElement         the focusable container (.chart, tabindex=0) whose
//                                arrow keys, Home, End (and Enter, spending) drive it
// Balances only:
//   u.monzo.dates, u.monzo.summaries    as sent
//   u.monzo.series[i - 1]               {label, kind, values, texts} as sent (values:
//                                       the raw decimal strings), in u.series order
// Spending only:
//   u.monzo.months, u.monzo.month_labels, u.monzo.totals, u.monzo.summary   as sent
//   u.monzo.categories[c]        {category, label} as sent
//   u.monzo.values[c]            category c's raw decimal strings, as sent
//   u.monzo.texts[c]             category c's texts, as sent
//   u.monzo.stack()              {bottom, top}: per category, the cumulative sums each
//                                bar is drawn between (null where nothing is drawn)

const invoke = (command, args) => window.__TAURI__.core.invoke(command, args);
const listen = (event, handler) => window.__TAURI__.event.listen(event, handler);
const $ = (id) => document.getElementById(id);

const TABS = ["settings", "history"];
const RANGES = ["1m", "3m", "1y", "all"];
const BALANCES_HEIGHT = 260;
const SPENDING_HEIGHT = 280;
// A rebuilt pot is dashed. The palette has eight colours: from the ninth series
// on they come again, dotted. The legend and the summaries name every line anyway.
const REBUILT_DASH = [8, 5];
const SECOND_ROUND_DASH = [2, 3];

// Set by startHistory: app.js's way of turning an error into words.
let message = String;

const state = {
  open: false,
  person: null, // null: everyone
  range: "1y",
  month: null, // "2026-11" while its merchants and transactions are listed
  balances: null, // the last history_view, to redraw without asking again
  spending: null, // the last spending_view
};

// What is drawn: {u, box, nav, height} per chart. `nav.at` is the point the keys
// move from.
const drawn = { balances: [], spending: [] };

function publish() {
  window.monzoCharts = { balances: drawn.balances.map((c) => c.u), spending: drawn.spending.map((c) => c.u) };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

const number = (value) => (value == null ? null : Number(value));

// ---- Tabs -------------------------------------------------------------------

function selectTab(name, { focus = false } = {}) {
  for (const tab of TABS) {
    const selected = tab === name;
    const button = $(`tab-${tab}`);
    button.setAttribute("aria-selected", String(selected));
    // Roving tabindex: Tab reaches the selected tab only; arrows move between tabs.
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${tab}`).hidden = !selected;
  }
  if (focus) $(`tab-${name}`).focus();
  const wasOpen = state.open;
  state.open = name === "history";
  if (state.open && !wasOpen) {
    // What was drawn before may hold amounts privacy mode now hides: gone first.
    forgetDrawn();
    loadAll();
  }
}

function followTabKeys(event) {
  const at = TABS.findIndex((tab) => $(`tab-${tab}`) === document.activeElement);
  if (at < 0) return;
  const to = {
    ArrowRight: (at + 1) % TABS.length,
    ArrowLeft: (at - 1 + TABS.length) % TABS.length,
    Home: 0,
    End: TABS.length - 1,
  }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  selectTab(TABS[to], { focus: true });
}

// ---- Asking the core ---------------------------------------------------------
// Each kind of request counts its askings, so an answer overtaken by a newer
// question (a quick change of range, say) is dropped instead of drawn.

const asked = { balances: 0, spending: 0, month: 0 };

function loadAll() {
  loadBalances();
  loadSpending();
  if (state.month) loadMonth(state.month);
}

async function loadBalances() {
  const mine = ++asked.balances;
  try {
    const person = state.person;
    const view = await invoke("history_view", { person, range: state.range });
    if (mine !== asked.balances || !state.open) return;
    view.person = person;
    $("history-error").textContent = "";
    state.balances = view;
    if (showPeople(view.people)) return; // the person is gone: asked again for everyone
    showLines($("history-import"), view.import);
    drawBalances();
  } catch (err) {
    if (mine !== asked.balances) return;
    $("history-error").textContent = message(err);
    // The person chosen was removed meanwhile: everyone, asked again.
    if (state.person !== null) choosePerson(null);
  }
}

async function loadSpending() {
  const mine = ++asked.spending;
  try {
    const person = state.person;
    const view = await invoke("spending_view", { person, months: 12 });
    if (mine !== asked.spending || !state.open) return;
    view.person = person;
    $("spending-error").textContent = "";
    state.spending = view;
    drawSpending();
  } catch (err) {
    if (mine !== asked.spending) return;
    $("spending-error").textContent = message(err);
    if (state.person !== null) choosePerson(null);
  }
}

async function loadMonth(month) {
  const mine = ++asked.month;
  state.month = month;
  $("month-error").textContent = "";
  try {
    const detail = await invoke("spending_month", { person: state.person, month });
    if (mine !== asked.month) return;
    showMonth(detail);
  } catch (err) {
    if (mine === asked.month) {
      $("month-detail").hidden = false;
      $("month-error").textContent = message(err);
    }
  }
}

// ---- Controls and lines ------------------------------------------------------

// Fills the person picker; true when the chosen person is no longer there (then
// everyone is shown instead, asked again).
function showPeople(people) {
  const select = $("history-person");
  const have = [...select.options].slice(1).map((o) => o.value);
  if (JSON.stringify(have) !== JSON.stringify(people)) {
    const everyone = select.options[0];
    select.replaceChildren(everyone, ...people.map((name) => el("option", { value: name, textContent: name })));
  }
  if (state.person !== null && !people.includes(state.person)) {
    choosePerson(null);
    return true;
  }
  select.value = state.person ?? "";
  return false;
}

function choosePerson(person) {
  state.person = person;
  $("history-person").value = person ?? "";
  closeMonth();
  loadBalances();
  loadSpending();
}

function chooseRange(range) {
  state.range = range;
  for (const r of RANGES) $(`range-${r}`).setAttribute("aria-pressed", String(r === range));
  loadBalances();
}

function showLines(list, lines) {
  list.replaceChildren(...(lines ?? []).map((line) => el("li", {}, line)));
  list.hidden = list.children.length === 0;
}

function closeMonth() {
  asked.month++; // an answer still on its way is no longer wanted
  state.month = null;
  $("month-detail").hidden = true;
}

function showMonth(detail) {
  $("month-detail").hidden = false;
  $("month-title").textContent = detail.month_label;
  $("month-merchants").replaceChildren(
    ...detail.merchants.map((m) =>
      el("li", {}, el("span", { class: "merchant" }, m.name), el("span", { class: "amount" }, m.text))),
  );
  $("month-transactions").tBodies[0].replaceChildren(
    ...detail.transactions.map((t) =>
      el("tr", {},
        el("td", {}, t.date),
        el("td", {}, t.description),
        el("td", {}, t.category),
        el("td", { class: "amount" }, t.text))),
  );
}

// ---- Theme, axes, sizes -----------------------------------------------------

// The chart colours live in style.css (light and dark); read them at each draw so
// a change of scheme redraws in the new ones.
function theme() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    axis: v("--chart-axis"),
    grid: v("--chart-grid"),
    palette: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => v(`--chart-${i}`)),
  };
}

// Tick labels in the chart's currency, whole units, by Intl; none in privacy mode
// (the shapes are still drawn, with no amounts beside them).
function moneyTicks(currency, privacy) {
  let format;
  try {
    // navigator.language rather than the engine's default: the same on a desktop
    // with a language, and under LANG=C the one language.js gave uPlot.
    format = new Intl.NumberFormat(navigator.language, { style: "currency", currency, maximumFractionDigits: 0 });
  } catch {
    format = new Intl.NumberFormat(navigator.language, { maximumFractionDigits: 0 });
  }
  return (u, splits) => splits.map((v) => (privacy || v == null ? "" : format.format(v)));
}

// The y axis as wide as its longest label (uPlot's fixed 50 px cuts "£120,000").
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((a, b) => (b.length > a.length ? b : a), "");
  if (longest !== "") {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
}

function axes(colours, currency, privacy, x) {
  const lines = { stroke: colours.grid, width: 1 };
  return [
    { stroke: colours.axis, grid: lines, ticks: lines, ...x },
    { stroke: colours.axis, grid: lines, ticks: lines, values: moneyTicks(currency, privacy), size: axisSize },
  ];
}

// Marker borders follow the line: dashed for a dashed series.
const legend = { markers: { dash: (u, i) => (u.series[i].dash ? "dashed" : "solid") } };

// ---- Keys and the spoken point -------------------------------------------------

// Makes a chart's container drive its cursor from the keyboard and say the point
// (`describe(i)`) in its live region. `onEnter(i)`, when given, answers Enter.
function followKeys(u, box, live, nav, { describe, topAt, onEnter }) {
  const count = () => u.data[0].length;
  const move = (i, say = true) => {
    nav.at = i;
    u.setCursor({ left: u.valToPos(u.data[0][i], "x"), top: topAt(i) });
    if (say) live.textContent = describe(i);
  };
  nav.move = move;
  box.addEventListener("keydown", (event) => {
    const n = count();
    if (n === 0) return;
    const at = nav.at;
    const page = Math.max(1, Math.round(n / 12));
    let to;
    switch (event.key) {
      case "ArrowRight": to = at == null ? 0 : Math.min(n - 1, at + 1); break;
      case "ArrowLeft": to = at == null ? n - 1 : Math.max(0, at - 1); break;
      case "PageDown": to = at == null ? 0 : Math.min(n - 1, at + page); break;
      case "PageUp": to = at == null ? n - 1 : Math.max(0, at - page); break;
      case "Home": to = 0; break;
      case "End": to = n - 1; break;
      case "Enter":
        if (!onEnter) return;
        event.preventDefault();
        if (at == null) move(n - 1);
        onEnter(nav.at);
        return;
      default:
        return;
    }
    event.preventDefault();
    move(to);
  });
  // Focus from the keyboard shows the newest point at once. A click focuses too,
  // but there the pointer is the cursor (and moving it would change the month
  // the click opens).
  let pointer = false;
  box.addEventListener("pointerdown", () => { pointer = true; });
  box.addEventListener("focus", () => {
    if (!pointer && nav.at == null && count() > 0 && !nav.restoring) move(count() - 1);
    pointer = false;
  });
}

// Where the cursor's dot goes for point i: the first value there, else mid-height.
function topAtFirstValue(u, values) {
  return (i) => {
    for (const v of values(i)) if (v != null) return u.valToPos(v, "y");
    return u.bbox.height / devicePixelRatio / 2;
  };
}

// The focused chart, to focus its successor after a redraw: which one and where
// its cursor was (by x value or month key, which outlive the index).
function focusedChart(kind) {
  const box = document.activeElement?.closest?.(".chart");
  const chart = box && drawn[kind].find((c) => c.box === box);
  if (!chart) return null;
  const at = chart.nav.at;
  return { currency: chart.u.monzo.currency, key: at == null ? null : chart.keyAt(at) };
}

function refocus(kind, was) {
  if (!was) return;
  const chart = drawn[kind].find((c) => c.u.monzo.currency === was.currency);
  if (!chart) return;
  chart.nav.restoring = true;
  chart.box.focus({ preventScroll: true });
  chart.nav.restoring = false;
  const i = was.key == null ? -1 : chart.indexOf(was.key);
  // uPlot lays a new chart out in a microtask: its scales (and so valToPos) are
  // only right after that.
  if (i >= 0) requestAnimationFrame(() => { if (drawn[kind].includes(chart)) chart.nav.move(i, false); });
}

// One chart's container: the uPlot goes into `box`; its summary list right after
// it, then the visually hidden live region that says the point the keys are on.
function frame(kind, currency, label, summaries, heading) {
  const id = `${kind}-${currency}`;
  const box = el("div", {
    class: "chart",
    tabIndex: 0,
    role: "application",
    "aria-roledescription": "chart",
    "aria-label": label,
    "aria-describedby": `${id}-summary`,
    "data-kind": kind,
    "data-currency": currency,
  });
  const summary = el("ul", { class: "chart-summary hint", id: `${id}-summary` },
    ...summaries.map((line) => el("li", {}, line)));
  const live = el("p", { class: "visually-hidden", "aria-live": "polite" });
  const figure = el("div", { class: "chart-figure" });
  if (heading) figure.append(el("h3", {}, currency));
  figure.append(box, summary, live);
  return { figure, box, live };
}

// Keeps a container as tall as it is while its charts are made again: uPlot sizes
// a new chart in a microtask, and a page that shrank for that moment would be
// scrolled back up (the reader's place lost on every snapshot).
function holdHeight(container) {
  container.style.minHeight = `${container.offsetHeight}px`;
  requestAnimationFrame(() => { container.style.minHeight = ""; });
}

function destroy(kind) {
  for (const chart of drawn[kind]) chart.u.destroy();
  drawn[kind] = [];
}

function forgetDrawn() {
  destroy("balances");
  destroy("spending");
  $("balances-charts").replaceChildren();
  $("spending-charts").replaceChildren();
  // The month chosen stays chosen (loadAll asks for it again); its lists go.
  $("month-detail").hidden = true;
  $("month-merchants").replaceChildren();
  $("month-transactions").tBodies[0].replaceChildren();
  publish();
}

// ---- Balances over time -------------------------------------------------------

function drawBalances() {
  const view = state.balances;
  if (!view) return;
  const was = focusedChart("balances");
  holdHeight($("balances-charts"));
  destroy("balances");
  $("balances-empty").hidden = !view.empty;
  $("balances-empty").textContent = view.empty ?? "";
  const colours = theme();
  const many = view.charts.length > 1;
  const frames = view.charts.map((chart) =>
    frame("balances", chart.currency,
      `Balances over time in ${chart.currency}. Left and right arrow keys move from day to day, Home and End go to the first and last day.`,
      chart.summaries, many));
  // In the page before uPlot measures them.
  $("balances-charts").replaceChildren(...frames.map((f) => f.figure));
  view.charts.forEach((chart, k) => drawn.balances.push(balanceChart(chart, view.privacy, colours, frames[k])));
  for (const chart of drawn.balances) chart.u.monzo.person = view.person;
  showLines($("history-notes"), view.notes);
  publish();
  refocus("balances", was);
}

function balanceChart(chart, privacy, colours, { box, live }) {
  // Colours in the core's order; a rebuilt pot takes its pot's colour (dashed).
  const colourOf = new Map();
  let next = 0;
  const style = chart.series.map((s) => {
    if (s.kind === "pot_rebuilt") return null;
    const round = Math.floor(next / colours.palette.length);
    const colour = colours.palette[next++ % colours.palette.length];
    colourOf.set(s.label, colour);
    return { stroke: colour, ...(round > 0 ? { dash: SECOND_ROUND_DASH } : {}) };
  }).map((known, j) => {
    if (known) return known;
    const pot = chart.series[j].label.replace(/ \(rebuilt\)$/, "");
    return { stroke: colourOf.get(pot) ?? colours.palette[next++ % colours.palette.length], dash: REBUILT_DASH };
  });
  const data = [chart.x, ...chart.series.map((s) => s.values.map(number))];
  const nav = { at: null };
  const text = (s, i) => (i == null ? "—" : s.texts[i] ?? "—");
  const opts = {
    width: box.clientWidth,
    height: BALANCES_HEIGHT,
    legend,
    cursor: {
      y: false,
      drag: { x: false, y: false },
      // The very day under the cursor, also for a series with no value that day
      // (uPlot would otherwise show its nearest day with one).
      dataIdx: (u, si, i) => i,
    },
    scales: { x: { time: true } },
    axes: axes(colours, chart.currency, privacy, {}),
    series: [
      { label: "Day", value: (u, v, si, i) => (i == null ? "—" : chart.dates[i]) },
      ...chart.series.map((s, j) => ({
        label: s.label,
        width: 2,
        ...style[j],
        value: (u, v, si, i) => text(s, i),
      })),
    ],
    hooks: { setCursor: [(u) => { if (u.cursor.idx != null) nav.at = u.cursor.idx; }] },
  };
  const u = new uPlot(opts, data, box);
  u.monzo = {
    kind: "balances",
    currency: chart.currency,
    privacy,
    dates: chart.dates,
    series: chart.series,
    summaries: chart.summaries,
  };
  followKeys(u, box, live, nav, {
    describe: (i) => {
      const said = chart.series.filter((s) => s.texts[i] != null).map((s) => `${s.label} ${s.texts[i]}`);
      return `${chart.dates[i]}: ${said.length ? said.join(", ") : "no balance"}`;
    },
    topAt: topAtFirstValue(u, (i) => data.slice(1).map((values) => values[i])),
  });
  return {
    u, box, nav, height: BALANCES_HEIGHT,
    keyAt: (i) => chart.x[i],
    indexOf: (x) => chart.x.indexOf(x),
  };
}

// ---- Spending by category -------------------------------------------------------

function drawSpending() {
  const view = state.spending;
  if (!view) return;
  const was = focusedChart("spending");
  holdHeight($("spending-charts"));
  destroy("spending");
  const colours = theme();
  const many = view.charts.length > 1;
  $("spending-section").hidden = view.charts.length === 0 && !state.month;
  const frames = view.charts.map((chart) =>
    frame("spending", chart.currency,
      `Spending by category in ${chart.currency}, month by month. Left and right arrow keys move from month to month; Enter lists the month's biggest merchants and its transactions below.`,
      [chart.summary], many));
  $("spending-charts").replaceChildren(...frames.map((f) => f.figure));
  view.charts.forEach((chart, k) => drawn.spending.push(spendingChart(chart, view.privacy, colours, frames[k])));
  for (const chart of drawn.spending) chart.u.monzo.person = view.person;
  publish();
  refocus("spending", was);
}

// The categories stacked month by month, by cumulative sums, over the categories
// shown (a category hidden from the legend leaves no hole): spending upwards from
// 0, a month's net refunds (negative) downwards. The bars are drawn between
// `bottom` and `top`, so u.data can keep each category's own amounts.
function stacker(amounts, months) {
  let key = null;
  let stack = null;
  return (u) => {
    const shown = u.series.slice(1).map((s) => s.show);
    const now = shown.join();
    if (now === key) return stack;
    const up = new Array(months).fill(0);
    const down = new Array(months).fill(0);
    const bottom = [];
    const top = [];
    amounts.forEach((values, c) => {
      const b = new Array(months).fill(null);
      const t = new Array(months).fill(null);
      for (let i = 0; i < months; i++) {
        const v = values[i];
        if (!shown[c] || v == null || v === 0) continue;
        const sums = v > 0 ? up : down;
        b[i] = sums[i];
        sums[i] += v;
        t[i] = sums[i];
      }
      bottom.push(b);
      top.push(t);
    });
    key = now;
    stack = { bottom, top, min: Math.min(0, ...down), max: Math.max(0, ...up) };
    return stack;
  };
}

// Month labels, thinned when they would crowd: every second or third one, always
// ending on the newest month.
function monthTicks(labels) {
  return (u, splits) => {
    const each = u.width / Math.max(1, labels.length);
    const step = each >= 72 ? 1 : each >= 38 ? 2 : 3;
    return splits.map((i) => ((labels.length - 1 - i) % step === 0 ? labels[i] ?? "" : ""));
  };
}

function spendingChart(chart, privacy, colours, { box, live }) {
  const n = chart.months.length;
  const amounts = chart.categories.map((c) => c.values.map(number));
  const stack = stacker(amounts, n);
  const months = chart.months.map((m, i) => i);
  const bars = uPlot.paths.bars({
    size: [0.7, 64],
    // The bar of series si at month i spans bottom..top (uPlot's y0/y1), not 0..value.
    disp: {
      y0: { unit: 1, values: (u, si) => stack(u).bottom[si - 1] },
      y1: { unit: 1, values: (u, si) => stack(u).top[si - 1] },
    },
  });
  const palette = colours.palette;
  const nav = { at: null };
  const opts = {
    width: box.clientWidth,
    height: SPENDING_HEIGHT,
    legend,
    cursor: {
      y: false,
      drag: { x: false, y: false },
      dataIdx: (u, si, i) => i,
      points: { show: false },
    },
    scales: {
      // Months as indexes, half a month of room either side for the outer bars.
      x: { time: false, range: () => [-0.5, n - 0.5] },
      y: { range: (u) => { const s = stack(u); return uPlot.rangeNum(s.min, s.max || 1, 0.1, true); } },
    },
    axes: axes(colours, chart.currency, privacy, {
      // Labels alone under the bars: a grid line would cut each bar in two, and
      // uPlot's ticks went to the unlabelled months when labels were thinned.
      grid: { show: false },
      ticks: { show: false },
      splits: () => months,
      values: monthTicks(chart.month_labels),
    }),
    series: [
      { label: "Month", value: (u, v, si, i) => (i == null ? "—" : chart.month_labels[i]) },
      ...chart.categories.map((c, j) => {
        const colour = palette[j % palette.length];
        // Past the eighth category the colours come again, lighter and outlined.
        const again = j >= palette.length;
        return {
          label: c.label,
          fill: again ? `${colour}80` : colour,
          stroke: colour,
          width: again ? 2 : 0,
          paths: bars,
          // uPlot's dots would sit at the category's own amount, off its bar.
          points: { show: false },
          value: (u, v, si, i) => (i == null ? "—" : c.texts[i] ?? "—"),
        };
      }),
    ],
    hooks: { setCursor: [(u) => { if (u.cursor.idx != null) nav.at = u.cursor.idx; }] },
  };
  const u = new uPlot(opts, [months, ...amounts], box);
  u.monzo = {
    kind: "spending",
    currency: chart.currency,
    privacy,
    months: chart.months,
    month_labels: chart.month_labels,
    categories: chart.categories.map(({ category, label }) => ({ category, label })),
    values: chart.categories.map((c) => c.values),
    texts: chart.categories.map((c) => c.texts),
    totals: chart.totals,
    summary: chart.summary,
    stack: () => { const { bottom, top } = stack(u); return { bottom, top }; },
  };
  const open = (i) => { if (i != null && chart.months[i]) loadMonth(chart.months[i]); };
  u.over.addEventListener("click", () => open(u.cursor.idx));
  followKeys(u, box, live, nav, {
    describe: (i) => {
      const said = chart.categories.filter((c) => c.texts[i] != null).map((c) => `${c.label} ${c.texts[i]}`);
      const total = chart.totals[i] != null ? `total ${chart.totals[i]}` : null;
      return `${chart.month_labels[i]}: ${[...said, total].filter(Boolean).join(", ") || "nothing spent"}`;
    },
    topAt: (i) => {
      const s = stack(u);
      const tops = s.top.map((t) => t[i]).filter((v) => v != null && v > 0);
      return u.valToPos(tops.length ? Math.max(...tops) : 0, "y");
    },
    onEnter: open,
  });
  return {
    u, box, nav, height: SPENDING_HEIGHT,
    keyAt: (i) => chart.months[i],
    indexOf: (month) => chart.months.indexOf(month),
  };
}

// ---- Following the window -------------------------------------------------------

// Charts are as wide as their panel: on a resize, once per frame.
let resizing = 0;
function fitWidths() {
  resizing = 0;
  for (const chart of [...drawn.balances, ...drawn.spending]) {
    const width = chart.box.clientWidth;
    if (width > 0 && width !== chart.u.width) chart.u.setSize({ width, height: chart.height });
  }
}

// A new scheme: the same data again, in the theme's colours.
function redrawAll() {
  if (!state.open) return;
  drawBalances();
  drawSpending();
}

// Wires the tabs and the History view; app.js calls it once, before its first
// load, with its `message(err)`.
export async function startHistory(messageOf) {
  message = messageOf;
  $("tabs").addEventListener("keydown", followTabKeys);
  for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
  for (const range of RANGES) $(`range-${range}`).addEventListener("click", () => chooseRange(range));
  $("history-person").addEventListener("change", (event) => choosePerson(event.target.value || null));
  window.addEventListener("resize", () => { resizing ||= requestAnimationFrame(fitWidths); });
  // After the scheme's styles apply, so the colours read are the new ones.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => requestAnimationFrame(redrawAll));
  window.addEventListener("hashchange", () => { if (location.hash === "#history") selectTab("history"); });
  publish();
  await listen("snapshot-changed", () => { if (state.open) loadAll(); });
  await listen("show-history", () => selectTab("history", { focus: true }));
  if (location.hash === "#history") selectTab("history");
}
