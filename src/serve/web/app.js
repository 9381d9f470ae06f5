// Forge playground: chat (streaming), classification with Forge-trained models, usage of the
// current key. Plain JavaScript against the server's own HTTP API; no external requests.
"use strict";

const $ = (id) => document.getElementById(id);
const keyInput = $("api-key");
keyInput.value = localStorage.getItem("forge-api-key") || "";

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = keyInput.value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function setStatus(text) { $("status").textContent = text || ""; }

async function errorText(res) {
  try {
    const j = await res.json();
    if (j.error && j.error.message) return `${res.status}: ${j.error.message}`;
  } catch (_) { /* not JSON */ }
  return `${res.status} ${res.statusText}`;
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers() });
  if (!res.ok) throw new Error(await errorText(res));
  return res.json();
}

// ---- tabs
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
    for (const p of document.querySelectorAll(".panel")) p.classList.toggle("active", p.id === tab.dataset.tab);
    if (tab.dataset.tab === "usage") loadUsage();
  });
}

// ---- models
async function loadModels() {
  try {
    const list = await api("/v1/models");
    const fill = (select, kind) => {
      select.innerHTML = "";
      for (const m of list.data.filter((m) => m.kind === kind)) {
        const o = document.createElement("option");
        o.value = o.textContent = m.id;
        select.appendChild(o);
      }
      if (!select.options.length) {
        const o = document.createElement("option");
        o.textContent = `(no ${kind === "llm" ? "language" : "Forge-trained"} model loaded)`;
        o.value = "";
        select.appendChild(o);
      }
    };
    fill($("chat-model"), "llm");
    fill($("classify-model"), "predict");
    setStatus("");
  } catch (e) {
    setStatus("Models: " + e.message + (e.message.startsWith("401") ? " (enter an API key above)" : ""));
  }
}
keyInput.addEventListener("change", () => {
  localStorage.setItem("forge-api-key", keyInput.value.trim());
  loadModels();
});

// ---- chat
let messages = [];
let controller = null;

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("chat-log").appendChild(div);
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
  return div;
}

$("chat-reset").addEventListener("click", () => {
  messages = [];
  $("chat-log").innerHTML = "";
  $("chat-usage").textContent = "";
});

$("chat-input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("chat-form").requestSubmit();
  }
});

$("chat-stop").addEventListener("click", () => { if (controller) controller.abort(); });

$("chat-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("chat-input").value.trim();
  const model = $("chat-model").value;
  if (!text || controller) return;
  if (!model) { setStatus("No language model is loaded on this server."); return; }
  $("chat-input").value = "";
  messages.push({ role: "user", content: text });
  addMessage("user", text);
  const out = addMessage("assistant", "");
  controller = new AbortController();
  $("chat-send").disabled = true;
  $("chat-stop").disabled = false;
  setStatus("");
  let reply = "";
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers(),
      signal: controller.signal,
      body: JSON.stringify({
        model, messages, stream: true, stream_options: { include_usage: true },
        temperature: Number($("chat-temperature").value), max_tokens: Number($("chat-max-tokens").value),
      }),
    });
    if (!res.ok) throw new Error(await errorText(res));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          for (const choice of chunk.choices || []) {
            const piece = (choice.delta && choice.delta.content) || "";
            reply += piece;
            out.textContent = reply;
          }
          if (chunk.usage) {
            $("chat-usage").textContent =
              `${chunk.usage.prompt_tokens} prompt + ${chunk.usage.completion_tokens} completion tokens`;
          }
        }
      }
      $("chat-log").scrollTop = $("chat-log").scrollHeight;
    }
  } catch (e) {
    if (e.name !== "AbortError") setStatus("Chat: " + e.message);
  } finally {
    messages.push({ role: "assistant", content: reply });
    controller = null;
    $("chat-send").disabled = false;
    $("chat-stop").disabled = true;
  }
});

// ---- classify
let imageBase64 = "";
$("classify-file").addEventListener("change", () => {
  const file = $("classify-file").files[0];
  imageBase64 = "";
  $("classify-preview").hidden = true;
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    imageBase64 = String(reader.result).split(",")[1];
    $("classify-preview").src = reader.result;
    $("classify-preview").hidden = false;
  };
  reader.readAsDataURL(file);
});

