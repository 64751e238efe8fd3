// The settings window. Every action is a command into the Rust core; the webview
// never sees a secret (commands return redacted views). The core writes every word
// and formats every amount and time: this only lays out what it is given. It
// follows events from the app (a new snapshot, the Home Assistant push status, a
// sign-in step) instead of asking again and again; a timer asks the core for the
// state lines again, so "updated 2 min ago" moves on. The History tab and its
// charts are history.js.

import { startHistory } from "./history.js";

const invoke = (command, args) => window.__TAURI__.core.invoke(command, args);
const listen = (event, handler) => window.__TAURI__.event.listen(event, handler);
const $ = (id) => document.getElementById(id);

// Which field an error code belongs next to.
const FIELD_FOR_CODE = {
  invalid_name: "add-name-error",
  invalid_client_id: "add-client-id-error",
  invalid_client_secret: "add-secret-error",
  bad_client_credentials: "add-secret-error",
  not_confidential: "add-client-id-error",
};

function message(err) {
  if (err && typeof err === "object" && "message" in err) return err.message;
  return String(err);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

// Shows each person's state line as given (`lines`: `{id, state_line}`).
function retell(lines) {
  for (const { id, state_line } of lines) {
    const node = document.querySelector(`#people .person[data-id="${CSS.escape(id)}"]`);
    const line = node && node.querySelector(".state");
    // The same words again would still be laid out and painted again.
    if (line && line.textContent !== state_line) line.textContent = state_line;
  }
}

// Moves each "updated … ago" on: the core says it again as of now.
async function retellTimes() {
  try {
    retell(await invoke("state_lines"));
  } catch (err) {
    $("people-error").textContent = message(err);
  }
}

const shownPeople = new Map();

// "Move money…" under a pot: amount and direction, then the core's question, then
// the move. Only the confirmation of that very question moves anything.
function moveForm(personId, pot, li) {
  const amount = el("input", { type: "text", class: "move-amount", inputMode: "decimal", placeholder: "50.00" });
  amount.setAttribute("aria-label", `Amount to move, ${pot.name}`);
  const amountError = el("p", { class: "error field-error move-amount-error", role: "alert" });
  const name = `direction-${pot.id}`;
  const into = el("input", { type: "radio", name, value: "deposit", class: "move-into", checked: true });
  const out = el("input", { type: "radio", name, value: "withdraw", class: "move-out" });
  const question = el("p", { class: "move-question step" });
  const error = el("p", { class: "error move-error", role: "alert" });
  const go = el("button", { type: "button", class: "move-continue", textContent: "Continue" });
  const confirm = el("button", { type: "button", class: "move-confirm", textContent: "Move", hidden: true });
  const cancel = el("button", { type: "button", class: "move-cancel quiet", textContent: "Cancel" });
  let planned = null;
  const close = () => {
    if (planned) invoke("cancel_pot_move", { id: planned.id });
    form.remove();
    refresh();
  };
  go.addEventListener("click", async () => {
    amountError.textContent = "";
    error.textContent = "";
    try {
      planned = await invoke("plan_pot_move", {
        personId,
        pot: pot.id,
        direction: out.checked ? "withdraw" : "deposit",
        amount: amount.value,
      });
      question.textContent = planned.question;
      go.hidden = true;
      confirm.hidden = false;
      confirm.focus();
    } catch (err) {
      (err && err.code === "invalid_amount" ? amountError : error).textContent = message(err);
    }
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    const asked = planned;
    planned = null;
    try {
      const done = await invoke("confirm_pot_move", { id: asked.id });
      $("move-result").textContent = done.sentence;
      form.remove();
      refresh();
    } catch (err) {
      error.textContent = message(err);
      confirm.disabled = false;
      if (err && err.code === "move_outcome_unknown") {
        // The core kept this very move: trying again sends the same dedupe_id, so
        // Monzo moves the money at most once. A new move would be a second one.
        planned = asked;
        confirm.textContent = "Try again";
        question.textContent = asked.retry_question;
        return;
      }
      question.textContent = "";
      go.hidden = false;
      confirm.hidden = true;
    }
  });
  cancel.addEventListener("click", close);
  const form = el(
    "div",
    { class: "move-form" },
    el("label", {}, "Amount ", amount),
    amountError,
    el("fieldset", { class: "choice" }, el("legend", {}, "Which way"),
      el("label", { class: "check" }, into, ` Into ${pot.name}`),
      el("label", { class: "check" }, out, ` Out of ${pot.name}`)),
    question,
    error,
    el("div", { class: "row" }, go, confirm, cancel),
  );
  li.append(form);
  amount.focus();
}

function renderAccount(account, personId) {
  const threshold = el("input", {
    type: "text",
    class: "threshold",
    value: account.low_balance_alert ?? "",
    placeholder: "none",
    inputMode: "decimal",
    "data-account": account.id,
  });
  const thresholdError = el("span", { class: "error" });
  threshold.addEventListener("change", async () => {
    thresholdError.textContent = "";
    try {
      await invoke("set_low_balance_alert", { accountId: account.id, amount: threshold.value });
    } catch (err) {
      thresholdError.textContent = message(err);
    }
  });
  const pots = el("ul", { class: "pots" });
  for (const pot of account.pots) {
    const move = el("button", { type: "button", class: "move quiet", textContent: "Move money…" });
    const li = el("li", { class: "pot", "data-id": pot.id },
      el("div", { class: "pot-line" }, el("span", {}, pot.name), el("span", { class: "amount" }, pot.balance), move));
    move.addEventListener("click", () => {
      if (!li.querySelector(".move-form")) moveForm(personId, pot, li);
    });
    pots.append(li);
  }
  return el(
    "li",
    { class: "account", "data-id": account.id },
    el("div", { class: "account-line" }, el("span", { class: "account-name" }, account.name), el("span", { class: "amount balance" }, account.balance)),
    el("div", { class: "total-line" }, el("span", {}, "with pots"), el("span", { class: "amount total" }, account.total_balance)),
    pots,
    el("label", { class: "alert" }, "Alert me below ", threshold, thresholdError),
  );
}

function renderPerson(person) {
  const remove = el("button", { type: "button", class: "remove quiet", textContent: "Remove" });
  remove.addEventListener("click", async () => {
    // Two clicks, so a stray one never removes anybody.
    if (!remove.classList.contains("confirm")) {
      remove.classList.add("confirm");
      remove.textContent = `Really remove ${person.name}?`;
      return;
    }
    try {
      await invoke("remove_person", { personId: person.id });
      await refresh();
    } catch (err) {
      $("people-error").textContent = message(err);
    }
  });
  const reconnect = el("button", { type: "button", class: "reconnect quiet", textContent: "Reconnect…" });
  reconnect.addEventListener("click", async () => {
    try {
      showSignIn(await invoke("reconnect", { personId: person.id }));
    } catch (err) {
      $("people-error").textContent = message(err);
    }
  });
  const accounts = el("ul", { class: "accounts" });
  for (const account of person.accounts) accounts.append(renderAccount(account, person.id));
  const notify = el("input", { type: "checkbox", class: "notify", checked: person.notify_transactions });
  notify.addEventListener("change", async () => {
    try {
      await invoke("set_transaction_notifications", { personId: person.id, on: notify.checked });
    } catch (err) {
      notify.checked = !notify.checked;
      $("people-error").textContent = message(err);
    }
  });
  const approval = person.approval_line ? el("p", { class: "hint" }, person.approval_line) : "";
  const keepHistory = el("input", { type: "checkbox", class: "keep-history", checked: person.keep_history });
  keepHistory.addEventListener("change", async () => {
    try {
      await invoke("set_keep_history", { personId: person.id, on: keepHistory.checked });
      // Turning it off deletes what is kept: the history line goes at once.
      await refresh();
    } catch (err) {
      keepHistory.checked = !keepHistory.checked;
      $("people-error").textContent = message(err);
    }
  });
  const historyLine = person.history_line ? el("p", { class: "hint history-line" }, person.history_line) : "";
  return el(
    "li",
    { class: `person state-${person.state}`, "data-id": person.id, "data-state": person.state },
    el("div", { class: "person-head" }, el("strong", { class: "person-name" }, person.name), el("span", { class: "state" }, person.state_line)),
    el("p", { class: "hint client" }, `Client ${person.client_id}`),
    approval,
    accounts,
    el("label", { class: "check notify-line" }, notify, ` Notify me of ${person.name}'s new transactions`),
    el("label", { class: "check history-toggle" }, keepHistory, ` Keep ${person.name}'s money history on this computer (turning it off deletes it)`),
    historyLine,
    el("div", { class: "actions" }, reconnect, remove),
  );
}

// Keep what is being edited (a threshold, a move of money) from being re-rendered
// away; the list catches up when it is done.
function editing() {
  const active = document.activeElement;
  const typing = active && active.classList && active.classList.contains("threshold");
  return typing || document.querySelector(".move-form") !== null;
}

// The people view without what moves on with time (the time of each poll, the
// state line that tells it), to compare two views by.
const withoutPollTimes = (key, value) => (key === "updated_at" || key === "state_line" ? undefined : value);

async function refresh() {
  try {
    const people = await invoke("people");
    $("people-error").textContent = "";
    $("people-empty").hidden = people.length > 0;
    $("add-title").textContent = people.length > 0 ? "Add a person" : "Add the first person";
    if (!editing()) {
      // A poll that changed nothing but its time only moves the "updated" lines
      // on: laying the whole list out again each minute was most of what the open,
      // idle window cost.
      const unchanged =
        JSON.stringify([...shownPeople.values()], withoutPollTimes) === JSON.stringify(people, withoutPollTimes);
      shownPeople.clear();
      for (const person of people) shownPeople.set(person.id, person);
      if (unchanged && document.querySelectorAll("#people .person").length === people.length) retell(people);
      else $("people").replaceChildren(...people.map(renderPerson));
    }
  } catch (err) {
    $("people-error").textContent = message(err);
  }
}

function showSignIn(started) {
  $("signin-panel").hidden = false;
  if (started) $("signin-url").href = started.authorize_url;
}

async function followSignIn() {
  let status;
  try {
    status = await invoke("sign_in_status");
  } catch {
    return;
  }
  const panel = $("signin-panel");
  if (status.step === "idle") {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $("signin-name").textContent = status.name ?? "";
  $("signin-waiting").hidden = status.step !== "waiting_for_browser";
  $("signin-approval").hidden = status.step !== "awaiting_approval";
  $("signin-done").hidden = status.step !== "done";
  $("signin-failed").hidden = status.step !== "failed";
  if (status.step === "waiting_for_browser") $("signin-url").href = status.authorize_url;
  if (status.step === "done") $("signin-done").textContent = `${status.name} is connected.`;
  if (status.step === "failed") {
    $("signin-failed").textContent = status.message;
    const field = FIELD_FOR_CODE[status.code];
    if (field) $(field).textContent = status.message;
  }
}

function clearFormErrors() {
  for (const id of ["add-name-error", "add-client-id-error", "add-secret-error", "add-error"]) $(id).textContent = "";
}

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormErrors();
  const button = $("add-submit");
  button.disabled = true;
  // A new sign-in: the last one's address and messages no longer apply.
  $("signin-url").href = "#";
  $("paste-error").textContent = "";
  try {
    const started = await invoke("add_person", {
      name: $("add-name").value,
      clientId: $("add-client-id").value,
      clientSecret: $("add-secret").value,
    });
    $("add-secret").value = "";
    showSignIn(started);
    await followSignIn();
  } catch (err) {
    const field = FIELD_FOR_CODE[err && err.code];
    $(field ?? "add-error").textContent = message(err);
  } finally {
    button.disabled = false;
  }
});

