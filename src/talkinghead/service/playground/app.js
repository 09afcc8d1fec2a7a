// talkinghead playground: plain JS, no build step. Talks to the same API as any client.
"use strict";

const $ = (id) => document.getElementById(id);
const MODEL_PATH = "/api/v3/bytedance/avatar-omni-human";
const MOTION_KNOBS = ["motion_intensity", "body_motion", "gestures", "mouth_motion"];
const state = { image: null, audio: null, polling: null };

function readAsDataURL(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function refresh() {
  $("submit").disabled = !(state.image && state.audio) || state.polling !== null;
  $("curl").textContent = curlCommand();
  document.dispatchEvent(new Event("talkinghead:change"));  // live.js follows the inputs too
}

// Two tabs share the key, the portrait and the options: "Video" renders a clip, "Live"
// streams (live.js). The body's data-mode shows one tab's parts (style.css).
function setMode(mode) {
  document.body.dataset.mode = mode;
  for (const name of ["video", "live"]) {
    $(`tab-${name}`).setAttribute("aria-selected", String(name === mode));
  }
  const hash = mode === "live" ? "#live" : "";
  history.replaceState(null, "", location.pathname + location.search + hash);
  document.dispatchEvent(new CustomEvent("talkinghead:mode", { detail: mode }));
}

function setImage(file) {
  if (!file) return;
  state.image = file;
  $("image-preview").src = URL.createObjectURL(file);
  $("image-preview").hidden = false;
  refresh();
}

function setAudio(blob) {
  if (!blob) return;
  state.audio = blob;
  $("audio-preview").src = URL.createObjectURL(blob);
  $("audio-preview").hidden = false;
  refresh();
}

function options() {
  const body = { size: $("size").value, expression: $("expression").value };
  const fps = parseInt($("fps").value, 10);
  const seed = parseInt($("seed").value, 10);
  if (!Number.isNaN(fps)) body.fps = fps;
  if (!Number.isNaN(seed)) body.seed = seed;
  // Motion knobs, 0 to 2; only those moved from the default 1 are sent.
  for (const id of MOTION_KNOBS) {
    const value = parseFloat($(id).value);
    if (!Number.isNaN(value) && value !== 1) body[id] = value;
  }
  // A character's mouth and eye boxes (character.js), when marked.
  if (typeof characterHints === "function") Object.assign(body, characterHints());
  return body;
}

function curlCommand() {
  // printf is a shell builtin, so large base64 never hits the argument-length limit.
  const imageName = state.image && state.image.name ? state.image.name : "portrait.png";
  const audioName = state.audio && state.audio.name ? state.audio.name : "speech.wav";
  const extras = JSON.stringify(options()).slice(1, -1).replace(/%/g, "%%");
  return `printf '{"image":"%s","audio":"%s",${extras}}' \\\n` +
    `  "$(base64 -w0 ${imageName})" "$(base64 -w0 ${audioName})" |\n` +
    `curl -s -X POST '${location.origin}${MODEL_PATH}' \\\n` +
    `  -H "Authorization: Bearer $TALKINGHEAD_API_KEY" \\\n` +
    `  -H 'Content-Type: application/json' --data-binary @-\n\n` +
    `# then poll until status is completed or failed:\n` +
    `curl -s '${location.origin}/api/v3/predictions/<id>/result' \\\n` +
    `  -H "Authorization: Bearer $TALKINGHEAD_API_KEY"`;
}

async function api(path, init = {}) {
  const headers = { "Authorization": `Bearer ${$("api-key").value.trim()}`, ...(init.headers || {}) };
  const response = await fetch(path, { ...init, headers });
  const json = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(json.message || `HTTP ${response.status}`);
  return json.data;
}

async function submit() {
  localStorage.setItem("talkinghead-key", $("api-key").value.trim());
  $("result").hidden = true;
  $("download").hidden = true;
  setStatus("Uploading…");
  state.polling = 0;
  refresh();
  try {
    const body = { image: await readAsDataURL(state.image),
                   audio: await readAsDataURL(state.audio), ...options() };
    const data = await api(MODEL_PATH, { method: "POST", body: JSON.stringify(body),
                                         headers: { "Content-Type": "application/json" } });
    show(data);
    poll(data.urls.get.replace(/^https?:\/\/[^/]+/, ""));
  } catch (error) {
    finish(`Error: ${error.message}`, true);
  }
}

function poll(path) {
  state.polling = setTimeout(async () => {
    try {
      const data = await api(path);
      if (show(data)) return;
      poll(path);
    } catch (error) {
      finish(`Error: ${error.message}`, true);
    }
  }, 400);
}

function show(data) {
  const progress = $("progress");
  if (data.progress && data.progress.total > 0) {
    progress.hidden = false;
    progress.max = data.progress.total;
    progress.value = data.progress.done;
  }
  if (data.status === "completed") {
    const url = data.outputs[0];
    $("result").src = url;
    $("result").hidden = false;
    $("download").href = url;
    $("download").hidden = false;
    progress.hidden = true;
    finish(`Done in ${(data.timings.inference / 1000).toFixed(1)} s (task ${data.id}).`);
    $("result").play().catch(() => {});
    return true;
  }
  if (data.status === "failed") {
    finish(`Failed: ${data.error}`, true);
    return true;
  }
  const frames = data.progress && data.progress.total ?
    ` ${data.progress.done}/${data.progress.total} frames` : "";
  setStatus(`${data.status === "created" ? "Queued" : "Rendering"}…${frames}`);
  return false;
}

function finish(text, isError = false) {
  setStatus(text, isError);
  clearTimeout(state.polling);
  state.polling = null;
  refresh();
}

let recorder = null;
async function toggleRecording() {
  if (recorder) {
    recorder.stop();
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => chunks.push(e.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      blob.name = "recording.webm";
      setAudio(blob);
      recorder = null;
      $("record").classList.remove("recording");
      $("record").textContent = "● Record";
    };
    recorder.start();
    $("record").classList.add("recording");
    $("record").textContent = "■ Stop";
  } catch (error) {
    setStatus(`Microphone unavailable: ${error.message}`, true);
  }
}

function dropZone(zone, accept) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) accept(e.dataTransfer.files[0]);
  });
}

$("api-key").value = localStorage.getItem("talkinghead-key") || "";
$("image-file").addEventListener("change", (e) => setImage(e.target.files[0]));
$("audio-file").addEventListener("change", (e) => setAudio(e.target.files[0]));
$("record").addEventListener("click", toggleRecording);
$("submit").addEventListener("click", submit);
for (const id of ["size", "expression", "fps", "seed", ...MOTION_KNOBS]) {
  $(id).addEventListener("change", refresh);
}
$("tab-video").addEventListener("click", () => setMode("video"));
$("tab-live").addEventListener("click", () => setMode("live"));
dropZone($("image-drop"), setImage);
dropZone($("audio-drop"), setAudio);
setMode(location.hash === "#live" ? "live" : "video");
refresh();
