// `/examples/chat` (EXAMPLES=on): a page an app without a backend could be.
// It exchanges the app's publishable key for a guest token, streams a chat
// answer through the gateway and shows what the guest has left. A script of
// its own, nothing inline, so the CSP allows this origin only.
export const EXAMPLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const CHAT_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice: a guest's chat</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/examples/chat.css">
<script src="/examples/chat.js" defer></script>
</head>
<body>
<main>
<h1>A guest's chat</h1>
<p id="app">Open this page with <code>?pk=&lt;publishable key&gt;</code> (and <code>&amp;model=</code>).</p>
<form id="ask"><input id="prompt" name="prompt" value="Hello from a guest" aria-label="Prompt"><button type="submit">Ask</button></form>
<pre id="answer" aria-live="polite"></pre>
<p id="minute"></p>
<p id="quota"></p>
<p id="error" role="alert"></p>
</main>
</body>
</html>
`;

export const CHAT_CSS = `
:root { color-scheme: light dark; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; }
main { max-width: 720px; margin: 0 auto; padding: 16px; }
form { display: flex; gap: 8px; }
input { flex: 1; padding: 8px; font: inherit; }
pre { white-space: pre-wrap; min-height: 3em; border: 1px solid #8884; border-radius: 6px; padding: 8px; }
#error { color: #cf222e; }
`;

export const CHAT_JS = `"use strict";
const params = new URLSearchParams(location.search);
const publishableKey = params.get("pk");
const model = params.get("model") || "mock-echo";
const $ = (id) => document.getElementById(id);
let guest;

function deviceId() {
  let id = localStorage.getItem("sluice.example.device");
  if (!id) {
    id = "web-" + crypto.randomUUID();
    localStorage.setItem("sluice.example.device", id);
  }
  return id;
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return new Error((body.error && body.error.message) || "HTTP " + response.status);
}

// A guest token, exchanged again when it is within half a minute of its end.
async function guestToken() {
  if (guest && Date.parse(guest.expires_at) - Date.now() > 30000) return guest.access_token;
  const response = await fetch("/auth/attest", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ publishable_key: publishableKey, device_id: deviceId() }),
  });
  if (!response.ok) throw await failure(response);
  guest = await response.json();
  $("app").textContent = "Guest of " + guest.app_id + " on device " + guest.device_id + ".";
  return guest.access_token;
}

async function showQuota(token) {
  const response = await fetch("/api/ai/quota", { headers: { authorization: "Bearer " + token } });
  if (!response.ok) throw await failure(response);
  const quota = await response.json();
  const limit = quota.limits.device.tokens_per_day;
  const used = quota.used.tokens_today;
  $("quota").textContent = limit === null ? used + " tokens used today" : Math.max(0, limit - used) + " of " + limit + " tokens left today";
  $("quota").dataset.left = limit === null ? "" : String(Math.max(0, limit - used));
}

async function ask(prompt) {
  const token = await guestToken();
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { authorization: "Bearer " + token, "content-type": "application/json" },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: prompt }] }),
  });
  if (!response.ok) throw await failure(response);
  // What the minute has left is known at once (Redis); the day's total reads the ledger, a second or two behind.
  const minute = response.headers.get("x-ratelimit-remaining-tokens");
  if (minute !== null) $("minute").textContent = minute + " tokens left this minute";
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const events = buffered.split("\\n\\n");
    buffered = events.pop();
    for (const event of events) {
      const data = event.split("\\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("");
      if (!data || data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) $("answer").textContent += delta.content;
    }
  }
  $("answer").dataset.done = "true";
  await showQuota(token);
  setTimeout(() => showQuota(token).catch(() => undefined), 2000);
}

$("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  $("answer").textContent = "";
  $("error").textContent = "";
  delete $("answer").dataset.done;
  ask($("prompt").value).catch((error) => {
    $("error").textContent = error.message;
  });
});
`;