$("paste-submit").addEventListener("click", async () => {
  $("paste-error").textContent = "";
  try {
    await invoke("paste_redirect", { input: $("paste-input").value });
    $("paste-input").value = "";
  } catch (err) {
    $("paste-error").textContent = message(err);
  }
});

$("continue").addEventListener("click", async () => {
  await invoke("check_approval");
  await followSignIn();
});

$("refresh").addEventListener("click", () => invoke("refresh_now"));

// Closing destroys this window (the tray app keeps running, light). With no tray
// icon to fall back on, the app asks first ("quit-asked").
$("close").addEventListener("click", () => window.__TAURI__.window.getCurrentWindow().close());

async function showTrayHost() {
  const host = await invoke("tray_host");
  $("no-tray").textContent = host.line ?? "";
  $("no-tray").hidden = !host.line;
  // With a tray again, closing no longer needs an answer.
  if (host.shown) $("quit-question").hidden = true;
}

function askToQuit() {
  $("quit-question").hidden = false;
  $("quit-question").scrollIntoView({ block: "start" });
  $("quit-keep").focus();
}

$("quit-confirm").addEventListener("click", () => invoke("quit"));
$("quit-keep").addEventListener("click", () => {
  $("quit-question").hidden = true;
  $("close").focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("quit-question").hidden) $("quit-keep").click();
});