function showPrediction(p) {
  const box = $("classify-result");
  box.innerHTML = "";
  const head = document.createElement("p");
  if (p.label !== undefined) {
    head.innerHTML = "";
    head.append("Prediction: ");
    const b = document.createElement("strong");
    b.id = "classify-label";
    b.textContent = p.label;
    head.append(b);
    box.appendChild(head);
    const names = p.labels || p.probabilities.map((_, i) => String(i));
    p.probabilities.forEach((prob, i) => {
      const row = document.createElement("div");
      row.className = "bar";
      const name = document.createElement("span");
      name.textContent = names[i];
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = Math.max(1, Math.round(prob * 300)) + "px";
      const value = document.createElement("span");
      value.textContent = (prob * 100).toFixed(1) + "%";
      row.append(name, fill, value);
      box.appendChild(row);
    });
  } else {
    head.id = "classify-label";
    head.textContent = "Values: " + p.values.map((v) => v.toFixed(4)).join(", ");
    box.appendChild(head);
  }
}

$("classify-run").addEventListener("click", async () => {
  const model = $("classify-model").value;
  if (!model) { setStatus("No Forge-trained model is loaded on this server."); return; }
  const text = $("classify-text").value.trim();
  const body = {};
  if (imageBase64) body.images = [imageBase64];
  else if (/^\s*-?[\d.]+([eE][-+]?\d+)?(\s*,\s*-?[\d.]+([eE][-+]?\d+)?)*\s*$/.test(text))
    body.inputs = [text.split(",").map(Number)];
  else if (text) body.texts = [text];
  else { setStatus("Enter text, a row of numbers, or choose an image."); return; }
  try {
    setStatus("");
    const r = await api(`/v1/predict/${encodeURIComponent(model)}`, { method: "POST", body: JSON.stringify(body) });
    showPrediction(r.predictions[0]);
  } catch (e) {
    setStatus("Classify: " + e.message);
  }
});

// ---- usage
let chart = null;
async function loadUsage() {
  try {
    const days = Number($("usage-since").value);
    const u = await api(`/v1/usage?days=${days}`);
    const s = $("usage-summary");
    s.innerHTML = "";
    const p = document.createElement("p");
    p.id = "usage-totals";
    const k = u.key;
    const limits = k ? [k.rpm ? `${k.rpm} requests/min` : null, k.tpm ? `${k.tpm} tokens/min` : null,
      k.monthly_tokens ? `${k.monthly_tokens} tokens/month` : null].filter(Boolean).join(", ") : "";
    p.textContent = `${u.totals.requests} requests, ${u.totals.prompt_tokens} prompt + ` +
      `${u.totals.completion_tokens} completion tokens` +
      (k ? ` · key "${k.name}" (${k.public_id}); this month ${u.month_tokens} tokens` +
        (limits ? `; limits: ${limits}` : "") : "");
    s.appendChild(p);
    const labels = u.daily.map((d) => d.day);
    const data = {
      labels,
      datasets: [
        { label: "prompt tokens", data: u.daily.map((d) => d.prompt_tokens), backgroundColor: "#fdba74" },
        { label: "completion tokens", data: u.daily.map((d) => d.completion_tokens), backgroundColor: "#c2410c" },
      ],
    };
    if (window.Chart) {
      if (chart) chart.destroy();
      chart = new Chart($("usage-chart"), {
        type: "bar", data,
        options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
      });
    }
    const body = $("usage-table").querySelector("tbody");
    body.innerHTML = "";
    for (const r of u.data.slice(-200).reverse()) {
      const tr = document.createElement("tr");
      for (const v of [r.time, r.model, r.endpoint, r.prompt_tokens, r.completion_tokens, r.latency_ms.toFixed(1), r.status]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    setStatus("");
  } catch (e) {
    setStatus("Usage: " + e.message);
  }
}
$("usage-refresh").addEventListener("click", loadUsage);
$("usage-since").addEventListener("change", loadUsage);

loadModels();