$("poll-interval").addEventListener("change", async (event) => {
  $("settings-error").textContent = "";
  try {
    await invoke("set_poll_interval", { seconds: Number(event.target.value) });
  } catch (err) {
    $("settings-error").textContent = message(err);
  }
});

$("privacy").addEventListener("change", async (event) => {
  try {
    await invoke("set_privacy", { on: event.target.checked });
    await refresh();
  } catch (err) {
    $("settings-error").textContent = message(err);
  }
});

$("autostart").addEventListener("change", async (event) => {
  $("settings-error").textContent = "";
  try {
    await invoke("set_autostart", { on: event.target.checked });
  } catch (err) {
    event.target.checked = !event.target.checked;
    $("settings-error").textContent = message(err);
  }
});

const HA_TRANSPORTS = {
  rest: {
    hint: "Every balance becomes a sensor in Home Assistant through its REST API. Make a long-lived access token on your Home Assistant profile page.",
    urlLabel: "Address",
    urlPlaceholder: "http://homeassistant.local:8123",
    secretLabel: "Long-lived access token",
  },
  mqtt: {
    hint: "Every account and pot becomes a device with its sensors, through the broker of Home Assistant's MQTT integration. They stay after Home Assistant restarts, and show unavailable while this app is not running.",
    urlLabel: "Broker (mqtt://user@host:1883, or mqtts:// for TLS)",
    urlPlaceholder: "mqtt://homeassistant.local:1883",
    secretLabel: "Broker password (only with a user name)",
  },
};

// What was saved, so switching the choice back shows it again.
let savedHomeAssistant = null;

function haTransport() {
  return $("ha-transport-mqtt").checked ? "mqtt" : "rest";
}

function showTransport(transport) {
  const text = HA_TRANSPORTS[transport];
  $(`ha-transport-${transport}`).checked = true;
  $("ha-hint").textContent = text.hint;
  $("ha-url-label").textContent = text.urlLabel;
  $("ha-url").placeholder = text.urlPlaceholder;
  $("ha-token-label").textContent = text.secretLabel;
  const ha = savedHomeAssistant;
  $("ha-url").value = (transport === "mqtt" ? ha?.mqtt_url : ha?.url) ?? "";
  const stored = transport === "mqtt" ? ha?.password_stored : ha?.token_stored;
  $("ha-token").value = "";
  $("ha-token").placeholder = stored ? "stored — leave empty to keep it" : "";
  // Over MQTT, Home Assistant's own address and token serve the statistics alone
  // (kept from a REST connection too, when switching).
  $("ha-statistics").hidden = transport !== "mqtt";
  const statistics = ha?.token_stored && ha?.url;
  $("ha-statistics-url").value = statistics ? ha.url ?? "" : "";
  $("ha-statistics-token").value = "";
  $("ha-statistics-token").placeholder = statistics ? "stored — leave empty to keep it" : "";
}

function showHomeAssistant(ha, withFields) {
  if (withFields) {
    savedHomeAssistant = ha;
    showTransport(ha.transport ?? "rest");
    $("ha-enabled").checked = ha.enabled;
  }
  $("ha-status").textContent = ha.status_line ?? "";
}

async function homeAssistantAction(command, extra) {
  $("ha-result").textContent = "";
  $("ha-error").textContent = "";
  const transport = haTransport();
  try {
    const said = await invoke(command, { transport, url: $("ha-url").value, token: $("ha-token").value, ...extra });
    $("ha-result").textContent = command === "test_home_assistant" ? said : "Saved.";
    if (command === "save_home_assistant" && transport === "mqtt") {
      $("ha-result").textContent = await invoke("save_statistics_link", {
        url: $("ha-statistics-url").value,
        token: $("ha-statistics-token").value,
      });
    }
    if (command === "save_home_assistant") {
      showHomeAssistant(await invoke("home_assistant"), true);
    }
  } catch (err) {
    $("ha-error").textContent = message(err);
  }
}

for (const transport of Object.keys(HA_TRANSPORTS)) {
  $(`ha-transport-${transport}`).addEventListener("change", () => showTransport(transport));
}
$("ha-test").addEventListener("click", () => homeAssistantAction("test_home_assistant", {}));
$("ha-save").addEventListener("click", () => homeAssistantAction("save_home_assistant", { enabled: $("ha-enabled").checked }));

async function loadSettings() {
  const settings = await invoke("settings");
  $("redirect-uri").textContent = settings.redirect_uri;
  $("notice").hidden = !settings.notice;
  $("notice").textContent = settings.notice ?? "";
  $("privacy").checked = settings.privacy_mode;
  const select = $("poll-interval");
  const value = String(settings.poll_interval_secs);
  if (![...select.options].some((o) => o.value === value)) select.append(el("option", { value, textContent: `${value} seconds` }));
  select.value = value;
  $("autostart").checked = await invoke("autostart");
  showHomeAssistant(await invoke("home_assistant"), true);
}

async function showPushStatus() {
  const status = await invoke("push_status");
  showHomeAssistant({ ...(savedHomeAssistant ?? {}), ...status }, false);
}

// Followed before the first load, so nothing that happens in between is missed.
await listen("snapshot-changed", () => {
  refresh();
  // A sign-in waiting for the approval completes when the balances come.
  followSignIn();
});
await listen("push-status-changed", showPushStatus);
await listen("tray-host-changed", showTrayHost);
await listen("quit-asked", askToQuit);
await listen("sign-in-changed", () => {
  followSignIn();
  refresh();
});
// The tabs, and History when the window opened on it (#history).
await startHistory(message);
await showTrayHost();
await loadSettings();
await refresh();
await followSignIn();
// First run: straight to the first field to fill in.
if (shownPeople.size === 0 && !document.activeElement?.matches("input, select, button")) $("add-name").focus();
setInterval(retellTimes, 30000);
